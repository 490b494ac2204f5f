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

  // One navigation away, whichever round sees the lock first: a second one would abort the first.
  function lockNow() {
    if (locking) {
      return;
    }
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

  // The whole line from /state's pieces, every round (the server's _pull.html makes the same):
  // progress, the last-pulled time and a pull error all change while the page stays open.
  function showPull(pull) {
    if (!status || !pull) {
      return;
    }
    status.textContent = pull.text;
    if (pull.last_pulled) {
      var last = document.createElement("span");
      last.id = "last-pulled";
      last.textContent = pull.last_pulled;
      status.appendChild(document.createTextNode(" "));
      status.appendChild(last);
    }
    if (pull.error) {
      var error = document.createElement("span");
      error.className = "pull-error";
      error.textContent = pull.error;
      status.appendChild(document.createTextNode(" "));
      status.appendChild(error);
    }
  }

  function refresh() {
    if (locking) {
      return;
    }
    fetch("/state", { credentials: "same-origin", cache: "no-store" })
      .then(function (answer) { return answer.json(); })
      .then(function (state) {
        if (state.locked) {
          if (!locking) {
            locking = true;
            hide(true);
            window.location.assign("/unlock");
          }
          return;
        }
        document.title = (state.new ? "(" + state.new + ") " : "") + baseTitle;
        showPull(state.pull);
      })
      .catch(function () { /* the next round tries again */ });
  }
  window.setInterval(refresh, 5000);
})();
