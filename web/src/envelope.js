// Haven envelope v1, the browser side (the Python side is haven/envelope/).
//
// The normative definition is docs/envelope-v1.md; every size and string here
// comes from it. This module runs unchanged in the browser and in Node >= 20:
// it uses only WebCrypto (globalThis.crypto) and the pinned @hpke packages,
// never Buffer, fs or any other Node-only API.
//
// Public API, kept small on purpose: seal, open, inspect, digest,
// publicKeyFromSeed, kidOf, pad, unpad, the constants, and the error types.
// `open` throws one error (OpenError) for every failure to open.

import { Aes256Gcm, CipherSuite, HkdfSha256 } from "@hpke/core";
import { XWing } from "@hpke/hybridkem-x-wing";

import { concatBytes, toHex } from "./bytes.js";

export const BUCKETS = Object.freeze([4096, 16384, 65536]);
export const LENGTH_PREFIX_BYTES = 4;
export const MAX_CONTENT_BYTES = BUCKETS[BUCKETS.length - 1] - LENGTH_PREFIX_BYTES;
export const MAX_RECIPIENTS = 32;
export const SEED_BYTES = 32;
export const PUBLIC_KEY_BYTES = 1184 + 32;
export const KID_BYTES = 32;
export const ENC_BYTES = 1120;
export const WRAPPED_KEY_BYTES = 32 + 16;
export const STANZA_BYTES = KID_BYTES + ENC_BYTES + WRAPPED_KEY_BYTES;
export const COMMITMENT_BYTES = 32;
export const TAG_BYTES = 16;
export const LABEL_FIELDS = Object.freeze(["category", "region", "language", "urgency"]);
export const LABEL_MAX_BYTES = 32;

const MAGIC = Uint8Array.of(0x48, 0x56, 0x4e, 0x01);
const VERSION_OFFSET = 3;
const FLAGS_OFFSET = 4;
const FLAG_SERVER_SEALED = 0x01;
const KNOWN_FLAGS = FLAG_SERVER_SEALED;
const FILE_KEY_BYTES = 32;
const BODY_SIZES = Object.freeze(BUCKETS.map((bucket) => bucket + TAG_BYTES));
const MIN_PREFIX_BYTES = MAGIC.length + 1 + LABEL_FIELDS.length * 2;
const MAX_PREFIX_BYTES = MAGIC.length + 1 + LABEL_FIELDS.length * (1 + LABEL_MAX_BYTES);
export const MAX_ENVELOPE_BYTES =
  MAX_PREFIX_BYTES +
  1 +
  MAX_RECIPIENTS * STANZA_BYTES +
  COMMITMENT_BYTES +
  BODY_SIZES[BODY_SIZES.length - 1];
export const MIN_ENVELOPE_BYTES =
  MIN_PREFIX_BYTES + 1 + STANZA_BYTES + COMMITMENT_BYTES + BODY_SIZES[0];

const ascii = new TextEncoder();
const STANZA_INFO = Uint8Array.of(...ascii.encode("haven/v1 file key"), 0x00);
const BODY_INFO = ascii.encode("haven/v1 body");
const COMMITMENT_INFO = ascii.encode("haven/v1 key commitment");
// The body key is derived from a fresh random file key and encrypts exactly
// one message, so a fixed nonce never repeats under one key.
const BODY_NONCE = new Uint8Array(12);
// The only free-form bytes outside the sealed body are these labels; the tiny
// alphabet makes sure no free text can ride in the clear.
const LABEL_RE = /^[a-z0-9_-]{1,32}$/;

const suite = new CipherSuite({ kem: new XWing(), kdf: new HkdfSha256(), aead: new Aes256Gcm() });

function subtle() {
  const api = globalThis.crypto?.subtle;
  if (api === undefined) {
    // Without a secure context (plain http) browsers hide WebCrypto: refuse
    // rather than fall back to anything weaker.
    throw new Error("WebCrypto is not available (a secure context is required)");
  }
  return api;
}

/** Every failure to open an envelope, whatever its cause. */
export class OpenError extends Error {
  static MESSAGE = "envelope cannot be opened";

