// The partners' inbox: the tab title's count of new cases and the pull's progress, from
// /state (which does not count as activity), and the idle lock: after the same idle time
// as the server's, the page submits its own lock form, so an unattended tab hides cases.
(function () {
  "use strict";
  var body = document.body;
  var idle = Number(body.getAttribute("data-idle-lock"));
  if (!idle) {
    return;
  }
  var baseTitle = body.getAttribute("data-title") || document.title;
  var status = document.getElementById("pull-status");

  function lockNow() {
    var form = document.getElementById("lock-form");
    if (form) {
      form.submit();
    } else {
      window.location.assign("/unlock");
    }
  }
  window.setTimeout(lockNow, idle * 1000);

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
