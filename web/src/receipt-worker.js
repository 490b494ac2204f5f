// The receipt-code Web Worker (built to haven-receipt-worker.js): makes a
// requester's receipt code and derives its keys off the page's thread
// (docs/replies-v1.md section 1). Argon2id runs as WebAssembly here, so this
// script, and no other, is served with 'wasm-unsafe-eval' in its
// Content-Security-Policy.
//
// In:  {op: "generate", language}  a fresh code in that language (the form's send)
//      {op: "derive", code}        a code as typed (the status page)
// Out: {started: true, expectedMs} once, before the slow step: hash-wasm
//      reports no progress, so the page's bar advances on the expected time;
//      then {code, language, mailboxId, accessSecret, accessHash, replySeed,
//      replyPublicKey} (bytes as Uint8Array; code only for "generate");
//      or {error: {reason, position}} for a code that does not read;
//      or {error: {reason: "failed"}}.
// The code and its keys live only in this worker's memory and the message
// back: nothing is stored, logged or sent anywhere.

import en from "../../haven/replies/words/en.txt";
import ru from "../../haven/replies/words/ru.txt";
import uk from "../../haven/replies/words/uk.txt";

import { CodeError, deriveKeys, formatCode, generate, parse, wordLists } from "./receipt.js";
import { accessHash } from "./replies.js";

// About a page's first derivation on a low-end phone (docs/replies-v1.md 1.7).
const EXPECTED_MS = 2000;

let lists = null;

async function handle(data) {
  lists ??= wordLists({ en, ru, uk });
  let code;
  if (data.op === "generate") {
    code = generate(data.language, lists);
  } else if (data.op === "derive" && typeof data.code === "string") {
    code = parse(data.code, lists);
  } else {
    throw new TypeError("unknown operation");
  }
  self.postMessage({ started: true, expectedMs: EXPECTED_MS });
  const keys = await deriveKeys(code);
  return {
    ...(data.op === "generate" ? { code: formatCode(code, lists) } : {}),
    language: code.language,
    mailboxId: keys.mailboxId,
    accessSecret: keys.accessSecret,
    accessHash: accessHash(keys.accessSecret),
    replySeed: keys.replySeed,
    replyPublicKey: keys.replyPublicKey,
  };
}

self.onmessage = async (event) => {
  try {
    self.postMessage(await handle(event.data ?? {}));
  } catch (error) {
    // A CodeError names a reason and a position, never a word; anything
    // else is ours, and says nothing at all.
    self.postMessage({
      error:
        error instanceof CodeError
          ? { reason: error.reason, position: error.position }
          : { reason: "failed" },
    });
  }
};
