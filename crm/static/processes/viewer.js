/* The bpmn-js viewer of the process pages: draws the diagram of #diagram[data-xml-url] and colours the
   elements named in data-states ({completed: [...], active: [...], failed: [...]}). */
(function () {
  "use strict";
  var box = document.getElementById("diagram");
  if (!box || !window.BpmnJS) { return; }
  var states = box.dataset.states ? JSON.parse(box.dataset.states) : null;
  var counts = box.dataset.counts ? JSON.parse(box.dataset.counts) : null;
  var countLabels = box.dataset.countLabels ? JSON.parse(box.dataset.countLabels) : {};

  function message(text) {
    var p = document.createElement("p");
    p.className = "p-3 text-body-secondary";
    p.id = "diagram-message";
    p.textContent = text;
    box.appendChild(p);
  }

  // The frame takes the diagram's proportions at the width it has (legible labels, no tiny drawing in a tall
  // box), between 12rem and 36rem high; then the whole diagram is fitted into it.
  function fitWidth(canvas) {
    var inner = canvas.viewbox().inner;
    if (box.clientWidth > 0 && inner.width > 0) {
      var scale = Math.min(1, (box.clientWidth - 24) / inner.width);
      var rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
      var height = Math.max(12 * rem, Math.min(36 * rem, inner.height * scale + 48));
      box.style.height = height + "px";
      canvas.resized();
    }
    canvas.zoom("fit-viewport", "auto");
  }

  function zoomButtons(canvas) {
    var labels = box.dataset.zoomLabels ? JSON.parse(box.dataset.zoomLabels) : {};
    var group = document.createElement("div");
    group.className = "btn-group btn-group-sm crm-zoom";
    group.setAttribute("role", "group");
    [["in", "bi-zoom-in", function () { canvas.zoom(canvas.zoom() * 1.25); }],
     ["out", "bi-zoom-out", function () { canvas.zoom(canvas.zoom() / 1.25); }],
     ["fit", "bi-arrows-fullscreen", function () { canvas.zoom("fit-viewport", "auto"); }]].forEach(function (b) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-light border";
      button.dataset.zoom = b[0];
      button.title = labels[b[0]] || b[0];
      button.setAttribute("aria-label", labels[b[0]] || b[0]);
      var icon = document.createElement("i");
      icon.className = "bi " + b[1];
      button.appendChild(icon);
      button.addEventListener("click", b[2]);
      group.appendChild(button);
    });
    box.appendChild(group);
  }

  fetch(box.dataset.xmlUrl, { credentials: "same-origin" })
    .then(function (resp) { return resp.text(); })
    .then(function (xml) {
      if (xml.indexOf("BPMNDiagram") < 0) { message(box.dataset.noLayout); return null; }
      var viewer = new window.BpmnJS({ container: box });
      return viewer.importXML(xml).then(function () {
        var canvas = viewer.get("canvas");
        var registry = viewer.get("elementRegistry");
        fitWidth(canvas);
        zoomButtons(canvas);
        var details = box.closest("details");
        if (details) {
          if (window.matchMedia && window.matchMedia("(max-width: 575.98px)").matches) { details.open = false; }
          details.addEventListener("toggle", function () {
            if (details.open) { canvas.resized(); fitWidth(canvas); }
          });
        }
        if (states) {
          [["completed", "crm-completed"], ["active", "crm-active"], ["failed", "crm-failed"],
           ["added", "crm-added"], ["changed", "crm-changed"]].forEach(function (pair) {
            (states[pair[0]] || []).forEach(function (id) {
              if (registry.get(id)) { canvas.addMarker(id, pair[1]); }
            });
          });
        }
        if (counts) {
          var overlays = viewer.get("overlays");
          Object.keys(counts).forEach(function (id) {
            if (!registry.get(id)) { return; }
            [["active", "text-bg-primary", { bottom: 6, left: -6 }], ["failed", "text-bg-danger", { bottom: 6, right: 12 }]]
              .forEach(function (kind) {
                var n = counts[id][kind[0]];
                if (!n) { return; }
                var badge = document.createElement("span");
                badge.className = "badge rounded-pill crm-count " + kind[1];
                badge.dataset.count = kind[0];
                badge.dataset.element = id;
                badge.title = n + " " + (countLabels[kind[0]] || "");
                badge.textContent = String(n);
                overlays.add(id, { position: kind[2], html: badge });
              });
          });
        }
        box.dataset.ready = "1";
        window.crmViewer = viewer;
      });
    })
    .catch(function (err) { message(box.dataset.failed + " " + (err && err.message ? err.message : err)); });
})();
