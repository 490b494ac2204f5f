// The Node side of the Python <-> JavaScript envelope interop test
// (tests/haven/envelope/test_interop_js.py). JSON in on stdin, JSON out on stdout.
//
//   seal     {"recipients": [b64 pk], "labels": {...}, "content": b64, "server_sealed": bool}
//            -> {"envelope": b64}
//   open     {"seeds": [hex], "envelope": b64}
//            -> {"labels": {...}, "server_sealed": bool, "content": b64}
//            or {"error": "open"} with exit code 1
//   pubkey   {"seed": hex} -> {"public_key": b64, "kid": hex}
//   vectors <path>   runs every vector of tests/haven/envelope/vectors/envelope-v1.json,
//            with the public keys, kids and intermediate values it documents
//            (no stdin); prints a summary, exit code 1 on any mismatch
//
// Bad usage or input exits with code 2. Seeds here are test fixtures only.
//
// This file lives in web/test/, so `node --test web/test/` runs it too. Run
// without a command it therefore registers one test, the committed vectors,
// instead of failing as a CLI called without arguments.

import assert from "node:assert/strict";
import { createDecipheriv, createHash, hkdfSync } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { Aes256Gcm, CipherSuite, HkdfSha256 } from "@hpke/core";
import { XWing } from "@hpke/hybridkem-x-wing";

import * as envelope from "../src/envelope.js";

// Written from docs/envelope-v1.md, not taken from ../src/envelope.js: the
// intermediate values of the vectors are checked against the spec itself.
const hpke = new CipherSuite({ kem: new XWing(), kdf: new HkdfSha256(), aead: new Aes256Gcm() });
const SPEC_STANZA_BYTES = 32 + 1120 + 48;

const COMMITTED_VECTORS = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../../tests/haven/envelope/vectors/envelope-v1.json",
);

class UsageError extends Error {}

function fromHex(text, what) {
  if (typeof text !== "string" || !/^(?:[0-9a-f]{2})*$/.test(text)) {
    throw new UsageError(`${what} must be lowercase hex`);
  }
  return new Uint8Array(Buffer.from(text, "hex"));
}

function fromBase64(text, what) {
  if (typeof text !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
    throw new UsageError(`${what} must be standard padded base64`);
  }
  return new Uint8Array(Buffer.from(text, "base64"));
}

function toBase64(bytes) {
  return Buffer.from(bytes).toString("base64");
}

function toHex(bytes) {
  return Buffer.from(bytes).toString("hex");
}

async function readJsonStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new UsageError("stdin is not JSON");
  }
}

async function sealCommand(input) {
  if (!Array.isArray(input.recipients)) {
    throw new UsageError("recipients must be a list of base64 public keys");
  }
  const sealed = await envelope.seal({
    content: fromBase64(input.content, "content"),
    labels: input.labels,
    serverSealed: input.server_sealed ?? false,
    recipients: input.recipients.map((pk) => fromBase64(pk, "recipient")),
  });
  return { envelope: toBase64(sealed) };
}

async function openCommand(input) {
  if (!Array.isArray(input.seeds)) {
    throw new UsageError("seeds must be a list of hex seeds");
  }
  const seeds = input.seeds.map((seed) => fromHex(seed, "seed"));
  const opened = await envelope.open(fromBase64(input.envelope, "envelope"), seeds);
  return {
    labels: opened.labels,
    server_sealed: opened.serverSealed,
    content: toBase64(opened.content),
  };
}

async function pubkeyCommand(input) {
  const publicKey = await envelope.publicKeyFromSeed(fromHex(input.seed, "seed"));
  return { public_key: toBase64(publicKey), kid: await envelope.kidOf(publicKey) };
}

