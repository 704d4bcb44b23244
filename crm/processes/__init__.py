"""Process admin pages: definitions and their versions, the browser BPMN editor, instance monitoring and
repair, unmatched messages. The web edge over `crm.workflow` (which stays the only SpiffWorkflow importer)."""
