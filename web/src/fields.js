// The request's fields: read, checked and shaped from the form definition
// (schemas/forms.py), without touching the DOM, so Node tests can
// run it. The rules come from the JSON Schema documents generated from the
// Python schemas (schemas/json/, docs/json-schema.md): a request the browser
// lets through is one the partner's side accepts, and every message names a
// reason, never a value.

import common from "../../schemas/json/common.schema.json" with { type: "json" };
import routingSchema from "../../schemas/json/routing.schema.json" with { type: "json" };

const DEFS = common.$defs;
// Text the schemas refuse: control characters other than a textarea's line
// feed, line and paragraph separators, and bidirectional controls, which can
// make a handle or a name display differently from what it says.
const REFUSED_CHARS = new RegExp(DEFS.multi_line_text.not.pattern, "u");
// Lone surrogates too: the JSON pattern leaves them to each engine's Unicode
// mode, this one has it.
const LONE_SURROGATE = /\p{Cs}/u;
// At least one character that Python's str.strip() keeps: else blank.
const NOT_BLANK = new RegExp(DEFS.multi_line_text.pattern, "u");
const INTEGER_RE = /^-?[0-9]+$/;
// Year (1990-2099), month and day ranges are in the patterns; whether the day
// exists is checked below.
const DATE_RE = new RegExp(DEFS.date.pattern, "u");
const MONTH_RE = new RegExp(DEFS.month.pattern, "u");
export const ROUTING_FIELDS = Object.freeze(["routing.region", "routing.language", "routing.urgency"]);
// Only the enumerated tokens travel in the clear: no free text outside the envelope.
const ROUTING_TOKENS = new Map(
  ROUTING_FIELDS.map((name) => [name, new Set(routingSchema.properties[name.slice("routing.".length)].enum)]),
);
const CHANNELS_WITH_HANDLE = new Set(DEFS.channels_with_handle.enum);

/** One field's error: the message key and its placeholders (e.g. {max}). */
function fail(key, params = {}) {
  return { key, params };
}

function codePoints(text) {
  return [...text].length;
}

function checkText(raw, field, multiline) {
  // Browsers give a textarea's value with LF; a pasted CR is normalised too.
  const text = raw.replace(/\r\n?/g, "\n").trim();
  if (!NOT_BLANK.test(text)) {
    return { empty: true };
  }
  // Python counts code points, not UTF-16 units.
  if (field.max_length !== undefined && codePoints(text) > field.max_length) {
    return { error: fail("too_long", { max: field.max_length }) };
  }
  if (!multiline && text.includes("\n")) {
    return { error: fail("single_line") };
  }
  if (REFUSED_CHARS.test(text) || LONE_SURROGATE.test(text)) {
    return { error: fail("control_chars") };
  }
  return { value: text };
}

function checkInteger(raw, field) {
  const text = raw.trim();
  if (text === "") {
    return { empty: true };
  }
  if (!INTEGER_RE.test(text) || !Number.isSafeInteger(Number(text))) {
    return { error: fail("not_an_integer") };
  }
  const value = Number(text);
  if (value < field.min || value > field.max) {
    return { error: fail("out_of_range", { min: field.min, max: field.max }) };
  }
  return { value };
}

function checkIntegerList(raws, field) {
  // One input "3, 7" or several inputs of the same name: both read the same.
  const items = raws
    .join(",")
    .split(/[\s,;]+/)
    .filter((item) => item !== "");
  if (items.length === 0) {
    return { empty: true };
  }
  if (field.max_items !== undefined && items.length > field.max_items) {
    return { error: fail("too_many", { max: field.max_items }) };
  }
  const values = [];
  for (const item of items) {
    const checked = checkInteger(item, field);
    if (checked.error) {
      return checked;
    }
    values.push(checked.value);
  }
  return { value: values };
}

function realDay(year, month, day) {
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

function checkDate(raw, monthOnly) {
  const text = raw.trim();
  if (text === "") {
    return { empty: true };
  }
  const match = (monthOnly ? MONTH_RE : DATE_RE).exec(text);
  const key = monthOnly ? "not_a_month" : "not_a_date";
  if (match === null) {
    return { error: fail(key) };
  }
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3] ?? 1)];
  if (!realDay(year, month, day)) {
    return { error: fail(key) };
  }
  return { value: text };
}

function checkField(field, raws) {
  const values = raws.filter((raw) => typeof raw === "string");
  const first = values.find((raw) => raw !== "") ?? "";
  switch (field.type) {
    case "choice": {
      if (first === "") {
        return { empty: true };
      }
      const known = field.choices.some((choice) => choice.value === first);
      return known ? { value: first } : { error: fail("not_a_choice") };
    }
    case "multi_choice": {
      const chosen = new Set(values.filter((raw) => raw !== ""));
      if (chosen.size === 0) {
        return { empty: true };
      }
      const order = field.choices.map((choice) => choice.value);
      if ([...chosen].some((value) => !order.includes(value))) {
        return { error: fail("not_a_choice") };
      }
      // In the form definition's order, whatever order the boxes were ticked.
      const list = order.filter((value) => chosen.has(value));
      const max = field.max_items ?? order.length;
      if (list.length > max) {
        return { error: fail("too_many", { max }) };
      }
      if (list.includes("none") && list.length > 1) {
        return { error: fail("none_exclusive") };
      }
      return { value: list };
    }
    case "country": {
      if (first === "") {
        return { empty: true };
      }
      return field.countries.includes(first) ? { value: first } : { error: fail("not_a_country") };
    }
    case "text":
      return checkText(first, field, false);
    case "textarea":
      return checkText(first, field, true);
    case "integer":
    case "year":
      return checkInteger(first, field);
    case "integer_list":
      return checkIntegerList(values, field);
    case "date":
      return checkDate(first, false);
    case "month":
      return checkDate(first, true);
    default:
      // A form definition newer than this script: refuse rather than guess.
      return { error: fail("not_a_choice") };
  }
}

