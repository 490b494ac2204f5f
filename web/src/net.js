// Talking to the intake from a page: same-origin requests that leave no copy
// behind, the server's error code read safely, challenges, and the proof of
// work solved in the Web Worker (pow-worker.js). The replies page uses it;
// every URL comes from the page's own config.

import submission from "../../schemas/json/submission.schema.json" with { type: "json" };

// The request header that carries the challenge token (docs/intake-api.md).
export const POW_HEADER = "Haven-Pow-Challenge";
// What the intake accepts as a nonce (schemas/json/submission.schema.json).
const NONCE_RE = new RegExp(submission.properties.pow.properties.nonce.pattern, "u");
const SERVER_CODE_RE = /^[a-z_]{1,40}$/;
const SERVER_FIELD_RE = /^[A-Za-z0-9_.<> -]{1,80}$/;
const MAX_RETRY_AFTER_SECONDS = 120;
const DEFAULT_RETRY_AFTER_SECONDS = 5;

/** A failure a page shows: a message key and its placeholders, never a secret. */
export class Failure extends Error {
  constructor(key, params = {}) {
    super(key);
    this.key = key;
    this.params = params;
  }
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function toBase64(bytes) {
  let binary = "";
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + chunk));
  }
  return btoa(binary);
}

export { toHex } from "./bytes.js";

/** fetch, same-origin only, no cookies, no cache, no redirect, no referrer. */
export async function request(url, init = {}) {
  try {
    return await fetch(url, {
      ...init,
      mode: "same-origin",
      credentials: "omit",
      // Nothing fetched (a thread, a directory) stays in the browser's cache.
      cache: "no-store",
      redirect: "error",
      referrerPolicy: "no-referrer",
    });
  } catch {
    throw new Failure("network_error");
  }
}

/** The API's error code and field, when they are what the API sends (a closed set, a path). */
export async function serverError(response) {
  try {
    const error = (await response.json())?.error ?? {};
    return {
      code: SERVER_CODE_RE.test(error.code) ? error.code : String(response.status),
      field: SERVER_FIELD_RE.test(error.field) ? error.field : "",
    };
  } catch {
    return { code: String(response.status), field: "" };
  }
}

/** A challenge, or {busy: response} when the intake answered 503. */
export async function fetchChallenge(url) {
  const response = await request(url);
  if (response.status === 503) {
    return { busy: response };
  }
  if (response.status !== 200) {
    throw new Failure("network_error");
  }
  const challenge = await response.json();
  if (typeof challenge?.token !== "string" || !Number.isInteger(challenge.difficulty)) {
    throw new Failure("network_error");
  }
  return { challenge };
}

/**
 * Solve `challenge` over `targetHex` (64 hex digits: an envelope's digest, or
 * a mailbox's work target) in the worker at `workerUrl`; `onProgress(0..1)`.
 * The worker sees the challenge and the target, nothing else.
 */
export function solveInWorker(workerUrl, challenge, targetHex, onProgress) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerUrl);
    const finish = (outcome) => {
      worker.terminate();
      outcome();
    };
    worker.onmessage = (event) => {
      const data = event.data ?? {};
      if (typeof data.nonce === "string" && NONCE_RE.test(data.nonce)) {
        onProgress(1);
        finish(() => resolve(data.nonce));
      } else if ("error" in data || "nonce" in data) {
        finish(() => reject(new Failure("failed")));
      } else if (data.expected > 0) {
        // The number of tries is random: a curve that never quite fills.
        onProgress(1 - Math.exp(-data.tried / data.expected));
      }
    };
    worker.onerror = (event) => {
      event.preventDefault?.();
      finish(() => reject(new Failure("failed")));
    };
    worker.postMessage({
      token: challenge.token,
      digestHex: targetHex,
      difficulty: challenge.difficulty,
    });
  });
}

/** How long a 503 asks to wait, bounded: a hostile answer cannot park the page for ever. */
export function retryAfterSeconds(response) {
  const header = Number.parseInt(response.headers.get("Retry-After") ?? "", 10);
  return Math.min(
    Number.isFinite(header) && header > 0 ? header : DEFAULT_RETRY_AFTER_SECONDS,
    MAX_RETRY_AFTER_SECONDS,
  );
}

/**
 * POST `body(pow)` as JSON to `url` with proof of work over `targetHex`,
 * fetching new work after a 403 and waiting out a 503 a few times. Returns
 * the answer whose status is in `accepted`, or throws a Failure.
 */
export async function postWithWork({
  url,
  challengeUrl,
  workerUrl,
  targetHex,
  body,
  accepted,
  onWorking = () => {},
  onProgress = () => {},
  onSending = () => {},
  onWait = async () => {},
  maxBusy = 3,
  maxPow = 2,
}) {
  let busyRetries = 0;
  let powRetries = 0;
  for (;;) {
    const { challenge, busy } = await fetchChallenge(challengeUrl);
    const wait = async (response) => {
      if (busyRetries >= maxBusy) throw new Failure("unavailable");
      busyRetries += 1;
      await onWait(retryAfterSeconds(response));
    };
    if (busy) {
      await wait(busy);
      continue;
    }
    onWorking();
    onProgress(0);
    const nonce = await solveInWorker(workerUrl, challenge, targetHex, onProgress);
    onSending();
    const response = await request(url, {
      method: "POST",
      // The token in its header too: the intake checks it before the body.
      headers: { "Content-Type": "application/json", [POW_HEADER]: challenge.token },
      body: JSON.stringify(body({ challenge: challenge.token, nonce })),
    });
    if (accepted.includes(response.status)) {
      return response;
    }
    if (response.status === 503) {
      await wait(response);
      continue;
    }
    const error = await serverError(response);
    if (response.status === 403 && powRetries < maxPow) {
      // Expired while solving, or the load rose: new work, same request.
      powRetries += 1;
      continue;
    }
    throw new Failure(response.status >= 500 ? "unavailable" : "refused", error);
  }
}
