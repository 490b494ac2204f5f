// Haven replies v1, section 1: the receipt code and its keys, the browser side
// (the Python side is haven/replies/).
//
// The normative definition is docs/replies-v1.md; every size and label here
// comes from it. Like envelope.js this runs unchanged in the browser and in
// Node >= 20: WebCrypto's getRandomValues, the pinned hash-wasm (Argon2id in
// WebAssembly), @noble/hashes (HKDF-SHA256, and Argon2id in pure JavaScript
// where WebAssembly is turned off), never a Node-only API.
//
// The word lists are passed in (wordLists(...)), not imported: the page's
// bundle embeds the three files of haven/replies/words/, the Node tests read
// them from disk, and there is one copy of each list in the repository.
//
// A code is the only secret behind a requester's mailbox: no function here
// logs, stores or sends it, and every CodeError names a position and a
// reason, never a word that was typed.

import { sha256 } from "@noble/hashes/sha2.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { argon2id as argon2idJs } from "@noble/hashes/argon2.js";
import { argon2id as argon2idWasm } from "hash-wasm";

import { publicKeyFromSeed, kidOf } from "./envelope.js";

export const LANGUAGES = Object.freeze(["en", "ru", "uk"]);
export const LIST_SIZE = 2048;
export const WORD_BITS = 11;
export const ENTROPY_BYTES = 11;
export const ENTROPY_BITS = ENTROPY_BYTES * 8; // 88
export const DATA_WORDS = ENTROPY_BITS / WORD_BITS; // 8
export const CODE_WORDS = DATA_WORDS + 1; // and the check word
export const KEY_BYTES = 32;

const ascii = new TextEncoder();

// The SHA-256 of each list file, as docs/replies-v1.md section 1.2 lists
// them. A list with CRLF line ends (a checkout or bundler that rewrote them),
// a byte-order mark, or re-sorted under another collation still has 2048
// distinct lines, yet names other indices: codes made from it would open
// other mailboxes, or none. Only the digest tells such a list apart.
export const LIST_SHA256 = Object.freeze({
  en: "5e1977ba60ad237124fb554ffb126e16433740ae99862fe96bddf19176e126f7",
  ru: "3f8704a41c120c398567e123f423ac29a12bb2c14198d2eae2a436980e20739f",
  uk: "66a956107d8dab2418ad1bb5463c819aa1204f66e16a8598df5a4cd54ee7db81",
});
const toHex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
export const ARGON2 = Object.freeze({
  salt: "haven/replies/v1 receipt code",
  timeCost: 2,
  memoryKiB: 19456,
  parallelism: 1,
  tagBytes: 32,
  version: 0x13,
});
export const HKDF_INFO = Object.freeze({
  mailboxId: "haven/replies/v1 mailbox id",
  accessSecret: "haven/replies/v1 mailbox access secret",
  replySeed: "haven/replies/v1 reply key seed",
});

// GF(2^11) = GF(2)[x] / (x^11 + x^2 + 1), primitive: alpha = x has order
// 2047, so the weights alpha^0 .. alpha^8 differ and none is zero, and any
// one substituted word or two swapped words change the check (section 1.4).
const FIELD_POLY = 0b1000_0000_0101;
const FIELD_TOP = 1 << WORD_BITS;

/** A receipt code that does not parse: reason "word_count", "unknown_word" or "check_failed". */
export class CodeError extends Error {
  constructor(reason, message, position = null) {
    super(message);
    this.name = "CodeError";
    this.reason = reason;
    this.position = position;
  }
}

/**
 * The three lists from their files' text (one word a line, final newline).
 * Refuses a list whose bytes are not the spec's: codes made from it could not
 * be read back elsewhere.
 */
export function wordLists(texts) {
  const lists = {};
  for (const language of LANGUAGES) {
    const text = texts[language];
    if (typeof text !== "string" || !text.endsWith("\n")) {
      throw new TypeError(`receipt-code word list ${language} is missing`);
    }
    if (toHex(sha256(ascii.encode(text))) !== LIST_SHA256[language]) {
      throw new TypeError(`receipt-code word list ${language} is damaged`);
    }
    const words = Object.freeze(text.slice(0, -1).split("\n"));
    const index = new Map(words.map((word, i) => [word, i]));
    lists[language] = Object.freeze({ words, index });
  }
  return Object.freeze(lists);
}

function gfMul(a, b) {
  let product = 0;
  while (b) {
    if (b & 1) product ^= a;
    b >>= 1;
    a <<= 1;
    if (a & FIELD_TOP) a ^= FIELD_POLY;
  }
  return product;
}

/** The check word's index: the sum over i = 1..8 of alpha^i * x_i in GF(2^11). */
export function checkIndex(data) {
  if (data.length !== DATA_WORDS) {
    throw new TypeError(`a code has ${DATA_WORDS} data words`);
  }
  let check = 0;
  let weight = 1;
  for (const index of data) {
    weight = gfMul(weight, 2);
    check ^= gfMul(weight, index);
  }
  return check;
}

