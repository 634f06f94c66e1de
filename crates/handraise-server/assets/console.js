// Progressive enhancement for the HandRaise console; every page works without it.
(function () {
  "use strict";

  // Confirm destructive forms (revoke a device).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var message = form.getAttribute && form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });

  // Live queue: re-fetch this page and swap the table in place.
  var live = document.getElementById("queue-live");
  if (!live || !window.fetch || !window.DOMParser) {
    return;
  }
  var seconds = parseInt(live.getAttribute("data-refresh"), 10) || 15;
  var status = document.getElementById("refresh-status");

  function refresh() {
    if (document.visibilityState === "hidden") {
      return;
    }
    // Do not move the table under a technician who is using it.
    if (live.contains(document.activeElement) && document.activeElement !== document.body) {
      return;
    }
    fetch(window.location.href, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (response) {
        if (response.redirected || !response.ok) {
          throw new Error("status " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("queue-live");
        var freshStatus = doc.getElementById("refresh-status");
        if (!fresh) {
          throw new Error("no queue in the answer");
        }
        live.innerHTML = fresh.innerHTML;
        if (status && freshStatus) {
          status.textContent = freshStatus.textContent;
        }
        live.setAttribute("data-refreshed", String(Date.now()));
      })
      .catch(function () {
        if (status) {
          status.textContent = "Could not refresh the queue; reload the page to try again.";
        }
      });
  }

  window.setInterval(refresh, seconds * 1000);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      refresh();
    }
  });
  window.handraiseRefreshQueue = refresh;
})();
