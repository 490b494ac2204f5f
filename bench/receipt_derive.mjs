// Node side of bench/receipt_bench.py: times of deriving a requester's keys
// from a receipt code in JavaScript (docs/replies-v1.md section 1.7).
//
//   node bench/receipt_derive.mjs [ROUNDS]     prints one JSON object
//
// Measured: Argon2id alone with hash-wasm (WebAssembly, what the page
// uses), the whole derivation (Argon2id, HKDF, the X-Wing reply key), and
// Argon2id in pure JavaScript (@noble/hashes), the page's fallback where
// WebAssembly is turned off, alone and in the whole derivation.

import { deriveKeys, stretch } from "../web/src/receipt.js";

const rounds = Number(process.argv[2] ?? 7);
const entropy = new Uint8Array(11).fill(0x5a);

async function median(action, n) {
  const samples = [];
  for (let i = 0; i < n; i += 1) {
    const start = performance.now();
    await action();
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)] / 1000;
}

// What a requester's page does once: the first derivation, which also
// compiles the WebAssembly module.
const coldStart = performance.now();
await deriveKeys({ entropy, language: "ru" });
const cold = (performance.now() - coldStart) / 1000;
const wasm = await median(() => stretch(entropy), rounds);
const derive = await median(() => deriveKeys({ entropy, language: "ru" }), rounds);
const pureJs = await median(() => stretch(entropy, "js"), rounds);
const pureJsDerive = await median(() => deriveKeys({ entropy, language: "ru" }, "js"), rounds);
console.log(
  JSON.stringify({ node: process.version, rounds, cold, wasm, derive, pureJs, pureJsDerive }),
);
