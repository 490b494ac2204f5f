// Builds the two browser bundles the intake serves, into intake/static/:
//
//   src/form.js        -> haven-form.js        (the form page: seal, verify, send; an IIFE)
//   src/pow-worker.js  -> haven-pow-worker.js  (the proof-of-work Web Worker)
//   src/receipt-worker.js -> haven-receipt-worker.js (the receipt code's Web Worker:
//                         the word lists, Argon2id in WebAssembly or, where that
//                         is turned off, in pure JavaScript, the reply key)
//   src/status.js      -> haven-status.js      (the replies page: open, read, follow up, delete)
//
// The bundles are committed, so the intake needs no Node at run time, and
// reproducible, so anyone can check that what is served is what this source
// builds: minified, no source maps, no legal comments, no timestamps and no
// absolute paths.
//
//   node build.mjs                 write the bundles
//   node build.mjs --check         build in memory; exit 1 if a committed bundle differs
//   node build.mjs --outdir DIR    write to (or check against) DIR instead

import { readFile, writeFile, mkdir } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

import * as esbuild from "esbuild";

const WEB = dirname(fileURLToPath(import.meta.url));
const DEFAULT_OUTDIR = resolve(WEB, "..", "intake", "static");

export const BUNDLES = Object.freeze([
  { entry: "src/form.js", output: "haven-form.js" },
  { entry: "src/pow-worker.js", output: "haven-pow-worker.js" },
  { entry: "src/receipt-worker.js", output: "haven-receipt-worker.js" },
  { entry: "src/status.js", output: "haven-status.js" },
]);

function parseArgs(argv) {
  const options = { check: false, outdir: DEFAULT_OUTDIR };
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === "--check") {
      options.check = true;
    } else if (argv[i] === "--outdir" && i + 1 < argv.length) {
      i += 1;
      options.outdir = resolve(argv[i]);
    } else {
      throw new Error(`usage: node build.mjs [--check] [--outdir DIR] (unknown: ${argv[i]})`);
    }
  }
  return options;
}

// The page reads its rules from the JSON Schema documents in schemas/json/
// (generated from the Python schemas; docs/json-schema.md). Their
// annotations are for people and other tools: a bundle keeps only the
// assertions, so it carries no URL ($schema, $id) and no prose to download.
const SCHEMA_JSON = /[\\/]schemas[\\/]json[\\/][^\\/]+\.schema\.json$/;
const ANNOTATIONS = new Set(["$schema", "$id", "title", "description"]);
// Keywords whose object keys are names (a property called "title"), not keywords.
const NAMED = new Set(["properties", "$defs"]);

function assertionsOnly(node) {
  if (Array.isArray(node)) {
    return node.map(assertionsOnly);
  }
  if (node === null || typeof node !== "object") {
    return node;
  }
  const kept = Object.entries(node).filter(([key]) => !ANNOTATIONS.has(key));
  return Object.fromEntries(
    kept.map(([key, value]) => [
      key,
      NAMED.has(key)
        ? Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, assertionsOnly(sub)]))
        : assertionsOnly(value),
    ]),
  );
}

const schemaAssertions = {
  name: "schema-assertions",
  setup(build) {
    build.onLoad({ filter: SCHEMA_JSON }, async (args) => ({
      contents: JSON.stringify(assertionsOnly(JSON.parse(await readFile(args.path, "utf8")))),
      loader: "json",
    }));
  },
};

/** Build one bundle in memory; returns its bytes. */
async function buildOne({ entry }) {
  const result = await esbuild.build({
    absWorkingDir: WEB,
    entryPoints: [entry],
    bundle: true,
    // Classic scripts: the page loads haven-form.js with <script defer>, the
    // worker is created with new Worker(url), no module workers needed.
    format: "iife",
    platform: "browser",
    // Tor Browser's ESR releases have ES2020 and more.
    target: "es2020",
    minify: true,
    sourcemap: false,
    legalComments: "none",
    // ASCII output: the bytes do not depend on how a server labels the charset.
    charset: "ascii",
    write: false,
    logLevel: "silent",
    plugins: [schemaAssertions],
    // The receipt code's word lists, embedded as they are in the repository
    // (receipt.js checks each one's SHA-256 before using it).
    loader: { ".txt": "text" },
  });
  if (result.outputFiles.length !== 1) {
    throw new Error(`${entry}: expected one output file`);
  }
  return result.outputFiles[0].contents;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  let differing = 0;
  for (const bundle of BUNDLES) {
    const built = await buildOne(bundle);
    const target = join(options.outdir, bundle.output);
    const shown = relative(process.cwd(), target) || target;
    if (options.check) {
      let committed = null;
      try {
        committed = await readFile(target);
      } catch {
        committed = null;
      }
      if (committed === null || Buffer.compare(Buffer.from(built), committed) !== 0) {
        differing += 1;
        console.error(
          `${shown}: ${committed === null ? "missing" : "differs from a fresh build"}; run \`npm run build\` in web/`,
        );
      } else {
        console.log(`${shown}: up to date`);
      }
    } else {
      await mkdir(options.outdir, { recursive: true });
      await writeFile(target, built);
      console.log(
        `${shown}: ${built.length} bytes, ${gzipSync(built, { level: 9 }).length} bytes gzip`,
      );
    }
  }
  if (differing > 0) {
    process.exitCode = 1;
  }
}

main().catch((error) => {
  console.error(String(error?.message ?? error));
  process.exitCode = 2;
});
