// The in-session QR page: ask every few seconds whether the client has answered, and
// say so. Without JavaScript the page still works; it just does not update itself.
(function () {
  "use strict";
  var box = document.getElementById("checkin-status");
  if (!box || !window.fetch) return;
  var url = box.getAttribute("data-status-url");
  var tries = 0;
  function poll() {
    tries += 1;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (data && data.answered) {
          box.textContent = box.getAttribute("data-answered-text");
          box.className = "alert alert-success";
          var qr = document.querySelector(".checkin-qr");
          if (qr) qr.hidden = true;
        } else if (tries < 300) {
          window.setTimeout(poll, 3000);
        }
      })
      .catch(function () { if (tries < 300) window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 2000);
})();
