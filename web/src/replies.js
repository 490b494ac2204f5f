// Haven replies v1, sections 2 to 5: what a partner writes to a requester and
// what the requester writes back, the browser side (the Python side is
// haven/replies/message.py). The normative definition is docs/replies-v1.md.
//
// A message on the wire is {"partner", "sealed", "signature"}: a plaintext
// sealed to the requester's reply key and signed by one of the partner's
// signing keys from the verified directory. readMessage checks, in the
// spec's order, the signature (else "not_signed"), then opens and reads the
// plaintext strictly (else "unreadable"). A refused message is never shown:
// its reason is one of those two words, and no error here carries a byte of
// what was received, or of the code, the mailbox id or the access secret.
//
// Pure like envelope.js: runs unchanged in the browser and in Node >= 20.

import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256 } from "@noble/hashes/sha2.js";

import { concatBytes } from "./bytes.js";
import { b64decodeStrict } from "./directory.js";
import { inspect, open, seal } from "./envelope.js";
import { parseStrictJson } from "./strictjson.js";

export const STATES = Object.freeze(["received", "in_progress", "need_info", "closed"]);
export const KINDS = Object.freeze(["reply", "status"]);
export const MAX_REPLY_CHARS = 4000;
export const MAX_STATUS_CHARS = 500;
export const MAX_FOLLOW_UP_CHARS = 4000;
export const MAILBOX_ID_BYTES = 32;
export const ACCESS_SECRET_BYTES = 32;
export const REPLY_KEY_BYTES = 1216;
export const SIGNING_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;
export const FOLLOW_UP_CATEGORY = "follow_up";
export const MAILBOX_ACTIONS = Object.freeze(["fetch", "delete"]);
// Section 3.2: the labels of every partner message. They name nothing.
export const REPLY_LABELS = Object.freeze({
  category: "reply",
  region: "none",
  language: "none",
  urgency: "none",
});
// The largest sealed message (section 4.1): one recipient, the reply labels,
// at most the 16384-byte bucket. A larger one is refused before any work.
export const MAX_PADDED_BYTES = 16384;
export const MAX_SEALED_BYTES = 26 + 1 + 1200 + 32 + MAX_PADDED_BYTES + 16;

const ascii = new TextEncoder();
const ACCESS_HASH_CONTEXT = Uint8Array.of(...ascii.encode("haven/replies/v1 access hash"), 0);
const SIGNED_CONTEXT = Uint8Array.of(...ascii.encode("haven/replies/v1 partner message"), 0);
const WORK_CONTEXT = Uint8Array.of(...ascii.encode("haven/replies/v1 mailbox"), 0);
const PARTNER_ID_RE = /^[a-z0-9-]{3,32}$/;
const REQUEST_ID_RE = /^[0-9a-f]{64}$/;
const SENT_AT_RE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z$/;
const LANGUAGE_RE = /^[a-z]{2}$/;
// Section 3.1: text as a person typed it; line feeds, no other control character.
const CONTROL_RE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/u;
const LONE_SURROGATE_RE = /\p{Cs}/u;
const WIRE_MEMBERS = Object.freeze(["partner", "sealed", "signature"]);
const MESSAGE_MEMBERS = Object.freeze([
  "kind",
  "mailbox_id",
  "partner",
  "request",
  "sent_at",
  "state",
  "text",
  "v",
]);

/** A partner message the requester's device will not show: reason "not_signed" or "unreadable". */
export class MessageRefused extends Error {
  constructor(reason) {
    super(reason === "not_signed" ? "message is not signed by a partner" : "message is unreadable");
    this.name = "MessageRefused";
    this.reason = reason;
  }
}

function isBytes(value, length) {
  return value instanceof Uint8Array && (length === undefined || value.length === length);
}

function requireBytes(value, length, what) {
  if (!isBytes(value, length)) {
    throw new TypeError(`${what} is a Uint8Array of ${length} bytes`);
  }
}

function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i += 1) diff |= a[i] ^ b[i];
  return diff === 0;
}

