/* The model side of the editor: reading and writing the business objects of the diagram — the
   spiffworkflow extension elements (forms, instructions, properties, service operator and parameters,
   pre/post scripts, message variable), the standard BPMN attributes the panel edits, timers, messages and
   multi-instance loop characteristics. Every write goes through bpmn-js's `modeling`, so it is one step on
   the command stack (undo works) and fires `element.changed`. */

export const MI = "bpmn:MultiInstanceLoopCharacteristics";
// A variable name as SpiffWorkflow (Python) reads it.
export const VARIABLE = /^[\p{L}_][\p{L}\p{N}_]*$/u;

// Reading (pure: business object in, plain values out) ------------------------------------------------------
export function values(bo) { return (bo.extensionElements && bo.extensionElements.values) || []; }
export function findExt(bo, type) { return values(bo).find((v) => v.$instanceOf(type)); }
export function bodyOf(bo, type) { const e = findExt(bo, type); return e ? (e.value || "") : ""; }
export function eventDefinition(bo, type) { return (bo.eventDefinitions || []).find((d) => d.$instanceOf(type)); }

export function readServiceOperator(bo) {
  // {id, result, params: [[id, value], ...]} of the service task's operator (empty when there is none).
  const op = findExt(bo, "spiffworkflow:ServiceTaskOperator");
  const params = op && op.parameters ? op.parameters.parameters.map((p) => [p.id, p.value]) : [];
  return { id: op ? op.id : "", result: op ? op.resultVariable : "", params };
}
export function readProperties(bo) {
  // [[name, value], ...] of the spiffworkflow:properties of a flow node.
  const props = findExt(bo, "spiffworkflow:Properties");
  return props ? (props.properties || []).map((p) => [p.name, p.value]) : [];
}
export function loopMode(bo) {
  // "none", "parallel", "sequential" (multi-instance) or "standard" (a standard loop, kept as it is).
  const lc = bo.loopCharacteristics;
  if (!lc) { return "none"; }
  if (!lc.$instanceOf(MI)) { return "standard"; }
  return lc.isSequential ? "sequential" : "parallel";
}