  constructor() {
    // No argument, no cause: which step failed is an oracle for whoever
    // crafted the envelope (spec section 8).
    super(OpenError.MESSAGE);
    this.name = "OpenError";
  }
}

/** The envelope's public structure is malformed (inspection, no key involved). */
export class EnvelopeFormatError extends Error {
  constructor(reason) {
    super(reason);
    this.name = "EnvelopeFormatError";
  }
}

/** Content too large to pad, or padded bytes not in canonical form. */
export class PaddingError extends Error {
  constructor(reason) {
    super(reason);
    this.name = "PaddingError";
  }
}

function isBytes(value) {
  return value instanceof Uint8Array;
}

// A fresh Uint8Array that owns exactly these bytes. Not `.slice()`: on a Node
// Buffer that returns a view into a shared pool, and @hpke reads `.buffer`.
function copyBytes(bytes) {
  return new Uint8Array(bytes);
}

function compareBytes(a, b) {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i += 1) {
    if (a[i] !== b[i]) {
      return a[i] - b[i];
    }
  }
  return a.length - b.length;
}

async function sha256(bytes) {
  return new Uint8Array(await subtle().digest("SHA-256", bytes));
}

export function bucketFor(contentLength) {
  for (const bucket of BUCKETS) {
    if (contentLength + LENGTH_PREFIX_BYTES <= bucket) {
      return bucket;
    }
  }
  throw new PaddingError(`content is ${contentLength} bytes; at most ${MAX_CONTENT_BYTES} fit`);
}

/** u32be(len) || content || zeros, to the smallest bucket that holds it (spec section 7). */
export function pad(content) {
  if (!isBytes(content)) {
    throw new TypeError("content must be a Uint8Array");
  }
  const padded = new Uint8Array(bucketFor(content.length));
  new DataView(padded.buffer).setUint32(0, content.length, false);
  padded.set(content, LENGTH_PREFIX_BYTES);
  return padded;
}

/** Inverse of pad; accepts only the one canonical padding of a content. */
export function unpad(padded) {
  if (!isBytes(padded) || !BUCKETS.includes(padded.length)) {
    throw new PaddingError("padded length is not a bucket");
  }
  const view = new DataView(padded.buffer, padded.byteOffset, padded.byteLength);
  const length = view.getUint32(0, false);
  if (length > padded.length - LENGTH_PREFIX_BYTES) {
    throw new PaddingError("length prefix exceeds the bucket");
  }
  // Canonical form: one padded encoding per content, so the same content
  // cannot be re-sent in a larger size class that looks like another request.
  if (bucketFor(length) !== padded.length) {
    throw new PaddingError("content is not in its smallest bucket");
  }
  let nonzero = 0;
  for (let i = LENGTH_PREFIX_BYTES + length; i < padded.length; i += 1) {
    nonzero |= padded[i];
  }
  if (nonzero !== 0) {
    throw new PaddingError("padding is not zero");
  }
  return copyBytes(padded.subarray(LENGTH_PREFIX_BYTES, LENGTH_PREFIX_BYTES + length));
}

/** The 1216-byte public key (ML-KEM-768 || X25519) of a 32-byte X-Wing seed. */
export async function publicKeyFromSeed(seed) {
  return (await keyPairFromSeed(seed)).publicKeyBytes;
}

async function keyPairFromSeed(seed) {
  if (!isBytes(seed) || seed.length !== SEED_BYTES) {
    throw new TypeError(`a private key seed is a Uint8Array of ${SEED_BYTES} bytes`);
  }
  // generateKeyPairDerand reads `seed.buffer` whole, hence the copy. It is
  // the draft-06 expansion of the seed itself (deriveKeyPair would hash the
  // seed first and give a different key).
  const keyPair = await suite.kem.generateKeyPairDerand(copyBytes(seed));
  const publicKeyBytes = new Uint8Array(await suite.kem.serializePublicKey(keyPair.publicKey));
  return { privateKey: keyPair.privateKey, publicKeyBytes };
}

/** Key id: SHA-256 of the 1216-byte public key, as 64 lowercase hex digits. */
export async function kidOf(publicKey) {
  if (!isBytes(publicKey) || publicKey.length !== PUBLIC_KEY_BYTES) {
    throw new TypeError(`a public key is a Uint8Array of ${PUBLIC_KEY_BYTES} bytes`);
  }
  return toHex(await sha256(publicKey));
}

