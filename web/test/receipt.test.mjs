// Tests of web/src/receipt.js against docs/replies-v1.md section 1 and its vectors.
// Run with `node --test web/test/`; tests/haven/replies/test_receipt_js.py runs
// this file for CI, also with a deliberately wrong vectors file
// (HAVEN_REPLIES_VECTORS) to show that a wrong vector fails here.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";

import {
  CODE_WORDS,
  CodeError,
  LANGUAGES,
  argon2Path,
  checkIndex,
  estimateJsMs,
  deriveKeys,
  expand,
  formatCode,
  generate,
  indicesOf,
  parse,
  stretch,
  wordLists,
  wordsOf,
} from "../src/receipt.js";

const repo = new URL("../../", import.meta.url);
const vectorsPath =
  process.env.HAVEN_REPLIES_VECTORS ??
  new URL("tests/haven/replies/vectors/replies-v1-code.json", repo);
const vectors = JSON.parse(readFileSync(vectorsPath, "utf8"));
const lists = wordLists(
  Object.fromEntries(
    LANGUAGES.map((language) => [
      language,
      readFileSync(new URL(`haven/replies/words/${language}.txt`, repo), "utf8"),
    ]),
  ),
);

const hex = (bytes) => Buffer.from(bytes).toString("hex");
const fromHex = (text) => new Uint8Array(Buffer.from(text, "hex"));
const base64 = (bytes) => Buffer.from(bytes).toString("base64");
const FIXED = fromHex("5ac3e0127f9b44d1a6082e");

describe("vectors", () => {
  for (const vector of vectors.positive) {
    test(`positive ${vector.name}`, async () => {
      const entropy = fromHex(vector.entropy);
      assert.deepEqual(indicesOf(entropy), vector.indices);
      for (const [language, text] of Object.entries(vector.codes)) {
        const code = parse(text, lists);
        assert.equal(code.language, language);
        assert.equal(hex(code.entropy), vector.entropy);
        assert.equal(formatCode(code, lists), text);
      }
      const tag = await stretch(entropy);
      assert.equal(hex(tag), vector.argon2id_tag, "argon2id_tag");
      assert.equal(hex(expand(tag, vectors.hkdf_info.mailbox_id)), vector.mailbox_id);
      // WebAssembly (hash-wasm) and its pure-JavaScript fallback
      // (@noble/hashes) must give the very same keys, or a code made where
      // WebAssembly is turned off would open no mailbox.
      for (const path of ["wasm", "js"]) {
        assert.equal(hex(await stretch(entropy, path)), vector.argon2id_tag, `${path} argon2id_tag`);
        const keys = await deriveKeys({ entropy, language: "uk" }, path);
        assert.equal(hex(keys.mailboxId), vector.mailbox_id, "mailbox_id");
        assert.equal(hex(keys.accessSecret), vector.access_secret, "access_secret");
        assert.equal(hex(keys.replySeed), vector.reply_seed, "reply_seed");
        assert.equal(base64(keys.replyPublicKey), vector.reply_public_key, "reply_public_key");
        assert.equal(keys.replyKid, vector.reply_kid, "reply_kid");
      }
    });
  }

  for (const vector of vectors.parse) {
    test(`parse ${vector.name}`, () => {
      assert.equal(hex(parse(vector.input, lists).entropy), vector.entropy);
    });
  }

  for (const vector of vectors.negative) {
    test(`negative ${vector.name}`, () => {
      assert.throws(
        () => parse(vector.input, lists),
        (error) => {
          assert.ok(error instanceof CodeError);
          assert.equal(error.reason, vector.reason);
          assert.equal(error.position, vector.position);
          for (const word of vector.input.split(/\s+/).filter(Boolean)) {
            assert.ok(!error.message.includes(word), "the message repeats what was typed");
          }
          return true;
        },
      );
    });
  }

  test("the parameters are the spec's", async () => {
    const { ARGON2, HKDF_INFO } = await import("../src/receipt.js");
    assert.deepEqual(
      {
        salt: ARGON2.salt,
        time_cost: ARGON2.timeCost,
        memory_kib: ARGON2.memoryKiB,
        parallelism: ARGON2.parallelism,
        tag_bytes: ARGON2.tagBytes,
        version: ARGON2.version,
      },
      vectors.argon2id,
    );
    assert.deepEqual(
      {
        mailbox_id: HKDF_INFO.mailboxId,
        access_secret: HKDF_INFO.accessSecret,
        reply_seed: HKDF_INFO.replySeed,
      },
      vectors.hkdf_info,
    );
  });
});

