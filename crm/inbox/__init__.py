"""The task inbox (blueprint `inbox`, under /tasks): my tasks, group tasks to claim, overdue, due today,
everything in my scope, completed by me; filters and saved filters; the task page with its form,
comments, attachments and the instance history. The actions themselves are services of
`crm.workflow.tasks.services`; forms are `crm.workflow.tasks.forms`. Nothing imports this package but `create_app`."""
