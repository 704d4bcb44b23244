/* Saving: the diagram is first reviewed (the server previews its deployment: the same pipeline as a file
   deployment, the diff, the instances it affects), then deployed as a new version on confirmation, or kept
   as the process's draft; problems found are listed above the canvas with the elements they name marked. */

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

function fill(text, values) {
  // "{name}" placeholders of a translated label, filled with plain values (never HTML).
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in values ? String(values[name]) : m));
}

export function wireSave({ cfg, csrf, messages, exportXML, beforeSave, onSaved }) {
  // The #save-form submit reviews first: the server previews the deployment (its verdict, the diff with the
  // current version, the live instances per version and how many of them could move); "Deploy" then saves
  // exactly the diagram reviewed. "Save as draft" keeps it as the process's draft, not current.
  const L = cfg.labels;
  const form = document.getElementById("save-form");
  const commentInput = document.getElementById("comment");
  const button = document.getElementById("save");
  const draftButton = document.getElementById("save-draft");

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
    cfg.draft = null;
  }

  function showProblems(data) {
    const items = (data.problems || []).map((p) => messages.item(problemText(p, L), p.element_id));
    Object.keys(data.errors || {}).forEach((key) => {
      [].concat(data.errors[key]).forEach((m) => { items.push(messages.item(m)); });
    });
    messages.alertBox("danger", data.problems && data.problems.length ? L.problems : (data.title || L.problems), items, "save-problems");
  }

  function names(list) {
    return list.map((c) => (c.name ? c.name + " (" + c.element_id + ")" : c.element_id)).join(", ");
  }

  function showReview(data, xml, comment) {
    const items = [];
    const line = (text) => { const li = document.createElement("li"); li.textContent = text; items.push(li); };
    if (data.diff) {
      if (data.diff.added.length) { line(L.added + ": " + names(data.diff.added)); }
      if (data.diff.removed.length) { line(L.removed + ": " + names(data.diff.removed)); }
      if (data.diff.changed.length) { line(L.changed + ": " + names(data.diff.changed)); }
    }
    data.live.forEach((row) => { line(fill(L.live_on, { version: row.version, count: row.instances })); });
    if (data.checked) {
      line(fill(data.more ? L.movable_more : L.movable, { movable: data.movable, checked: data.checked }));
    }
    data.blocked.forEach((b) => { line("#" + b.instance_id + " (v" + b.version + "): " + b.reasons.join(" ")); });
    const title = data.current_version
      ? fill(L.review, { next: data.next_version, current: data.current_version })
      : fill(L.review_new, { next: data.next_version });
    const box = messages.alertBox("info", title, items, "deploy-review");
    const bar = document.createElement("div");
    bar.className = "d-flex gap-2 mt-2";
    const confirm = document.createElement("button");
    confirm.type = "button";
    confirm.id = "confirm-deploy";
    confirm.className = "btn btn-sm btn-primary";
    confirm.textContent = fill(L.confirm, { next: data.next_version });
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "btn btn-sm btn-outline-secondary";
    cancel.textContent = L.cancel;
    cancel.addEventListener("click", () => { messages.clear(); });
    confirm.addEventListener("click", () => {
      confirm.disabled = true;
      postDiagram(cfg.saveUrl, csrf, { xml, comment, key: cfg.key, draft: Boolean(cfg.draft) })
        .then((res) => {
          messages.clear();
          if (res.data.ok) { onSaved(); showSaved(res.data); } else { showProblems(res.data); }
        })
        .catch(() => { messages.alertBox("danger", L.network, [], "save-error"); confirm.disabled = false; });
    });
    const test = document.createElement("button");
    test.type = "button";
    test.id = "review-dry-run";
    test.className = "btn btn-sm btn-outline-primary";
    test.textContent = L.test_first;
    test.addEventListener("click", () => { const b = document.getElementById("dry-run"); if (b) { b.click(); } });
    bar.append(confirm, test, cancel);
    box.appendChild(bar);
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    beforeSave();
    const comment = commentInput.value.trim();
    messages.clear();
    if (!comment) { messages.alertBox("danger", L.no_comment, [], "save-error"); return; }
    button.disabled = true;
    let reviewed = "";
    exportXML()
      .then((xml) => { reviewed = xml; return postDiagram(cfg.previewUrl, csrf, { xml, key: cfg.key }); })
      .then((res) => {
        if (!res.data.ok || res.data.problems.length) {
          showProblems(res.data);
        } else if (res.data.unchanged) {
          messages.alertBox("info", L.unchanged, [], "save-result");
        } else {
          showReview(res.data, reviewed, comment);
        }
      })
      .catch(() => { messages.alertBox("danger", L.network, [], "save-error"); })
      .then(() => { button.disabled = false; });
  });

  if (draftButton) {
    draftButton.addEventListener("click", () => {
      beforeSave();
      messages.clear();
      draftButton.disabled = true;
      exportXML()
        .then((xml) => postDiagram(cfg.draftUrl, csrf, {
          xml, key: cfg.key, comment: commentInput.value.trim(), lock_version: cfg.draft ? cfg.draft.lock_version : null,
        }))
        .then((res) => {
          if (res.data.ok) {
            cfg.draft = { lock_version: res.data.lock_version };
            const kind = res.data.problems.length ? "warning" : "success";
            messages.alertBox(kind, res.data.message, res.data.problems.map((t) => messages.item(t)), "draft-result");
          } else {
            showProblems(res.data);
          }
        })
        .catch(() => { messages.alertBox("danger", L.network, [], "save-error"); })
        .then(() => { draftButton.disabled = false; });
    });
  }
}
