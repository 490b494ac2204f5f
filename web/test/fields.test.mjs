// web/src/fields.js: what the form reads, refuses and seals, against Python's
// form definitions and Python's content validation (schemas.content).

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { collect, contentDocument, message, reviewRows } from "../src/fields.js";
import { python } from "./python.mjs";

const FORMS = python("forms");
const ROUTING = { "routing.region": ["ru-volga"], "routing.language": ["ru"], "routing.urgency": ["urgent"] };

// As FormData.getAll gives them: every value of a control name, strings.
const reader = (values) => (name) => values[name] ?? [];

const DESERTION = {
  status: ["mobilised"],
  situation: ["abroad"],
  criminal_case: ["unknown"],
  wanted_listing: ["yes"],
  // Ticked in another order than the form's: sent in the form's order.
  passports_held: ["foreign_passport", "internal_passport"],
  current_country: ["KZ"],
  needs: ["shelter", "legal"],
  contact_channel: ["signal"],
  contact_handle: ["  kanareika.7f3a "],
  message: ["Мобилизовали осенью.\r\nНужна консультация юриста.\n"],
  ...ROUTING,
};

function errorsOf(category, values) {
  const { errors } = collect(FORMS[category], reader(values));
  return Object.fromEntries([...errors].map(([name, error]) => [name, error.key]));
}

