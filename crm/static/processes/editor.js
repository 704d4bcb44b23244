/* The browser BPMN editor: the bpmn-js Modeler with a side panel for the spiffworkflow extensions this app
   uses (forms, properties, service operator and parameters, scripts, pre/post scripts, conditions, timers,
   messages, called process, multi-instance), and a save that goes through the server's validation pipeline. */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("editor-config").textContent);
  var L = cfg.labels;
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var modeler = new window.BpmnJS({
    container: "#canvas",
    keyboard: { bindTo: document },
    moddleExtensions: { spiffworkflow: window.SPIFFWORKFLOW_MODDLE }
  });
  window.crmModeler = modeler;  // tests read the model through it
  var moddle = modeler.get("moddle");
  var modeling = modeler.get("modeling");
  var registry = modeler.get("elementRegistry");
  var canvasEl = document.getElementById("canvas");
  var panel = document.getElementById("panel-body");
  var panelEmpty = document.getElementById("panel-empty");
  var messages = document.getElementById("editor-messages");
  var selected = null;
  var marked = [];
  var writing = false; // true while the panel writes to the model: no re-render under the user's hands
  var dirty = false; // changed since opened or last deployed: ask before leaving the page

  function fromPanel(fn) {
    return function () {
      writing = true;
      try { return fn.apply(null, arguments); } finally { writing = false; }
    };
  }

  function newDiagram() {
    var id = "Process_" + Math.random().toString(36).slice(2, 9);
    return '<?xml version="1.0" encoding="UTF-8"?>\n' +
      '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" ' +
      'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" ' +
      'id="Definitions_' + id + '" targetNamespace="http://bpmn.io/schema/bpmn">\n' +
      '  <bpmn:process id="' + id + '" isExecutable="true">\n    <bpmn:startEvent id="StartEvent_1"/>\n  </bpmn:process>\n' +
      '  <bpmndi:BPMNDiagram id="BPMNDiagram_1"><bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="' + id + '">' +
      '<bpmndi:BPMNShape id="StartEvent_1_di" bpmnElement="StartEvent_1"><dc:Bounds x="180" y="160" width="36" height="36"/></bpmndi:BPMNShape>' +
      '</bpmndi:BPMNPlane></bpmndi:BPMNDiagram>\n</bpmn:definitions>\n';
  }

  // Messages ------------------------------------------------------------------------------------------------
  function alertBox(kind, title, items, id) {
    var box = document.createElement("div");
    box.className = "alert alert-" + kind + " py-2";
    box.setAttribute("role", kind === "danger" ? "alert" : "status");
    if (id) { box.id = id; }
    var head = document.createElement("div");
    head.className = "fw-semibold";
    head.textContent = title;
    box.appendChild(head);
    if (items && items.length) {
      var ul = document.createElement("ul");
      ul.className = "mb-0 small";
      items.forEach(function (item) { ul.appendChild(item); });
      box.appendChild(ul);
    }
    messages.appendChild(box);
    return box;
  }
  function clearMessages() {
    messages.textContent = "";
    marked.forEach(function (id) { if (registry.get(id)) { modeler.get("canvas").removeMarker(id, "crm-failed"); } });
    marked = [];
  }
  function li(text, elementId) {
    var item = document.createElement("li");
    item.textContent = text;
    if (elementId && registry.get(elementId)) {
      item.dataset.element = elementId;
      item.style.cursor = "pointer";
      item.addEventListener("click", function () {
        var el = registry.get(elementId);
        modeler.get("selection").select(el);
        modeler.get("canvas").scrollToElement(el);
      });
      modeler.get("canvas").addMarker(elementId, "crm-failed");
      marked.push(elementId);
    }
    return item;
  }

  // Multi-instance references --------------------------------------------------------------------------------
  // SpiffWorkflow writes a multi-instance task's collections as variable names
  // (<bpmn:loopDataInputRef>approvers</bpmn:loopDataInputRef>); BPMN reads them as references to elements,
  // so bpmn-js would drop them as unresolved. While the diagram is open, each such name gets a placeholder
  // data object with that id; the placeholders are removed again from every diagram that leaves the editor.
  var BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL";
  var placeholders = [];
  function parse(xml) {
    var doc = new DOMParser().parseFromString(xml, "application/xml");
    return doc.getElementsByTagName("parsererror").length ? null : doc;
  }
  function protectRefs(xml) {
    var doc = parse(xml);
    placeholders = [];
    if (!doc) { return xml; }
    var ids = {};
    Array.prototype.forEach.call(doc.querySelectorAll("[id]"), function (el) { ids[el.getAttribute("id")] = true; });
    ["loopDataInputRef", "loopDataOutputRef"].forEach(function (tag) {
      Array.prototype.forEach.call(doc.getElementsByTagNameNS(BPMN_NS, tag), function (el) {
        var ref = el.textContent.trim();
        var container = el.parentNode;
        while (container && container.localName !== "process" && container.localName !== "subProcess") {
          container = container.parentNode;
        }
        if (!ref || ids[ref] || !container) { return; }
        var holder = doc.createElementNS(BPMN_NS, (el.prefix ? el.prefix + ":" : "") + "dataObject");
        holder.setAttribute("id", ref);
        container.insertBefore(holder, container.firstChild);
        ids[ref] = true;
        placeholders.push(ref);
      });
    });
    return placeholders.length ? new XMLSerializer().serializeToString(doc) : xml;
  }
  function unprotectRefs(xml) {
    if (!placeholders.length) { return xml; }
    var doc = parse(xml);
    if (!doc) { return xml; }
    Array.prototype.slice.call(doc.getElementsByTagNameNS(BPMN_NS, "dataObject")).forEach(function (el) {
      if (placeholders.indexOf(el.getAttribute("id")) >= 0) { el.parentNode.removeChild(el); }
    });
    return new XMLSerializer().serializeToString(doc);
  }
  function exportXML() {
    return modeler.saveXML({ format: true }).then(function (result) { return unprotectRefs(result.xml); });
  }

  // Opening -------------------------------------------------------------------------------------------------
  function open(xml) {
    clearMessages();
    return modeler.importXML(protectRefs(xml)).then(function (result) {
      modeler.get("canvas").zoom("fit-viewport", "auto");
      if (result.warnings && result.warnings.length) {
        alertBox("warning", L.warnings, result.warnings.map(function (w) { return li(w.message); }), "import-warnings");
      }
      canvasEl.dataset.ready = "1";
      dirty = false;
      render(null);
    }).catch(function (err) {
      alertBox("danger", L.open_failed + " " + (err && err.message ? err.message : err), [], "open-error");
      if (err && err.warnings && err.warnings.length) {
        alertBox("warning", L.warnings, err.warnings.map(function (w) { return li(w.message); }), "import-warnings");
      }
    });
  }
  if (cfg.xmlUrl) {
    fetch(cfg.xmlUrl, { credentials: "same-origin" }).then(function (r) { return r.text(); }).then(open);
  } else {
    open(newDiagram());
  }
  document.getElementById("open-file").addEventListener("change", function (ev) {
    var file = ev.target.files[0];
    if (!file) { return; }
    file.text().then(open);
    ev.target.value = "";
  });
  document.getElementById("download-bpmn").addEventListener("click", function () {
    exportXML().then(function (xml) {
      var blob = new Blob([xml], { type: "application/xml" });
      var a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = (cfg.key || "diagram") + ".bpmn";
      document.body.appendChild(a);
      a.click();
      setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
    });
  });

  // Extension elements --------------------------------------------------------------------------------------
  function values(bo) { return (bo.extensionElements && bo.extensionElements.values) || []; }
  function findExt(bo, type) { return values(bo).filter(function (v) { return v.$instanceOf(type); })[0]; }
  function setExt(element, type, item) {
    // Replace the extension element of `type` by `item` (null removes it).
    var bo = element.businessObject;
    var ext = bo.extensionElements;
    if (!ext) {
      if (!item) { return; }
      ext = moddle.create("bpmn:ExtensionElements", { values: [] });
      ext.$parent = bo;
      modeling.updateProperties(element, { extensionElements: ext });
    }
    var kept = ext.values.filter(function (v) { return !v.$instanceOf(type); });
    if (item) { item.$parent = ext; kept.push(item); }
    modeling.updateModdleProperties(element, ext, { values: kept });
  }
  function setBody(element, type, value) {
    setExt(element, type, value ? moddle.create(type, { value: value }) : null);
  }
  function bodyOf(bo, type) { var e = findExt(bo, type); return e ? (e.value || "") : ""; }
  function expression(value) { return value ? moddle.create("bpmn:FormalExpression", { body: value }) : undefined; }

  // Panel widgets -------------------------------------------------------------------------------------------
  var counter = 0;
  function field(label, value, onChange, opts) {
    opts = opts || {};
    var wrap = document.createElement("div");
    wrap.className = "mb-2";
    var id = "pf-" + (opts.name || "f") + "-" + (++counter);
    var lab = document.createElement("label");
    lab.className = "form-label small mb-1";
    lab.htmlFor = id;
    lab.textContent = label;
    var input = document.createElement(opts.multiline ? "textarea" : "input");
    input.className = "form-control form-control-sm";
    input.id = id;
    if (opts.name) { input.name = opts.name; input.dataset.field = opts.name; }
    if (opts.multiline) { input.rows = opts.rows || 4; }
    if (opts.list) { input.setAttribute("list", opts.list); }
    if (opts.readonly) { input.readOnly = true; }
    input.value = value || "";
    input.addEventListener("change", fromPanel(function () { onChange(input.value.trim() === "" ? "" : input.value); }));
    wrap.appendChild(lab);
    wrap.appendChild(input);
    panel.appendChild(wrap);
    return input;
  }
  function choice(name, label, options, current, spacing) {
    // A <select> of [value, text] options in the panel, `current` selected; the caller listens to it.
    var select = document.createElement("select");
    select.className = "form-select form-select-sm " + spacing;
    select.dataset.field = name;
    select.setAttribute("aria-label", label);
    options.forEach(function (o) {
      var opt = document.createElement("option");
      opt.value = o[0];
      opt.textContent = o[1];
      opt.selected = o[0] === current;
      select.appendChild(opt);
    });
    panel.appendChild(select);
    return select;
  }
  function heading(text) {
    var h = document.createElement("div");
    h.className = "fw-semibold small text-uppercase text-body-secondary mt-3 mb-1";
    h.textContent = text;
    panel.appendChild(h);
  }
  function pairs(label, rows, names, onChange, name) {
    // An editable list of [a, b] rows (properties, parameters).
    heading(label);
    var table = document.createElement("div");
    table.dataset.field = name;
    panel.appendChild(table);
    var commit = fromPanel(function () {
      var out = [];
      table.querySelectorAll(".pair").forEach(function (row) {
        var inputs = row.querySelectorAll("input");
        if (inputs[0].value.trim()) { out.push([inputs[0].value.trim(), inputs[1].value]); }
      });
      onChange(out);
    });
    function addRow(a, b) {
      var row = document.createElement("div");
      row.className = "input-group input-group-sm mb-1 pair";
      [[a, names[0]], [b, names[1]]].forEach(function (pair) {
        var input = document.createElement("input");
        input.className = "form-control";
        input.value = pair[0] || "";
        input.placeholder = pair[1];
        input.setAttribute("aria-label", pair[1]);
        input.addEventListener("change", commit);
        row.appendChild(input);
      });
      var del = document.createElement("button");
      del.type = "button";
      del.className = "btn btn-outline-secondary";
      del.title = L.remove;
      del.setAttribute("aria-label", L.remove);
      del.textContent = "×";
      del.addEventListener("click", function () { row.remove(); commit(); });
      row.appendChild(del);
      table.appendChild(row);
    }
    rows.forEach(function (r) { addRow(r[0], r[1]); });
    var add = document.createElement("button");
    add.type = "button";
    add.className = "btn btn-sm btn-outline-primary mb-2";
    add.textContent = L.add;
    add.dataset.add = name;
    add.addEventListener("click", function () { addRow("", ""); });
    panel.appendChild(add);
  }

  // The panel -----------------------------------------------------------------------------------------------
  function eventDefinition(bo, type) {
    return (bo.eventDefinitions || []).filter(function (d) { return d.$instanceOf(type); })[0];
  }
  function findMessage(name) {
    var defs = modeler.getDefinitions();
    var found = (defs.rootElements || []).filter(function (m) { return m.$instanceOf("bpmn:Message") && m.name === name; })[0];
    if (!found) {
      found = moddle.create("bpmn:Message", { id: "Message_" + Math.random().toString(36).slice(2, 9), name: name });
      found.$parent = defs;
      defs.rootElements.push(found);
    }
    return found;
  }

  // Multi-instance: SpiffWorkflow 3.2 reads the collections as variable names (the text of loopDataInputRef /
  // loopDataOutputRef) and the item variables from the id of inputDataItem / outputDataItem; it wants either a
  // collection or a cardinality. bpmn-moddle writes a reference as the id of the object it points to, so a
  // collection is a detached data object whose id is the variable name (it is never written itself).
  var MI = "bpmn:MultiInstanceLoopCharacteristics";
  function variableRef(name) { return name ? moddle.create("bpmn:DataObject", { id: name }) : undefined; }
  function dataItem(type, name) { return name ? moddle.create(type, { id: name, name: name }) : undefined; }
  var VARIABLE = /^[\p{L}_][\p{L}\p{N}_]*$/u;
  function usedElsewhere(name, own) {
    // An item variable is the id of its data item, and the XSD wants ids unique in the whole diagram.
    return registry.getAll().some(function (el) {
      var b = el.businessObject;
      if (!b) { return false; }
      if (b.id === name) { return true; }
      var l = b.loopCharacteristics;
      return !!(l && [l.inputDataItem, l.outputDataItem].some(function (d) { return d && d !== own && d.id === name; }));
    });
  }
  function hint(input, message) {
    var box = input.parentNode.querySelector(".invalid-feedback");
    if (!box) {
      box = document.createElement("div");
      box.className = "invalid-feedback";
      input.parentNode.appendChild(box);
    }
    input.classList.toggle("is-invalid", !!message);
    box.textContent = message || "";
  }
  function checkVariable(input, own) {
    var v = input.value.trim();
    hint(input, !v ? "" : (!VARIABLE.test(v) ? L.mi_bad_name : (own !== undefined && usedElsewhere(v, own) ? L.mi_duplicate : "")));
  }
  function multiInstance(element, bo) {
    var lc = bo.loopCharacteristics;
    var isMI = !!(lc && lc.$instanceOf(MI));
    var mode = isMI ? (lc.isSequential ? "sequential" : "parallel") : (lc ? "standard" : "none");
    heading(L.multi_instance);
    var options = [["none", L.mi_none], ["parallel", L.mi_parallel], ["sequential", L.mi_sequential]];
    if (mode === "standard") { options.push(["standard", L.mi_standard]); }
    var select = choice("multi_instance", L.multi_instance, options, mode, "mb-2");
    select.addEventListener("change", fromPanel(function () {
      var current = element.businessObject.loopCharacteristics;
      var value = select.value;
      if (value === "none") {
        modeling.updateProperties(element, { loopCharacteristics: undefined });
      } else if (value === "parallel" || value === "sequential") {
        if (current && current.$instanceOf(MI)) {
          modeling.updateModdleProperties(element, current, { isSequential: value === "sequential" ? true : undefined });
        } else {
          var created = moddle.create(MI, value === "sequential" ? { isSequential: true } : {});
          created.$parent = element.businessObject;
          modeling.updateProperties(element, { loopCharacteristics: created });
        }
      }
      render(element);  // show or hide the fields below
    }));
    if (!isMI) { return; }
    var write = function (props) {
      Object.keys(props).forEach(function (k) { if (props[k]) { props[k].$parent = lc; } });
      modeling.updateModdleProperties(element, lc, props);
    };
    var name = function (v) { return v ? v.trim() : ""; };
    var variable = function (label, prop, make, fieldName, isItem) {
      var input = field(label, lc[prop] ? lc[prop].id : "", function (v) {
        write(Object.fromEntries([[prop, make(name(v))]]));
        checkVariable(input, isItem ? (lc[prop] || null) : undefined);
      }, { name: fieldName });
      checkVariable(input, isItem ? (lc[prop] || null) : undefined);
    };
    variable(L.mi_collection, "loopDataInputRef", variableRef, "mi_collection", false);
    variable(L.mi_item, "inputDataItem", function (v) { return dataItem("bpmn:DataInput", v); }, "mi_item", true);
    field(L.mi_cardinality, lc.loopCardinality ? lc.loopCardinality.body : "", function (v) { write({ loopCardinality: expression(v) }); }, { name: "mi_cardinality" });
    variable(L.mi_output, "loopDataOutputRef", variableRef, "mi_output", false);
    variable(L.mi_output_item, "outputDataItem", function (v) { return dataItem("bpmn:DataOutput", v); }, "mi_output_item", true);
    field(L.mi_condition, lc.completionCondition ? lc.completionCondition.body : "", function (v) { write({ completionCondition: expression(v) }); }, { name: "mi_condition", multiline: true, rows: 2 });
  }

  function render(element) {
    selected = element;
    panel.textContent = "";
    if (!element) {
      element = modeler.get("canvas").getRootElement();
    }
    var bo = element.businessObject;
    if (!bo) { panelEmpty.hidden = false; return; }
    panelEmpty.hidden = element !== modeler.get("canvas").getRootElement() ? true : false;
    field(L.id, bo.id, function (v) { if (v) { modeling.updateProperties(element, { id: v }); } }, { name: "id" });
    field(L.name, bo.name, function (v) { modeling.updateProperties(element, { name: v || undefined }); }, { name: "name" });
    if (bo.$instanceOf("bpmn:UserTask") || bo.$instanceOf("bpmn:ManualTask")) {
      if (bo.$instanceOf("bpmn:UserTask")) {
        field(L.form, bodyOf(bo, "spiffworkflow:FormJsonSchemaFilename"), function (v) { setBody(element, "spiffworkflow:FormJsonSchemaFilename", v); }, { name: "form", list: "form-list" });
        field(L.uiform, bodyOf(bo, "spiffworkflow:FormUiSchemaFilename"), function (v) { setBody(element, "spiffworkflow:FormUiSchemaFilename", v); }, { name: "uiform", list: "form-list" });
      }
      field(L.instructions, bodyOf(bo, "spiffworkflow:InstructionsForEndUser"), function (v) { setBody(element, "spiffworkflow:InstructionsForEndUser", v); }, { name: "instructions", multiline: true, rows: 3 });
    }
    if (bo.$instanceOf("bpmn:ServiceTask")) {
      var op = findExt(bo, "spiffworkflow:ServiceTaskOperator");
      var params = op && op.parameters ? op.parameters.parameters.map(function (p) { return [p.id, p.value]; }) : [];
      var state = { id: op ? op.id : "", result: op ? op.resultVariable : "", params: params };
      var writeOperator = function () {
        if (!state.id) { setExt(element, "spiffworkflow:ServiceTaskOperator", null); return; }
        var list = state.params.map(function (p) { return moddle.create("spiffworkflow:Parameter", { id: p[0], type: "any", value: p[1] }); });
        var container = moddle.create("spiffworkflow:Parameters", { parameters: list });
        list.forEach(function (p) { p.$parent = container; });
        var item = moddle.create("spiffworkflow:ServiceTaskOperator", { id: state.id, resultVariable: state.result || undefined, parameters: container });
        container.$parent = item;
        setExt(element, "spiffworkflow:ServiceTaskOperator", item);
      };
      field(L.operator, state.id, function (v) { state.id = v; writeOperator(); }, { name: "operator", list: "operator-list" });
      field(L.result, state.result, function (v) { state.result = v; writeOperator(); }, { name: "result" });
      pairs(L.parameters, params, [L.parameter_id, L.parameter_value], function (rows) { state.params = rows; writeOperator(); }, "parameters");
    }
    if (bo.$instanceOf("bpmn:ScriptTask")) {
      field(L.script, bo.script, function (v) { modeling.updateProperties(element, { script: v || undefined, scriptFormat: "python" }); }, { name: "script", multiline: true, rows: 6 });
    }
    if (bo.$instanceOf("bpmn:CallActivity")) {
      field(L.called, bo.calledElement, function (v) { modeling.updateProperties(element, { calledElement: v || undefined }); }, { name: "called" });
    }
    if (bo.$instanceOf("bpmn:SequenceFlow")) {
      field(L.condition, bo.conditionExpression ? bo.conditionExpression.body : "", function (v) { modeling.updateProperties(element, { conditionExpression: expression(v) }); }, { name: "condition", multiline: true, rows: 2 });
    }
    var timer = eventDefinition(bo, "bpmn:TimerEventDefinition");
    if (timer) {
      var kind = timer.timeDate ? "timeDate" : (timer.timeCycle ? "timeCycle" : "timeDuration");
      var current = (timer[kind] && timer[kind].body) || "";
      heading(L.timer_kind);
      var select = choice("timer_kind", L.timer_kind, [["timeDuration", L.duration], ["timeDate", L.date], ["timeCycle", L.cycle]], kind, "mb-1");
      var writeTimer = function (value) {
        var props = { timeDuration: undefined, timeDate: undefined, timeCycle: undefined };
        props[select.value] = expression(value);
        modeling.updateModdleProperties(element, timer, props);
      };
      var timerInput = field(L.timer_value, current, writeTimer, { name: "timer" });
      select.addEventListener("change", fromPanel(function () { writeTimer(timerInput.value); }));
    }
    var message = eventDefinition(bo, "bpmn:MessageEventDefinition");
    var messageOwner = message || ((bo.$instanceOf("bpmn:ReceiveTask") || bo.$instanceOf("bpmn:SendTask")) ? bo : null);
    if (messageOwner) {
      field(L.message, messageOwner.messageRef ? messageOwner.messageRef.name : "", function (v) {
        var ref = v ? findMessage(v) : undefined;
        if (messageOwner === bo) { modeling.updateProperties(element, { messageRef: ref }); }
        else { modeling.updateModdleProperties(element, messageOwner, { messageRef: ref }); }
      }, { name: "message" });
      field(L.message_variable, bodyOf(bo, "spiffworkflow:MessageVariable"), function (v) { setBody(element, "spiffworkflow:MessageVariable", v); }, { name: "message_variable" });
    }
    if (bo.$instanceOf("bpmn:Activity")) {
      field(L.prescript, bodyOf(bo, "spiffworkflow:PreScript"), function (v) { setBody(element, "spiffworkflow:PreScript", v); }, { name: "prescript", multiline: true, rows: 3 });
      field(L.postscript, bodyOf(bo, "spiffworkflow:PostScript"), function (v) { setBody(element, "spiffworkflow:PostScript", v); }, { name: "postscript", multiline: true, rows: 3 });
    }
    if (bo.$instanceOf("bpmn:Activity")) {
      multiInstance(element, bo);
    }
    if (bo.$instanceOf("bpmn:FlowNode")) {
      var props = findExt(bo, "spiffworkflow:Properties");
      var rows = props ? (props.properties || []).map(function (p) { return [p.name, p.value]; }) : [];
      pairs(L.properties, rows, [L.property_name, L.property_value], function (list) {
        if (!list.length) { setExt(element, "spiffworkflow:Properties", null); return; }
        var items = list.map(function (p) { return moddle.create("spiffworkflow:Property", { name: p[0], value: p[1] }); });
        var container = moddle.create("spiffworkflow:Properties", { properties: items });
        items.forEach(function (p) { p.$parent = container; });
        setExt(element, "spiffworkflow:Properties", container);
      }, "properties");
    }
  }
  modeler.on("commandStack.changed", function () { dirty = true; });
  window.addEventListener("beforeunload", function (ev) {
    if (dirty) { ev.preventDefault(); ev.returnValue = ""; }
  });
  modeler.on("selection.changed", function (e) { render(e.newSelection.length === 1 ? e.newSelection[0] : null); });
  modeler.on("element.changed", function (e) {
    // Keep the panel in step with edits made on the canvas (label editing, undo), unless typing in it.
    if (!writing && selected && e.element === selected) { render(selected); }
  });

  // Saving --------------------------------------------------------------------------------------------------
  document.getElementById("save-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (document.activeElement && panel.contains(document.activeElement)) { document.activeElement.blur(); }
    var comment = document.getElementById("comment").value.trim();
    clearMessages();
    if (!comment) { alertBox("danger", L.no_comment, [], "save-error"); return; }
    var button = document.getElementById("save");
    button.disabled = true;
    exportXML().then(function (xml) {
      return fetch(cfg.saveUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify({ xml: xml, comment: comment, key: cfg.key })
      });
    }).then(function (resp) {
      return resp.json().then(function (data) { return { status: resp.status, data: data }; });
    }).then(function (res) {
      var data = res.data;
      if (data.ok) {
        dirty = false;
        var box = alertBox("success", data.message || L.saved, [], "save-result");
        if (data.url) {
          var a = document.createElement("a");
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
        document.getElementById("comment").value = "";
        return;
      }
      var items = (data.problems || []).map(function (p) {
        var where = p.element_id ? " [" + L.element + " " + p.element_id + (p.line ? ", " + L.line + " " + p.line : "") + "]" : (p.line ? " [" + L.line + " " + p.line + "]" : "");
        return li(p.message + where, p.element_id);
      });
      Object.keys(data.errors || {}).forEach(function (key) {
        data.errors[key].forEach(function (m) { items.push(li(m)); });
      });
      alertBox("danger", data.problems && data.problems.length ? L.problems : (data.title || L.problems), items, "save-problems");
    }).catch(function () {
      alertBox("danger", L.network, [], "save-error");
    }).then(function () { button.disabled = false; });
  });
})();
