/* The bpmn-js viewer of the process pages: draws the diagram of #diagram[data-xml-url] and colours the
   elements named in data-states ({completed: [...], active: [...], failed: [...]}). */
(function () {
  "use strict";
  var box = document.getElementById("diagram");
  if (!box || !window.BpmnJS) { return; }
  var states = box.dataset.states ? JSON.parse(box.dataset.states) : null;

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
        box.dataset.ready = "1";
        window.crmViewer = viewer;
      });
    })
    .catch(function (err) { message(box.dataset.failed + " " + (err && err.message ? err.message : err)); });
})();
