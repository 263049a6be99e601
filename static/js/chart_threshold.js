/* A Chart.js plugin that draws the clinic's flag threshold as a dashed, labelled line
   across a chart (horizontal on a vertical value axis, vertical on a horizontal one).
   Used by client_charts.js and dashboard_charts.js: add it to a chart's `plugins` and
   give it options.plugins.rapportThreshold = { scaleID, value, label }. No library:
   Chart.js's annotation plugin is not vendored, and this is all we need of it. */
(function () {
  "use strict";
  var colour = "#6c3483";

  window.RapportThreshold = {
    id: "rapportThreshold",
    afterDatasetsDraw: function (chart, args, options) {
      if (!options || options.value === undefined || options.value === null) { return; }
      var scale = chart.scales[options.scaleID];
      if (!scale || options.value < scale.min || options.value > scale.max) { return; }
      var area = chart.chartArea;
      var at = scale.getPixelForValue(options.value);
      var ctx = chart.ctx;
      ctx.save();
      ctx.strokeStyle = colour;
      ctx.fillStyle = colour;
      ctx.lineWidth = 1.5;
      ctx.setLineDash([5, 4]);
      ctx.beginPath();
      if (scale.isHorizontal()) {
        ctx.moveTo(at, area.top);
        ctx.lineTo(at, area.bottom);
      } else {
        ctx.moveTo(area.left, at);
        ctx.lineTo(area.right, at);
      }
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.font = "12px system-ui, sans-serif";
      ctx.textAlign = "left";
      ctx.textBaseline = "top";
      // The label on a white box, so a bar or a line under it cannot hide it: beside a
      // vertical line, near the top; above a horizontal one (below it if no room), on the right.
      var width = ctx.measureText(options.label).width + 6, height = 16, x, y;
      if (scale.isHorizontal()) {
        x = Math.min(at + 3, area.right - width);
        y = area.top + 2;
      } else {
        x = area.right - width - 2;
        y = at - area.top > height + 3 ? at - height - 2 : at + 2;
      }
      ctx.fillStyle = "rgba(255, 255, 255, 0.9)";
      ctx.fillRect(x, y, width, height);
      ctx.fillStyle = colour;
      ctx.fillText(options.label, x + 3, y + 2);
      ctx.restore();
    }
  };
})();
