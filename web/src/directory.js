// The signed partner directory, the browser side (docs/directory.md; the
// Python side is haven/envelope/signing.py and haven/directory/).
//
// A requester's device seals only to keys taken from a directory that this
// module has verified against the network key pinned in the page. A fake key
// in the directory is how a fake help bot would receive requests, so every
// check refuses (throws DirectoryError) and none warns or repairs.
//
// Ed25519 comes from @noble/curves, not WebCrypto: Tor Browser on an older
// ESR has no WebCrypto Ed25519. SHA-256 (key ids) from @noble/hashes, so
// everything here is synchronous and pure: no network, no DOM, no clock
// except the `now` passed in.

import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256 } from "@noble/hashes/sha2.js";

import { concatBytes, toHex } from "./bytes.js";

export const DOCUMENT_FORMAT = "haven-signed-v1";
// haven.directory.verify.PURPOSE: a signature made for anything else the
// network key may sign later is not a directory signature.
export const PURPOSE = "directory";
export const MAX_DOCUMENT_BYTES = 4 * 1024 * 1024;
// haven.directory.verify.CLOCK_SKEW: a publisher's clock may run a little ahead.
export const CLOCK_SKEW_MS = 5 * 60 * 1000;
// haven.directory.verify.MAX_VALIDITY: browsers keep no state, so expiry is
// the only thing that retires a removed or compromised partner key.
export const MAX_VALIDITY_MS = 31 * 24 * 3600 * 1000;
export const MAX_RECIPIENTS = 32;
export const PUBLIC_KEY_BYTES = 1216;
const MAX_KEYS = 4;

const encoder = new TextEncoder();
const CONTEXT = encoder.encode("haven/v1 signed document\0");
const SIGNED_KEYS = ["format", "payload", "purpose", "signature"];
const TIME_RE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z$/;
const B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const KID_RE = /^[0-9a-f]{64}$/;

/**
 * Every refusal. `code` is stable (the page maps it to a message):
 * "directory-format", "directory-signature", "directory-expired", "no-recipients".
 * `message` says which check failed; it never holds a value from the document.
 */
export class DirectoryError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "DirectoryError";
    this.code = code;
  }
}

const formatError = (message) => new DirectoryError("directory-format", message);

/**
 * Standard base64 with padding, no whitespace, canonical trailing bits
 * (haven.envelope.strictjson.b64decode): one value, one spelling, so the
 * browser and Python can never read different bytes from one document.
 */
export function b64decodeStrict(text) {
  if (typeof text !== "string" || !B64_RE.test(text)) {
    throw formatError("not canonical base64");
  }
  const pad = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
  if (pad > 0) {
    // The bits after the last whole byte must be zero, or two texts decode alike.
    const last = B64_ALPHABET.indexOf(text[text.length - pad - 1]);
    if ((last & (pad === 2 ? 0x0f : 0x03)) !== 0) {
      throw formatError("not canonical base64");
    }
  }
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) {
    bytes[i] = binary.charCodeAt(i);
  }
  return bytes;
}

// RFC 8032's strict decoding (a canonical point) and not one of the eight
// points of small order: what haven/envelope/edpoint.py accepts.
function isSigningPublicKey(bytes) {
  try {
    return !ed25519.Point.fromBytes(bytes, false).isSmallOrder();
  } catch {
    return false;
  }
}

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

// UTF-8 (fatal: no replacement characters), no byte order mark, then JSON.
// JSON.parse keeps the last of two equal keys silently; the signed payload is
// written by Haven's publisher, which never emits duplicates, and the outer
// document's fields are all bound by the signature check below.
function parseJson(bytes, what) {
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    throw formatError(`${what}: byte order mark`);
  }
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes));
  } catch {
    throw formatError(`${what} is not UTF-8 JSON`);
  }
}

function parseTime(value, name) {
  const match = typeof value === "string" ? TIME_RE.exec(value) : null;
  if (match === null) {
    throw formatError(`${name} is not an RFC 3339 UTC time`);
  }
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number);
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const back = new Date(ms);
  // Date.UTC rolls 2026-02-31 over to March; a real time reads back the same.
  if (
    back.getUTCFullYear() !== year ||
    back.getUTCMonth() !== month - 1 ||
    back.getUTCDate() !== day ||
    back.getUTCHours() !== hour ||
    back.getUTCMinutes() !== minute ||
    back.getUTCSeconds() !== second
  ) {
    throw formatError(`${name} is not a real time`);
  }
  return ms;
}

function stringList(value, name) {
  if (!Array.isArray(value) || value.some((item) => typeof item !== "string")) {
    throw formatError(`${name} must be a list of strings`);
  }
  return value;
}

/**
 * The payload bytes if `document` is a signed document for `purpose`, signed
 * by `verifyKey` (32 bytes). Mirrors haven.envelope.signing.verify_document.
 */