function toBase64(bytes) {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function hasExactly(object, members) {
  const keys = Object.keys(object).sort();
  return keys.length === members.length && keys.every((key, i) => key === members[i]);
}

/** Section 2: SHA-256("haven/replies/v1 access hash" || 0x00 || access_secret). */
export function accessHash(accessSecret) {
  requireBytes(accessSecret, ACCESS_SECRET_BYTES, "an access secret");
  return sha256(concatBytes([ACCESS_HASH_CONTEXT, accessSecret]));
}

/**
 * Section 4.2: what a mailbox fetch's or delete's proof of work is over, in
 * place of an envelope's digest. Binding the action and the mailbox means a
 * solution for one cannot be spent on another.
 */
export function mailboxWorkTarget(action, mailboxId) {
  if (!MAILBOX_ACTIONS.includes(action)) {
    throw new RangeError(`a mailbox action is one of ${MAILBOX_ACTIONS.join(", ")}`);
  }
  requireBytes(mailboxId, MAILBOX_ID_BYTES, "a mailbox id");
  return sha256(concatBytes([WORK_CONTEXT, ascii.encode(action), Uint8Array.of(0), mailboxId]));
}

/** Section 3.3: the bytes a partner signs. */
export function signedBytes(mailboxId, partner, sealed) {
  return concatBytes([SIGNED_CONTEXT, mailboxId, ascii.encode(partner), Uint8Array.of(0), sealed]);
}

/**
 * A message as on the wire (section 3.4), read strictly: exactly the three
 * members, a partner id, canonical base64. Returns null when it is not one.
 */
function parseWire(wire) {
  if (!isObject(wire) || !hasExactly(wire, WIRE_MEMBERS)) return null;
  if (typeof wire.partner !== "string" || !PARTNER_ID_RE.test(wire.partner)) return null;
  try {
    const sealed = b64decodeStrict(wire.sealed);
    const signature = b64decodeStrict(wire.signature);
    if (signature.length !== SIGNATURE_BYTES || sealed.length > MAX_SEALED_BYTES) return null;
    return { partner: wire.partner, sealed, signature };
  } catch {
    return null;
  }
}

function verifyParsed(parsed, mailboxId, signingKeys) {
  const signed = signedBytes(mailboxId, parsed.partner, parsed.sealed);
  for (const key of signingKeys) {
    if (!isBytes(key, SIGNING_KEY_BYTES)) continue;
    try {
      // RFC 8032's strict verification, as Python's cryptography does.
      if (ed25519.verify(parsed.signature, signed, key, { zip215: false })) return true;
    } catch {
      // A key that is not a point verifies nothing.
    }
  }
  return false;
}

/**
 * Section 3.5 step 1. `wire` is the message as fetched ({partner, sealed,
 * signature}); `signingKeys` are the wire partner's signing keys from the
 * verified directory (directory.js signingKeysOf). Throws
 * MessageRefused("not_signed") when the message is malformed, the partner
 * has no signing key, or no key verifies its signature over this mailbox.
 */
export function checkSignature(wire, mailboxId, signingKeys) {
  requireBytes(mailboxId, MAILBOX_ID_BYTES, "a mailbox id");
  const parsed = parseWire(wire);
  if (parsed === null || !Array.isArray(signingKeys) || !verifyParsed(parsed, mailboxId, signingKeys)) {
    throw new MessageRefused("not_signed");
  }
  return parsed;
}

function isText(value, min, max) {
  if (typeof value !== "string" || CONTROL_RE.test(value) || LONE_SURROGATE_RE.test(value)) {
    return false;
  }
  // Characters are code points, as Python counts them, not UTF-16 units.
  const length = [...value].length;
  return length >= min && length <= max;
}

function isTime(value) {
  const match = typeof value === "string" ? SENT_AT_RE.exec(value) : null;
  if (match === null) return false;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number);
  // Date.UTC reads years 0 to 99 as 1900 to 1999, so the year is set on its
  // own; year 0 does not exist for Python's datetime either (a real date is
  // year 1 to 9999, in both readers).
  if (year < 1) return false;
  const back = new Date(0);
  back.setUTCFullYear(year, month - 1, day);
  back.setUTCHours(hour, minute, second, 0);
  return (
    back.getUTCFullYear() === year &&
    back.getUTCMonth() === month - 1 &&
    back.getUTCDate() === day &&
    back.getUTCHours() === hour &&
    back.getUTCMinutes() === minute &&
    back.getUTCSeconds() === second
  );
}

function sameLabels(labels, expected) {
  return Object.keys(expected).every((name) => labels[name] === expected[name]);
}

