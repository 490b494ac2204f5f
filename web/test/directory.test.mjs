// web/src/directory.js against directories signed by Python (haven.directory.sign_directory).

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  DirectoryError,
  b64decodeStrict,
  eligiblePartners,
  recipientKeys,
  recipientKids,
  verifyDirectory,
} from "../src/directory.js";
import { kidOf } from "../src/envelope.js";
import { python } from "./python.mjs";

const fixtures = python("directory");
const now = fixtures.now_ms;
const bytes = (text) => new TextEncoder().encode(text);
const docs = Object.fromEntries(
  Object.entries(fixtures.documents).map(([name, text]) => [name, bytes(text)]),
);

function refused(code, run) {
  assert.throws(run, (error) => {
    assert.ok(error instanceof DirectoryError, `${error}`);
    assert.equal(error.code, code, error.message);
    return true;
  });
}

function withDocument(change) {
  const document = JSON.parse(fixtures.documents.good);
  change(document);
  return bytes(JSON.stringify(document));
}

describe("verifyDirectory", () => {
  test("accepts a directory Python signed, with the pinned key as base64 or bytes", () => {
    const directory = verifyDirectory(docs.good, fixtures.network_key, { now });
    assert.equal(directory.network_id, "haven-test");
    assert.equal(directory.partners.length, 4);
    const raw = b64decodeStrict(fixtures.network_key);
    assert.equal(verifyDirectory(docs.good, raw, { now }).version, directory.version);
  });

  test("refuses one flipped payload byte", () => {
    const tampered = withDocument((document) => {
      const payload = b64decodeStrict(document.payload);
      payload[Math.floor(payload.length / 2)] ^= 0x01;
      document.payload = Buffer.from(payload).toString("base64");
    });
    refused("directory-signature", () => verifyDirectory(tampered, fixtures.network_key, { now }));
  });

  test("refuses a flipped signature bit", () => {
    const tampered = withDocument((document) => {
      const signature = b64decodeStrict(document.signature);
      signature[5] ^= 0x80;
      document.signature = Buffer.from(signature).toString("base64");
    });
    refused("directory-signature", () => verifyDirectory(tampered, fixtures.network_key, { now }));
  });

  test("refuses a directory signed by another key", () => {
    refused("directory-signature", () =>
      verifyDirectory(docs.wrong_key, fixtures.network_key, { now }),
    );
    refused("directory-signature", () => verifyDirectory(docs.good, fixtures.other_key, { now }));
  });

  test("refuses a document signed for another purpose, or relabelled", () => {
    refused("directory-signature", () =>
      verifyDirectory(docs.wrong_purpose, fixtures.network_key, { now }),
    );
    // Claiming "directory" for a document signed for something else fails the signature.
    const relabelled = withDocument((document) => {
      const other = JSON.parse(fixtures.documents.wrong_purpose);
      document.payload = other.payload;
      document.signature = other.signature;
    });
    refused("directory-signature", () =>
      verifyDirectory(relabelled, fixtures.network_key, { now }),
    );
  });

  test("refuses an expired directory, and one issued in the future beyond the skew", () => {
    refused("directory-expired", () => verifyDirectory(docs.expired, fixtures.network_key, { now }));
    refused("directory-expired", () => verifyDirectory(docs.future, fixtures.network_key, { now }));
    // Four minutes ahead is within the five minutes Python allows.
    verifyDirectory(docs.within_skew, fixtures.network_key, { now });
    // The good one expires 13 days after `now`: then it is refused too.
    refused("directory-expired", () =>
      verifyDirectory(docs.good, fixtures.network_key, { now: now + 13 * 86400 * 1000 }),
    );
  });

  test("refuses extra or missing fields, another format, lax base64", () => {
    const cases = [
      (d) => {
        d.extra = "x";
      },
      (d) => {
        delete d.signature;
      },
      (d) => {
        d.format = "haven-signed-v2";
      },
      (d) => {
        d.payload = `${d.payload}\n`;
      },
      (d) => {
        // Padding removed, or added where there is none.
        d.payload = d.payload.endsWith("=") ? d.payload.replace(/=+$/, "") : `${d.payload}=`;
      },
      (d) => {
        // The URL-safe alphabet.
        d.signature = `-${d.signature.slice(1)}`;
      },
    ];
    for (const change of cases) {
      const document = withDocument(change);
      assert.throws(() => verifyDirectory(document, fixtures.network_key, { now }), DirectoryError);
    }
    refused("directory-format", () => verifyDirectory(bytes("[]"), fixtures.network_key, { now }));
    refused("directory-format", () =>
      verifyDirectory(Uint8Array.of(0xef, 0xbb, 0xbf, ...docs.good), fixtures.network_key, { now }),
    );
  });

  test("refuses non-canonical trailing bits in base64", () => {
    assert.deepEqual([...b64decodeStrict("AA==")], [0]);
    assert.throws(() => b64decodeStrict("AB=="), DirectoryError);
    assert.throws(() => b64decodeStrict("AAB="), DirectoryError);
    assert.throws(() => b64decodeStrict("A A="), DirectoryError);
  });

  test("refuses a signed payload whose kid is not its key's hash", () => {
    refused("directory-format", () => verifyDirectory(docs.bad_kid, fixtures.network_key, { now }));
  });

  test("refuses a signed payload that lists a signing key of small order", () => {
    // Under the neutral element anyone's signature verifies in OpenSSL: Python refuses it too.
    refused("directory-format", () =>
      verifyDirectory(docs.small_order_signing_key, fixtures.network_key, { now }),
    );
  });

  test("refuses a signed payload that lists one signing key under two partners", () => {
    // The one key would sign for both partners; Python's schema refuses it too.
    refused("directory-format", () =>
      verifyDirectory(docs.shared_signing_key, fixtures.network_key, { now }),
    );
  });

  test("refuses a signed payload that needs more than 32 keys for one category", () => {
    refused("directory-format", () =>
      verifyDirectory(docs.too_many_keys, fixtures.network_key, { now }),
    );
  });
});

describe("recipientKeys", () => {
  const directory = verifyDirectory(docs.good, fixtures.network_key, { now });

  for (const { category, region, kids } of fixtures.recipients) {
    test(`${category} in ${region}: exactly Python's recipient_keys`, async () => {
      assert.deepEqual(recipientKids(directory, category, region), kids);
      const keys = recipientKeys(directory, category, region);
      assert.deepEqual(await Promise.all(keys.map(kidOf)), kids);
    });
  }

  test("a region nobody serves falls back to every partner of the category", () => {
    const fallback = eligiblePartners(directory, "desertion", "ru-far-east").map((p) => p.id);
    assert.deepEqual([...fallback].sort(), ["evacuators", "lawyers", "memorial"]);
    // Where someone serves the region, only they do.
    assert.deepEqual(
      eligiblePartners(directory, "desertion", "ua-occupied").map((p) => p.id),
      ["evacuators"],
    );
  });

  test("a category nobody serves has no recipients", () => {
    refused("no-recipients", () =>
      recipientKeys(directory, fixtures.unserved_category, "ru-central"),
    );
  });

  test("a key listed twice is one recipient", () => {
    const copy = structuredClone(directory);
    copy.partners[1].keys.push(copy.partners[0].keys[0]);
    const kids = recipientKids(copy, "desertion", "ru-central");
    assert.equal(new Set(kids).size, kids.length);
  });
});