export function verifySignedDocument(document, verifyKey, purpose = PURPOSE) {
  if (!(document instanceof Uint8Array)) {
    throw new TypeError("document must be a Uint8Array");
  }
  if (!(verifyKey instanceof Uint8Array) || verifyKey.length !== 32) {
    throw new TypeError("the network verify key is 32 bytes");
  }
  if (document.length > MAX_DOCUMENT_BYTES) {
    throw formatError("signed document is too large");
  }
  const parsed = parseJson(document, "signed document");
  if (!isObject(parsed) || parsed.format !== DOCUMENT_FORMAT) {
    throw formatError(`not a signed document: format is not ${DOCUMENT_FORMAT}`);
  }
  // Exactly these four fields: an extra one is where unsigned data would ride.
  const keys = Object.keys(parsed).sort();
  if (keys.length !== SIGNED_KEYS.length || keys.some((key, i) => key !== SIGNED_KEYS[i])) {
    throw formatError("document is unsigned or has unexpected fields");
  }
  // The purpose is part of the signed message too, but a wrong one is named
  // as such rather than as a bad signature. (Not echoed: attacker-controlled.)
  if (parsed.purpose !== purpose) {
    throw new DirectoryError("directory-signature", `document is not signed for ${purpose}`);
  }
  const payload = b64decodeStrict(parsed.payload);
  const signature = b64decodeStrict(parsed.signature);
  if (signature.length !== 64) {
    throw new DirectoryError("directory-signature", "signature is not 64 bytes");
  }
  const message = concatBytes([CONTEXT, encoder.encode(purpose), Uint8Array.of(0), payload]);
  let valid = false;
  try {
    // zip215: false is RFC 8032's strict verification (canonical S and
    // point encodings), the same set of signatures OpenSSL accepts.
    valid = ed25519.verify(signature, message, verifyKey, { zip215: false });
  } catch {
    valid = false;
  }
  if (!valid) {
    throw new DirectoryError(
      "directory-signature",
      "signature does not verify against the pinned network key",
    );
  }
  return payload;
}

// The parts of the payload this client relies on, checked as the schema
// (schemas/directory.py) checks them. Fields this client does not
// read (display names, delivery, deadlines) are the router's business.
function checkPayload(data) {
  if (!isObject(data)) {
    throw formatError("directory payload is not a JSON object");
  }
  if (typeof data.network_id !== "string") {
    throw formatError("network_id must be a string");
  }
  if (!Number.isSafeInteger(data.version) || data.version < 1) {
    throw formatError("version must be a positive integer");
  }
  const issuedAt = parseTime(data.issued_at, "issued_at");
  const expiresAt = parseTime(data.expires_at, "expires_at");
  if (expiresAt - issuedAt > MAX_VALIDITY_MS) {
    throw formatError("directory is valid for more than 31 days");
  }
  if (!Array.isArray(data.partners)) {
    throw formatError("partners must be a list");
  }
  // One signing key, one partner key (as schemas/directory.py): a key listed
  // twice would let one partner's messages pass as another's.
  const signingKeys = new Set();
  data.partners.forEach((partner, index) => {
    const at = `partners[${index}]`;
    if (!isObject(partner) || typeof partner.id !== "string") {
      throw formatError(`${at} is malformed`);
    }
    stringList(partner.categories, `${at}.categories`);
    stringList(partner.regions, `${at}.regions`);
    const partnerKeys = partner.keys;
    if (!Array.isArray(partnerKeys) || partnerKeys.length < 1 || partnerKeys.length > MAX_KEYS) {
      throw formatError(`${at}.keys must list 1 to ${MAX_KEYS} keys`);
    }
    partnerKeys.forEach((key, k) => {
      if (!isObject(key) || typeof key.kid !== "string" || !KID_RE.test(key.kid)) {
        throw formatError(`${at}.keys[${k}] is malformed`);
      }
      const publicKey = b64decodeStrict(key.public_key);
      if (publicKey.length !== PUBLIC_KEY_BYTES) {
        throw formatError(`${at}.keys[${k}].public_key is not ${PUBLIC_KEY_BYTES} bytes`);
      }
      // The kid is what a partner looks for in an envelope; a kid that is
      // not the hash of its key would misdirect every request.
      if (toHex(sha256(publicKey)) !== key.kid) {
        throw formatError(`${at}.keys[${k}]: kid does not match its public key`);
      }
      // Optional: the Ed25519 key that signs this partner's replies
      // (docs/replies-v1.md section 3.3).
      if (key.signing_key !== undefined && b64decodeStrict(key.signing_key).length !== 32) {
        throw formatError(`${at}.keys[${k}].signing_key is not 32 bytes`);
      }
      // A key of small order verifies signatures anyone can make: refused
      // here as Python's haven.directory.verify refuses it.
      if (key.signing_key !== undefined && !isSigningPublicKey(b64decodeStrict(key.signing_key))) {
        throw formatError(`${at}.keys[${k}].signing_key is not a usable Ed25519 public key`);
      }
      if (key.signing_key !== undefined) {
        if (signingKeys.has(key.signing_key)) {
          throw formatError(`${at}.keys[${k}].signing_key is used by another key`);
        }
        signingKeys.add(key.signing_key);
      }
    });
  });
  return { issuedAt, expiresAt };
}