/** Request id and broker message id: SHA-256 of the envelope, lowercase hex. */
export async function digest(envelope) {
  if (!isBytes(envelope)) {
    throw new TypeError("envelope must be a Uint8Array");
  }
  return toHex(await sha256(envelope));
}

function encodeLabels(labels) {
  if (labels === null || typeof labels !== "object") {
    throw new TypeError("labels must be an object with category, region, language, urgency");
  }
  return LABEL_FIELDS.map((name) => {
    const value = labels[name];
    if (typeof value !== "string" || !LABEL_RE.test(value)) {
      throw new RangeError(`label ${name}: 1 to ${LABEL_MAX_BYTES} characters of a-z 0-9 _ -`);
    }
    return ascii.encode(value);
  });
}

function buildPrefix(labelBytes, serverSealed) {
  const parts = [MAGIC, Uint8Array.of(serverSealed ? FLAG_SERVER_SEALED : 0)];
  for (const raw of labelBytes) {
    parts.push(Uint8Array.of(raw.length), raw);
  }
  return concatBytes(parts);
}

function stanzaInfo(prefix) {
  // The HPKE info covers version, flags and labels: a stanza opens only under
  // the exact labels it was sealed with, so relabelling is detected.
  return concatBytes([STANZA_INFO, prefix]);
}

// Key commitment (spec section 6): binds the file key into the header, since
// AES-GCM alone does not commit to its key. Every recipient that opens holds
// the same file key, so no crafted envelope shows partners different content.
async function commitment(fileKey) {
  const ikm = await subtle().importKey("raw", fileKey, "HKDF", false, ["deriveBits"]);
  return new Uint8Array(
    await subtle().deriveBits(
      { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: COMMITMENT_INFO },
      ikm,
      256,
    ),
  );
}

function equalConstantTime(a, b) {
  if (a.length !== b.length) {
    return false;
  }
  let diff = 0;
  for (let i = 0; i < a.length; i += 1) {
    diff |= a[i] ^ b[i];
  }
  return diff === 0;
}

async function bodyKey(fileKey, usage) {
  const ikm = await subtle().importKey("raw", fileKey, "HKDF", false, ["deriveKey"]);
  return subtle().deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: BODY_INFO },
    ikm,
    { name: "AES-GCM", length: 256 },
    false,
    [usage],
  );
}

/**
 * Seal `content` to every recipient public key; each recipient can open it alone.
 *
 * @param {{content: Uint8Array, labels: {category: string, region: string, language: string,
 *   urgency: string}, serverSealed?: boolean, recipients: Uint8Array[]}} params
 * @returns {Promise<Uint8Array>} the envelope
 */
