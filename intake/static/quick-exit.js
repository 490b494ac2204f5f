// No traces in the history (docs/web-form.md): this page's own entry is
// made neutral at once, and the quick exit leaves for a neutral site
// replacing it, so Back does not return to the form.
// The link works without JavaScript too, as an ordinary link.
(function () {
  "use strict";
  var TARGET = "https://yandex.ru/pogoda/";
  var WINDOW_MS = 1500;
  var presses = [];

  // Every step after the first is a POST to "/", and a browser keeps a
  // POST's body in its history entry to send again on Back or reload: here,
  // the language and the kind of help asked for. Make this entry a plain GET of "/": Back then shows the
  // neutral first page, and nothing of the request stays in the history.
  try {
    window.history.replaceState(null, "", "/");
  } catch (ignored) { /* an old browser: the entry keeps its body */ }

  function leave() {
    // Clear what is typed first: the page may stay in memory (bfcache).
    try {
      var forms = document.forms;
      for (var i = 0; i < forms.length; i++) forms[i].reset();
    } catch (ignored) { /* leaving matters more */ }
    window.location.replace(TARGET);
  }

  document.addEventListener("click", function (event) {
    var link = event.target && event.target.closest ? event.target.closest("#quick-exit") : null;
    if (!link) return;
    event.preventDefault();
    leave();
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" && event.key !== "Esc") return;
    var now = Date.now();
    presses = presses.filter(function (t) { return now - t < WINDOW_MS; });
    presses.push(now);
    if (presses.length >= 3) {
      presses = [];
      leave();
    }
  });

  // The answers page (docs/web-status.md): its deferred bundle takes the
  // code field over, so that the code never leaves the phone. On a slow link
  // the page can be typed into before the bundle has come; a press of Open
  // then would post the code to the server. So until the page has loaded
  // the press is held, and then made again: the bundle takes it if it
  // started (it marks the form), the no-JavaScript path posts it if not.
  var heldForm = null;
  var loaded = false;
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (loaded || !form || form.id !== "haven-status-form") return;
    if (form.hasAttribute("data-haven-js")) return;
    event.preventDefault();
    heldForm = form;
  }, true);
  window.addEventListener("load", function () {
    loaded = true;
    var form = heldForm;
    heldForm = null;
    var button = form && form.querySelector('[type="submit"]');
    if (button) button.click();
  });
})();
