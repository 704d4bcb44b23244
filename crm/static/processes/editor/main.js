/* The browser BPMN editor: the bpmn-js Modeler with a side panel for the spiffworkflow extensions this app
   uses (forms, properties, service operator and parameters, scripts, pre/post scripts, conditions, timers,
   messages, called process, multi-instance), and a save that goes through the server's validation pipeline.

   The entry point (<script type="module">): reads the page's JSON config (#editor-config), creates the
   Modeler from the classic scripts loaded before it (window.BpmnJS from the vendored bundle,
   window.SPIFFWORKFLOW_MODDLE from processes/spiffworkflow-moddle.js) and wires the modules:
     model.js     reading and writing the business objects (spiffworkflow extension elements …)
     panel.js     the properties panel: field builders and render
     messages.js  the alert boxes above the canvas
     xml.js       the new diagram, the multi-instance references kept through bpmn-js, export
     save.js      validate and deploy through the server
     dryrun.js    "Test": run the diagram in memory on sample data beside the current version */

import { createModel } from "./model.js";
import { createPanel } from "./panel.js";
import { createMessages } from "./messages.js";
import { exportXML, newDiagram, protectRefs } from "./xml.js";
import { wireSave } from "./save.js";
import { wireDryRun } from "./dryrun.js";

const cfg = JSON.parse(document.getElementById("editor-config").textContent);
const L = cfg.labels;
const csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
const canvasEl = document.getElementById("canvas");

// No `keyboard.bindTo`: this bpmn-js binds its keyboard to the canvas itself, ignores the option and logs an
// error for it (diagram-js#661).
const modeler = new window.BpmnJS({
  container: canvasEl,
  moddleExtensions: { spiffworkflow: window.SPIFFWORKFLOW_MODDLE },
});
window.crmModeler = modeler;  // tests read the model through it

const messages = createMessages(document.getElementById("editor-messages"), modeler);
const panel = createPanel({
  modeler,
  model: createModel(modeler),
  labels: L,
  body: document.getElementById("panel-body"),
  empty: document.getElementById("panel-empty"),
});
const exportDiagram = () => exportXML(modeler);  // the XML that leaves the editor

// Changed since opened or last deployed: ask before leaving the page.
let dirty = false;
modeler.on("commandStack.changed", () => { dirty = true; });
window.addEventListener("beforeunload", (ev) => {
  if (dirty) { ev.preventDefault(); ev.returnValue = ""; }
});

modeler.on("selection.changed", (e) => { panel.render(e.newSelection.length === 1 ? e.newSelection[0] : null); });
modeler.on("element.changed", (e) => { panel.elementChanged(e.element); });

// Opening ---------------------------------------------------------------------------------------------------
function warningsBox(warnings) {
  messages.alertBox("warning", L.warnings, warnings.map((w) => messages.item(w.message)), "import-warnings");
}

function open(xml) {
  messages.clear();
  return modeler.importXML(protectRefs(xml)).then((result) => {
    modeler.get("canvas").zoom("fit-viewport", "auto");
    if (result.warnings && result.warnings.length) { warningsBox(result.warnings); }
    canvasEl.dataset.ready = "1";
    dirty = false;
    panel.render(null);
  }).catch((err) => {
    messages.alertBox("danger", L.open_failed + " " + (err && err.message ? err.message : err), [], "open-error");
    if (err && err.warnings && err.warnings.length) { warningsBox(err.warnings); }
  });
}

if (cfg.xmlUrl) {
  fetch(cfg.xmlUrl, { credentials: "same-origin" }).then((r) => r.text()).then(open);
} else {
  open(newDiagram());
}

document.getElementById("open-file").addEventListener("change", (ev) => {
  const file = ev.target.files[0];
  if (!file) { return; }
  file.text().then(open);
  ev.target.value = "";
});

document.getElementById("download-bpmn").addEventListener("click", () => {
  exportDiagram().then((xml) => {
    const blob = new Blob([xml], { type: "application/xml" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = (cfg.key || "diagram") + ".bpmn";
    document.body.appendChild(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  });
});

// Saving ----------------------------------------------------------------------------------------------------
wireSave({
  cfg,
  csrf,
  messages,
  exportXML: exportDiagram,
  beforeSave: panel.blurFocused,
  onSaved: () => { dirty = false; },
});

// Testing ---------------------------------------------------------------------------------------------------
wireDryRun({ cfg, csrf, messages, exportXML: exportDiagram, beforeSave: panel.blurFocused });