export async function seal({ content, labels, serverSealed = false, recipients }) {
  if (typeof serverSealed !== "boolean") {
    throw new TypeError("serverSealed must be a boolean");
  }
  const padded = pad(content);
  const prefix = buildPrefix(encodeLabels(labels), serverSealed);
  if (!Array.isArray(recipients) || recipients.length < 1 || recipients.length > MAX_RECIPIENTS) {
    throw new RangeError(`an envelope has 1 to ${MAX_RECIPIENTS} recipients`);
  }
  const keyed = [];
  for (const publicKey of recipients) {
    if (!isBytes(publicKey) || publicKey.length !== PUBLIC_KEY_BYTES) {
      throw new TypeError(`a public key is a Uint8Array of ${PUBLIC_KEY_BYTES} bytes`);
    }
    keyed.push({ publicKey: copyBytes(publicKey), kid: await sha256(publicKey) });
  }
  // Sorted by kid, so the stanza order says nothing about who was added
  // first; a duplicate would break the opener's strictly-increasing rule.
  keyed.sort((a, b) => compareBytes(a.kid, b.kid));
  for (let i = 1; i < keyed.length; i += 1) {
    if (compareBytes(keyed[i - 1].kid, keyed[i].kid) === 0) {
      throw new RangeError("the same recipient key is listed twice");
    }
  }

  const fileKey = globalThis.crypto.getRandomValues(new Uint8Array(FILE_KEY_BYTES));
  try {
    const info = stanzaInfo(prefix);
    const headerParts = [prefix, Uint8Array.of(keyed.length)];
    for (const { publicKey, kid } of keyed) {
      let enc;
      let ct;
      try {
        const recipientPublicKey = await suite.kem.deserializePublicKey(publicKey);
        // ML-KEM's encapsulation-key check (FIPS 203) runs inside seal, so a
        // malformed key is refused rather than sealed to.
        ({ enc, ct } = await suite.seal({ recipientPublicKey, info }, fileKey));
      } catch (error) {
        throw new RangeError("a recipient public key is not a valid X-Wing key", { cause: error });
      }
      const encBytes = new Uint8Array(enc);
      const wrapped = new Uint8Array(ct);
      if (encBytes.length !== ENC_BYTES || wrapped.length !== WRAPPED_KEY_BYTES) {
        throw new Error("HPKE produced a stanza of the wrong size");
      }
      headerParts.push(kid, encBytes, wrapped);
    }
    headerParts.push(await commitment(fileKey));
    const header = concatBytes(headerParts);
    // aad = the whole header: dropping, adding, reordering or swapping a
    // stanza makes the body fail to open for every recipient.
    const body = new Uint8Array(
      await subtle().encrypt(
        { name: "AES-GCM", iv: BODY_NONCE, additionalData: header, tagLength: 128 },
        await bodyKey(fileKey, "encrypt"),
        padded,
      ),
    );
    return concatBytes([header, body]);
  } finally {
    // Best effort only: the HPKE and WebCrypto layers hold their own copies.
    fileKey.fill(0);
  }
}

// Steps 1 to 5 of spec section 8: the complete, strict parse of the public
// structure, done before any key or any cryptography is touched.
function parse(envelope) {
  if (!isBytes(envelope)) {
    throw new EnvelopeFormatError("envelope must be a Uint8Array");
  }
  // Bounds the work and memory a crafted envelope can cost.
  if (envelope.length > MAX_ENVELOPE_BYTES) {
    throw new EnvelopeFormatError(`envelope is larger than ${MAX_ENVELOPE_BYTES} bytes`);
  }
  // Every offset read up to n (the prefix is at most 137 bytes) is then in bounds.
  if (envelope.length < MIN_ENVELOPE_BYTES) {
    throw new EnvelopeFormatError("envelope is truncated");
  }
  for (let i = 0; i < VERSION_OFFSET; i += 1) {
    if (envelope[i] !== MAGIC[i]) {
      throw new EnvelopeFormatError("not a Haven envelope");
    }
  }
  if (envelope[VERSION_OFFSET] !== MAGIC[VERSION_OFFSET]) {
    throw new EnvelopeFormatError(`unsupported envelope version ${envelope[VERSION_OFFSET]}`);
  }
  const flags = envelope[FLAGS_OFFSET];
  // Undefined bits must be zero so a future meaning cannot be smuggled past v1 openers.
  if ((flags & ~KNOWN_FLAGS) !== 0) {
    throw new EnvelopeFormatError("unknown flag bits set");
  }
  let pos = FLAGS_OFFSET + 1;
  const labels = {};
  for (const name of LABEL_FIELDS) {
    const length = envelope[pos];
    if (length < 1 || length > LABEL_MAX_BYTES) {
      throw new EnvelopeFormatError(`label ${name} is malformed`);
    }
    const value = String.fromCharCode(...envelope.subarray(pos + 1, pos + 1 + length));
    if (!LABEL_RE.test(value)) {
      throw new EnvelopeFormatError(`label ${name} is malformed`);
    }
    labels[name] = value;
    pos += 1 + length;
  }
  const prefixEnd = pos;
  const count = envelope[pos];
  pos += 1;
  if (count < 1 || count > MAX_RECIPIENTS) {
    throw new EnvelopeFormatError(`recipient count must be 1 to ${MAX_RECIPIENTS}`);
  }
  const stanzasEnd = pos + count * STANZA_BYTES;
  const headerEnd = stanzasEnd + COMMITMENT_BYTES;
  if (!BODY_SIZES.includes(envelope.length - headerEnd)) {
    throw new EnvelopeFormatError(
      "envelope length does not match its recipients and a padding bucket",
    );
  }
  const stanzas = [];
  for (; pos < stanzasEnd; pos += STANZA_BYTES) {
    const kid = envelope.subarray(pos, pos + KID_BYTES);
    // Strictly increasing kids: one stanza per recipient, one canonical order.
    if (stanzas.length > 0 && compareBytes(stanzas[stanzas.length - 1].kid, kid) >= 0) {
      throw new EnvelopeFormatError("recipient stanzas are not in strictly increasing kid order");
    }
    stanzas.push({
      kid,
      enc: envelope.subarray(pos + KID_BYTES, pos + KID_BYTES + ENC_BYTES),
      wrappedKey: envelope.subarray(pos + KID_BYTES + ENC_BYTES, pos + STANZA_BYTES),
    });
  }
  return {
    labels,
    serverSealed: (flags & FLAG_SERVER_SEALED) !== 0,
    stanzas,
    commitment: envelope.subarray(stanzasEnd, headerEnd),
    prefix: envelope.subarray(0, prefixEnd),
    header: envelope.subarray(0, headerEnd),
    body: envelope.subarray(headerEnd),
  };
}

