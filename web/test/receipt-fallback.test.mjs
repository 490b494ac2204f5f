// Where WebAssembly is turned off, web/src/receipt.js derives the same keys
// in pure JavaScript (docs/replies-v1.md 1.7). iOS Lockdown Mode and Tor
// Browser's "Safer" level remove the WebAssembly object altogether; a
// Content-Security-Policy without 'wasm-unsafe-eval' leaves it but refuses to
// compile. Each case runs in a Node of its own (WebAssembly is a global, and
// receipt.js asks about it once), so this file starts one per case.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";

const repo = new URL("../../", import.meta.url);
const vectors = JSON.parse(
  readFileSync(
    process.env.HAVEN_REPLIES_VECTORS ??
      new URL("tests/haven/replies/vectors/replies-v1-code.json", repo),
    "utf8",
  ),
);
const receipt = new URL("../src/receipt.js", import.meta.url).href;

// Run in a fresh Node: `setup` breaks WebAssembly, then every positive
// vector is derived with no path given, as the receipt worker does.
function deriveIn(setup) {
  const script = `
    ${setup}
    const { argon2Path, deriveKeys } = await import(${JSON.stringify(receipt)});
    const hex = (b) => Buffer.from(b).toString("hex");
    const out = { path: await argon2Path(), keys: [] };
    for (const e of ${JSON.stringify(vectors.positive.map((v) => v.entropy))}) {
      const k = await deriveKeys({ entropy: new Uint8Array(Buffer.from(e, "hex")), language: "en" });
      out.keys.push({ mailbox_id: hex(k.mailboxId), access_secret: hex(k.accessSecret),
        reply_seed: hex(k.replySeed), reply_kid: k.replyKid });
    }
    console.log(JSON.stringify(out));
  `;
  const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    encoding: "utf8",
    timeout: 120_000,
  });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout);
}

function assertVectors(result) {
  assert.equal(result.path, "js");
  vectors.positive.forEach((vector, i) => {
    assert.deepEqual(result.keys[i], {
      mailbox_id: vector.mailbox_id,
      access_secret: vector.access_secret,
      reply_seed: vector.reply_seed,
      reply_kid: vector.reply_kid,
    });
  });
}

describe("without WebAssembly", () => {
  test("no WebAssembly object (Lockdown Mode, Tor Browser): pure JavaScript, same keys", () => {
    assertVectors(deriveIn("delete globalThis.WebAssembly;"));
  });

  test("WebAssembly that refuses to compile (a strict CSP): pure JavaScript, same keys", () => {
    assertVectors(
      deriveIn(`
        const refuse = () => Promise.reject(new WebAssembly.CompileError("refused by policy"));
        WebAssembly.compile = refuse;
        WebAssembly.instantiate = refuse;
        WebAssembly.compileStreaming = refuse;
        WebAssembly.instantiateStreaming = refuse;
      `),
    );
  });
});
