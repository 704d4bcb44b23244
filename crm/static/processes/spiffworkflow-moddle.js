/* The moddle descriptor of the spiffworkflow extension elements this app uses, so the bpmn-js Modeler
   reads, edits and writes them as typed elements (tag names are the type names, first letter lowered). */
window.SPIFFWORKFLOW_MODDLE = {
  name: "SpiffWorkflow",
  prefix: "spiffworkflow",
  uri: "http://spiffworkflow.org/bpmn/schema/1.0/core",
  xml: { tagAlias: "lowerCase" },
  associations: [],
  types: [
    { name: "Properties", superClass: ["Element"], properties: [
      { name: "properties", type: "Property", isMany: true } ] },
    { name: "Property", superClass: ["Element"], properties: [
      { name: "name", type: "String", isAttr: true }, { name: "value", type: "String", isAttr: true } ] },
    { name: "ServiceTaskOperator", superClass: ["Element"], properties: [
      { name: "id", type: "String", isAttr: true }, { name: "resultVariable", type: "String", isAttr: true },
      { name: "parameters", type: "Parameters" } ] },
    { name: "Parameters", superClass: ["Element"], properties: [
      { name: "parameters", type: "Parameter", isMany: true } ] },
    { name: "Parameter", superClass: ["Element"], properties: [
      { name: "id", type: "String", isAttr: true }, { name: "type", type: "String", isAttr: true },
      { name: "value", type: "String", isAttr: true } ] },
    { name: "FormJsonSchemaFilename", superClass: ["Element"], properties: [{ name: "value", type: "String", isBody: true }] },
    { name: "FormUiSchemaFilename", superClass: ["Element"], properties: [{ name: "value", type: "String", isBody: true }] },
    { name: "InstructionsForEndUser", superClass: ["Element"], properties: [{ name: "value", type: "String", isBody: true }] },
    { name: "PreScript", superClass: ["Element"], properties: [{ name: "value", type: "String", isBody: true }] },
    { name: "PostScript", superClass: ["Element"], properties: [{ name: "value", type: "String", isBody: true }] },
    { name: "MessageVariable", superClass: ["Element"], properties: [{ name: "value", type: "String", isBody: true }] },
    { name: "CalledDecisionId", superClass: ["Element"], properties: [{ name: "value", type: "String", isBody: true }] }
  ]
};
if (typeof module !== "undefined") { module.exports = window.SPIFFWORKFLOW_MODDLE; }
