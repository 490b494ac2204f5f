// Unit tests of web/src/envelope.js against docs/envelope-v1.md.
// Run with `node --test web/test/` (tests/haven/envelope/test_interop_js.py does, for CI).

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";

import {
  BUCKETS,
  EnvelopeFormatError,
  MAX_CONTENT_BYTES,
  MAX_ENVELOPE_BYTES,
  MAX_RECIPIENTS,
  MIN_ENVELOPE_BYTES,
  OpenError,
  PUBLIC_KEY_BYTES,
  PaddingError,
  STANZA_BYTES,
  digest,
  inspect,
  kidOf,
  open,
  pad,
  publicKeyFromSeed,
  seal,
  unpad,
} from "../src/envelope.js";

const LABELS = Object.freeze({
  category: "desertion",
  region: "ru-central",
  language: "ru",
  urgency: "urgent",
});
const OTHER_LABELS = Object.freeze({
  category: "legal_aid",
  region: "abroad-eu",
  language: "uk",
  urgency: "normal",
});
// Offsets within an envelope sealed with LABELS: magic, flags, four labels.
const FLAGS_AT = 4;
const CATEGORY_AT = 6;
const PREFIX_BYTES = 5 + 1 + 9 + 1 + 10 + 1 + 2 + 1 + 6;
const STANZAS_AT = PREFIX_BYTES + 1;

const text = (value) => new TextEncoder().encode(value);
const sha256Hex = (bytes) => createHash("sha256").update(bytes).digest("hex");
const seedOf = (byte) => new Uint8Array(32).fill(byte);

const seeds = [seedOf(0x11), seedOf(0x22), seedOf(0x33)];
const publicKeys = await Promise.all(seeds.map(publicKeyFromSeed));
const content = text('{"v":1,"category":"desertion","fields":{"needs":["legal"]}}');

async function sealToTwo(overrides = {}) {
  return seal({ content, labels: LABELS, recipients: publicKeys.slice(0, 2), ...overrides });
}

async function assertOpenFails(envelope, keys) {
  await assert.rejects(open(envelope, keys), (error) => {
    assert.ok(error instanceof OpenError);
    assert.equal(error.message, OpenError.MESSAGE);
    assert.equal(error.cause, undefined);
    return true;
  });
}

function withByte(envelope, offset, value) {
  const copy = new Uint8Array(envelope);
  copy[offset] = value;
  return copy;
}

function flipped(envelope, offset, mask = 0x01) {
  const copy = new Uint8Array(envelope);
  copy[offset] ^= mask;
  return copy;
}

describe("constants", () => {
  test("match the spec", () => {
    assert.deepEqual([...BUCKETS], [4096, 16384, 65536]);
    assert.equal(MAX_CONTENT_BYTES, 65532);
    assert.equal(MAX_RECIPIENTS, 32);
    assert.equal(STANZA_BYTES, 1200);
    assert.equal(MAX_ENVELOPE_BYTES, 5 + 4 * 33 + 1 + 32 * 1200 + 32 + 65552);
    assert.equal(MIN_ENVELOPE_BYTES, 13 + 1 + 1200 + 32 + 4112);
    assert.equal(MAX_ENVELOPE_BYTES, 104122);
  });
});

describe("padding", () => {
  test("picks the smallest bucket that holds u32be(len) || content", () => {
    for (const [length, bucket] of [
      [0, 4096],
      [4092, 4096],
      [4093, 16384],
      [16380, 16384],
      [16381, 65536],
      [65532, 65536],
    ]) {
      const padded = pad(new Uint8Array(length).fill(0xab));
      assert.equal(padded.length, bucket, `content of ${length} bytes`);
      assert.equal(new DataView(padded.buffer).getUint32(0), length);
      assert.deepEqual(unpad(padded), new Uint8Array(length).fill(0xab));
    }
  });

  test("refuses content that fits no bucket", () => {
    assert.throws(() => pad(new Uint8Array(65533)), PaddingError);
  });

  test("unpad accepts only the canonical form", () => {
    const good = pad(text("hello"));
    const nonzero = new Uint8Array(good);
    nonzero[4095] = 1;
    assert.throws(() => unpad(nonzero), PaddingError, "non-zero padding byte");
    const tooLong = new Uint8Array(good);
    new DataView(tooLong.buffer).setUint32(0, 4093);
    assert.throws(() => unpad(tooLong), PaddingError, "length prefix beyond the bucket");
    const bigger = new Uint8Array(16384);
    bigger.set(good.subarray(0, 9));
    assert.throws(() => unpad(bigger), PaddingError, "short content in a larger bucket");
    assert.throws(() => unpad(good.subarray(0, 4095)), PaddingError, "not a bucket length");
  });
});

