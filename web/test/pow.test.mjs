// The proof-of-work solver (web/src/pow.js) and the built worker bundle,
// judged by Python's intake.pow.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import vm from "node:vm";

import { decodeToken, hexToBytes, leadingZeroBits, powHash, solve } from "../src/pow.js";
import { python, REPO } from "./python.mjs";

// docs/intake-api.md, "Example" (tests/intake/test_pow.py::test_documented_vector).
const VECTOR = {
  token:
    "AQAAAABrSdIAAAAAAGtJ0ywMoKGio6SlpqeoqaqrrK2ur8Fjh0Ow8q2FnpdKQv6iwAf6Ptfr61hPV2CcGaiJ_f_O",
  digestHex: "d7ada7d782f3bd2006443485c9b1f61d3ce0cc50e3131365e1abbdbc773582b7",
  difficulty: 12,
  nonce: "3097",
  hash: "00042f5fbf4fa0cc990a218d74b6ee9341fb3d4234e0c12f41ab8ff92d03f847",
};

describe("solve", () => {
  test("finds the documented nonce and hash", () => {
    const { nonce, tried } = solve(VECTOR);
    assert.equal(nonce, VECTOR.nonce);
    assert.equal(tried, 3098);
    const hash = powHash(decodeToken(VECTOR.token), hexToBytes(VECTOR.digestHex), nonce);
    assert.equal(Buffer.from(hash).toString("hex"), VECTOR.hash);
    assert.equal(leadingZeroBits(hash), 13);
  });

  test("its nonce is accepted by Python's ProofOfWork for a Python-issued challenge", () => {
    for (let round = 0; round < 3; round += 1) {
      const challenge = python("pow-issue");
      const { nonce } = solve({
        token: challenge.token,
        digestHex: challenge.digest_hex,
        difficulty: challenge.difficulty,
      });
      assert.match(nonce, /^[0-9a-f]{1,32}$/);
      const checked = python("pow-check", { ...challenge, nonce });
      assert.deepEqual(checked, { ok: true });
      // The work is bound to the envelope: for another digest, Python's verdict
      // is the JS hash's (almost always a refusal; 1 in 4096 passes by chance).
      const other = `${challenge.digest_hex.slice(0, 63)}${challenge.digest_hex[63] === "0" ? "1" : "0"}`;
      const verdict = python("pow-check", { ...challenge, digest_hex: other, nonce });
      const bits = leadingZeroBits(powHash(decodeToken(challenge.token), hexToBytes(other), nonce));
      assert.equal(verdict.ok, bits >= challenge.difficulty);
    }
  });

  test("never solves for less than the token's own difficulty", () => {
    // The JSON claims 1 bit; the token says 12.
    const { nonce } = solve({ ...VECTOR, difficulty: 1 });
    assert.equal(nonce, VECTOR.nonce);
  });

  test("reports progress through the callback, by the clock", () => {
    let clock = 0;
    const seen = [];
    solve({ ...VECTOR, now: () => (clock += 100), onProgress: (tried) => seen.push(tried) });
    assert.deepEqual(seen, [1024, 2048, 3072]);
  });

  test("refuses malformed challenges", () => {
    assert.throws(() => solve({ ...VECTOR, token: "short" }), RangeError);
    assert.throws(() => solve({ ...VECTOR, digestHex: "AB".repeat(32) }), RangeError);
    assert.throws(() => solve({ ...VECTOR, difficulty: 40 }), RangeError);
  });

  test("leadingZeroBits reads the first byte's most significant bit first", () => {
    assert.equal(leadingZeroBits(Uint8Array.of(0x80)), 0);
    assert.equal(leadingZeroBits(Uint8Array.of(0x00, 0x01)), 15);
    assert.equal(leadingZeroBits(Uint8Array.of(0x00, 0x00)), 16);
  });
});

describe("the built worker (intake/static/haven-pow-worker.js)", () => {
  test("answers a challenge with progress messages and the nonce", async () => {
    const code = readFileSync(
      join(REPO, "intake", "static", "haven-pow-worker.js"),
      "utf-8",
    );
    const posted = [];
    let done;
    const finished = new Promise((resolve) => {
      done = resolve;
    });
    let clock = 0;
    const context = vm.createContext({
      TextEncoder,
      atob,
      Uint8Array,
      Uint32Array,
      DataView,
      // A fast clock, so that progress is reported at every check.
      Date: { now: () => (clock += 60) },
      postMessage: (message) => {
        posted.push(message);
        if ("nonce" in message || "error" in message) {
          done();
        }
      },
    });
    context.self = context;
    vm.runInContext(code, context);
    context.onmessage({ data: { token: VECTOR.token, digestHex: VECTOR.digestHex, difficulty: 12 } });
    await finished;
    const last = posted.at(-1);
    assert.deepEqual({ ...last }, { nonce: VECTOR.nonce, tried: 3098 });
    const progress = posted.slice(0, -1);
    assert.ok(progress.length >= 1);
    for (const message of progress) {
      assert.deepEqual(Object.keys(message).sort(), ["expected", "tried"]);
      assert.equal(message.expected, 4096);
    }
  });

  test("answers a malformed challenge with an error message", () => {
    const code = readFileSync(
      join(REPO, "intake", "static", "haven-pow-worker.js"),
      "utf-8",
    );
    const posted = [];
    const context = vm.createContext({
      TextEncoder,
      atob,
      Uint8Array,
      Date,
      postMessage: (m) => posted.push(m),
    });
    context.self = context;
    vm.runInContext(code, context);
    context.onmessage({ data: { token: "nope", digestHex: VECTOR.digestHex, difficulty: 12 } });
    assert.equal(posted.length, 1);
    assert.equal(typeof posted[0].error, "string");
  });
});
