// Tests of web/src/replies.js against docs/replies-v1.md sections 2 to 5.
// Run with `node --test web/test/`. The vectors of section 7
// (tests/haven/replies/vectors/replies-v1-messages.json, written by the Python
// side) are run by the "vectors" suite; HAVEN_REPLIES_MESSAGE_VECTORS points
// at another file (tests/haven/replies/test_replies_js.py uses it to show a
// wrong vector fails here). The other suites build messages from the spec with
// Node's own crypto, so a mistake shared by replies.js and envelope.js shows.

import assert from "node:assert/strict";
import { createHash, hkdfSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";

import { ed25519 } from "@noble/curves/ed25519.js";

import { open, publicKeyFromSeed, seal } from "../src/envelope.js";
import {
  MessageRefused,
  REPLY_LABELS,
  accessHash,
  checkSignature,
  followUpLabels,
  followUpPlaintext,
  mailboxWorkTarget,
  readMessage,
  sealFollowUp,
} from "../src/replies.js";
import { StrictJsonError, parseStrictJson } from "../src/strictjson.js";

const repo = new URL("../../", import.meta.url);
const vectorsPath =
  process.env.HAVEN_REPLIES_MESSAGE_VECTORS ??
  new URL("tests/haven/replies/vectors/replies-v1-messages.json", repo);

const b64 = (bytes) => Buffer.from(bytes).toString("base64");
const fromB64 = (text) => new Uint8Array(Buffer.from(text, "base64"));
const fromHex = (text) => new Uint8Array(Buffer.from(text, "hex"));
const hex = (bytes) => Buffer.from(bytes).toString("hex");
const utf8 = (text) => new TextEncoder().encode(text);
const sha256 = (...parts) => new Uint8Array(createHash("sha256").update(Buffer.concat(parts)).digest());

// Public test fixtures, never real keys.
const PARTNER_SEED = fromHex("11".repeat(32));
const OTHER_PARTNER_SEED = fromHex("22".repeat(32));
const REPLY_SEED = fromHex("33".repeat(32));
const MAILBOX = fromHex("44".repeat(32));
const OTHER_MAILBOX = fromHex("55".repeat(32));
const REQUEST = "ab".repeat(32);

// Section 3.3, from the spec with Node's HKDF: the partner's signing seed.
function signingSeed(xwingSeed) {
  return new Uint8Array(
    hkdfSync("sha256", xwingSeed, new Uint8Array(0), "haven/replies/v1 partner signing key", 32),
  );
}
const SIGNING = signingSeed(PARTNER_SEED);
const SIGNING_PUBLIC = ed25519.getPublicKey(SIGNING);
const OTHER_SIGNING_PUBLIC = ed25519.getPublicKey(signingSeed(OTHER_PARTNER_SEED));

function plaintext(overrides = {}) {
  return {
    v: 1,
    kind: "reply",
    partner: "lawyers",
    mailbox_id: b64(MAILBOX),
    request: REQUEST,
    state: null,
    text: "Здравствуйте. Мы прочитали ваш запрос.\nНапишите, когда вам удобно.",
    sent_at: "2026-11-30T08:00:00Z",
    ...overrides,
  };
}

async function wire({
  content = plaintext(),
  raw = null,
  labels = REPLY_LABELS,
  partner = "lawyers",
  mailbox = MAILBOX,
  signer = SIGNING,
} = {}) {
  const sealed = await seal({
    content: raw ?? utf8(JSON.stringify(content)),
    labels,
    recipients: [await publicKeyFromSeed(REPLY_SEED)],
  });
  const signed = Buffer.concat([
    utf8("haven/replies/v1 partner message\0"),
    mailbox,
    utf8(partner),
    Uint8Array.of(0),
    sealed,
  ]);
  return { partner, sealed: b64(sealed), signature: b64(ed25519.sign(signed, signer)) };
}

async function refused(promise, reason) {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof MessageRefused);
    assert.equal(error.reason, reason);
    return true;
  });
}

