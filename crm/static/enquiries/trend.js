// The enquiry statistics page: two ECharts line charts (per platform, per salesperson) drawn from the JSON
// the page carries in <script type="application/json" id="enquiry-trend"> (no inline script: the CSP
// allows scripts from our own files only), and Bootstrap tooltips on the rates' definitions.
(function () {
  "use strict";
  document.querySelectorAll('[data-bs-toggle="tooltip"]').forEach(function (el) {
    if (window.bootstrap) new window.bootstrap.Tooltip(el);
  });
  var source = document.getElementById("enquiry-trend");
  if (!source || !window.echarts) return;
  var data = JSON.parse(source.textContent);
  var labels = data.labels || {};

  function chart(elementId, groups, keys) {
    var element = document.getElementById(elementId);
    if (!element) return;
    var series = [];
    keys.forEach(function (key) {
      series.push({name: labels.total + " · " + labels[key], type: "line", data: data.totals[key],
                   lineStyle: {width: 3}});
      groups.forEach(function (group) {
        series.push({name: group.name + " · " + labels[key], type: "line", data: group[key]});
      });
    });
    var instance = window.echarts.init(element);
    instance.setOption({
      tooltip: {trigger: "axis"},
      legend: {type: "scroll", top: 0},
      grid: {left: 40, right: 16, top: 40, bottom: 30},
      xAxis: {type: "category", data: data.days},
      yAxis: {type: "value", minInterval: 1},
      series: series
    });
    window.addEventListener("resize", function () { instance.resize(); });
  }

  chart("trend-platform", data.platforms, ["enquiries", "new_enquiries"]);
  chart("trend-people", data.people, ["wechat_adds", "contacts"]);
})();
