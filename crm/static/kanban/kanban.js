// The data kanban: ECharts charts drawn from the JSON the page carries in
// <script type="application/json" id="kanban-data"> (no inline script: the CSP allows our own files only),
// Bootstrap tooltips on the figures' definitions, and charts that follow the window's width.
(function () {
  "use strict";
  document.querySelectorAll('[data-bs-toggle="tooltip"]').forEach(function (el) {
    if (window.bootstrap) new window.bootstrap.Tooltip(el);
  });
  var source = document.getElementById("kanban-data");
  if (!source || !window.echarts) return;
  var data = JSON.parse(source.textContent);
  var labels = data.labels || {};
  var charts = [];

  function draw(id, option) {
    var element = document.getElementById(id);
    if (!element) return;
    var chart = window.echarts.init(element);
    chart.setOption(option);
    charts.push(chart);
  }

  function num(v) { return Number(v); }

  function bars(id, rows, valueKey) {
    var top = rows.slice(0, 10).reverse();
    draw(id, {
      tooltip: {trigger: "axis", axisPointer: {type: "shadow"}},
      grid: {left: 8, right: 24, top: 10, bottom: 10, containLabel: true},
      xAxis: {type: "value"},
      yAxis: {type: "category", data: top.map(function (r) { return r.name; }), axisLabel: {width: 110, overflow: "truncate"}},
      series: [{type: "bar", data: top.map(function (r) { return num(r[valueKey]); })}]
    });
  }

  var t = data.trend;
  draw("chart-trend", {
    tooltip: {trigger: "axis"},
    legend: {top: 0},
    grid: {left: 8, right: 16, top: 36, bottom: 8, containLabel: true},
    xAxis: {type: "category", data: t.days},
    yAxis: {type: "value"},
    series: [
      {name: labels.current, type: "line", data: t.amount.map(num), smooth: true},
      {name: labels.previous, type: "line", data: t.previous_amount.map(num), smooth: true, lineStyle: {type: "dashed"}}
    ]
  });
  var mix = data.customers;
  draw("chart-customers", {
    tooltip: {trigger: "axis", axisPointer: {type: "shadow"}},
    legend: {top: 0},
    grid: {left: 8, right: 16, top: 36, bottom: 8, containLabel: true},
    xAxis: {type: "category", data: mix.labels},
    yAxis: {type: "value", minInterval: 1},
    series: [{name: labels.current, type: "bar", data: mix.current}, {name: labels.previous, type: "bar", data: mix.previous}]
  });
  bars("chart-products", data.products, data.by);
  bars("chart-categories", data.categories, data.by);
  bars("chart-provinces", data.provinces, "amount");
  draw("chart-terminals", {
    tooltip: {trigger: "item"},
    legend: {bottom: 0},
    series: [{type: "pie", radius: ["35%", "65%"],
              data: data.terminals.map(function (r) { return {name: r.name, value: num(r.amount)}; })}]
  });
  draw("chart-funnel", {
    tooltip: {trigger: "item"},
    series: [{type: "funnel", sort: "none", left: "5%", width: "90%", label: {show: true, position: "inside"},
              data: data.funnel.map(function (r) { return {name: r.name + " " + r.value, value: r.value}; })}]
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
