/* The messages above the canvas (#editor-messages): alert boxes with a list of items; an item naming an
   element marks it on the canvas (crm-failed) and selects it when clicked. */

export function createMessages(container, modeler) {
  const registry = modeler.get("elementRegistry");
  let marked = [];

  function alertBox(kind, title, items, id) {
    const box = document.createElement("div");
    box.className = "alert alert-" + kind + " py-2";
    box.setAttribute("role", kind === "danger" ? "alert" : "status");
    if (id) { box.id = id; }
    const head = document.createElement("div");
    head.className = "fw-semibold";
    head.textContent = title;
    box.appendChild(head);
    if (items && items.length) {
      const ul = document.createElement("ul");
      ul.className = "mb-0 small";
      items.forEach((item) => { ul.appendChild(item); });
      box.appendChild(ul);
    }
    container.appendChild(box);
    return box;
  }

  function clear() {
    container.textContent = "";
    marked.forEach((id) => { if (registry.get(id)) { modeler.get("canvas").removeMarker(id, "crm-failed"); } });
    marked = [];
  }

  function item(text, elementId) {
    const li = document.createElement("li");
    li.textContent = text;
    if (elementId && registry.get(elementId)) {
      li.dataset.element = elementId;
      li.style.cursor = "pointer";
      li.addEventListener("click", () => {
        const el = registry.get(elementId);
        modeler.get("selection").select(el);
        modeler.get("canvas").scrollToElement(el);
      });
      modeler.get("canvas").addMarker(elementId, "crm-failed");
      marked.push(elementId);
    }
    return li;
  }

  return { alertBox, clear, item };
}
