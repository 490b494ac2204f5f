// The Node side of the Python <-> JavaScript replies interop test
// (tests/haven/replies/test_replies_js.py). JSON in on stdin, JSON out on stdout.
//
//   read       {"wire", "mailbox_id": b64, "reply_seed": hex, "signing_keys": [b64]}
//              -> {"message": {kind, partner, mailbox_id, request, state, text, sent_at}}
//              or {"reason": "not_signed" | "unreadable"} with exit code 1
//   follow-up  {"mailbox_id": b64, "reply_key": b64, "text", "partner", "language",
//               "partner_keys": [b64]} -> {"envelope": b64}
//   receipt    {"language"} -> the receipt worker's answer for a fresh code, bytes as b64:
//              {"code", "language", "mailbox_id", "access_hash", "reply_public_key"}
//
// It lives in web/test/, so `node --test web/test/` also runs it, without a
// command: it then does nothing and exits 0. Seeds here are test fixtures only.

import { readFileSync } from "node:fs";

import { LANGUAGES, deriveKeys, formatCode, generate, wordLists } from "../src/receipt.js";
import { MessageRefused, accessHash, readMessage, sealFollowUp } from "../src/replies.js";

const [command] = process.argv.slice(2);
const b64 = (bytes) => Buffer.from(bytes).toString("base64");
const fromB64 = (text) => new Uint8Array(Buffer.from(text, "base64"));
const fromHex = (text) => new Uint8Array(Buffer.from(text, "hex"));
const input = () => JSON.parse(readFileSync(0, "utf8"));

if (command === "read") {
  const request = input();
  try {
    const message = await readMessage(
      request.wire,
      fromB64(request.mailbox_id),
      fromHex(request.reply_seed),
      request.signing_keys.map(fromB64),
    );
    console.log(
      JSON.stringify({
        message: {
          kind: message.kind,
          partner: message.partner,
          mailbox_id: b64(message.mailboxId),
          request: message.request,
          state: message.state,
          text: message.text,
          sent_at: message.sentAt,
        },
      }),
    );
  } catch (error) {
    if (!(error instanceof MessageRefused)) throw error;
    console.log(JSON.stringify({ reason: error.reason }));
    process.exitCode = 1;
  }
} else if (command === "follow-up") {
  const request = input();
  const envelope = await sealFollowUp(
    { mailboxId: fromB64(request.mailbox_id), replyKey: fromB64(request.reply_key), text: request.text },
    request.partner,
    request.language,
    request.partner_keys.map(fromB64),
  );
  console.log(JSON.stringify({ envelope: b64(envelope) }));
} else if (command === "receipt") {
  const request = input();
  const repo = new URL("../../", import.meta.url);
  const lists = wordLists(
    Object.fromEntries(
      LANGUAGES.map((language) => [language, readFileSync(new URL(`haven/replies/words/${language}.txt`, repo), "utf8")]),
    ),
  );
  const code = generate(request.language, lists);
  const keys = await deriveKeys(code);
  console.log(
    JSON.stringify({
      code: formatCode(code, lists),
      language: code.language,
      mailbox_id: b64(keys.mailboxId),
      access_hash: b64(accessHash(keys.accessSecret)),
      reply_public_key: b64(keys.replyPublicKey),
    }),
  );
} else if (command !== undefined) {
  console.error("usage: node replies-cli.mjs read | follow-up | receipt  (JSON on stdin)");
  process.exitCode = 2;
}
