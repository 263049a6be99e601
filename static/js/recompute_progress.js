/* The clinic settings page: while the flags are being recomputed after a threshold
   change, refresh the progress line from the status endpoint (counts only) until the
   run finishes. No inline script (CSP); without script the page's Refresh link does. */
(function () {
  "use strict";
  var box = document.getElementById("flag-recompute");
  if (!box || box.dataset.running !== "true" || !window.fetch) { return; }
  var text = document.getElementById("flag-recompute-text");
  var bar = document.getElementById("flag-recompute-bar");
  var refresh = document.getElementById("flag-recompute-refresh");
  if (refresh) { refresh.hidden = true; }

  function show(progress) {
    text.textContent = progress.text;
    bar.max = progress.total || 1;
    bar.value = progress.total ? progress.done : 1;
    if (!progress.running) {
      box.dataset.running = "false";
      box.classList.remove("alert-warning");
      box.classList.add("alert-light", "border");
    }
  }

  function poll() {
    fetch(box.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("status " + response.status); }
        return response.json();
      })
      .then(function (progress) {
        show(progress);
        if (progress.running) { window.setTimeout(poll, 2000); }
      })
      .catch(function () {
        // Logged out, or the server is away: say how to see it instead.
        if (refresh) { refresh.hidden = false; }
      });
  }

  window.setTimeout(poll, 1000);
})();
