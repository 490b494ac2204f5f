// The requester's form page, with JavaScript (built to haven-form.js).
// docs/web-form.md is the contract with the page: the DOM ids, the config
// JSON in #haven-config, and the flow: check, review, then send.
//
// What this script protects:
// * Only the sealed envelope and the four routing labels leave the device.
//   The request is sealed here, to keys taken from a directory verified
//   against the network key pinned in the page.
// * It talks to nothing but the page's three URLs (directory, challenge,
//   submit) and loads nothing but the two worker scripts, all same-origin.
// * With "Reply through Haven", the receipt code is made on this device (in
//   the receipt worker), in the page's language; only its derived public
//   values (reply key, mailbox id, access hash) go into the sealed content.
//   The code itself is shown once on the sent section and is never stored,
//   sent, or put in the URL; it goes with the page.
// * It leaves no trace: no cookies, no storage of any kind, nothing in the
//   URL or the history, no service worker; after sending, the form is reset
//   and every reference to the plaintext dropped.
// Without WebCrypto or Web Workers it does not take over: the form then
// works as without JavaScript (sealed by the intake, and the page says so).

import { byId, show, takeOver } from "./page.js";
import { DirectoryError, recipientKeys, verifyDirectory } from "./directory.js";
import { digest, seal } from "./envelope.js";
import { collect, contentDocument, message, reviewRows, ROUTING_FIELDS } from "./fields.js";
import { Failure, postWithWork, request, serverError, sleep, toBase64 } from "./net.js";

// How often a busy intake (503) is waited for, and how often new work is
// fetched after a 403, before the page gives up and says so.
const MAX_BUSY_RETRIES = 3;
const MAX_POW_RETRIES = 2;

const encoder = new TextEncoder();
const HAVEN_REPLY = "haven_reply";
const RECEIPT_CODE_RE = /^\p{L}+(?: \p{L}+){8}$/u;


// What a label says, without what is hidden from readers (the page's
// required-field asterisk), on one line.
function text(node) {
  if (!node) {
    return "";
  }
  const copy = node.cloneNode(true);
  copy.querySelectorAll?.('[aria-hidden="true"]').forEach((hidden) => hidden.remove());
  return (copy.textContent ?? "")
    .replace(/\s+/g, " ")
    .replace(/\s*\*$/, "")
    .trim();
}

