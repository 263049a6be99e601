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
    var key = canvas.dataset.chart;
    var series = data.series[key];
    if (!series) {
      return;
    }
    var axis = data.axes[key];
    var threshold = data.thresholds[key];
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
        // The y axis fits the scores and the flag threshold (computed by the server,
        // alliance/charts.py): movement between 36 and 40 is not squeezed flat.
        scales: { x: { offset: true }, y: { min: axis.min, max: axis.max, ticks: { stepSize: axis.step, precision: 0 } } },
        plugins: {
          legend: { position: "bottom", labels: { usePointStyle: true } },
          rapportThreshold: { scaleID: "y", value: threshold, label: "Flag below " + threshold }
        }
      },
      plugins: window.RapportThreshold ? [window.RapportThreshold] : []
    });
  });
})();