describe("keys", () => {
  test("a seed gives a fixed 1216-byte public key and kid = SHA-256(pk)", async () => {
    const again = await publicKeyFromSeed(seedOf(0x11));
    assert.equal(publicKeys[0].length, PUBLIC_KEY_BYTES);
    assert.deepEqual(again, publicKeys[0]);
    assert.notDeepEqual(publicKeys[0], publicKeys[1]);
    assert.equal(await kidOf(publicKeys[0]), sha256Hex(publicKeys[0]));
  });

  test("a seed passed as a view into a larger buffer gives the same key", async () => {
    const big = new Uint8Array(100).fill(0x11);
    big[0] = 0;
    assert.deepEqual(await publicKeyFromSeed(big.subarray(1, 33)), publicKeys[0]);
    assert.deepEqual(await publicKeyFromSeed(Buffer.alloc(32, 0x11)), publicKeys[0]);
  });

  test("refuses seeds and public keys of the wrong length", async () => {
    await assert.rejects(publicKeyFromSeed(new Uint8Array(31)), TypeError);
    await assert.rejects(kidOf(new Uint8Array(1215)), TypeError);
  });
});

describe("sealing and opening", () => {
  test("each recipient opens alone, to the same labels, flag and content", async () => {
    const envelope = await sealToTwo();
    for (const seed of seeds.slice(0, 2)) {
      const opened = await open(envelope, [seed]);
      assert.deepEqual(opened.labels, LABELS);
      assert.equal(opened.serverSealed, false);
      assert.deepEqual(opened.content, content);
    }
    await assertOpenFails(envelope, [seeds[2]]);
  });

  test("the first of the opener's keys that is a recipient is used", async () => {
    const envelope = await sealToTwo();
    const opened = await open(envelope, [seeds[2], seeds[1]]);
    assert.deepEqual(opened.content, content);
  });

  test("the server-sealed flag and the labels travel in the clear", async () => {
    const envelope = await seal({
      content,
      labels: OTHER_LABELS,
      serverSealed: true,
      recipients: [publicKeys[2]],
    });
    assert.equal(envelope[FLAGS_AT], 0x01);
    const info = inspect(envelope);
    assert.deepEqual(info.labels, OTHER_LABELS);
    assert.equal(info.serverSealed, true);
    assert.deepEqual((await open(envelope, [seeds[2]])).labels, OTHER_LABELS);
  });

  test("inspect gives sorted kids and the bucket; the length follows the formula", async () => {
    const envelope = await seal({ content, labels: LABELS, recipients: [...publicKeys].reverse() });
    const info = inspect(envelope);
    const kids = await Promise.all(publicKeys.map(kidOf));
    assert.deepEqual(info.kids, [...kids].sort());
    assert.equal(info.bucket, 4096);
    assert.equal(envelope.length, PREFIX_BYTES + 1 + 3 * STANZA_BYTES + 32 + 4096 + 16);
  });

  test("the length depends on the bucket, not on the content", async () => {
    const short = await seal({ content: text("a"), labels: LABELS, recipients: [publicKeys[0]] });
    const long = await seal({
      content: new Uint8Array(4092),
      labels: LABELS,
      recipients: [publicKeys[0]],
    });
    assert.equal(short.length, long.length);
  });

  test("the largest envelope is exactly MAX_ENVELOPE_BYTES and opens", async () => {
    const manySeeds = Array.from({ length: MAX_RECIPIENTS }, (_, i) => seedOf(0x40 + i));
    const envelope = await seal({
      content: new Uint8Array(MAX_CONTENT_BYTES).fill(0x5a),
      labels: Object.fromEntries(
        ["category", "region", "language", "urgency"].map((name) => [name, name[0].repeat(32)]),
      ),
      recipients: await Promise.all(manySeeds.map(publicKeyFromSeed)),
    });
    assert.equal(envelope.length, MAX_ENVELOPE_BYTES);
    const opened = await open(envelope, [manySeeds[31]]);
    assert.deepEqual(opened.content, new Uint8Array(MAX_CONTENT_BYTES).fill(0x5a));
  });

  test("every envelope has a fresh file key", async () => {
    const [a, b] = [await sealToTwo(), await sealToTwo()];
    assert.notDeepEqual(a.subarray(-4112), b.subarray(-4112));
    assert.notEqual(await digest(a), await digest(b));
  });

  test("digest is the SHA-256 of the envelope in lowercase hex", async () => {
    const envelope = await sealToTwo();
    assert.equal(await digest(envelope), sha256Hex(envelope));
  });

  test("refuses bad input to seal", async () => {
    await assert.rejects(sealToTwo({ recipients: [] }), RangeError);
    await assert.rejects(
      sealToTwo({ recipients: Array.from({ length: 33 }, () => new Uint8Array(1216)) }),
      RangeError,
    );
    await assert.rejects(sealToTwo({ recipients: [publicKeys[0], publicKeys[0]] }), RangeError);
    await assert.rejects(sealToTwo({ recipients: [new Uint8Array(1215)] }), TypeError);
    // 0xff bytes put every ML-KEM coefficient above q: FIPS 203's key check fails.
    await assert.rejects(sealToTwo({ recipients: [new Uint8Array(1216).fill(0xff)] }), RangeError);
    await assert.rejects(sealToTwo({ labels: { ...LABELS, category: "Desertion" } }), RangeError);
    await assert.rejects(sealToTwo({ labels: { ...LABELS, urgency: "" } }), RangeError);
    await assert.rejects(sealToTwo({ labels: { ...LABELS, region: "a".repeat(33) } }), RangeError);
    await assert.rejects(sealToTwo({ labels: { ...LABELS, region: "ru central" } }), RangeError);
    await assert.rejects(sealToTwo({ labels: { ...LABELS, language: "ru\n" } }), RangeError);
    await assert.rejects(sealToTwo({ content: new Uint8Array(65533) }), PaddingError);
    await assert.rejects(sealToTwo({ content: "text" }), TypeError);
    await assert.rejects(sealToTwo({ serverSealed: 1 }), TypeError);
  });
});

