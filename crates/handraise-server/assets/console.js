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

  // Live article preview: post the body (with the form's CSRF token) and show
  // the server's rendering, the same Markdown subset the tray app shows.
  var body = document.querySelector("textarea[data-preview]");
  var preview = body && document.getElementById(body.getAttribute("data-preview"));
  if (body && preview && window.fetch) {
    var csrf = body.form && body.form.querySelector('input[name="csrf"]');
    var timer = null;
    var sent = 0;
    var update = function () {
      var mine = ++sent;
      var data = new URLSearchParams();
      data.set("csrf", csrf ? csrf.value : "");
      data.set("body", body.value);
      fetch("/console/kb/preview", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: data.toString(),
      })
        .then(function (r) {
          if (!r.ok) {
            throw new Error("status " + r.status);
          }
          return r.text();
        })
        .then(function (html) {
          if (mine !== sent) {
            return;
          }
          // The server escapes every piece of article text before adding markup.
          var doc = new DOMParser().parseFromString("<div>" + html + "</div>", "text/html");
          preview.replaceChildren.apply(preview, Array.prototype.slice.call(doc.body.firstChild.childNodes));
          preview.setAttribute("data-rendered", String(mine));
        })
        .catch(function () {});
    };
    body.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(update, 250);
    });
  }

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