/**
 * The public structure of an envelope, for the intake and the router (no key).
 *
 * @returns {{labels: object, serverSealed: boolean, kids: string[], bucket: number}}
 * @throws {EnvelopeFormatError} naming the rule that was broken
 */
export function inspect(envelope) {
  const parsed = parse(envelope);
  return {
    labels: { ...parsed.labels },
    serverSealed: parsed.serverSealed,
    kids: parsed.stanzas.map((stanza) => toHex(stanza.kid)),
    bucket: parsed.body.length - TAG_BYTES,
  };
}

async function openOrFail(envelope, seeds) {
  // Copied once so the bytes parsed are the bytes decrypted, even if the
  // caller's buffer changes while we await.
  const parsed = parse(isBytes(envelope) ? copyBytes(envelope) : envelope);
  if (!Array.isArray(seeds)) {
    throw new TypeError("seeds must be an array");
  }
  // Spec section 8: the first of the opener's keys whose kid is in the header.
  for (const seed of seeds) {
    const { privateKey, publicKeyBytes } = await keyPairFromSeed(seed);
    const kid = await sha256(publicKeyBytes);
    const stanza = parsed.stanzas.find((candidate) => compareBytes(candidate.kid, kid) === 0);
    if (stanza === undefined) {
      continue;
    }
    const fileKey = new Uint8Array(
      await suite.open(
        { recipientKey: privateKey, enc: copyBytes(stanza.enc), info: stanzaInfo(parsed.prefix) },
        copyBytes(stanza.wrappedKey),
      ),
    );
    try {
      if (fileKey.length !== FILE_KEY_BYTES) {
        throw new Error("file key has the wrong length");
      }
      if (!equalConstantTime(await commitment(fileKey), parsed.commitment)) {
        throw new Error("key commitment does not match");
      }
      const padded = new Uint8Array(
        await subtle().decrypt(
          { name: "AES-GCM", iv: BODY_NONCE, additionalData: parsed.header, tagLength: 128 },
          await bodyKey(fileKey, "decrypt"),
          parsed.body,
        ),
      );
      return {
        labels: { ...parsed.labels },
        serverSealed: parsed.serverSealed,
        content: unpad(padded),
      };
    } finally {
      fileKey.fill(0);
    }
  }
  throw new Error("none of the keys is a recipient");
}

/**
 * Open an envelope with one or more of one partner's 32-byte seeds.
 *
 * @returns {Promise<{labels: object, serverSealed: boolean, content: Uint8Array}>}
 * @throws {OpenError} for every failure, always the same message and no cause
 */
export async function open(envelope, seeds) {
  try {
    return await openOrFail(envelope, seeds);
  } catch {
    // Whatever went wrong (format, no matching kid, HPKE, body tag, padding,
    // even a bad seed) leaves as the one opaque error.
    throw new OpenError();
  }
}
