// The proof-of-work Web Worker (built to haven-pow-worker.js): keeps the page
// responsive while the phone searches for a nonce (web/src/pow.js).
//
// In:  {token, digestHex, difficulty}   (the challenge and SHA-256(envelope))
// Out: {tried, expected} about every 50 ms, then {nonce, tried}; or {error}.
// It sees only the challenge and the envelope's digest, never the request.

import { solve } from "./pow.js";

self.onmessage = (event) => {
  const { token, digestHex, difficulty } = event.data ?? {};
  try {
    const expected = 2 ** Math.max(0, Number(difficulty) || 0);
    const result = solve({
      token,
      digestHex,
      difficulty,
      onProgress: (tried) => self.postMessage({ tried, expected }),
    });
    self.postMessage(result);
  } catch (error) {
    // The message is ours (a malformed challenge), never request content.
    self.postMessage({ error: String(error?.message ?? error) });
  }
};
