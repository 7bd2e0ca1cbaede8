#include "core/report_page_script.h"

namespace qlab {

const char* const kReportErrorHooks = R"JS(
var qlabErrors = [];
function qlabError(message) {
  qlabErrors.push(String(message));
  var status = document.getElementById('qlab-status');
  status.dataset.errors = qlabErrors.length;
  status.textContent = 'Script errors: ' + qlabErrors.join('; ');
  status.hidden = false;
}
window.addEventListener('error', function (e) { qlabError(e.message); });
window.addEventListener('unhandledrejection', function (e) { qlabError(e.reason); });
(function () {
  var original = console.error;
  console.error = function () {
    qlabError(Array.prototype.join.call(arguments, ' '));
    original.apply(console, arguments);
  };
})();
)JS";

// Marks: every run a point (category plots dodge the series of a category
// side by side), a category plot's means a dash per series and category,
// joined by a line across precisions; a curve one line per run.
const char* const kReportPlotScript = R"JS(
(function () {
  var palette = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f',
                 '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
  var plots = JSON.parse(document.getElementById('qlab-plots').textContent);
  var container = document.getElementById('plots');
  var status = document.getElementById('qlab-status');

  function datasets(plot) {
    var present = {};   // category -> the series with marks there, in order
    plot.series.forEach(function (s, i) {
      s.points.forEach(function (p) {
        var list = present[p.x] = present[p.x] || [];
        if (list.indexOf(i) < 0) list.push(i);
      });
    });
    function dodge(x, i) {
      var list = present[x], width = 0.7 / list.length;
      return x + (list.indexOf(i) - (list.length - 1) / 2) * width;
    }
    var out = [];
    plot.series.forEach(function (s, i) {
      var color = palette[i % palette.length];
      s.curves.forEach(function (c, j) {
        out.push({label: s.label, qlabRole: 'line', qlabLegend: j === 0, run: c.run, showLine: true,
                  pointRadius: 0, borderWidth: 1.5, borderColor: color, backgroundColor: color,
                  data: c.y.map(function (y, step) { return {x: step, y: y}; })});
      });
      if (s.points.length === 0) return;
      var x = plot.kind === 'category' ? function (p) { return dodge(p.x, i); } : function (p) { return p.x; };
      out.push({label: s.label, qlabRole: 'points', qlabLegend: true, pointRadius: 4,
                borderColor: color, backgroundColor: color + '99',
                data: s.points.map(function (p) { return {x: x(p), y: p.y, run: p.run}; })});
      if (plot.kind !== 'category') return;
      out.push({label: s.label + ' (mean)', qlabRole: 'means', qlabLegend: false, showLine: plot.connect,
                pointStyle: 'line', pointRadius: 9, pointBorderWidth: 3, borderWidth: 1.5,
                borderColor: color, backgroundColor: color,
                data: s.means.map(function (p) { return {x: x(p), y: p.y, run: 'mean'}; })});
    });
    return out;
  }

  function config(plot) {
    var x = {type: 'linear', title: {display: true, text: plot.x_label}};
    if (plot.kind === 'curve') x.ticks = {precision: 0};   // whole steps
    if (plot.kind === 'category') {
      x.min = -0.5;
      x.max = plot.categories.length - 0.5;
      x.grid = {display: false};
      x.afterBuildTicks = function (axis) {
        axis.ticks = plot.categories.map(function (c, i) { return {value: i}; });
      };
      x.ticks = {callback: function (v) { return plot.categories[v]; }};
    }
    return {
      type: 'scatter',
      data: {datasets: datasets(plot)},
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        scales: {x: x, y: {title: {display: true, text: plot.y_label}}},
        plugins: {
          title: {display: true, text: plot.title},
          legend: {labels: {filter: function (item, data) { return data.datasets[item.datasetIndex].qlabLegend; }}},
          tooltip: {callbacks: {label: function (ctx) {
            var run = (ctx.raw && ctx.raw.run) || ctx.dataset.run;
            return ctx.dataset.label + ' (' + run + '): ' + ctx.parsed.y;
          }}}
        }
      }
    };
  }

  // What Chart.js laid out, from its dataset metadata.
  function record(figure, chart) {
    var points = 0, means = 0, lines = 0;
    chart.data.datasets.forEach(function (d, i) {
      var n = chart.getDatasetMeta(i).data.length;
      if (d.qlabRole === 'points') points += n;
      if (d.qlabRole === 'means') means += n;
      if (d.showLine && n > 1) lines += 1;
    });
    figure.dataset.points = points;
    figure.dataset.means = means;
    figure.dataset.lines = lines;
  }

  plots.forEach(function (plot) {
    var figure = document.createElement('figure');
    figure.id = plot.id;
    figure.className = 'plot';
    figure.dataset.kind = plot.kind;
    figure.dataset.title = plot.title;
    var box = document.createElement('div');
    box.className = 'canvas-box';
    var canvas = document.createElement('canvas');
    box.appendChild(canvas);
    figure.appendChild(box);
    container.appendChild(figure);
    try {
      record(figure, new Chart(canvas, config(plot)));
    } catch (e) {
      qlabError(plot.id + ': ' + e);
    }
  });
  status.dataset.plots = plots.length;
  status.dataset.state = 'done';
})();
)JS";

}  // namespace qlab