describe("tampering is detected", () => {
  const envelopePromise = sealToTwo();
  const both = seeds.slice(0, 2);

  test("relabelling the category (same length) opens for nobody", async () => {
    const envelope = new Uint8Array(await envelopePromise);
    envelope.set(text("legal_aid"), CATEGORY_AT);
    assert.equal(inspect(envelope).labels.category, "legal_aid");
    for (const seed of both) {
      await assertOpenFails(envelope, [seed]);
    }
  });

  test("a flipped byte anywhere opens for nobody", async () => {
    const envelope = await envelopePromise;
    const offsets = [
      0, // magic
      3, // version
      FLAGS_AT,
      CATEGORY_AT + 1,
      PREFIX_BYTES, // n
      STANZAS_AT + 5, // first kid
      STANZAS_AT + 32 + 7, // first enc, ML-KEM part
      STANZAS_AT + 32 + 1100, // first enc, X25519 part
      STANZAS_AT + 1200 - 1, // first wrapped key tag
      STANZAS_AT + 1200 + 32 + 1120, // second wrapped key
      STANZAS_AT + 2400, // first body byte
      envelope.length - 1, // body tag
    ];
    for (const offset of offsets) {
      for (const seed of both) {
        await assertOpenFails(flipped(envelope, offset), [seed]);
      }
    }
  });

  test("dropping a stanza opens for nobody", async () => {
    const envelope = await envelopePromise;
    const dropped = new Uint8Array(envelope.length - STANZA_BYTES);
    dropped.set(envelope.subarray(0, STANZAS_AT));
    dropped[PREFIX_BYTES] = 1;
    dropped.set(envelope.subarray(STANZAS_AT + STANZA_BYTES), STANZAS_AT);
    assert.equal(inspect(dropped).kids.length, 1);
    for (const seed of both) {
      await assertOpenFails(dropped, [seed]);
    }
  });

  test("a stanza from another envelope to the same recipient opens for nobody", async () => {
    const envelope = await envelopePromise;
    const other = await sealToTwo();
    const swapped = new Uint8Array(envelope);
    swapped.set(other.subarray(STANZAS_AT, STANZAS_AT + STANZA_BYTES), STANZAS_AT);
    assert.deepEqual(inspect(swapped).kids, inspect(envelope).kids);
    for (const seed of both) {
      await assertOpenFails(swapped, [seed]);
    }
  });

  test("no key, a bad seed, or a non-envelope all give the one OpenError", async () => {
    const envelope = await envelopePromise;
    await assertOpenFails(envelope, []);
    await assertOpenFails(envelope, [new Uint8Array(31)]);
    await assertOpenFails(envelope, "not a list");
    await assertOpenFails("not bytes", both);
    await assertOpenFails(new Uint8Array(0), both);
  });
});

