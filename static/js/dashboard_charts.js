/* Draws the clinic dashboard's charts from the JSON the page embeds with json_script
   (id "dashboard-data"). No inline script or style: the page works under a strict CSP.
   Every chart has the same figures in a table next to it, for screen readers and for
   anyone who prefers numbers. */
(function () {
  "use strict";
  var source = document.getElementById("dashboard-data");
  if (!source || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var colours = { primary: "#234e70", accent: "#b8701c", good: "#2f7d4f", muted: "#8a94a6" };
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.animation = false;

  function canvas(name) { return document.querySelector('canvas[data-chart="' + name + '"]'); }
  // The clinic's low-alliance threshold, a dashed labelled line (chart_threshold.js).
  var thresholdPlugins = window.RapportThreshold ? [window.RapportThreshold] : [];
  function threshold(scaleID) { return { scaleID: scaleID, value: data.threshold, label: "Flag below " + data.threshold }; }

  var el = canvas("alliance-over-time");
  if (el) {
    new Chart(el, {
      type: "line",
      data: {
        labels: data.overTime.labels,
        datasets: [
          { label: "Mean client total (0–40)", data: data.overTime.meanTotal, borderColor: colours.primary,
            backgroundColor: colours.primary, yAxisID: "total", spanGaps: true, tension: 0.2, clip: false },
          { label: "Response rate (%)", data: data.overTime.responseRate, borderColor: colours.accent,
            backgroundColor: colours.accent, yAxisID: "rate", spanGaps: true, borderDash: [6, 4], tension: 0.2, clip: false }
        ]
      },
      options: {
        // Points at 0 or 100 % are drawn whole, and a single week sits inside the axes.
        layout: { padding: { top: 8 } },
        plugins: { legend: { labels: { usePointStyle: true } }, rapportThreshold: threshold("total") },
        scales: {
          x: { offset: true },
          // Fits the figures and the flag threshold (alliance/charts.py), not 0–40.
          total: { type: "linear", position: "left", min: data.axes.overTime.min, max: data.axes.overTime.max,
                   ticks: { stepSize: data.axes.overTime.step, precision: 0 }, title: { display: true, text: "Total" } },
          rate: { type: "linear", position: "right", min: 0, max: 100, grid: { drawOnChartArea: false },
                  title: { display: true, text: "%" } }
        }
      },
      plugins: thresholdPlugins
    });
  }

  el = canvas("flags-over-time");
  if (el) {
    new Chart(el, {
      type: "bar",
      data: {
        labels: data.overTime.labels,
        datasets: [
          { label: "Flags raised", data: data.overTime.flagsRaised, backgroundColor: colours.accent },
          { label: "Flags resolved", data: data.overTime.flagsResolved, backgroundColor: colours.good }
        ]
      },
      options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
    });
  }

  [["modality", data.modality], ["approach", data.approach]].forEach(function (pair) {
    var target = canvas(pair[0]);
    if (!target) { return; }
    new Chart(target, {
      type: "bar",
      data: { labels: pair[1].labels, datasets: [{ label: "Mean client total", data: pair[1].meanTotal, backgroundColor: colours.primary }] },
      options: {
        indexAxis: "y",
        scales: { x: { min: data.axes.groups.min, max: data.axes.groups.max, ticks: { stepSize: data.axes.groups.step, precision: 0 } } },
        plugins: { legend: { display: false }, rapportThreshold: threshold("x") }
      },
      plugins: thresholdPlugins
    });
  });

  el = canvas("histogram");
  if (el) {
    new Chart(el, {
      type: "bar",
      data: { labels: data.histogram.labels, datasets: [{ label: "Check-ins", data: data.histogram.counts, backgroundColor: colours.primary }] },
      options: {
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } }, x: { title: { display: true, text: "Client total" } } },
        plugins: { legend: { display: false } }
      }
    });
  }
})();
