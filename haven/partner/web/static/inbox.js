// The partners' inbox: the tab title's count of new cases and the pull's progress, from
// /state (which does not count as activity), and the idle lock: after the same idle time
// as the server's, the page submits its own lock form, so an unattended tab hides cases.
// The deadline is a moment on the wall clock, checked every second and whenever the page
// comes back (a woken laptop, a restored tab): timers stop while a machine sleeps. At the
// deadline the page hides its content and asks /state how much idle time the session has
// left (the member may be busy in another tab): some left, it shows again and waits that
// long; none, or no answer, it locks.
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
  var asking = false;
  var main = document.getElementById("main");

  function hide(hidden) {
    if (main) {
      main.hidden = hidden;
    }
  }

  function lockNow() {
    locking = true;
    hide(true);
    var form = document.getElementById("lock-form");
    if (form) {
      form.submit();
    } else {
      window.location.assign("/unlock");
    }
  }

  function checkIdle() {
    if (locking || asking || Date.now() < deadline) {
      return;
    }
    // Hidden at once, while the server says whether another tab kept the session busy.
    asking = true;
    hide(true);
    fetch("/state", { credentials: "same-origin", cache: "no-store" })
      .then(function (answer) { return answer.json(); })
      .then(function (state) {
        asking = false;
        if (!state.locked && state.idle_left > 0) {
          deadline = Date.now() + state.idle_left * 1000;
          hide(false);
        } else {
          lockNow();
        }
      })
      .catch(function () {
        asking = false;
        lockNow();
      });
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
