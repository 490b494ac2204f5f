// The Node side of the Python <-> JavaScript receipt-code interop test
// (tests/haven/replies/test_receipt_js.py). Prints JSON on stdout.
//
//   generate LANGUAGE  -> {"code": "nine words", "entropy": hex}
//   derive             stdin: the code as typed
//                      -> {"entropy", "language", "mailbox_id", "access_secret", "reply_seed", "reply_kid"}
//                      or {"reason", "position"} with exit code 1
//
// It lives in web/test/, so `node --test web/test/` also runs it, without a
// command: it then does nothing and exits 0.

import { readFileSync } from "node:fs";

import { CodeError, LANGUAGES, deriveKeys, formatCode, generate, parse, wordLists } from "../src/receipt.js";

const repo = new URL("../../", import.meta.url);
const hex = (bytes) => Buffer.from(bytes).toString("hex");
const [command, argument] = process.argv.slice(2);

function lists() {
  return wordLists(
    Object.fromEntries(
      LANGUAGES.map((language) => [
        language,
        readFileSync(new URL(`haven/replies/words/${language}.txt`, repo), "utf8"),
      ]),
    ),
  );
}

if (command === "generate") {
  const words = lists();
  const code = generate(argument, words);
  console.log(JSON.stringify({ code: formatCode(code, words), entropy: hex(code.entropy) }));
} else if (command === "derive") {
  try {
    const code = parse(readFileSync(0, "utf8"), lists());
    const keys = await deriveKeys(code);
    console.log(
      JSON.stringify({
        entropy: hex(code.entropy),
        language: code.language,
        mailbox_id: hex(keys.mailboxId),
        access_secret: hex(keys.accessSecret),
        reply_seed: hex(keys.replySeed),
        reply_kid: keys.replyKid,
      }),
    );
  } catch (error) {
    if (!(error instanceof CodeError)) throw error;
    console.log(JSON.stringify({ reason: error.reason, position: error.position }));
    process.exitCode = 1;
  }
} else if (command !== undefined) {
  console.error("usage: node receipt-cli.mjs generate LANGUAGE | derive < code");
  process.exitCode = 2;
}