// Section 3.1, strictly: anything else is "unreadable".
function readPlaintext(bytes, partner, mailboxId) {
  const data = parseStrictJson(bytes);
  if (!isObject(data) || !hasExactly(data, MESSAGE_MEMBERS)) throw new Error();
  if (data.v !== 1 || !KINDS.includes(data.kind)) throw new Error();
  // Sections 3.5 step 3: the message names the partner that signed it and
  // this very mailbox, so it cannot be replayed into another conversation.
  if (data.partner !== partner) throw new Error();
  if (typeof data.mailbox_id !== "string" || !equalBytes(b64decodeStrict(data.mailbox_id), mailboxId)) {
    throw new Error();
  }
  if (typeof data.request !== "string" || !REQUEST_ID_RE.test(data.request)) throw new Error();
  if (data.kind === "reply") {
    if (data.state !== null || !isText(data.text, 1, MAX_REPLY_CHARS)) throw new Error();
  } else if (!STATES.includes(data.state) || !isText(data.text, 0, MAX_STATUS_CHARS)) {
    throw new Error();
  }
  if (!isTime(data.sent_at)) throw new Error();
  return Object.freeze({
    kind: data.kind,
    partner: data.partner,
    mailboxId: new Uint8Array(mailboxId),
    request: data.request,
    state: data.state,
    text: data.text,
    sentAt: data.sent_at,
  });
}

/**
 * Section 3.5 in full: the signature, then the envelope with the reply key's
 * seed and the fixed labels, then the strict plaintext naming this partner and
 * this mailbox. Returns {kind, partner, mailboxId, request, state, text, sentAt};
 * throws MessageRefused with reason "not_signed" or "unreadable", nothing else.
 */
export async function readMessage(wire, mailboxId, replySeed, signingKeys) {
  const parsed = checkSignature(wire, mailboxId, signingKeys);
  requireBytes(replySeed, 32, "a reply key seed");
  try {
    // Section 3.2's form first, as the intake checks it: one recipient, at
    // most the 16384-byte bucket (the labels are checked once opened).
    const form = inspect(parsed.sealed);
    if (form.kids.length !== 1 || form.bucket > MAX_PADDED_BYTES) throw new Error();
    const opened = await open(parsed.sealed, [replySeed]);
    if (!sameLabels(opened.labels, REPLY_LABELS) || opened.serverSealed) throw new Error();
    return readPlaintext(opened.content, parsed.partner, mailboxId);
  } catch {
    // One reason for every way it fails to open or read: which step failed
    // is nobody's business, least of all whoever crafted the message.
    throw new MessageRefused("unreadable");
  }
}

/** Section 5: a follow-up's labels, pointing it at one partner alone. */
export function followUpLabels(partnerId, language) {
  if (typeof partnerId !== "string" || !PARTNER_ID_RE.test(partnerId)) {
    throw new RangeError("a partner id is 3 to 32 characters of a-z 0-9 -");
  }
  if (typeof language !== "string" || !LANGUAGE_RE.test(language)) {
    throw new RangeError("a language is two letters a-z");
  }
  return { category: FOLLOW_UP_CATEGORY, region: partnerId, language, urgency: "normal" };
}

/** Section 5: a follow-up's content, compact JSON in the members' order, as Python writes it. */
export function followUpPlaintext({ mailboxId, replyKey, text }) {
  requireBytes(mailboxId, MAILBOX_ID_BYTES, "a mailbox id");
  requireBytes(replyKey, REPLY_KEY_BYTES, "a reply public key");
  if (!isText(text, 1, MAX_FOLLOW_UP_CHARS)) {
    throw new RangeError(`a follow-up is 1 to ${MAX_FOLLOW_UP_CHARS} characters without control characters`);
  }
  const document = {
    v: 1,
    kind: "follow_up",
    mailbox_id: toBase64(mailboxId),
    reply_key: toBase64(replyKey),
    text,
  };
  return ascii.encode(JSON.stringify(document));
}

/**
 * Section 5: a follow-up sealed to every current key of the one partner
 * (`partnerKeys`, 1216-byte public keys from the verified directory:
 * directory.js partnerKeysOf). Returns the envelope.
 */
export async function sealFollowUp({ mailboxId, replyKey, text }, partnerId, language, partnerKeys) {
  const labels = followUpLabels(partnerId, language);
  if (!Array.isArray(partnerKeys) || partnerKeys.length === 0) {
    throw new RangeError("a follow-up is sealed to at least one key of its partner");
  }
  const content = followUpPlaintext({ mailboxId, replyKey, text });
  try {
    return await seal({ content, labels, serverSealed: false, recipients: partnerKeys });
  } finally {
    content.fill(0);
  }
}
