// The quick exit (docs/web-form.md): leave for a neutral site and replace
// this page's history entry, so Back does not return to the form.
// The link works without JavaScript too, as an ordinary link.
(function () {
  "use strict";
  var TARGET = "https://yandex.ru/pogoda/";
  var WINDOW_MS = 1500;
  var presses = [];

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
})();