/**
 * Read and check the whole form.
 *
 * @param {object} form the form definition (config.form)
 * @param {(name: string) => string[]} getAll every submitted value of a control name
 * @returns {{fields: object, routing: object, errors: Map<string, {key, params}>}}
 *   `fields` in the definition's order, empty optional fields left out;
 *   `errors` by field name (routing fields as "routing.region", ...).
 */
export function collect(form, getAll) {
  const fields = {};
  const errors = new Map();
  for (const field of form.fields) {
    const checked = checkField(field, getAll(field.name));
    if (checked.error) {
      errors.set(field.name, checked.error);
    } else if (checked.empty) {
      // An optional field left empty is left out, not sent as "" or [].
      if (field.required) {
        errors.set(field.name, fail("required"));
      }
    } else {
      fields[field.name] = checked.value;
    }
  }
  crossFieldChecks(form, fields, errors);

  const routing = {};
  for (const name of ROUTING_FIELDS) {
    const value = getAll(name).find((raw) => typeof raw === "string" && raw !== "") ?? "";
    if (value === "") {
      errors.set(name, fail("required"));
    } else if (!ROUTING_TOKENS.get(name).has(value)) {
      errors.set(name, fail("not_a_choice"));
    } else {
      routing[name.slice("routing.".length)] = value;
    }
  }
  return { fields, routing, errors };
}

// The schemas' @validates_schema rules, on the field they name.
function crossFieldChecks(form, fields, errors) {
  const names = new Set(form.fields.map((field) => field.name));
  const mark = (name, error) => {
    if (names.has(name) && !errors.has(name)) {
      errors.set(name, error);
    }
  };
  const channel = fields.contact_channel;
  const handle = fields.contact_handle;
  if (handle !== undefined && channel === undefined) {
    mark("contact_channel", fail("channel_required"));
  }
  if (CHANNELS_WITH_HANDLE.has(channel) && handle === undefined) {
    mark("contact_handle", fail("handle_required"));
  }
  // A reply through Haven needs no address: its reply key, mailbox id and
  // access hash are made at send time (form.js), from the receipt code.
  if (channel === "haven_reply" && handle !== undefined) {
    mark("contact_handle", fail("handle_not_needed"));
  }
  if (
    Array.isArray(fields.children_ages) &&
    Number.isInteger(fields.people_count) &&
    fields.children_ages.length > fields.people_count
  ) {
    mark("children_ages", fail("too_many_children"));
  }
}

/** The content document sealed in the envelope: {"v": 1, "category", "fields"}. */
export function contentDocument(category, fields) {
  return { v: 1, category, fields };
}

/**
 * Label → value rows for the review, as the partner will read them.
 * `lang` picks the labels; `countryName(code, fieldName)` names a country.
 */
export function reviewRows(form, fields, lang, countryName = (code) => code) {
  const label = (labels, fallback) => (labels && (labels[lang] ?? labels.en)) || fallback;
  const rows = [];
  for (const field of form.fields) {
    if (!(field.name in fields)) {
      continue;
    }
    const value = fields[field.name];
    const choiceLabel = (chosen) =>
      label(field.choices?.find((choice) => choice.value === chosen)?.labels, chosen);
    let shown;
    if (field.type === "choice") {
      shown = choiceLabel(value);
    } else if (field.type === "multi_choice") {
      shown = value.map(choiceLabel).join(", ");
    } else if (field.type === "country") {
      shown = countryName(value, field.name);
    } else if (Array.isArray(value)) {
      shown = value.join(", ");
    } else {
      shown = String(value);
    }
    rows.push({ name: field.name, label: label(field.labels, field.name), value: shown });
  }
  return rows;
}

// Keys this script shows that a page may not word yet, and the nearest
// key it surely has: the requester always reads a sentence, never a key.
const FALLBACK_KEYS = Object.freeze({
  unavailable: "busy_retry",
  no_recipients: "refused",
  failed: "refused",
  receipt_making: "sealing",
});

/**
 * A message in the page's language: the page's own table first (config.messages,
 * {key: text}), then the form definition's table ({key: {lang: text}}), then a
 * fallback key; {min} and {max} style placeholders filled in.
 */
export function message(config, key, params = {}) {
  let template = null;
  for (let k = key; k !== undefined && template === null; k = FALLBACK_KEYS[k]) {
    const own = config.messages?.[k];
    const shared = config.form?.messages?.[k];
    template = (typeof own === "string" && own) || (shared && (shared[config.lang] ?? shared.en)) || null;
  }
  return (template ?? key).replace(/\{([a-z_]+)\}/g, (whole, name) =>
    name in params ? String(params[name]) : whole,
  );
}