function isEntropy(entropy) {
  return entropy instanceof Uint8Array && entropy.length === ENTROPY_BYTES;
}

function split(entropy) {
  let value = 0n;
  for (const byte of entropy) value = (value << 8n) | BigInt(byte);
  const data = [];
  for (let i = DATA_WORDS - 1; i >= 0; i -= 1) {
    data.push(Number((value >> BigInt(WORD_BITS * i)) & 0x7ffn));
  }
  return data;
}

function join(data) {
  let value = 0n;
  for (const index of data) value = (value << BigInt(WORD_BITS)) | BigInt(index);
  const entropy = new Uint8Array(ENTROPY_BYTES);
  for (let i = ENTROPY_BYTES - 1; i >= 0; i -= 1) {
    entropy[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return entropy;
}

/** The nine word indices of a code: eight data words and the check word. */
export function indicesOf(entropy) {
  if (!isEntropy(entropy)) {
    throw new TypeError(`a receipt code holds ${ENTROPY_BYTES} bytes of entropy`);
  }
  const data = split(entropy);
  return [...data, checkIndex(data)];
}

/** A fresh code: { entropy, language }. `randomBytes` is the seam tests use. */
export function generate(language, lists, randomBytes = defaultRandomBytes) {
  if (!LANGUAGES.includes(language) || lists?.[language] === undefined) {
    throw new TypeError(`no receipt-code word list for language ${language}`);
  }
  const entropy = randomBytes(ENTROPY_BYTES);
  indicesOf(entropy); // checks its length
  return Object.freeze({ entropy, language });
}

function defaultRandomBytes(n) {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}

/** The code's words in its language. */
export function wordsOf(code, lists) {
  const { words } = lists[code.language];
  return indicesOf(code.entropy).map((i) => words[i]);
}

/** The code as shown: its nine words, separated by single spaces. */
export function formatCode(code, lists) {
  return wordsOf(code, lists).join(" ");
}

// Latin letters that look like Cyrillic ones, folded to the Cyrillic letter
// inside a word that already has a Cyrillic letter (section 1.5): a phone's
// Latin layout or a person copying by eye can put a Latin "o" or "i" into
// "вокзал" or "місто". No list word mixes scripts, so folding cannot make one
// word read as another; words with no Cyrillic letter are left alone.
const LATIN_TO_CYRILLIC = new Map(
  Array.from("acekmhoptxyi", (latin, i) => [latin, "асекмнортхуі"[i]]),
);
const CYRILLIC = /[\u0400-\u04ff]/u;

function foldWord(word) {
  if (!CYRILLIC.test(word)) return word;
  return Array.from(word, (c) => LATIN_TO_CYRILLIC.get(c) ?? c).join("");
}

/**
 * Section 1.5: NFC; combining marks and format characters (Mn, Me, Cf)
 * dropped, so a stress mark, a soft hyphen or a zero-width space does not
 * split a word; lower case, ё as е; words as the runs of letters (Unicode
 * category L), anything else, numbering on paper included, separating; and
 * Latin look-alikes folded inside Cyrillic words.
 */
export function normalise(text) {
  const folded = text
    .normalize("NFC")
    .replace(/[\p{Mn}\p{Me}\p{Cf}]/gu, "")
    .toLowerCase()
    .replaceAll("ё", "е");
  return (folded.match(/\p{L}+/gu) ?? []).map(foldWord);
}

/** The code a person typed, or a CodeError saying where it went wrong. */
export function parse(text, lists) {
  const words = normalise(text);
  if (words.length !== CODE_WORDS) {
    throw new CodeError(
      "word_count",
      `a receipt code has ${CODE_WORDS} words; this has ${words.length}`,
    );
  }
  // The lists share no word, so the one holding the most of the words is
  // the code's; a tie goes to the first in LANGUAGES order.
  let language = LANGUAGES[0];
  let best = -1;
  for (const candidate of LANGUAGES) {
    const count = words.filter((word) => lists[candidate].index.has(word)).length;
    if (count > best) {
      best = count;
      language = candidate;
    }
  }
  const { index } = lists[language];
  const indices = words.map((word, i) => {
    if (!index.has(word)) {
      throw new CodeError(
        "unknown_word",
        `word ${i + 1} of the receipt code is not in its word list`,
        i + 1,
      );
    }
    return index.get(word);
  });
  const data = indices.slice(0, DATA_WORDS);
  if (indices[DATA_WORDS] !== checkIndex(data)) {
    throw new CodeError(
      "check_failed",
      "the receipt code's check failed: a word is mistyped or two words are swapped",
    );
  }
  return Object.freeze({ entropy: join(data), language });
}

// The two ways this file runs Argon2id. "wasm" is hash-wasm, the reference
// C code compiled to WebAssembly, and what a page uses wherever it can.
// "js" is @noble/hashes in pure JavaScript, several times slower
// (docs/replies-v1.md 1.7): the fallback for a browser with WebAssembly
// turned off (iOS Lockdown Mode, Tor Browser's "Safer" and "Safest" levels,
// a policy that refuses to compile it). Those are the people most likely to
// want a reply through Haven, so a missing WebAssembly must cost them time,
// never the code. Both give the same tag (the vectors run through both).
export const ARGON2_PATHS = Object.freeze(["wasm", "js"]);

const argon2Salt = () => ascii.encode(ARGON2.salt);

function stretchWasm(entropy) {
  return argon2idWasm({
    password: entropy,
    salt: argon2Salt(),
    iterations: ARGON2.timeCost,
    memorySize: ARGON2.memoryKiB,
    parallelism: ARGON2.parallelism,
    hashLength: ARGON2.tagBytes,
    outputType: "binary",
  });
}

function stretchJs(entropy) {
  return argon2idJs(entropy, argon2Salt(), {
    t: ARGON2.timeCost,
    m: ARGON2.memoryKiB,
    p: ARGON2.parallelism,
    dkLen: ARGON2.tagBytes,
    version: ARGON2.version,
  });
}

// Asked once per worker: the answer does not change while it lives.
let pathChosen = null;

async function probeWasm() {
  // A browser with WebAssembly turned off has no WebAssembly object at all.
  if (typeof WebAssembly !== "object" || WebAssembly === null) return "js";
  try {
    // The smallest Argon2id hash-wasm runs: it compiles and instantiates the
    // module (kept for the real run), so a policy or a browser that refuses
    // to compile WebAssembly is found here, before the page is told how long
    // to wait.
    await argon2idWasm({
      password: new Uint8Array(ENTROPY_BYTES),
      salt: argon2Salt(),
      iterations: 1,
      memorySize: 8,
      parallelism: 1,
      hashLength: ARGON2.tagBytes,
      outputType: "binary",
    });
    return "wasm";
  } catch {
    return "js";
  }
}

/** "wasm" where this runtime can run hash-wasm's Argon2id, else "js". */
export function argon2Path() {
  pathChosen ??= probeWasm();
  return pathChosen;
}

// The pure-JavaScript Argon2id's speed differs a hundredfold between
// browsers: a JIT runs it a few times slower than WebAssembly, but Lockdown
// Mode and Tor Browser's "Safer" level, which turn WebAssembly off, turn the
// JIT off too, and an interpreter is tens of times slower again. So its time
// is measured, not assumed: Argon2id's work is one pass over its memory per
// iteration, so a run over 1024 KiB once takes about 1/38 of the real one.
// The first run also pays for compiling the code it calls, which overstated
// the time by about 1.6 in Chromium without a JIT: the second run is timed.
const PROBE_KIB = 1024;

/** About how many milliseconds this runtime's pure-JavaScript Argon2id takes. */
export function estimateJsMs() {
  let elapsed = Infinity;
  for (let run = 0; run < 2; run += 1) {
    const start = performance.now();
    argon2idJs(new Uint8Array(ENTROPY_BYTES), argon2Salt(), {
      t: 1,
      m: PROBE_KIB,
      p: 1,
      dkLen: ARGON2.tagBytes,
    });
    elapsed = Math.min(elapsed, performance.now() - start);
  }
  return Math.round((elapsed * ARGON2.memoryKiB * ARGON2.timeCost) / PROBE_KIB);
}

/**
 * Argon2id over the code's 11 entropy bytes: the slow step. With no `path`,
 * the one argon2Path() chose, and pure JavaScript should WebAssembly still
 * fail (a phone that cannot grow its memory); a `path` given runs only that.
 */
export async function stretch(entropy, path = null) {
  if (!isEntropy(entropy)) {
    throw new TypeError(`a receipt code holds ${ENTROPY_BYTES} bytes of entropy`);
  }
  if (path !== null && !ARGON2_PATHS.includes(path)) {
    throw new TypeError(`no Argon2id path ${path}`);
  }
  const chosen = path ?? (await argon2Path());
  if (chosen === "js") return stretchJs(entropy);
  if (path !== null) return stretchWasm(entropy);
  try {
    return await stretchWasm(entropy);
  } catch {
    return stretchJs(entropy);
  }
}

/** HKDF-SHA256 with an empty salt: 32 bytes for one label. */
export function expand(tag, info) {
  return hkdf(sha256, tag, undefined, ascii.encode(info), KEY_BYTES);
}

/**
 * What a code unlocks: the mailbox id, the mailbox access secret, and the
 * X-Wing reply key (its 32-byte seed, public key, and kid in hex). `path`
 * as for stretch().
 */
export async function deriveKeys(code, path = null) {
  const tag = await stretch(code.entropy, path);
  const replySeed = expand(tag, HKDF_INFO.replySeed);
  const replyPublicKey = await publicKeyFromSeed(replySeed);
  return Object.freeze({
    mailboxId: expand(tag, HKDF_INFO.mailboxId),
    accessSecret: expand(tag, HKDF_INFO.accessSecret),
    replySeed,
    replyPublicKey,
    replyKid: await kidOf(replyPublicKey), // hex, as envelope.js gives it
  });
}