describe("reading a partner's message (section 3.5)", () => {
  test("a reply and a status read back exactly", async () => {
    const reply = await readMessage(await wire(), MAILBOX, REPLY_SEED, [SIGNING_PUBLIC]);
    assert.equal(reply.kind, "reply");
    assert.equal(reply.text, plaintext().text);
    assert.equal(reply.state, null);
    assert.equal(reply.request, REQUEST);
    assert.equal(reply.sentAt, "2026-11-30T08:00:00Z");
    const status = await readMessage(
      await wire({ content: plaintext({ kind: "status", state: "need_info", text: "" }) }),
      MAILBOX,
      REPLY_SEED,
      [OTHER_SIGNING_PUBLIC, SIGNING_PUBLIC],
    );
    assert.equal(status.state, "need_info");
    assert.equal(status.text, "");
  });

  test("not_signed: a wrong key, another mailbox, another partner id, no key, a malformed wire", async () => {
    const good = await wire();
    await refused(readMessage(good, MAILBOX, REPLY_SEED, [OTHER_SIGNING_PUBLIC]), "not_signed");
    await refused(readMessage(good, OTHER_MAILBOX, REPLY_SEED, [SIGNING_PUBLIC]), "not_signed");
    await refused(
      readMessage({ ...good, partner: "memorial" }, MAILBOX, REPLY_SEED, [SIGNING_PUBLIC]),
      "not_signed",
    );
    await refused(readMessage(good, MAILBOX, REPLY_SEED, []), "not_signed");
    await refused(readMessage({ ...good, extra: 1 }, MAILBOX, REPLY_SEED, [SIGNING_PUBLIC]), "not_signed");
    await refused(
      readMessage({ ...good, sealed: `${good.sealed} ` }, MAILBOX, REPLY_SEED, [SIGNING_PUBLIC]),
      "not_signed",
    );
    assert.throws(() => checkSignature(good, MAILBOX, [OTHER_SIGNING_PUBLIC]), MessageRefused);
    assert.equal(checkSignature(good, MAILBOX, [SIGNING_PUBLIC]).partner, "lawyers");
  });

  const unreadable = {
    wrong_labels: { labels: { ...REPLY_LABELS, category: "legal_aid" } },
    partner_mismatch: { content: plaintext({ partner: "memorial" }) },
    mailbox_mismatch: { content: plaintext({ mailbox_id: b64(OTHER_MAILBOX) }) },
    unknown_member: { content: { ...plaintext(), extra: "x" } },
    missing_member: { content: (({ sent_at: _, ...rest }) => rest)(plaintext()) },
    duplicate_member: {
      raw: utf8(JSON.stringify(plaintext()).replace('"v":1', '"v":1,"kind":"status"')),
    },
    float_version: { raw: utf8(JSON.stringify(plaintext()).replace('"v":1', '"v":1.0')) },
    reply_with_state: { content: plaintext({ state: "closed" }) },
    status_without_state: { content: plaintext({ kind: "status", state: null, text: "" }) },
    empty_reply: { content: plaintext({ text: "" }) },
    long_reply: { content: plaintext({ text: "я".repeat(4001) }) },
    long_status: { content: plaintext({ kind: "status", state: "closed", text: "a".repeat(501) }) },
    control_character: { content: plaintext({ text: "a\u0007b" }) },
    carriage_return: { content: plaintext({ text: "a\r\nb" }) },
    not_a_time: { content: plaintext({ sent_at: "2026-02-30T08:00:00Z" }) },
    bad_request_id: { content: plaintext({ request: "AB".repeat(32) }) },
    unknown_state: { content: plaintext({ kind: "status", state: "lost", text: "" }) },
    not_json: { raw: utf8("not json") },
  };
  for (const [name, options] of Object.entries(unreadable)) {
    test(`unreadable: ${name}`, async () => {
      await refused(readMessage(await wire(options), MAILBOX, REPLY_SEED, [SIGNING_PUBLIC]), "unreadable");
    });
  }

  test("4000 characters outside the BMP are 4000, not 8000", async () => {
    const text = "😀".repeat(4000);
    const message = await readMessage(
      await wire({ content: plaintext({ text }) }),
      MAILBOX,
      REPLY_SEED,
      [SIGNING_PUBLIC],
    );
    assert.equal(message.text, text);
  });
});

describe("access hash and mailbox work (sections 2 and 4.2)", () => {
  test("as the spec defines them", () => {
    const secret = fromHex("66".repeat(32));
    assert.equal(
      hex(accessHash(secret)),
      hex(sha256(utf8("haven/replies/v1 access hash"), Uint8Array.of(0), secret)),
    );
    for (const action of ["fetch", "delete"]) {
      assert.equal(
        hex(mailboxWorkTarget(action, MAILBOX)),
        hex(sha256(utf8("haven/replies/v1 mailbox\0"), utf8(action), Uint8Array.of(0), MAILBOX)),
      );
    }
    assert.notEqual(hex(mailboxWorkTarget("fetch", MAILBOX)), hex(mailboxWorkTarget("delete", MAILBOX)));
    assert.throws(() => mailboxWorkTarget("read", MAILBOX), RangeError);
    assert.throws(() => accessHash(new Uint8Array(31)), TypeError);
  });
});

describe("follow-ups (section 5)", () => {
  test("sealed to the partner's keys alone, with the labels that point at it", async () => {
    const replyKey = await publicKeyFromSeed(REPLY_SEED);
    const partnerKeys = [await publicKeyFromSeed(PARTNER_SEED), await publicKeyFromSeed(OTHER_PARTNER_SEED)];
    const text = "Спасибо. Мне удобно вечером.\nВторая строка.";
    const envelope = await sealFollowUp({ mailboxId: MAILBOX, replyKey, text }, "lawyers", "ru", partnerKeys);
    for (const seed of [PARTNER_SEED, OTHER_PARTNER_SEED]) {
      const opened = await open(envelope, [seed]);
      assert.deepEqual(opened.labels, { category: "follow_up", region: "lawyers", language: "ru", urgency: "normal" });
      assert.equal(opened.serverSealed, false);
      const document = parseStrictJson(opened.content);
      assert.deepEqual({ ...document }, {
        v: 1,
        kind: "follow_up",
        mailbox_id: b64(MAILBOX),
        reply_key: b64(replyKey),
        text,
      });
    }
    await assert.rejects(open(envelope, [REPLY_SEED]));
    assert.deepEqual(followUpLabels("memorial", "uk").region, "memorial");
    await assert.rejects(sealFollowUp({ mailboxId: MAILBOX, replyKey, text: "" }, "lawyers", "ru", partnerKeys), RangeError);
    await assert.rejects(sealFollowUp({ mailboxId: MAILBOX, replyKey, text }, "Lawyers", "ru", partnerKeys), RangeError);
  });
});

