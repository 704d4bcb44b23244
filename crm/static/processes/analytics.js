/* The analytics page: draws the version's diagram (#diagram[data-xml-url]) as a heatmap of the median time
   spent per element (#analytics-data), with badges (instances passed; waiting now) and the times each path
   out of a gateway was taken; and sorts the table beside it. Names come from diagrams: they are only ever
   set as text (textContent, title), never as HTML. */
(function () {
  "use strict";

  function heat(t) {
    // 0 (shortest median) .. 1 (longest): pale yellow to red, as the legend's gradient (processes.css).
    var hue = 55 - 55 * t, sat = 95 - 10 * t, light = 85 - 30 * t;
    return "hsl(" + hue.toFixed(0) + ", " + sat.toFixed(0) + "%, " + light.toFixed(0) + "%)";
  }

  function position(median, scale) {
    if (!scale || scale.max <= scale.min) { return 1; }
    var low = Math.log(1 + scale.min), high = Math.log(1 + scale.max);
    return Math.min(1, Math.max(0, (Math.log(1 + median) - low) / (high - low)));
  }

  function badge(className, text, title) {
    var span = document.createElement("span");
    span.className = className;
    span.textContent = text;
    span.title = title;
    return span;
  }

  function draw(box, data) {
    function message(text) {
      var p = document.createElement("p");
      p.className = "p-3 text-body-secondary";
      p.id = "diagram-message";
      p.textContent = text;
      box.appendChild(p);
    }
    fetch(box.dataset.xmlUrl, { credentials: "same-origin" })
      .then(function (resp) { return resp.text(); })
      .then(function (xml) {
        if (xml.indexOf("BPMNDiagram") < 0) { message(box.dataset.noLayout); return null; }
        var viewer = new window.BpmnJS({ container: box });
        return viewer.importXML(xml).then(function () {
          var canvas = viewer.get("canvas");
          var registry = viewer.get("elementRegistry");
          var overlays = viewer.get("overlays");
          var labels = data.labels || {};
          canvas.zoom("fit-viewport", "auto");
          Object.keys(data.elements || {}).forEach(function (id) {
            var figures = data.elements[id];
            var element = registry.get(id);
            if (!element) { return; }
            if (figures.median !== null && figures.median !== undefined) {
              var shape = registry.getGraphics(id).querySelector(".djs-visual > :first-child");
              if (shape) {
                shape.style.fill = heat(position(figures.median, data.scale));
                shape.setAttribute("data-heat", String(figures.median));
              }
            }
            var title = figures.name + " · " + (labels.median || "") + " " + figures.median_label;
            if (figures.passed) {
              var passed = badge("badge rounded-pill text-bg-secondary crm-count", String(figures.passed),
                title + " · " + figures.passed + " " + (labels.passed || ""));
              passed.dataset.count = "passed";
              passed.dataset.element = id;
              overlays.add(id, { position: { bottom: 6, left: -6 }, html: passed });
            }
            if (figures.waiting) {
              var waiting = badge("badge rounded-pill text-bg-primary crm-count", String(figures.waiting),
                figures.name + " · " + figures.waiting + " " + (labels.waiting || "") + " " + figures.oldest_label);
              waiting.dataset.count = "waiting";
              waiting.dataset.element = id;
              overlays.add(id, { position: { bottom: 6, right: 12 }, html: waiting });
            }
          });
          Object.keys(data.flows || {}).forEach(function (id) {
            var flow = registry.get(id);
            if (!flow || !flow.waypoints || !flow.waypoints.length) { return; }
            var points = flow.waypoints;
            var a = points[Math.floor((points.length - 1) / 2)], b = points[Math.floor(points.length / 2)];
            var xs = points.map(function (p) { return p.x; }), ys = points.map(function (p) { return p.y; });
            var left = (a.x + b.x) / 2 - Math.min.apply(null, xs), top = (a.y + b.y) / 2 - Math.min.apply(null, ys);
            var count = badge("badge text-bg-light border crm-flow-count", String(data.flows[id]),
              data.flows[id] + " " + (labels.taken || ""));
            count.dataset.flow = id;
            overlays.add(id, { position: { left: left - 8, top: top - 8 }, html: count });
          });
          box.dataset.ready = "1";
          window.crmViewer = viewer;
        });
      })
      .catch(function (err) { message(box.dataset.failed + " " + (err && err.message ? err.message : err)); });
  }

  function sortable(table) {
    var body = table.tBodies[0];
    table.querySelectorAll("button.crm-sort").forEach(function (button, column) {
      button.addEventListener("click", function () {
        var numeric = button.dataset.sort === "number";
        var descending = button.dataset.order !== "desc";
        table.querySelectorAll("button.crm-sort").forEach(function (b) { delete b.dataset.order; });
        button.dataset.order = descending ? "desc" : "asc";
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (r1, r2) {
          var a = r1.cells[column].dataset.value, b = r2.cells[column].dataset.value;
          var order = numeric ? parseFloat(a) - parseFloat(b) : a.localeCompare(b);
          return descending ? -order : order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  }

  var table = document.getElementById("analytics-table");
  if (table) { sortable(table); }
  var box = document.getElementById("diagram");
  var source = document.getElementById("analytics-data");
  if (box && source && window.BpmnJS) { draw(box, JSON.parse(source.textContent)); }
})();
