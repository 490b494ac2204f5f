// The replies page, with JavaScript (built to haven-status.js). The contract
// with the page (DOM ids, #haven-config) is docs/web-status.md.
//
// What this script protects:
// * The receipt code never leaves this page: it is read and stretched in the
//   receipt worker, and only what it derives is used: the mailbox id and
//   access secret go to the intake in a POST body (with proof of work), the
//   reply key's seed stays here to open messages. The code is not put in a
//   URL, storage, cookie or history entry, and the field is emptied as soon
//   as the worker has it.
// * A message is shown only if it is signed by a partner of the directory
//   (verified against the network key pinned in the page) and opens with the
//   reply key; anything else is counted, never shown, not even in part.
// * A follow-up is sealed here to the partner of the latest message alone.
// Without WebCrypto or Web Workers it does not take over: the form then
// posts the code to the intake, which opens the thread itself and says so.

import { byId, show, takeOver } from "./page.js";
import { DirectoryError, partnerKeysOf, signingKeysOf, verifyDirectory } from "./directory.js";
import { digest } from "./envelope.js";
import {
  Failure,
  postWithWork,
  request,
  sleep,
  toBase64,
  toHex,
} from "./net.js";
import {
  MAX_FOLLOW_UP_CHARS,
  followUpLabels,
  mailboxWorkTarget,
  readMessage,
  sealFollowUp,
} from "./replies.js";

// Section 3.1 of docs/replies-v1.md: line feeds, no other control character.
const CONTROL_RE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/u;
const CODE_WORDS = 9;
const KEY_BYTES = 32;
const REPLY_KEY_BYTES = 1216;


/** A message's time as both pages show it: "2026-11-30 08:05 UTC". */
export function shownTime(sentAt) {
  return `${sentAt.slice(0, 10)} ${sentAt.slice(11, 16)} UTC`;
}

/** Words as the parser counts them (docs/replies-v1.md 1.5), for "this has N". */
export function countWords(text) {
  const folded = text.normalize("NFC").replace(/[\p{Mn}\p{Me}\p{Cf}]/gu, "");
  return (folded.match(/\p{L}+/gu) ?? []).length;
}

/** Check and open each message; `unverified` counts those that fail any check. */
export async function readThread(wires, keys, directory) {
  const messages = [];
  let unverified = 0;
  for (const wire of Array.isArray(wires) ? wires : []) {
    try {
      const partner = typeof wire?.partner === "string" ? wire.partner : "";
      messages.push(
        await readMessage(wire, keys.mailboxId, keys.replySeed, signingKeysOf(directory, partner)),
      );
    } catch {
      // MessageRefused, or anything stranger: never shown, only counted.
      unverified += 1;
    }
  }
  // sent_at is fixed-width UTC: text order is time order, and the sort is
  // stable, so messages of one second keep the order they were stored in.
  messages.sort((a, b) => (a.sentAt < b.sentAt ? -1 : a.sentAt > b.sentAt ? 1 : 0));
  const statuses = messages.filter((m) => m.kind === "status");
  return {
    messages,
    unverified,
    state: statuses.length ? statuses[statuses.length - 1].state : null,
    latestPartner: messages.length ? messages[messages.length - 1].partner : null,
  };
}

