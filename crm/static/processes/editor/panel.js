/* The properties panel (#panel-body): the fields of the selected element (or of the process when nothing is
   selected), built anew on every selection. Each field writes to the model when it changes; while it does,
   the panel is not re-rendered under the user's hands (`writing`). */

import {
  MI, VARIABLE, bodyOf, eventDefinition, loopMode, readProperties, readServiceOperator,
} from "./model.js";

let counter = 0;  // field ids stay unique across renders

export function createPanel({ modeler, model, labels: L, body, empty }) {
  const canvas = modeler.get("canvas");
  let selected = null;
  let writing = false;  // true while the panel writes to the model: no re-render under the user's hands

  function fromPanel(fn) {
    return (...args) => {
      writing = true;
      try { return fn(...args); } finally { writing = false; }
    };
  }

  // Field builders ---------------------------------------------------------------------------------------
  function field(label, value, onChange, opts = {}) {
    const wrap = document.createElement("div");
    wrap.className = "mb-2";
    const id = "pf-" + (opts.name || "f") + "-" + (++counter);
    const lab = document.createElement("label");
    lab.className = "form-label small mb-1";
    lab.htmlFor = id;
    lab.textContent = label;
    const input = document.createElement(opts.multiline ? "textarea" : "input");
    input.className = "form-control form-control-sm";
    input.id = id;
    if (opts.name) { input.name = opts.name; input.dataset.field = opts.name; }
    if (opts.multiline) { input.rows = opts.rows || 4; }
    if (opts.list) { input.setAttribute("list", opts.list); }
    if (opts.readonly) { input.readOnly = true; }
    input.value = value || "";
    input.addEventListener("change", fromPanel(() => { onChange(input.value.trim() === "" ? "" : input.value); }));
    wrap.appendChild(lab);
    wrap.appendChild(input);
    body.appendChild(wrap);
    return input;
  }

  function choice(name, label, options, current, spacing) {
    // A <select> of [value, text] options in the panel, `current` selected; the caller listens to it.
    const select = document.createElement("select");
    select.className = "form-select form-select-sm " + spacing;
    select.dataset.field = name;
    select.setAttribute("aria-label", label);
    options.forEach(([value, text]) => {
      const opt = document.createElement("option");
      opt.value = value;
      opt.textContent = text;
      opt.selected = value === current;
      select.appendChild(opt);
    });
    body.appendChild(select);
    return select;
  }

  function heading(text) {
    const h = document.createElement("div");
    h.className = "fw-semibold small text-uppercase text-body-secondary mt-3 mb-1";
    h.textContent = text;
    body.appendChild(h);
  }

  function pairs(label, rows, names, onChange, name) {
    // An editable list of [a, b] rows (properties, parameters).
    heading(label);
    const table = document.createElement("div");
    table.dataset.field = name;
    body.appendChild(table);
    const commit = fromPanel(() => {
      const out = [];
      table.querySelectorAll(".pair").forEach((row) => {
        const inputs = row.querySelectorAll("input");
        if (inputs[0].value.trim()) { out.push([inputs[0].value.trim(), inputs[1].value]); }
      });
      onChange(out);
    });
    function addRow(a, b) {
      const row = document.createElement("div");
      row.className = "input-group input-group-sm mb-1 pair";
      [[a, names[0]], [b, names[1]]].forEach(([value, placeholder]) => {
        const input = document.createElement("input");
        input.className = "form-control";
        input.value = value || "";
        input.placeholder = placeholder;
        input.setAttribute("aria-label", placeholder);
        input.addEventListener("change", commit);
        row.appendChild(input);
      });
      const del = document.createElement("button");
      del.type = "button";
      del.className = "btn btn-outline-secondary";
      del.title = L.remove;
      del.setAttribute("aria-label", L.remove);
      del.textContent = "×";
      del.addEventListener("click", () => { row.remove(); commit(); });
      row.appendChild(del);
      table.appendChild(row);
    }
    rows.forEach((r) => { addRow(r[0], r[1]); });
    const add = document.createElement("button");
    add.type = "button";
    add.className = "btn btn-sm btn-outline-primary mb-2";
    add.textContent = L.add;
    add.dataset.add = name;
    add.addEventListener("click", () => { addRow("", ""); });
    body.appendChild(add);
  }

  function hint(input, message) {
    // The field's invalid-feedback line: shown with a message, hidden without one.
    let box = input.parentNode.querySelector(".invalid-feedback");
    if (!box) {
      box = document.createElement("div");
      box.className = "invalid-feedback";
      input.parentNode.appendChild(box);
    }
    input.classList.toggle("is-invalid", !!message);
    box.textContent = message || "";
  }
  function checkVariable(input, own) {
    // `own` (the field's data item, or null) is given for an item variable, which must be a unique id.
    const v = input.value.trim();
    hint(input, !v ? "" : (!VARIABLE.test(v) ? L.mi_bad_name : (own !== undefined && model.usedElsewhere(v, own) ? L.mi_duplicate : "")));
  }

  // Sections ---------------------------------------------------------------------------------------------
  function multiInstance(element, bo) {
    const lc = bo.loopCharacteristics;
    const mode = loopMode(bo);
    heading(L.multi_instance);
    const options = [["none", L.mi_none], ["parallel", L.mi_parallel], ["sequential", L.mi_sequential]];
    if (mode === "standard") { options.push(["standard", L.mi_standard]); }
    const select = choice("multi_instance", L.multi_instance, options, mode, "mb-2");
    select.addEventListener("change", fromPanel(() => {
      model.setLoopMode(element, select.value);
      render(element);  // show or hide the fields below
    }));
    if (!(lc && lc.$instanceOf(MI))) { return; }
    const write = (props) => { model.updateLoop(element, lc, props); };
    const name = (v) => (v ? v.trim() : "");
    const variable = (label, prop, make, fieldName, isItem) => {
      const input = field(label, lc[prop] ? lc[prop].id : "", (v) => {
        write({ [prop]: make(name(v)) });
        checkVariable(input, isItem ? (lc[prop] || null) : undefined);
      }, { name: fieldName });
      checkVariable(input, isItem ? (lc[prop] || null) : undefined);
    };
    variable(L.mi_collection, "loopDataInputRef", model.variableRef, "mi_collection", false);
    variable(L.mi_item, "inputDataItem", (v) => model.dataItem("bpmn:DataInput", v), "mi_item", true);
    field(L.mi_cardinality, lc.loopCardinality ? lc.loopCardinality.body : "", (v) => { write({ loopCardinality: model.expression(v) }); }, { name: "mi_cardinality" });
    variable(L.mi_output, "loopDataOutputRef", model.variableRef, "mi_output", false);
    variable(L.mi_output_item, "outputDataItem", (v) => model.dataItem("bpmn:DataOutput", v), "mi_output_item", true);
    field(L.mi_condition, lc.completionCondition ? lc.completionCondition.body : "", (v) => { write({ completionCondition: model.expression(v) }); }, { name: "mi_condition", multiline: true, rows: 2 });
  }

  function serviceTask(element, bo) {
    const state = readServiceOperator(bo);
    const writeOperator = () => { model.setServiceOperator(element, state); };
    field(L.operator, state.id, (v) => { state.id = v; writeOperator(); }, { name: "operator", list: "operator-list" });
    field(L.result, state.result, (v) => { state.result = v; writeOperator(); }, { name: "result" });
    pairs(L.parameters, state.params, [L.parameter_id, L.parameter_value], (rows) => { state.params = rows; writeOperator(); }, "parameters");
  }

  function timerEvent(element, timer) {
    const kind = timer.timeDate ? "timeDate" : (timer.timeCycle ? "timeCycle" : "timeDuration");
    const current = (timer[kind] && timer[kind].body) || "";
    heading(L.timer_kind);
    const select = choice("timer_kind", L.timer_kind, [["timeDuration", L.duration], ["timeDate", L.date], ["timeCycle", L.cycle]], kind, "mb-1");
    const writeTimer = (value) => { model.setTimer(element, timer, select.value, value); };
    const timerInput = field(L.timer_value, current, writeTimer, { name: "timer" });
    select.addEventListener("change", fromPanel(() => { writeTimer(timerInput.value); }));
  }

  function dueDate(element, bo) {
    // The task's due date, reminder and escalation: named properties (`due`, `remind`, `escalate_to`,
    // `escalate_after`) edited here; the list of all properties below shows them too.
    heading(L.due_heading);
    const current = new Map(readProperties(bo));
    const setOne = (name) => fromPanel((v) => {
      const rows = readProperties(bo).filter((r) => r[0] !== name);
      if (v && v.trim()) { rows.push([name, v.trim()]); }
      model.setProperties(element, rows);
      render(element);  // the properties list below follows
    });
    [["due", L.due], ["remind", L.remind], ["escalate_to", L.escalate_to], ["escalate_after", L.escalate_after]].forEach(([name, label]) => {
      field(label, current.get(name) || "", setOne(name), { name: "due_" + name });
    });
  }

  function bodyField(element, bo, label, type, opts) {
    // A field for the text of a spiffworkflow extension element (form, instructions, scripts …).
    field(label, bodyOf(bo, type), (v) => { model.setBody(element, type, v); }, opts);
  }

  // Render -----------------------------------------------------------------------------------------------
  function render(element) {
    selected = element;
    body.textContent = "";
    const root = canvas.getRootElement();
    if (!element) { element = root; }
    const bo = element.businessObject;
    if (!bo) { empty.hidden = false; return; }
    empty.hidden = element !== root;
    field(L.id, bo.id, (v) => { if (v) { model.update(element, { id: v }); } }, { name: "id" });
    field(L.name, bo.name, (v) => { model.update(element, { name: v || undefined }); }, { name: "name" });
    if (bo.$instanceOf("bpmn:UserTask") || bo.$instanceOf("bpmn:ManualTask")) {
      if (bo.$instanceOf("bpmn:UserTask")) {
        bodyField(element, bo, L.form, "spiffworkflow:FormJsonSchemaFilename", { name: "form", list: "form-list" });
        bodyField(element, bo, L.uiform, "spiffworkflow:FormUiSchemaFilename", { name: "uiform", list: "form-list" });
      }
      bodyField(element, bo, L.instructions, "spiffworkflow:InstructionsForEndUser", { name: "instructions", multiline: true, rows: 3 });
      if (bo.$instanceOf("bpmn:UserTask")) { dueDate(element, bo); }
    }
    if (bo.$instanceOf("bpmn:ServiceTask")) {
      serviceTask(element, bo);
    }
    if (bo.$instanceOf("bpmn:ScriptTask")) {
      field(L.script, bo.script, (v) => { model.update(element, { script: v || undefined, scriptFormat: "python" }); }, { name: "script", multiline: true, rows: 6 });
    }
    if (bo.$instanceOf("bpmn:CallActivity")) {
      field(L.called, bo.calledElement, (v) => { model.update(element, { calledElement: v || undefined }); }, { name: "called" });
    }
    if (bo.$instanceOf("bpmn:SequenceFlow")) {
      field(L.condition, bo.conditionExpression ? bo.conditionExpression.body : "", (v) => { model.update(element, { conditionExpression: model.expression(v) }); }, { name: "condition", multiline: true, rows: 2 });
    }
    const timer = eventDefinition(bo, "bpmn:TimerEventDefinition");
    if (timer) {
      timerEvent(element, timer);
    }
    const message = eventDefinition(bo, "bpmn:MessageEventDefinition");
    const messageOwner = message || ((bo.$instanceOf("bpmn:ReceiveTask") || bo.$instanceOf("bpmn:SendTask")) ? bo : null);
    if (messageOwner) {
      field(L.message, messageOwner.messageRef ? messageOwner.messageRef.name : "", (v) => { model.setMessage(element, messageOwner, v); }, { name: "message" });
      bodyField(element, bo, L.message_variable, "spiffworkflow:MessageVariable", { name: "message_variable" });
    }
    if (bo.$instanceOf("bpmn:Activity")) {
      bodyField(element, bo, L.prescript, "spiffworkflow:PreScript", { name: "prescript", multiline: true, rows: 3 });
      bodyField(element, bo, L.postscript, "spiffworkflow:PostScript", { name: "postscript", multiline: true, rows: 3 });
      multiInstance(element, bo);
    }
    if (bo.$instanceOf("bpmn:FlowNode")) {
      pairs(L.properties, readProperties(bo), [L.property_name, L.property_value], (rows) => { model.setProperties(element, rows); }, "properties");
    }
  }

  function elementChanged(element) {
    // Keep the panel in step with edits made on the canvas (label editing, undo), unless typing in it.
    if (!writing && selected && element === selected) { render(selected); }
  }

  function blurFocused() {
    // Commit the field being typed in (its change event) before the diagram is exported.
    if (document.activeElement && body.contains(document.activeElement)) { document.activeElement.blur(); }
  }

  return { render, elementChanged, blurFocused };
}