// Writing ------------------------------------------------------------------------------------------------
// Multi-instance: SpiffWorkflow 3.2 reads the collections as variable names (the text of loopDataInputRef /
// loopDataOutputRef) and the item variables from the id of inputDataItem / outputDataItem; it wants either a
// collection or a cardinality. bpmn-moddle writes a reference as the id of the object it points to, so a
// collection is a detached data object whose id is the variable name (it is never written itself).
export function createModel(modeler) {
  const moddle = modeler.get("moddle");
  const modeling = modeler.get("modeling");
  const registry = modeler.get("elementRegistry");

  function update(element, props) { modeling.updateProperties(element, props); }

  function setExt(element, type, item) {
    // Replace the extension element of `type` by `item` (null removes it).
    const bo = element.businessObject;
    let ext = bo.extensionElements;
    if (!ext) {
      if (!item) { return; }
      ext = moddle.create("bpmn:ExtensionElements", { values: [] });
      ext.$parent = bo;
      modeling.updateProperties(element, { extensionElements: ext });
    }
    const kept = ext.values.filter((v) => !v.$instanceOf(type));
    if (item) { item.$parent = ext; kept.push(item); }
    modeling.updateModdleProperties(element, ext, { values: kept });
  }
  function setBody(element, type, value) {
    setExt(element, type, value ? moddle.create(type, { value }) : null);
  }
  function expression(value) { return value ? moddle.create("bpmn:FormalExpression", { body: value }) : undefined; }

  function setServiceOperator(element, state) {
    // state: {id, result, params: [[id, value], ...]}; no operator id removes the operator.
    if (!state.id) { setExt(element, "spiffworkflow:ServiceTaskOperator", null); return; }
    const list = state.params.map((p) => moddle.create("spiffworkflow:Parameter", { id: p[0], type: "any", value: p[1] }));
    const container = moddle.create("spiffworkflow:Parameters", { parameters: list });
    list.forEach((p) => { p.$parent = container; });
    const item = moddle.create("spiffworkflow:ServiceTaskOperator", { id: state.id, resultVariable: state.result || undefined, parameters: container });
    container.$parent = item;
    setExt(element, "spiffworkflow:ServiceTaskOperator", item);
  }
  function setProperties(element, rows) {
    // rows: [[name, value], ...]; none removes spiffworkflow:properties.
    if (!rows.length) { setExt(element, "spiffworkflow:Properties", null); return; }
    const items = rows.map((p) => moddle.create("spiffworkflow:Property", { name: p[0], value: p[1] }));
    const container = moddle.create("spiffworkflow:Properties", { properties: items });
    items.forEach((p) => { p.$parent = container; });
    setExt(element, "spiffworkflow:Properties", container);
  }

  function setTimer(element, timer, kind, value) {
    // One of timeDuration / timeDate / timeCycle (`kind`) holds the expression; the others are cleared.
    const props = { timeDuration: undefined, timeDate: undefined, timeCycle: undefined };
    props[kind] = expression(value);
    modeling.updateModdleProperties(element, timer, props);
  }

  function findMessage(name) {
    // The bpmn:message of that name, created in the definitions if there is none yet.
    const defs = modeler.getDefinitions();
    let found = (defs.rootElements || []).find((m) => m.$instanceOf("bpmn:Message") && m.name === name);
    if (!found) {
      found = moddle.create("bpmn:Message", { id: "Message_" + Math.random().toString(36).slice(2, 9), name });
      found.$parent = defs;
      defs.rootElements.push(found);
    }
    return found;
  }
  function setMessage(element, owner, name) {
    // `owner` is the message event definition, or the receive / send task's business object itself.
    const ref = name ? findMessage(name) : undefined;
    if (owner === element.businessObject) { modeling.updateProperties(element, { messageRef: ref }); }
    else { modeling.updateModdleProperties(element, owner, { messageRef: ref }); }
  }

  function setLoopMode(element, mode) {
    // "none" removes the loop characteristics; "parallel" / "sequential" make (or keep) a multi-instance.
    const current = element.businessObject.loopCharacteristics;
    if (mode === "none") {
      modeling.updateProperties(element, { loopCharacteristics: undefined });
    } else if (mode === "parallel" || mode === "sequential") {
      if (current && current.$instanceOf(MI)) {
        modeling.updateModdleProperties(element, current, { isSequential: mode === "sequential" ? true : undefined });
      } else {
        const created = moddle.create(MI, mode === "sequential" ? { isSequential: true } : {});
        created.$parent = element.businessObject;
        modeling.updateProperties(element, { loopCharacteristics: created });
      }
    }
  }
  function updateLoop(element, lc, props) {
    Object.keys(props).forEach((k) => { if (props[k]) { props[k].$parent = lc; } });
    modeling.updateModdleProperties(element, lc, props);
  }
  function variableRef(name) { return name ? moddle.create("bpmn:DataObject", { id: name }) : undefined; }
  function dataItem(type, name) { return name ? moddle.create(type, { id: name, name }) : undefined; }
  function usedElsewhere(name, own) {
    // An item variable is the id of its data item, and the XSD wants ids unique in the whole diagram.
    return registry.getAll().some((el) => {
      const b = el.businessObject;
      if (!b) { return false; }
      if (b.id === name) { return true; }
      const l = b.loopCharacteristics;
      return !!(l && [l.inputDataItem, l.outputDataItem].some((d) => d && d !== own && d.id === name));
    });
  }

  return {
    update, setExt, setBody, expression, setServiceOperator, setProperties, setTimer,
    findMessage, setMessage, setLoopMode, updateLoop, variableRef, dataItem, usedElsewhere,
  };
}