/**
 * The verified directory payload (a plain object) of a signed directory
 * document, or DirectoryError. `verifyKey` is the pinned network key: 32
 * bytes, or their standard base64 as the page's config carries it.
 *
 * Order (docs/directory.md): signature for purpose "directory" by the pinned
 * key; the payload's form; every key's kid; the time. Nothing in the payload
 * is looked at before the signature verifies: a tampered directory could add
 * an attacker's key.
 */
export function verifyDirectory(document, verifyKey, { now = Date.now() } = {}) {
  const pinned = typeof verifyKey === "string" ? b64decodeStrict(verifyKey) : verifyKey;
  const payload = verifySignedDocument(document, pinned, PURPOSE);
  const directory = parseJson(payload, "directory payload");
  const { issuedAt, expiresAt } = checkPayload(directory);
  // Every category and region must be sealable, as Python checks when it
  // verifies (haven.directory.recipients.check_recipient_sets).
  checkRecipientSets(directory);
  // An expired directory may still list a key its partner has lost or retired.
  if (now >= expiresAt) {
    throw new DirectoryError("directory-expired", "directory has expired");
  }
  if (issuedAt > now + CLOCK_SKEW_MS) {
    throw new DirectoryError(
      "directory-expired",
      "directory is issued in the future (check this device's clock)",
    );
  }
  return directory;
}

/**
 * Partners serving `category` in `region`; if none serve the region, every
 * partner serving `category` (haven.directory.recipients.eligible_partners):
 * a person in a region nobody covers yet should still reach someone who can
 * help with their kind of request.
 */
export function eligiblePartners(directory, category, region) {
  const byCategory = directory.partners.filter((p) => p.categories.includes(category));
  const inRegion = byCategory.filter((p) => p.regions.includes(region));
  return inRegion.length > 0 ? inRegion : byCategory;
}

function recipientEntries(directory, category, region) {
  const partners = eligiblePartners(directory, category, region);
  if (partners.length === 0) {
    throw new DirectoryError("no-recipients", "no partner in the directory serves this category");
  }
  const seen = new Set();
  const entries = [];
  for (const partner of partners) {
    for (const key of partner.keys) {
      // One key listed twice is one recipient: an envelope lists each kid once.
      if (!seen.has(key.kid)) {
        seen.add(key.kid);
        entries.push(key);
      }
    }
  }
  if (entries.length > MAX_RECIPIENTS) {
    throw formatError(
      `${entries.length} partner keys serve this category and region; an envelope holds at most ${MAX_RECIPIENTS}`,
    );
  }
  return entries;
}

function checkRecipientSets(directory) {
  const regions = new Set([""]);
  const categories = new Set();
  for (const partner of directory.partners) {
    partner.regions.forEach((region) => regions.add(region));
    partner.categories.forEach((category) => categories.add(category));
  }
  for (const category of categories) {
    for (const region of regions) {
      const partners = eligiblePartners(directory, category, region);
      const kids = partners.flatMap((partner) => partner.keys.map((key) => key.kid));
      // Python refuses a key listed for two partners serving one category.
      if (new Set(kids).size !== kids.length) {
        throw formatError("one key is listed for two partners serving one category");
      }
      recipientEntries(directory, category, region);
    }
  }
}

/**
 * The envelope's recipients for a request of `category` in `region`: every
 * key of every eligible partner, each once, at most 32, as 1216-byte
 * Uint8Arrays (haven.directory.recipients.recipient_keys).
 * `directory` must come from verifyDirectory.
 */
export function recipientKeys(directory, category, region) {
  return recipientEntries(directory, category, region).map((key) =>
    b64decodeStrict(key.public_key),
  );
}

/** The kids (hex) of recipientKeys, in the same order. */
export function recipientKids(directory, category, region) {
  return recipientEntries(directory, category, region).map((key) => key.kid);
}

function partnerById(directory, partnerId) {
  return directory.partners.find((partner) => partner.id === partnerId);
}

/**
 * The Ed25519 keys (32 bytes each) that may sign `partnerId`'s messages to a
 * requester: every `signing_key` its keys list; none for an unknown partner.
 * `directory` must come from verifyDirectory.
 */
export function signingKeysOf(directory, partnerId) {
  const partner = partnerById(directory, partnerId);
  if (partner === undefined) {
    return [];
  }
  return partner.keys
    .filter((key) => key.signing_key !== undefined)
    .map((key) => b64decodeStrict(key.signing_key));
}

/** Every current public key (1216 bytes) of one partner: a follow-up's recipients. */
export function partnerKeysOf(directory, partnerId) {
  const partner = partnerById(directory, partnerId);
  if (partner === undefined) {
    throw new DirectoryError("no-recipients", "no such partner in the directory");
  }
  return partner.keys.map((key) => b64decodeStrict(key.public_key));
}
