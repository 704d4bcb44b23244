/* Saving: the diagram goes to the server's save endpoint, which validates it (the same pipeline as a file
   deployment) and deploys it as a new version, or answers with the problems found, listed above the canvas
   with the elements they name marked. */

export function postDiagram(url, csrf, payload) {
  // POST the diagram as JSON; resolves to {status, data} (the server answers JSON either way).
  return fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf },
    body: JSON.stringify(payload),
  }).then((resp) => resp.json().then((data) => ({ status: resp.status, data })));
}

function problemText(p, L) {
  // "message [element id, line n]", with what the problem names.
  let where = "";
  if (p.element_id) {
    where = " [" + L.element + " " + p.element_id + (p.line ? ", " + L.line + " " + p.line : "") + "]";
  } else if (p.line) {
    where = " [" + L.line + " " + p.line + "]";
  }
  return p.message + where;
}

export function wireSave({ cfg, csrf, messages, exportXML, beforeSave, onSaved }) {
  // The #save-form submit: validate and deploy; `cfg.key` is set (and the address changed to the edit page)
  // when a new diagram got its key.
  const L = cfg.labels;
  const form = document.getElementById("save-form");
  const commentInput = document.getElementById("comment");
  const button = document.getElementById("save");

  function showSaved(data) {
    const box = messages.alertBox("success", data.message || L.saved, [], "save-result");
    if (data.url) {
      const a = document.createElement("a");
      a.href = data.url;
      a.id = "open-version";
      a.className = "alert-link";
      a.textContent = L.open_version;
      box.appendChild(a);
      if (!cfg.key && data.key) {
        cfg.key = data.key;
        history.replaceState(null, "", data.edit_url);
      }
    }
    commentInput.value = "";
  }

  function showProblems(data) {
    const items = (data.problems || []).map((p) => messages.item(problemText(p, L), p.element_id));
    Object.keys(data.errors || {}).forEach((key) => {
      data.errors[key].forEach((m) => { items.push(messages.item(m)); });
    });
    messages.alertBox("danger", data.problems && data.problems.length ? L.problems : (data.title || L.problems), items, "save-problems");
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    beforeSave();
    const comment = commentInput.value.trim();
    messages.clear();
    if (!comment) { messages.alertBox("danger", L.no_comment, [], "save-error"); return; }
    button.disabled = true;
    exportXML()
      .then((xml) => postDiagram(cfg.saveUrl, csrf, { xml, comment, key: cfg.key }))
      .then((res) => {
        if (res.data.ok) {
          onSaved();
          showSaved(res.data);
        } else {
          showProblems(res.data);
        }
      })
      .catch(() => { messages.alertBox("danger", L.network, [], "save-error"); })
      .then(() => { button.disabled = false; });
  });
}
