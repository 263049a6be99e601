/* Client page charts. The data comes from a <script type="application/json"> block that
   Django's json_script filter writes, so the page needs no inline script (CSP). Each
   chart also has a data table in the page, for screen readers and for anyone who
   prefers numbers. */
(function () {
  "use strict";
  var source = document.getElementById("client-chart-data");
  if (!source || typeof Chart === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var colours = { client: "#234e70", therapist: "#c8553d" };
  var names = { client: "Client-rated", therapist: "Therapist-rated" };

  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var series = data.series[canvas.dataset.chart];
    if (!series) {
      return;
    }
    var datasets = ["client", "therapist"].map(function (side) {
      return {
        label: names[side],
        data: series[side],
        borderColor: colours[side],
        backgroundColor: colours[side],
        borderDash: side === "therapist" ? [6, 4] : [],
        pointStyle: side === "therapist" ? "rectRot" : "circle",
        pointRadius: 4,
        spanGaps: true,
        tension: 0.2,
        clip: false
      };
    });
    new Chart(canvas, {
      type: "line",
      data: { labels: data.labels, datasets: datasets },
      options: {
        animation: false,
        maintainAspectRatio: false,
        layout: { padding: { top: 8 } },
        // offset: a single session's point sits inside the axes, not on the y-axis line.
        scales: { x: { offset: true }, y: { min: 0, max: Number(canvas.dataset.max), ticks: { stepSize: canvas.dataset.max > 10 ? 5 : 1 } } },
        plugins: { legend: { position: "bottom", labels: { usePointStyle: true } } }
      }
    });
  });
})();
