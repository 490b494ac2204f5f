// The Node side of the Python <-> JavaScript envelope interop test
// (tests/haven/envelope/test_interop_js.py). JSON in on stdin, JSON out on stdout.
//
//   seal     {"recipients": [b64 pk], "labels": {...}, "content": b64, "server_sealed": bool}
//            -> {"envelope": b64}
//   open     {"seeds": [hex], "envelope": b64}
//            -> {"labels": {...}, "server_sealed": bool, "content": b64}
//            or {"error": "open"} with exit code 1
//   pubkey   {"seed": hex} -> {"public_key": b64, "kid": hex}
//   vectors <path>   runs every vector of tests/haven/envelope/vectors/envelope-v1.json
//            (no stdin); prints a summary, exit code 1 on any mismatch
//
// Bad usage or input exits with code 2. Seeds here are test fixtures only.
//
// This file lives in web/test/, so `node --test web/test/` runs it too. Run
// without a command it therefore registers one test, the committed vectors,
// instead of failing as a CLI called without arguments.

import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

import * as envelope from "../src/envelope.js";

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