// Each check returns a list of problems; an empty list is a pass.
async function checkPositive(vector) {
  const problems = [];
  const sealed = fromHex(vector.envelope, "envelope");
  const seeds = vector.seeds.map((seed) => fromHex(seed, "seed"));
  const info = envelope.inspect(sealed);
  const kids = await Promise.all(
    seeds.map(async (seed) => envelope.kidOf(await envelope.publicKeyFromSeed(seed))),
  );
  if ([...kids].sort().join() !== info.kids.join()) {
    problems.push("the header's kids are not exactly the recipients' kids");
  }
  // Each recipient alone, then all of them together, must open it.
  for (const [index, keys] of [...seeds.map((seed) => [seed]), seeds].entries()) {
    const who = index < seeds.length ? `seed ${index}` : "all seeds";
    let opened;
    try {
      opened = await envelope.open(sealed, keys);
    } catch (error) {
      problems.push(`${who}: does not open (${error.name})`);
      continue;
    }
    try {
      assert.deepEqual(opened.labels, vector.labels);
      assert.equal(opened.serverSealed, vector.server_sealed);
      assert.equal(toHex(opened.content), vector.content);
    } catch {
      problems.push(`${who}: opens to different labels, flags or content`);
    }
  }
  return [...problems, ...(await checkIntermediate(vector))];
}

const hkdf32 = (fileKey, info) =>
  toHex(new Uint8Array(hkdfSync("sha256", fileKey, new Uint8Array(0), Buffer.from(info), 32)));

// The fields docs/envelope-v1.md section 12 documents beyond what opening gives:
// public keys, kids and the values an opener computes on the way.
async function checkIntermediate(vector) {
  const problems = [];
  const sealed = fromHex(vector.envelope, "envelope");
  const mid = vector.intermediate;
  for (const [index, seedHex] of vector.seeds.entries()) {
    const publicKey = await envelope.publicKeyFromSeed(fromHex(seedHex, "seed"));
    if (toBase64(publicKey) !== vector.public_keys[index]) {
      problems.push(`public_keys[${index}] is not the seed's public key`);
    }
    if (createHash("sha256").update(publicKey).digest("hex") !== vector.kids[index]) {
      problems.push(`kids[${index}] is not SHA-256 of the public key`);
    }
  }
  const prefix = fromHex(mid.prefix, "prefix");
  if (toHex(sealed.subarray(0, prefix.length)) !== mid.prefix) {
    problems.push("intermediate.prefix does not start the envelope");
  }
  const info = new Uint8Array([...Buffer.from("haven/v1 file key\0"), ...prefix]);
  if (toHex(info) !== mid.stanza_info) {
    problems.push("intermediate.stanza_info is not the file key label, a zero byte and the prefix");
  }
  const headerEnd = prefix.length + 1 + sealed[prefix.length] * SPEC_STANZA_BYTES + 32;
  const header = sealed.subarray(0, headerEnd);
  for (const [index, seedHex] of vector.seeds.entries()) {
    const pair = await hpke.kem.generateKeyPairDerand(fromHex(seedHex, "seed"));
    const kid = createHash("sha256")
      .update(new Uint8Array(await hpke.kem.serializePublicKey(pair.publicKey)))
      .digest("hex");
    let at = prefix.length + 1;
    while (at < headerEnd - 32 && toHex(header.subarray(at, at + 32)) !== kid) {
      at += SPEC_STANZA_BYTES;
    }
    const stanza = header.slice(at + 32, at + SPEC_STANZA_BYTES);
    const fileKey = await hpke.open(
      { recipientKey: pair.privateKey, enc: stanza.slice(0, 1120), info },
      stanza.slice(1120),
    );
    if (toHex(new Uint8Array(fileKey)) !== mid.file_key) {
      problems.push(`seed ${index}: its stanza does not open to intermediate.file_key`);
    }
  }
  const fileKey = fromHex(mid.file_key, "file_key");
  const commitment = hkdf32(fileKey, "haven/v1 key commitment");
  if (commitment !== mid.commitment || toHex(header.subarray(headerEnd - 32)) !== commitment) {
    problems.push("intermediate.commitment is not HKDF of the file key, or not the header's");
  }
  if (hkdf32(fileKey, "haven/v1 body") !== mid.body_key) {
    problems.push("intermediate.body_key is not HKDF of the file key");
  }
  try {
    const bodyKey = fromHex(mid.body_key, "body_key");
    const decipher = createDecipheriv("aes-256-gcm", bodyKey, Buffer.alloc(12));
    decipher.setAAD(header);
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    const padded = Buffer.concat([
      decipher.update(sealed.subarray(headerEnd, sealed.length - 16)),
      decipher.final(),
    ]);
    const expected = envelope.pad(fromHex(vector.content, "content"));
    if (padded.length !== mid.bucket || toHex(padded) !== toHex(expected)) {
      problems.push("the body does not decrypt to pad(content) of intermediate.bucket bytes");
    }
  } catch {
    problems.push("the body does not decrypt under intermediate.body_key");
  }
  return problems;
}

