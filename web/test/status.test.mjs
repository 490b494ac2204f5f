// Tests of web/src/status.js, the answers page's reading of a thread
// (docs/web-status.md), against the message vectors the Python side writes
// (tests/haven/replies/vectors/replies-v1-messages.json).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { countWords, readThread, shownTime } from "../src/status.js";

const vectors = JSON.parse(
  readFileSync(
    new URL("../../tests/haven/replies/vectors/replies-v1-messages.json", import.meta.url),
    "utf8",
  ),
);
const fromHex = (text) => new Uint8Array(Buffer.from(text, "hex"));
const fromB64 = (text) => new Uint8Array(Buffer.from(text, "base64"));

// The directory as verifyDirectory returns it, for the vectors' partners.
const directory = {
  partners: vectors.partners.map((partner) => ({
    id: partner.id,
    display_name: `Org ${partner.id}`,
    keys: partner.keys.map((key) => ({ public_key: key.public_key, signing_key: key.signing_key })),
  })),
};
const keys = {
  mailboxId: fromB64(vectors.messages[0].mailbox_id),
  replySeed: fromHex(vectors.requester.reply_seed),
};
// "no_signing_key" is refused for a directory that lists none; this one does.
const cases = vectors.messages.filter((m) => m.name !== "no_signing_key");

test("a thread shows what verifies and opens, and only counts the rest", async () => {
  const thread = await readThread(
    cases.map((m) => m.wire),
    keys,
    directory,
  );
  const good = cases.filter((m) => m.reason === null);
  assert.equal(thread.messages.length, good.length);
  assert.equal(thread.unverified, cases.length - good.length);
  assert.ok(thread.unverified > 20);
  // Exactly the texts the partners wrote, in order (one second: stored order).
  assert.deepEqual(
    thread.messages.map((m) => m.text),
    good.map((m) => m.message.text),
  );
  // The current status is the last status message's; a follow-up goes to
  // the partner of the latest message.
  assert.equal(thread.state, "in_progress");
  assert.equal(thread.latestPartner, "south-aid");
});

test("a forged message alone leaves an empty thread that says one was refused", async () => {
  const forged = vectors.messages.find((m) => m.name === "wrong_key");
  const thread = await readThread([forged.wire, "not a message", null], keys, directory);
  assert.deepEqual(thread.messages, []);
  assert.equal(thread.unverified, 3);
  assert.equal(thread.state, null);
  assert.equal(thread.latestPartner, null);
});

test("a wrong mailbox (a wrong code) reads nothing", async () => {
  const thread = await readThread(
    cases.map((m) => m.wire),
    { ...keys, mailboxId: new Uint8Array(32) },
    directory,
  );
  assert.equal(thread.messages.length, 0);
});

test("words are counted as the parser counts them, and times shown in UTC", () => {
  assert.equal(countWords("1. во\u0301кзал, 2.кот\u00ad\n3 дом"), 3);
  assert.equal(countWords(""), 0);
  assert.equal(shownTime("2026-11-30T08:05:09Z"), "2026-11-30 08:05 UTC");
});
