// What every page script starts from: its elements, and whether it may take
// the page over from the intake's no-JavaScript path.

export function byId(id) {
  return document.getElementById(id);
}

export function show(element, visible) {
  if (element) {
    element.hidden = !visible;
  }
}

/**
 * The page's config (#haven-config) and its form `formId`, or null: the page
 * is then left to the intake's no-JavaScript path. Sealing, deriving and
 * opening need WebCrypto (a secure context), the work and the receipt code a
 * Worker, and sending fetch: without one of them the script would fail at
 * the press of a button instead.
 */
export function takeOver(formId) {
  const configElement = byId("haven-config");
  const form = byId(formId);
  if (!configElement || !form) {
    return null;
  }
  let config;
  try {
    config = JSON.parse(configElement.textContent);
  } catch {
    return null;
  }
  if (!globalThis.crypto?.subtle || typeof Worker !== "function" || typeof fetch !== "function") {
    return null;
  }
  return { config, form };
}
