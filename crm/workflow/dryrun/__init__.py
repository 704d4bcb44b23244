"""The dry run before deploy (issue 24): a diagram run in memory on sample data with operators simulated,
every user task completed with generated valid form data and every gateway branch it can reach explored
(`explore`), the form data generated from the task's JSON Schema (`forms`). Nothing here touches the
database; `crm.workflow.admin.dryrun` picks the samples and compares a new version with the current one."""
