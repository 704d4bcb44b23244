/* The diagram as XML text: the empty diagram of "New diagram", and the multi-instance references kept
   through bpmn-js.

   SpiffWorkflow writes a multi-instance task's collections as variable names
   (<bpmn:loopDataInputRef>approvers</bpmn:loopDataInputRef>); BPMN reads them as references to elements,
   so bpmn-js would drop them as unresolved. While the diagram is open, each such name gets a placeholder
   data object with that id; the placeholders are removed again from every diagram that leaves the editor. */

const BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL";

export function newDiagram() {
  const id = "Process_" + Math.random().toString(36).slice(2, 9);
  return '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" ' +
    'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" ' +
    'id="Definitions_' + id + '" targetNamespace="http://bpmn.io/schema/bpmn">\n' +
    '  <bpmn:process id="' + id + '" isExecutable="true">\n    <bpmn:startEvent id="StartEvent_1"/>\n  </bpmn:process>\n' +
    '  <bpmndi:BPMNDiagram id="BPMNDiagram_1"><bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="' + id + '">' +
    '<bpmndi:BPMNShape id="StartEvent_1_di" bpmnElement="StartEvent_1"><dc:Bounds x="180" y="160" width="36" height="36"/></bpmndi:BPMNShape>' +
    '</bpmndi:BPMNPlane></bpmndi:BPMNDiagram>\n</bpmn:definitions>\n';
}

function parse(xml) {
  const doc = new DOMParser().parseFromString(xml, "application/xml");
  return doc.getElementsByTagName("parsererror").length ? null : doc;
}

// The placeholder ids added to the diagram opened last.
let placeholders = [];

export function protectRefs(xml) {
  // The diagram to open: a placeholder data object for each collection named by variable.
  const doc = parse(xml);
  placeholders = [];
  if (!doc) { return xml; }
  const ids = {};
  doc.querySelectorAll("[id]").forEach((el) => { ids[el.getAttribute("id")] = true; });
  ["loopDataInputRef", "loopDataOutputRef"].forEach((tag) => {
    Array.from(doc.getElementsByTagNameNS(BPMN_NS, tag)).forEach((el) => {
      const ref = el.textContent.trim();
      let container = el.parentNode;
      while (container && container.localName !== "process" && container.localName !== "subProcess") {
        container = container.parentNode;
      }
      if (!ref || ids[ref] || !container) { return; }
      const holder = doc.createElementNS(BPMN_NS, (el.prefix ? el.prefix + ":" : "") + "dataObject");
      holder.setAttribute("id", ref);
      container.insertBefore(holder, container.firstChild);
      ids[ref] = true;
      placeholders.push(ref);
    });
  });
  return placeholders.length ? new XMLSerializer().serializeToString(doc) : xml;
}

export function unprotectRefs(xml) {
  // The diagram leaving the editor: the placeholders removed again.
  if (!placeholders.length) { return xml; }
  const doc = parse(xml);
  if (!doc) { return xml; }
  Array.from(doc.getElementsByTagNameNS(BPMN_NS, "dataObject")).forEach((el) => {
    if (placeholders.includes(el.getAttribute("id"))) { el.parentNode.removeChild(el); }
  });
  return new XMLSerializer().serializeToString(doc);
}

export function exportXML(modeler) {
  return modeler.saveXML({ format: true }).then((result) => unprotectRefs(result.xml));
}
