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

  fetch(box.dataset.xmlUrl, { credentials: "same-origin" })
    .then(function (resp) { return resp.text(); })
    .then(function (xml) {
      if (xml.indexOf("BPMNDiagram") < 0) { message(box.dataset.noLayout); return null; }
      var viewer = new window.BpmnJS({ container: box });
      return viewer.importXML(xml).then(function () {
        var canvas = viewer.get("canvas");
        var registry = viewer.get("elementRegistry");
        canvas.zoom("fit-viewport", "auto");
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