describe("receipt codes", () => {
  test("every single substitution and every swap is caught", () => {
    const indices = indicesOf(FIXED);
    for (let position = 0; position < CODE_WORDS; position += 1) {
      for (let other = 0; other < 2048; other += 1) {
        if (other === indices[position]) continue;
        const changed = indices.slice();
        changed[position] = other;
        assert.notEqual(checkIndex(changed.slice(0, 8)), changed[8]);
      }
    }
    for (let a = 0; a < CODE_WORDS; a += 1) {
      for (let b = a + 1; b < CODE_WORDS; b += 1) {
        const swapped = indices.slice();
        [swapped[a], swapped[b]] = [swapped[b], swapped[a]];
        if (swapped[a] !== swapped[b]) {
          assert.notEqual(checkIndex(swapped.slice(0, 8)), swapped[8]);
        }
      }
    }
  });

  for (const language of LANGUAGES) {
    test(`a generated ${language} code round-trips`, () => {
      const code = generate(language, lists);
      assert.equal(code.entropy.length, 11);
      const text = formatCode(code, lists);
      assert.equal(text.split(" ").length, CODE_WORDS);
      const parsed = parse(text, lists);
      assert.equal(parsed.language, language);
      assert.deepEqual(parsed.entropy, code.entropy);
    });
  }

  test("generation uses the randomness it is given", () => {
    const asked = [];
    const code = generate("ru", lists, (n) => {
      asked.push(n);
      return FIXED;
    });
    assert.deepEqual(asked, [11]);
    assert.deepEqual(code.entropy, FIXED);
    assert.deepEqual(wordsOf(code, lists).length, CODE_WORDS);
  });

  test("a damaged word list is refused", () => {
    const texts = Object.fromEntries(
      LANGUAGES.map((language) => [language, `${lists[language].words.join("\n")}\n`]),
    );
    assert.doesNotThrow(() => wordLists(texts));
    const words = lists.ru.words.slice();
    words[7] = words[8];
    assert.throws(() => wordLists({ ...texts, ru: `${words.join("\n")}\n` }), /damaged/);
    assert.throws(() => wordLists({ ...texts, uk: undefined }), /missing/);
    // Each of these still has 2048 distinct lines, yet names other indices.
    const reordered = [lists.en.words[1], lists.en.words[0], ...lists.en.words.slice(2)];
    assert.throws(() => wordLists({ ...texts, en: `${reordered.join("\n")}\n` }), /en is damaged/);
    const crlf = texts.uk.replaceAll("\n", "\r\n");
    assert.throws(() => wordLists({ ...texts, uk: crlf }), /uk is damaged/);
    assert.throws(() => wordLists({ ...texts, ru: `\ufeff${texts.ru}` }), /ru is damaged/);
  });

  test("wrong entropy is refused", async () => {
    assert.throws(() => indicesOf(new Uint8Array(10)), /11 bytes/);
    await assert.rejects(stretch(new Uint8Array(12)), /11 bytes/);
    await assert.rejects(stretch(new Uint8Array(12), "js"), /11 bytes/);
    await assert.rejects(stretch(FIXED, "native"), /no Argon2id path native/);
  });

  test("where WebAssembly runs, it is the path taken", async () => {
    // The fallback is several times slower: it must never be taken where
    // hash-wasm works (receipt-fallback.test.mjs covers where it does not).
    assert.equal(await argon2Path(), "wasm");
  });

  test("the pure-JavaScript time is estimated from a small run", async () => {
    // Loose bounds: the machine is shared. The estimate only has to be the
    // right order of magnitude for a progress bar.
    const estimate = estimateJsMs();
    assert.ok(Number.isInteger(estimate) && estimate > 0, String(estimate));
    const start = performance.now();
    await stretch(FIXED, "js");
    const real = performance.now() - start;
    assert.ok(estimate > real / 10 && estimate < real * 10, `${estimate} vs ${real}`);
  });
});