describe("collect", () => {
  test("a filled desertion form becomes content Python accepts, as typed", () => {
    const { fields, routing, errors } = collect(FORMS.desertion, reader(DESERTION));
    assert.equal(errors.size, 0, JSON.stringify([...errors]));
    assert.deepEqual(routing, { region: "ru-volga", language: "ru", urgency: "urgent" });
    assert.deepEqual(fields, {
      status: "mobilised",
      situation: "abroad",
      criminal_case: "unknown",
      wanted_listing: "yes",
      passports_held: ["internal_passport", "foreign_passport"],
      current_country: "KZ",
      needs: ["legal", "shelter"],
      contact_channel: "signal",
      contact_handle: "kanareika.7f3a",
      message: "Мобилизовали осенью.\nНужна консультация юриста.",
    });
    const document = contentDocument("desertion", fields);
    const checked = python("content-check", { document });
    assert.equal(checked.ok, true, JSON.stringify(checked.errors));
    assert.deepEqual(JSON.parse(checked.canonical), document);
  });

  test("empty optional fields are left out, not sent empty", () => {
    const values = { ...DESERTION, contact_channel: [""], contact_handle: [""], message: ["  "] };
    const { fields, errors } = collect(FORMS.desertion, reader(values));
    assert.equal(errors.size, 0);
    for (const name of ["contact_channel", "contact_handle", "message"]) {
      assert.ok(!(name in fields), name);
    }
    assert.equal(python("content-check", { document: contentDocument("desertion", fields) }).ok, true);
  });

  test("required fields and routing fields are asked for", () => {
    assert.deepEqual(errorsOf("desertion", {}), {
      status: "required",
      situation: "required",
      criminal_case: "required",
      wanted_listing: "required",
      passports_held: "required",
      current_country: "required",
      needs: "required",
      "routing.region": "required",
      "routing.language": "required",
      "routing.urgency": "required",
    });
  });

  test("the schemas' refusals, by message key", () => {
    const cases = [
      [{ status: ["general"] }, { status: "not_a_choice" }],
      [{ current_country: ["XX"] }, { current_country: "not_a_country" }],
      [{ passports_held: ["none", "internal_passport"] }, { passports_held: "none_exclusive" }],
      [{ passports_held: ["stolen"] }, { passports_held: "not_a_choice" }],
      [{ message: ["я".repeat(2001)] }, { message: "too_long" }],
      [{ contact_handle: ["two\nlines"] }, { contact_handle: "single_line" }],
      [{ contact_handle: ["name\u202e"] }, { contact_handle: "control_chars" }],
      [{ message: ["bell\u0007"] }, { message: "control_chars" }],
      [{ message: ["lone \ud800 surrogate"] }, { message: "control_chars" }],
      [{ contact_channel: [""] }, { contact_channel: "channel_required" }],
      [{ contact_handle: [""] }, { contact_handle: "handle_required" }],
      [{ contact_channel: ["haven_reply"] }, { contact_handle: "handle_not_needed" }],
      [{ contact_channel: ["haven_reply"], contact_handle: [""] }, {}],
      [{ "routing.region": ["Москва"] }, { "routing.region": "not_a_choice" }],
      // In the label alphabet but not a region (schemas/json/routing.schema.json).
      [{ "routing.region": ["moscow"] }, { "routing.region": "not_a_choice" }],
      [{ message: ["\u0085"] }, {}],
    ];
    for (const [change, expected] of cases) {
      assert.deepEqual(errorsOf("desertion", { ...DESERTION, ...change }), expected, JSON.stringify(change));
    }
    // 2000 characters of Cyrillic are 2000, not 4000 bytes or code units.
    assert.deepEqual(errorsOf("desertion", { ...DESERTION, message: ["я".repeat(2000)] }), {});
    assert.deepEqual(errorsOf("desertion", { ...DESERTION, message: ["😀".repeat(2000)] }), {});
  });

  test("numbers, lists of numbers, dates and months (other categories)", () => {
    const evacuation = {
      location: ["Херсонская область"],
      people_count: ["3"],
      children_ages: ["4, 9"],
      documents_held: ["internal_passport"],
      ...ROUTING,
    };
    const { fields, errors } = collect(FORMS.evacuation, reader(evacuation));
    assert.equal(errors.size, 0, JSON.stringify([...errors]));
    assert.equal(fields.people_count, 3);
    assert.deepEqual(fields.children_ages, [4, 9]);
    assert.equal(python("content-check", { document: contentDocument("evacuation", fields) }).ok, true);
    assert.deepEqual(errorsOf("evacuation", { ...evacuation, people_count: ["3.5"] }), {
      people_count: "not_an_integer",
    });
    assert.deepEqual(errorsOf("evacuation", { ...evacuation, people_count: ["51"] }), {
      people_count: "out_of_range",
    });
    assert.deepEqual(errorsOf("evacuation", { ...evacuation, people_count: ["1"] }), {
      children_ages: "too_many_children",
    });
    assert.deepEqual(errorsOf("evacuation", { ...evacuation, children_ages: ["4", "18"] }), {
      children_ages: "out_of_range",
    });

    const legal = {
      person: ["Иван"],
      where_held: ["СИЗО"],
      held_since: ["2025-03"],
      lawyer_present: ["no"],
      next_hearing: ["2026-02-03"],
      ...ROUTING,
    };
    const checked = collect(FORMS.legal_aid, reader(legal));
    assert.equal(checked.errors.size, 0, JSON.stringify([...checked.errors]));
    assert.equal(python("content-check", { document: contentDocument("legal_aid", checked.fields) }).ok, true);
    assert.deepEqual(errorsOf("legal_aid", { ...legal, held_since: ["2025-13"], next_hearing: ["2026-02-30"] }), {
      held_since: "not_a_month",
      next_hearing: "not_a_date",
    });
  });
});

describe("review and messages", () => {
  test("the review shows labels and choice labels in the page's language", () => {
    const { fields } = collect(FORMS.desertion, reader(DESERTION));
    const rows = reviewRows(FORMS.desertion, fields, "ru", (code) => `country ${code}`);
    const byName = Object.fromEntries(rows.map((row) => [row.name, row]));
    assert.equal(byName.status.label, "Как оформлена служба");
    assert.equal(byName.status.value, "Мобилизация");
    assert.equal(byName.current_country.value, "country KZ");
    assert.equal(byName.message.value, fields.message);
    assert.deepEqual(rows.map((row) => row.name), Object.keys(fields));
  });

  test("messages come from the page's table, then the form's, with placeholders", () => {
    const config = { lang: "uk", form: FORMS.desertion, messages: { sent: "Надіслано." } };
    assert.equal(message(config, "sent"), "Надіслано.");
    assert.equal(message(config, "too_long", { max: 128 }), "Не більше ніж 128 символів.");
    assert.equal(message(config, "no_such_key"), "no_such_key");
    // A key the page does not word yet falls back to one it does.
    assert.equal(message({ ...config, messages: { refused: "Не прийнято." } }, "no_recipients"), "Не прийнято.");
  });
});