describe("strict JSON", () => {
  test("refuses what two parsers could read differently", () => {
    for (const text of ['{"a":1,"a":2}', '{"a":1.5}', '{"a":1e2}', '{"a":9007199254740993}', '\ufeff{}', '{"a":NaN}', '{"a":"\u0001"}', "{} x", '{"a":01}']) {
      assert.throws(() => parseStrictJson(utf8(text)), StrictJsonError, text);
    }
    assert.equal(
      JSON.stringify(parseStrictJson(utf8(' {"a": [1, -2, "\\u00e9\\n", null, true, {}]} '))),
      JSON.stringify({ a: [1, -2, "é\n", null, true, {}] }),
    );
    assert.equal(Object.getPrototypeOf(parseStrictJson(utf8('{"__proto__": {"x": 1}}'))), null);
  });
});

// Section 7: the Python side's vectors. Field names as the Python writer uses them.
describe("vectors", () => {
  runVectors(JSON.parse(readFileSync(vectorsPath, "utf8")));
});

function runVectors(vectors) {
  const { requester } = vectors;
  const replySeed = fromHex(requester.reply_seed);

  test("contexts, the requester's access hash, and the reply labels", async () => {
    assert.equal(hex(utf8("haven/replies/v1 access hash\0")), vectors.contexts.access_hash);
    assert.equal(hex(utf8("haven/replies/v1 partner message\0")), vectors.contexts.signed);
    assert.equal(hex(accessHash(fromHex(requester.access_secret))), hex(fromB64(requester.access_hash)));
    assert.equal(b64(await publicKeyFromSeed(replySeed)), requester.reply_public_key);
    assert.deepEqual({ ...REPLY_LABELS }, vectors.reply_labels);
  });

  test("every partner key's signing key is derived as section 3.3 says", () => {
    for (const partner of vectors.partners) {
      for (const key of partner.keys) {
        const seed = new Uint8Array(
          hkdfSync("sha256", fromHex(key.seed), new Uint8Array(0), vectors.contexts.signing_key_info, 32),
        );
        assert.equal(hex(seed), key.signing_seed, partner.id);
        assert.equal(b64(ed25519.getPublicKey(seed)), key.signing_key, partner.id);
      }
    }
  });

  for (const vector of vectors.messages) {
    test(`message ${vector.name}: ${vector.reason ?? "reads"}`, async () => {
      const read = readMessage(
        vector.wire,
        fromB64(vector.mailbox_id),
        replySeed,
        vector.signing_keys.map(fromB64),
      );
      if (vector.reason === null) {
        const message = await read;
        const expected = vector.message;
        assert.deepEqual(
          {
            kind: message.kind,
            partner: message.partner,
            mailbox_id: b64(message.mailboxId),
            request: message.request,
            state: message.state,
            text: message.text,
            sent_at: message.sentAt,
          },
          {
            kind: expected.kind,
            partner: expected.partner,
            mailbox_id: expected.mailbox_id,
            request: expected.request,
            state: expected.state,
            text: expected.text,
            sent_at: expected.sent_at,
          },
        );
      } else {
        await refused(read, vector.reason);
      }
    });
  }

  for (const vector of vectors.malformed_wire) {
    test(`malformed wire ${vector.name}: not_signed`, () => {
      assert.throws(
        () => checkSignature(vector.wire, fromB64(requester.mailbox_id), vectors.partners[0].keys.map((k) => fromB64(k.signing_key))),
        (error) => error instanceof MessageRefused && error.reason === "not_signed",
      );
    });
  }

  for (const vector of vectors.follow_ups) {
    test(`follow-up ${vector.name}: opens for each partner key, and this device writes the same plaintext`, async () => {
      const envelope = fromB64(vector.envelope);
      for (const seed of vector.partner_seeds) {
        const opened = await open(envelope, [fromHex(seed)]);
        assert.deepEqual(opened.labels, vector.labels);
        assert.deepEqual(followUpLabels(vector.partner, vector.language), vector.labels);
        assert.equal(b64(opened.content), vector.plaintext);
      }
      const written = followUpPlaintext({
        mailboxId: fromB64(vector.follow_up.mailbox_id),
        replyKey: fromB64(vector.follow_up.reply_key),
        text: vector.follow_up.text,
      });
      assert.equal(b64(written), vector.plaintext);
    });
  }
}
