// The proof-of-work solver (docs/intake-api.md, "Proof of work"; the Python
// side is intake/guards/pow.py). Pure and synchronous: the Web Worker
// (pow-worker.js) runs it off the page's thread, and the tests run it in Node.
//
//   h = SHA-256("haven/v1 pow" || 0x00 || token || SHA-256(envelope) || ASCII(nonce))
//
// must have at least `difficulty` leading zero bits. The nonce is a decimal
// counter "0", "1", "2", ... (1 to 32 characters of 0-9a-f are accepted).
// The work covers the envelope's digest, so one solution admits one envelope.

import { sha256 } from "@noble/hashes/sha2.js";

const encoder = new TextEncoder();
const POW_CONTEXT = encoder.encode("haven/v1 pow\0");
export const TOKEN_BYTES = 66;
// The token's body: u8 version || u64 issued_at || u64 expires_at || u8 difficulty || ...
const TOKEN_DIFFICULTY_OFFSET = 17;
const DIGEST_HEX_RE = /^[0-9a-f]{64}$/;
const TOKEN_RE = /^[A-Za-z0-9_-]{88}$/;
// Far above any difficulty the intake asks (its ceiling is 18 by default):
// a hostile or broken answer must not keep a phone busy for ever.
export const MAX_DIFFICULTY = 32;

/** The 66 bytes of an 88-character unpadded base64url token. */
export function decodeToken(token) {
  if (typeof token !== "string" || !TOKEN_RE.test(token)) {
    throw new RangeError("a challenge token is 88 characters of base64url");
  }
  const binary = atob(token.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

export function hexToBytes(hex) {
  if (typeof hex !== "string" || !DIGEST_HEX_RE.test(hex)) {
    throw new RangeError("the envelope digest is 64 lowercase hex digits");
  }
  return Uint8Array.from({ length: hex.length / 2 }, (_, i) =>
    Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16),
  );
}

/** Bits of `bytes` that are zero before the first one, first byte's MSB first. */
export function leadingZeroBits(bytes) {
  let bits = 0;
  for (const byte of bytes) {
    if (byte === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
}

/** The difficulty the token itself carries: the one the intake checks. */
export function tokenDifficulty(tokenBytes) {
  return tokenBytes[TOKEN_DIFFICULTY_OFFSET];
}

/** pow_hash of Python, for tests and for a last check before sending. */
export function powHash(tokenBytes, digestBytes, nonce) {
  return sha256
    .create()
    .update(POW_CONTEXT)
    .update(tokenBytes)
    .update(digestBytes)
    .update(encoder.encode(nonce))
    .digest();
}

/**
 * Search nonces "0", "1", ... until one solves the challenge.
 *
 * @param {{token: string, digestHex: string, difficulty: number,
 *   onProgress?: (tried: number) => void, progressEvery?: number, now?: () => number}} params
 * @returns {{nonce: string, tried: number}}
 */
export function solve({
  token,
  digestHex,
  difficulty,
  onProgress = () => {},
  progressEvery = 50,
  now = Date.now,
}) {
  const tokenBytes = decodeToken(token);
  const digestBytes = hexToBytes(digestHex);
  // Never solve for less than the token demands (the intake reads it from
  // the token), whatever the challenge's JSON said.
  const bits = Math.max(Number(difficulty) || 0, tokenDifficulty(tokenBytes));
  if (bits > MAX_DIFFICULTY) {
    throw new RangeError(`difficulty ${bits} is above ${MAX_DIFFICULTY}`);
  }
  // The prefix is hashed once; each try continues from a copy of that state.
  const prefix = sha256.create().update(POW_CONTEXT).update(tokenBytes).update(digestBytes);
  let last = now();
  for (let counter = 0; ; counter += 1) {
    const nonce = String(counter);
    if (leadingZeroBits(prefix.clone().update(encoder.encode(nonce)).digest()) >= bits) {
      return { nonce, tried: counter + 1 };
    }
    // Reading the clock costs more than a hash: look every 1024 tries.
    if ((counter & 1023) === 1023) {
      const time = now();
      if (time - last >= progressEvery) {
        last = time;
        onProgress(counter + 1);
      }
    }
  }
}
