/* "Test": the diagram as it stands in the editor runs in memory on sample data (recent instances' start
   data, or the JSON typed in #dry-run-data) beside the current version; the server answers with the
   result's HTML (processes/_dry_run.html), shown under the messages. Elements a run failed at are marked
   on the canvas like the deployment's problems. Nothing is saved. */

import { postDiagram } from "./save.js";

export function wireDryRun({ cfg, csrf, messages, exportXML, beforeSave }) {
  const L = cfg.labels;
  const button = document.getElementById("dry-run");
  const output = document.getElementById("dry-run-output");
  const data = document.getElementById("dry-run-data");
  if (!button || !output) { return; }

  button.addEventListener("click", () => {
    beforeSave();
    // Only the previous test's boxes go: a deployment review above stays, with its Deploy button.
    ["dry-run-box", "dry-run-error"].forEach((id) => { const el = document.getElementById(id); if (el) { el.remove(); } });
    output.textContent = "";
    button.disabled = true;
    exportXML()
      .then((xml) => postDiagram(cfg.dryRunUrl, csrf, { xml, key: cfg.key, samples: data ? data.value : "" }))
      .then((res) => {
        if (!res.data.ok) {
          const items = (res.data.problems || []).map((p) => messages.item(p.text || p.message, p.element_id));
          Object.keys(res.data.errors || {}).forEach((k) => {
            [].concat(res.data.errors[k]).forEach((m) => { items.push(messages.item(m)); });
          });
          messages.alertBox("danger", L.dry_run_failed + " " + (res.data.title || ""), items, "dry-run-error");
          return;
        }
        const failed = [];
        res.data.rows.forEach((row) => {
          if (row.new && row.new.error_element && failed.indexOf(row.new.error_element) < 0) { failed.push(row.new.error_element); }
        });
        const box = messages.alertBox(failed.length ? "warning" : "info", L.dry_run_title,
          failed.map((id) => messages.item(id, id)), "dry-run-box");
        box.dataset.runs = String(res.data.rows.length);
        // The server's own rendering of the result (escaped by Jinja), under the messages.
        output.innerHTML = res.data.html;
      })
      .catch(() => { messages.alertBox("danger", L.network, [], "save-error"); })
      .then(() => { button.disabled = false; });
  });
}