function start() {
  const taken = takeOver("haven-form");
  if (!taken) {
    return;
  }
  const { config, form } = taken;

  const review = byId("haven-review");
  const editButton = byId("haven-edit");
  const sendButton = byId("haven-send");
  const progress = byId("haven-progress");
  const powProgress = byId("haven-pow-progress");
  const status = byId("haven-status");
  const sent = byId("haven-sent");
  const sentId = byId("haven-sent-id");
  const receipt = byId("haven-receipt");
  const receiptCode = byId("haven-receipt-code");
  const errorBox = byId("haven-error");
  const say = (key, params) => message(config, key, params);
  const fieldNames = [...config.form.fields.map((field) => field.name), ...ROUTING_FIELDS];

  // The request under review: the plaintext. Held only between "review"
  // and "sent"/"edit", and dropped then.
  let pending = null;
  let busy = false;

  const controlsNamed = (name) => Array.from(form.elements).filter((el) => el.name === name);

  function setStatus(key, params) {
    if (status) {
      status.textContent = key ? say(key, params) : "";
    }
  }

  function setProgress(fraction) {
    if (powProgress) {
      powProgress.max = 1;
      powProgress.value = Math.min(Math.max(fraction, 0), 1);
    }
  }

  function hideError() {
    if (errorBox) {
      errorBox.textContent = "";
      errorBox.hidden = true;
    }
  }

  function showFailure(failure) {
    if (!errorBox) {
      return;
    }
    const { key, params } = failure;
    let shown = say(key, params);
    // The server's error code and field (a closed set and a dotted path,
    // never the requester's text), for whoever helps to read.
    if (params.code && !shown.includes(params.code)) {
      shown += ` (${params.code}${params.field ? `: ${params.field}` : ""})`;
    }
    errorBox.textContent = shown;
    errorBox.hidden = false;
  }

  function showFieldErrors(errors) {
    for (const name of fieldNames) {
      const error = errors.get(name);
      const target = byId(`error-${name}`);
      if (target) {
        target.textContent = error ? say(error.key, error.params) : "";
      }
      for (const control of controlsNamed(name)) {
        if (error) {
          control.setAttribute("aria-invalid", "true");
        } else {
          control.removeAttribute("aria-invalid");
        }
      }
    }
    // Focus the first invalid control in the page's order.
    Array.from(form.elements)
      .find((el) => errors.has(el.name))
      ?.focus();
  }

  // A routing field as the page shows it: its legend or label, the chosen
  // option's text. Read from the page, which words them in its language.
  function routingRow(name) {
    const controls = controlsNamed(name);
    const select = controls.find((el) => el.tagName === "SELECT");
    const chosen = select
      ? select.selectedOptions[0]
      : controls.find((el) => el.checked)?.labels?.[0];
    const first = select ?? controls[0];
    const legend = first?.closest("fieldset")?.querySelector("legend");
    const label = select ? text(select.labels?.[0]) || text(legend) : text(legend);
    return { label: label || name, value: text(chosen) };
  }

  function countryName(code, fieldName) {
    const option = controlsNamed(fieldName)
      .flatMap((el) => (el.tagName === "SELECT" ? Array.from(el.options) : []))
      .find((opt) => opt.value === code);
    if (option) {
      return text(option);
    }
    try {
      return new Intl.DisplayNames([config.lang], { type: "region" }).of(code) ?? code;
    } catch {
      return code;
    }
  }

  function reviewList() {
    let list = byId("haven-review-list");
    if (!list) {
      // The page may hold its own <dl id="haven-review-list">; else the list
      // goes just before the buttons, after the section's heading and text.
      list = document.createElement("dl");
      list.id = "haven-review-list";
      let anchor = sendButton ?? editButton;
      while (anchor && anchor.parentElement !== review) {
        anchor = anchor.parentElement;
      }
      review.insertBefore(list, anchor ?? null);
    }
    return list;
  }

  function renderReview(request) {
    const rows = [
      ...reviewRows(config.form, request.fields, config.lang, countryName),
      ...ROUTING_FIELDS.map(routingRow),
    ];
    const list = reviewList();
    list.replaceChildren();
    for (const row of rows) {
      const term = document.createElement("dt");
      term.textContent = row.label;
      const value = document.createElement("dd");
      // textContent, never HTML: the values are the requester's own text.
      value.textContent = row.value;
      value.style.whiteSpace = "pre-wrap";
      list.append(term, value);
    }
  }

  function clearReview() {
    byId("haven-review-list")?.replaceChildren();
  }

  // --- the network: the three URLs of the config, same-origin only -------

  async function fetchDirectory() {
    const response = await request(config.directory_url);
    if (response.status !== 200) {
      throw new Failure(response.status === 503 ? "unavailable" : "network_error");
    }
    const signed = new Uint8Array(await response.arrayBuffer());
    try {
      // Verify before using any key: a tampered directory could add an
      // attacker's key, and nothing is sent when it fails.
      return verifyDirectory(signed, config.network_key);
    } catch (error) {
      if (error instanceof DirectoryError) {
        throw new Failure("directory_refused", { code: error.code });
      }
      throw error;
    }
  }

  // The receipt code and its keys, made in the receipt worker (Argon2id in
  // WebAssembly takes a second or more on a slow phone). hash-wasm reports
  // no progress, so the bar follows the expected time.
  function makeReceipt() {
    return new Promise((resolve, reject) => {
      const worker = new Worker(config.receipt_worker_url);
      let timer = null;
      const finish = (outcome) => {
        if (timer !== null) clearInterval(timer);
        worker.terminate();
        outcome();
      };
      worker.onmessage = (event) => {
        const data = event.data ?? {};
        if (data.started === true) {
          const started = Date.now();
          const expected = Math.max(Number(data.expectedMs) || 0, 100);
          timer = setInterval(() => setProgress(1 - Math.exp(-(Date.now() - started) / expected)), 100);
          return;
        }
        const bytes = (value, length) => value instanceof Uint8Array && value.length === length;
        if (
          typeof data.code === "string" &&
          RECEIPT_CODE_RE.test(data.code) &&
          bytes(data.mailboxId, 32) &&
          bytes(data.accessHash, 32) &&
          bytes(data.replyPublicKey, 1216)
        ) {
          setProgress(1);
          finish(() =>
            resolve({
              code: data.code,
              mailboxId: data.mailboxId,
              accessHash: data.accessHash,
              replyKey: data.replyPublicKey,
            }),
          );
        } else {
          finish(() => reject(new Failure("failed")));
        }
      };
      worker.onerror = (event) => {
        event.preventDefault?.();
        finish(() => reject(new Failure("failed")));
      };
      worker.postMessage({ op: "generate", language: config.lang });
    });
  }

  // A busy intake's wait, counted down on the page.
  async function countDown(seconds) {
    for (let left = seconds; left > 0; left -= 1) {
      setStatus("busy_retry", { seconds: left });
      await sleep(1000);
    }
  }

  // Seal once, then get work admitted: a 503 waits and retries, a 403
  // fetches a new challenge; the same envelope is sent every time (the same
  // request id, so a resend after a lost answer is not a second request).
  async function deliver(requestToSend, { resealed = false } = {}) {
    if (requestToSend.fields.contact_channel === HAVEN_REPLY && requestToSend.receipt === null) {
      // Made once per request under review: a send that is retried keeps
      // the same code, so the code shown is the one in the sealed request.
      setStatus("receipt_making");
      setProgress(0);
      requestToSend.receipt = await makeReceipt();
    }
    setStatus("sealing");
    setProgress(0);
    const directory = await fetchDirectory();
    let recipients;
    try {
      recipients = recipientKeys(directory, config.category, requestToSend.routing.region);
    } catch (error) {
      if (error instanceof DirectoryError) {
        throw new Failure(
          error.code === "no-recipients" ? "no_recipients" : "directory_refused",
          { code: error.code },
        );
      }
      throw error;
    }
    const contentDoc = contentDocument(config.category, requestToSend.fields);
    if (requestToSend.receipt !== null) {
      // docs/replies-v1.md section 2: inside the envelope only.
      contentDoc.reply_key = toBase64(requestToSend.receipt.replyKey);
      contentDoc.mailbox_id = toBase64(requestToSend.receipt.mailboxId);
      contentDoc.access_hash = toBase64(requestToSend.receipt.accessHash);
    }
    let content = encoder.encode(JSON.stringify(contentDoc));
    let envelope;
    try {
      envelope = await seal({
        content,
        labels: requestToSend.routing,
        serverSealed: false,
        recipients,
      });
    } finally {
      // Best effort: the JSON string itself is left to the garbage collector.
      content.fill(0);
      content = null;
    }
    // The request id is SHA-256 of the envelope (docs/intake-api.md).
    const digestHex = await digest(envelope);
    const envelopeText = toBase64(envelope);

    const response = await postWithWork({
      url: config.submit_url,
      challengeUrl: config.challenge_url,
      workerUrl: config.pow_worker_url,
      // Fetched after sealing: the work is over this very envelope.
      targetHex: digestHex,
      // Exactly these three fields: the labels, the sealed bytes, the work.
      body: (pow) => ({ routing: requestToSend.routing, envelope: envelopeText, pow }),
      accepted: [202, 422],
      maxBusy: MAX_BUSY_RETRIES,
      maxPow: MAX_POW_RETRIES,
      onWorking: () => setStatus("working"),
      onProgress: setProgress,
      onSending: () => setStatus("sending"),
      onWait: countDown,
    });
    if (response.status === 202) {
      return digestHex;
    }
    const error = await serverError(response);
    if (error.code === "envelope_invalid" && !resealed) {
      // The directory changed under us (a key retired): fetch it again and
      // seal anew, once.
      return deliver(requestToSend, { resealed: true });
    }
    throw new Failure("refused", error);
  }

  function showSent(id, made) {
    sentId.textContent = id;
    if (made !== null && receipt && receiptCode) {
      // Shown once, as text; never stored, never sent. It leaves with the page.
      receiptCode.textContent = made.code;
      show(receipt, true);
    }
    show(form, false);
    show(review, false);
    show(progress, false);
    hideError();
    show(sent, true);
    // Drop the plaintext: the form's values, the review's copy, our own.
    form.reset();
    clearReview();
    pending = null;
    setStatus("sent");
    sent.setAttribute("tabindex", "-1");
    sent.focus();
  }

  async function send() {
    if (busy || pending === null) {
      return;
    }
    busy = true;
    hideError();
    if (sendButton) sendButton.disabled = true;
    if (editButton) editButton.disabled = true;
    show(progress, true);
    try {
      const id = await deliver(pending);
      showSent(id, pending.receipt);
    } catch (error) {
      show(progress, false);
      setStatus(null);
      // Never the error's own text beyond our keys: it could be anything.
      showFailure(error instanceof Failure ? error : new Failure("failed"));
      if (errorBox) {
        errorBox.setAttribute("tabindex", "-1");
        errorBox.focus();
      }
    } finally {
      busy = false;
      if (sendButton) sendButton.disabled = false;
      if (editButton) editButton.disabled = false;
    }
  }

  form.addEventListener("submit", (event) => {
    // The request is not posted in clear: it is checked and shown here, and
    // leaves only sealed, from "send".
    event.preventDefault();
    if (busy) {
      return;
    }
    hideError();
    const data = new FormData(form);
    const { fields, routing, errors } = collect(config.form, (name) => data.getAll(name));
    showFieldErrors(errors);
    if (errors.size > 0) {
      return;
    }
    pending = { fields, routing: { category: config.category, ...routing }, receipt: null };
    renderReview(pending);
    show(form, false);
    show(review, true);
    review.setAttribute("tabindex", "-1");
    review.focus();
  });

  editButton?.addEventListener("click", () => {
    if (busy) {
      return;
    }
    pending = null;
    clearReview();
    hideError();
    show(review, false);
    show(form, true);
    Array.from(form.elements)
      .find((el) => el.matches('input:not([type="hidden"]), select, textarea'))
      ?.focus();
  });

  sendButton?.addEventListener("click", send);
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start);
} else {
  start();
}