describe("inspect names the structural rule broken", () => {
  const envelopePromise = sealToTwo();

  const cases = [
    ["truncated", (e) => e.subarray(0, e.length - 1), /does not match/],
    ["too short for any envelope", (e) => e.subarray(0, 100), /truncated/],
    ["oversize", () => new Uint8Array(MAX_ENVELOPE_BYTES + 1), /larger than/],
    ["wrong magic", (e) => flipped(e, 0), /not a Haven envelope/],
    ["wrong version", (e) => withByte(e, 3, 2), /version 2/],
    ["unknown flag bit", (e) => flipped(e, FLAGS_AT, 0x02), /flag/],
    ["upper-case label", (e) => flipped(e, CATEGORY_AT, 0x20), /label category/],
    ["empty label", (e) => withByte(e, 5, 0), /label category/],
    ["label longer than 32", (e) => withByte(e, 5, 33), /label category/],
    ["no recipients", (e) => withByte(e, PREFIX_BYTES, 0), /recipient count/],
    ["33 recipients", (e) => withByte(e, PREFIX_BYTES, 33), /recipient count/],
    ["n disagrees with the length", (e) => withByte(e, PREFIX_BYTES, 1), /does not match/],
  ];
  for (const [name, mutate, reason] of cases) {
    test(name, async () => {
      const envelope = mutate(await envelopePromise);
      assert.throws(() => inspect(envelope), (error) => {
        assert.ok(error instanceof EnvelopeFormatError);
        assert.match(error.message, reason);
        return true;
      });
      await assertOpenFails(envelope, seeds);
    });
  }

  test("kids out of order", async () => {
    const envelope = await envelopePromise;
    const unsorted = new Uint8Array(envelope);
    const [first, second] = [STANZAS_AT, STANZAS_AT + STANZA_BYTES];
    unsorted.set(envelope.subarray(second, second + STANZA_BYTES), first);
    unsorted.set(envelope.subarray(first, first + STANZA_BYTES), second);
    assert.throws(() => inspect(unsorted), /strictly increasing/);
    await assertOpenFails(unsorted, seeds);
  });

  test("the same kid twice", async () => {
    const envelope = await envelopePromise;
    const twice = new Uint8Array(envelope);
    twice.set(envelope.subarray(STANZAS_AT, STANZAS_AT + STANZA_BYTES), STANZAS_AT + STANZA_BYTES);
    assert.throws(() => inspect(twice), /strictly increasing/);
  });
});

describe("public key checks (spec section 3)", () => {
  const P = 2n ** 255n - 19n;
  const LOW_ORDER_U = [
    0n,
    1n,
    325606250916557431795983626356110631294008115727848805560023387167927233504n,
    39382357235489614581723060781553021112529911719440698176882885853963445705823n,
    P - 1n,
    P,
    P + 1n,
  ];
  const littleEndian = (value) => {
    const out = new Uint8Array(32);
    for (let i = 0; i < 32; i += 1) {
      out[i] = Number((value >> BigInt(8 * i)) & 0xffn);
    }
    return out;
  };

  test("a sealer refuses every low-order X25519 half, with or without bit 255", async () => {
    for (const u of LOW_ORDER_U) {
      for (const highBit of [0n, 2n ** 255n]) {
        const key = new Uint8Array(publicKeys[0]);
        key.set(littleEndian(u + highBit), 1184);
        await assert.rejects(
          seal({ content, labels: LABELS, recipients: [key] }),
          RangeError,
          `u = ${u}, bit 255 ${highBit ? "set" : "clear"}`,
        );
      }
    }
  });

  test("a sealer refuses an ML-KEM half that fails FIPS 203's check", async () => {
    const key = new Uint8Array(publicKeys[0]);
    key.fill(0xff, 0, 1184);
    await assert.rejects(seal({ content, labels: LABELS, recipients: [key] }), RangeError);
  });
});