function start() {
  const taken = takeOver("haven-status-form");
  if (!taken) {
    return;
  }
  const { config, form } = taken;
  // Taken over: quick-exit.js no longer holds a press of Open for this script.
  form.setAttribute("data-haven-js", "");

  const entry = byId("haven-entry");
  const codeField = byId("field-code");
  const errorBox = byId("haven-error");
  const progress = byId("haven-progress");
  const bar = byId("haven-progress-bar");
  const status = byId("haven-status");
  const threadBox = byId("haven-thread");
  const stateLine = byId("haven-state");
  const unverifiedLine = byId("haven-unverified");
  const emptyLine = byId("haven-empty");
  const list = byId("haven-messages");
  const followUp = byId("haven-follow-up");
  const followUpTitle = byId("haven-follow-up-title");
  const followUpText = byId("field-text");
  const followUpError = byId("error-text");
  const followUpSent = byId("haven-follow-up-sent");
  const deleteButton = byId("haven-delete");
  const deleteConfirm = byId("haven-delete-confirm");
  const deleteYes = byId("haven-delete-yes");
  const deleteNo = byId("haven-delete-no");
  const deleted = byId("haven-deleted");

  const say = (key, params = {}) =>
    String(config.messages?.[key] ?? key).replace(/\{(\w+)\}/g, (whole, name) =>
      name in params ? String(params[name]) : whole,
    );

  // What the code unlocked, held only in this closure while the page is open.
  let keys = null;
  let thread = null;
  let busy = false;

  function setStatus(key, params) {
    if (status) status.textContent = key ? say(key, params) : "";
  }

  function setProgress(fraction) {
    if (bar) {
      bar.max = 1;
      bar.value = Math.min(Math.max(fraction, 0), 1);
    }
  }

  function hideError() {
    if (errorBox) {
      errorBox.textContent = "";
      errorBox.hidden = true;
    }
  }

  function showError(text) {
    if (!errorBox) return;
    errorBox.textContent = text;
    errorBox.hidden = false;
    errorBox.setAttribute("tabindex", "-1");
    errorBox.focus();
  }

  function showFailure(error) {
    const failure = error instanceof Failure ? error : new Failure("failed");
    let shown = say(failure.key, failure.params);
    // The server's error code and field (a closed set, a path), for whoever helps.
    if (failure.params.code && !shown.includes(failure.params.code)) {
      shown += ` (${failure.params.code}${failure.params.field ? `: ${failure.params.field}` : ""})`;
    }
    showError(shown);
  }

  async function waitBusy(seconds) {
    for (let left = seconds; left > 0; left -= 1) {
      setStatus("busy_retry", { seconds: left });
      await sleep(1000);
    }
  }

  async function fetchDirectory() {
    const response = await request(config.directory_url);
    if (response.status !== 200) {
      throw new Failure(response.status === 503 ? "unavailable" : "network_error");
    }
    const signed = new Uint8Array(await response.arrayBuffer());
    try {
      // Verified before a key is used: a tampered directory could name an
      // attacker's signing key, and its messages would pass as a partner's.
      return verifyDirectory(signed, config.network_key);
    } catch (error) {
      if (error instanceof DirectoryError) {
        throw new Failure("directory_refused", { code: error.code });
      }
      throw error;
    }
  }

  // The code, parsed and stretched in the receipt worker: Argon2id in
  // WebAssembly. hash-wasm reports no progress, so the bar follows the
  // expected time. Resolves to the keys, or rejects with a code error.
  function derive(code) {
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
          timer = setInterval(
            () => setProgress(1 - Math.exp(-(Date.now() - started) / expected)),
            100,
          );
          return;
        }
        const bytes = (value, length) => value instanceof Uint8Array && value.length === length;
        if (data.error) {
          const { reason, position } = data.error;
          finish(() => reject(codeFailure(reason, position, code)));
        } else if (
          bytes(data.mailboxId, KEY_BYTES) &&
          bytes(data.accessSecret, KEY_BYTES) &&
          bytes(data.replySeed, KEY_BYTES) &&
          bytes(data.replyPublicKey, REPLY_KEY_BYTES)
        ) {
          setProgress(1);
          finish(() =>
            resolve({
              mailboxId: data.mailboxId,
              accessSecret: data.accessSecret,
              replySeed: data.replySeed,
              replyPublicKey: data.replyPublicKey,
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
      worker.postMessage({ op: "derive", code });
    });
  }

  // By reason and position only: the message never repeats a typed word.
  function codeFailure(reason, position, code) {
    if (reason === "word_count") {
      return new Failure("code_word_count", { words: CODE_WORDS, count: countWords(code) });
    }
    if (reason === "unknown_word" && Number.isInteger(position)) {
      return new Failure("code_unknown_word", { position });
    }
    if (reason === "check_failed") {
      return new Failure("code_check_failed");
    }
    return new Failure("failed");
  }

  async function fetchMailbox(directoryKeys) {
    const response = await postWithWork({
      url: config.fetch_url,
      challengeUrl: config.challenge_url,
      workerUrl: config.pow_worker_url,
      targetHex: toHex(mailboxWorkTarget("fetch", directoryKeys.mailboxId)),
      body: (pow) => ({
        mailbox_id: toBase64(directoryKeys.mailboxId),
        access_secret: toBase64(directoryKeys.accessSecret),
        pow,
      }),
      accepted: [200],
      onWorking: () => setStatus("working"),
      onProgress: setProgress,
      onWait: waitBusy,
    });
    const answer = await response.json();
    return Array.isArray(answer?.messages) ? answer.messages : [];
  }

  function renderThread(read, directory) {
    list.replaceChildren();
    for (const message of read.messages) {
      const item = document.createElement("li");
      item.className = `message ${message.kind}`;
      const meta = document.createElement("p");
      meta.className = "meta";
      const time = document.createElement("time");
      time.dateTime = message.sentAt;
      time.textContent = shownTime(message.sentAt);
      meta.append(`${partnerName(directory, message.partner)} · `, time);
      item.append(meta);
      if (message.kind === "status") {
        const state = document.createElement("p");
        state.className = "state";
        state.textContent = say(`state_${message.state}`);
        item.append(state);
      }
      if (message.text) {
        const text = document.createElement("p");
        text.className = "text";
        // textContent: a partner's text is shown as text, never as markup.
        text.textContent = message.text;
        item.append(text);
      }
      list.append(item);
    }
    if (read.state) {
      stateLine.replaceChildren();
      const label = document.createElement("strong");
      label.textContent = say("status_label");
      stateLine.append(label, ` ${say(`state_${read.state}`)}`);
    }
    show(stateLine, Boolean(read.state));
    if (read.unverified > 0) {
      unverifiedLine.textContent =
        read.unverified === 1
          ? say("unverified_one")
          : say("unverified_many", { count: read.unverified });
    }
    show(unverifiedLine, read.unverified > 0);
    show(emptyLine, read.messages.length === 0);
    if (read.latestPartner) {
      followUpTitle.textContent = say("write_to", {
        partner: partnerName(directory, read.latestPartner),
      });
    }
    show(followUp, Boolean(read.latestPartner));
    show(threadBox, true);
  }

  function partnerName(directory, partnerId) {
    const partner = directory.partners.find((p) => p.id === partnerId);
    return partner?.display_name ?? partnerId;
  }

  async function open() {
    show(progress, true);
    setStatus("deriving");
    setProgress(0);
    let derived;
    try {
      derived = await derive(codeField.value);
    } catch (error) {
      if (error instanceof Failure && error.key.startsWith("code_")) {
        codeField.setAttribute("aria-invalid", "true");
      }
      throw error;
    }
    codeField.removeAttribute("aria-invalid");
    const directory = await fetchDirectory();
    const wires = await fetchMailbox(derived);
    keys = derived;
    thread = await readThread(wires, keys, directory);
    // Opened: the field is emptied, and the code is gone from the page; what
    // it unlocked lives in `keys` until the page is closed.
    codeField.value = "";
    show(entry, false);
    show(progress, false);
    setStatus(null);
    renderThread(thread, directory);
    threadBox.setAttribute("tabindex", "-1");
    threadBox.focus();
  }

  async function guarded(action, onError = () => {}) {
    if (busy) return;
    busy = true;
    hideError();
    try {
      await action();
    } catch (error) {
      show(progress, false);
      setStatus(null);
      onError();
      showFailure(error);
    } finally {
      busy = false;
    }
  }

  form.addEventListener("submit", (event) => {
    // Never posted: with JavaScript the code does not leave this page.
    event.preventDefault();
    guarded(open);
  });

  followUp?.addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(async () => {
      const text = followUpText.value.replace(/\r\n/g, "\n");
      const problem = !text.trim()
        ? "required"
        : [...text].length > MAX_FOLLOW_UP_CHARS
          ? "too_long"
          : CONTROL_RE.test(text)
            ? "control_chars"
            : null;
      followUpError.textContent = problem ? say(problem, { max: MAX_FOLLOW_UP_CHARS }) : "";
      followUpText.toggleAttribute("aria-invalid", problem !== null);
      show(followUpSent, false);
      if (problem) {
        followUpText.focus();
        return;
      }
      const partner = thread?.latestPartner;
      if (!keys || !partner) {
        throw new Failure("no_partner");
      }
      show(progress, true);
      setStatus("sending");
      // The directory again: the follow-up goes to the partner's keys as
      // they are now, verified like the first time.
      const directory = await fetchDirectory();
      let recipients;
      try {
        recipients = partnerKeysOf(directory, partner);
      } catch {
        throw new Failure("no_partner");
      }
      const labels = followUpLabels(partner, config.lang);
      const envelope = await sealFollowUp(
        { mailboxId: keys.mailboxId, replyKey: keys.replyPublicKey, text },
        partner,
        config.lang,
        recipients,
      );
      await postWithWork({
        url: config.follow_up_url,
        challengeUrl: config.challenge_url,
        workerUrl: config.pow_worker_url,
        targetHex: await digest(envelope),
        body: (pow) => ({ routing: labels, envelope: toBase64(envelope), pow }),
        accepted: [202],
        onWorking: () => setStatus("sending"),
        onProgress: setProgress,
        onWait: waitBusy,
      });
      show(progress, false);
      setStatus(null);
      followUpText.value = "";
      followUpSent.textContent = say("follow_up_sent", { partner: partnerName(directory, partner) });
      show(followUpSent, true);
    });
  });

  deleteButton?.addEventListener("click", () => {
    show(deleteConfirm, true);
    deleteYes?.focus();
  });
  deleteNo?.addEventListener("click", () => {
    show(deleteConfirm, false);
    deleteButton?.focus();
  });
  deleteYes?.addEventListener("click", () => {
    guarded(async () => {
      if (!keys) throw new Failure("failed");
      show(progress, true);
      await postWithWork({
        url: config.delete_url,
        challengeUrl: config.challenge_url,
        workerUrl: config.pow_worker_url,
        targetHex: toHex(mailboxWorkTarget("delete", keys.mailboxId)),
        body: (pow) => ({
          mailbox_id: toBase64(keys.mailboxId),
          access_secret: toBase64(keys.accessSecret),
          pow,
        }),
        accepted: [200],
        onWorking: () => setStatus("working"),
        onProgress: setProgress,
        onWait: waitBusy,
      });
      keys = null;
      thread = null;
      list.replaceChildren();
      show(progress, false);
      setStatus(null);
      show(threadBox, false);
      show(deleted, true);
      deleted.setAttribute("tabindex", "-1");
      deleted.focus();
    });
  });
}

if (typeof document !== "undefined") {
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}
