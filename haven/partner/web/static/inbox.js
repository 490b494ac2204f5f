// The partners' inbox: the tab title's count of new cases and the pull's progress, from
// /state (which does not count as activity), and the idle lock: after the same idle time
// as the server's, the page submits its own lock form, so an unattended tab hides cases.
// The deadline is a moment on the wall clock, checked every second and whenever the page
// comes back (a woken laptop, a restored tab): timers stop while a machine sleeps.
(function () {
  "use strict";
  var body = document.body;
  var idle = Number(body.getAttribute("data-idle-lock"));
  if (!idle) {
    return;
  }
  var baseTitle = body.getAttribute("data-title") || document.title;
  var status = document.getElementById("pull-status");

  var deadline = Date.now() + idle * 1000;
  var locking = false;

  function lockNow() {
    locking = true;
    // Hidden at once, before the lock's answer comes back.
    var main = document.getElementById("main");
    if (main) {
      main.hidden = true;
    }
    var form = document.getElementById("lock-form");
    if (form) {
      form.submit();
    } else {
      window.location.assign("/unlock");
    }
  }

  function checkIdle() {
    if (!locking && Date.now() >= deadline) {
      lockNow();
    }
  }
  window.setInterval(checkIdle, 1000);
  document.addEventListener("visibilitychange", checkIdle);
  window.addEventListener("pageshow", checkIdle);
  window.addEventListener("focus", checkIdle);

  function text(state) {
    if (state.pulling) {
      return (status.getAttribute("data-pulling") || "…") + " " + state.handled + " / " + (state.handled + state.remaining);
    }
    return null;
  }

  function refresh() {
    fetch("/state", { credentials: "same-origin", cache: "no-store" })
      .then(function (answer) { return answer.json(); })
      .then(function (state) {
        if (state.locked) {
          window.location.assign("/unlock");
          return;
        }
        document.title = (state.new ? "(" + state.new + ") " : "") + baseTitle;
        if (status && state.last_pulled && !state.pulling) {
          var last = document.getElementById("last-pulled");
          if (last) {
            last.textContent = state.last_pulled;
          }
        }
        var line = text(state);
        if (status && line) {
          status.textContent = line;
        }
      })
      .catch(function () { /* the next round tries again */ });
  }
  window.setInterval(refresh, 5000);
})();