async function checkNegative(vector) {
  const problems = [];
  const sealed = fromHex(vector.envelope, "envelope");
  const seeds = vector.seeds.map((seed) => fromHex(seed, "seed"));
  let parseFailed = false;
  try {
    envelope.inspect(sealed);
  } catch (error) {
    if (!(error instanceof envelope.EnvelopeFormatError)) {
      problems.push(`inspect threw ${error.name}, not EnvelopeFormatError`);
    }
    parseFailed = true;
  }
  if (parseFailed !== vector.parse_fails) {
    problems.push(parseFailed ? "fails to parse but should parse" : "parses but should not");
  }
  for (const [index, keys] of [...seeds.map((seed) => [seed]), seeds].entries()) {
    const who = index < seeds.length ? `seed ${index}` : "all seeds";
    try {
      await envelope.open(sealed, keys);
      problems.push(`${who}: opens but must not`);
    } catch (error) {
      // The single opaque error: its class, its fixed message, and no cause.
      if (
        !(error instanceof envelope.OpenError) ||
        error.message !== envelope.OpenError.MESSAGE ||
        error.cause !== undefined
      ) {
        problems.push(`${who}: failed with something other than the one OpenError`);
      }
    }
  }
  return problems;
}

export async function runVectors(vectorsPath) {
  const data = JSON.parse(await readFile(vectorsPath, "utf8"));
  if (data.version !== 1 || !Array.isArray(data.positive) || !Array.isArray(data.negative)) {
    throw new UsageError(`${vectorsPath} is not a version 1 vectors file`);
  }
  const results = [];
  for (const [kind, check] of [
    ["positive", checkPositive],
    ["negative", checkNegative],
  ]) {
    for (const vector of data[kind]) {
      let problems;
      try {
        problems = await check(vector);
      } catch (error) {
        problems = [`unexpected ${error.name}: ${error.message}`];
      }
      results.push({ kind, name: vector.name, problems });
    }
  }
  return results;
}

async function vectorsCommand(vectorsPath) {
  if (vectorsPath === undefined) {
    throw new UsageError("usage: interop-cli.mjs vectors <path>");
  }
  const results = await runVectors(vectorsPath);
  const failed = results.filter((result) => result.problems.length > 0);
  for (const result of results) {
    const status = result.problems.length === 0 ? "ok" : "FAIL";
    process.stdout.write(`${status} ${result.kind} ${result.name}\n`);
    for (const problem of result.problems) {
      process.stdout.write(`    ${problem}\n`);
    }
  }
  process.stdout.write(`${results.length - failed.length} passed, ${failed.length} failed\n`);
  return failed.length === 0 ? 0 : 1;
}

const COMMANDS = { seal: sealCommand, open: openCommand, pubkey: pubkeyCommand };

async function main(argv) {
  const [command, ...rest] = argv;
  if (command === "vectors") {
    return vectorsCommand(rest[0]);
  }
  if (!Object.hasOwn(COMMANDS, command) || rest.length > 0) {
    throw new UsageError("usage: interop-cli.mjs seal|open|pubkey < input.json, or vectors <path>");
  }
  const input = await readJsonStdin();
  if (input === null || typeof input !== "object") {
    throw new UsageError("stdin must hold a JSON object");
  }
  try {
    process.stdout.write(`${JSON.stringify(await COMMANDS[command](input))}\n`);
    return 0;
  } catch (error) {
    if (error instanceof envelope.OpenError) {
      process.stdout.write(`${JSON.stringify({ error: "open" })}\n`);
      return 1;
    }
    throw error;
  }
}

const args = process.argv.slice(2);
if (args.length === 0) {
  const { test } = await import("node:test");
  test("the committed vectors pass", async () => {
    const failed = (await runVectors(COMMITTED_VECTORS)).filter((r) => r.problems.length > 0);
    assert.deepEqual(failed, []);
  });
} else {
  try {
    process.exitCode = await main(args);
  } catch (error) {
    process.stderr.write(`interop-cli: ${error.message}\n`);
    process.exitCode = 2;
  }
}
