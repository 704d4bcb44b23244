"""The workflow engine adapter: the ONLY package that imports SpiffWorkflow.

- `deploy`      versioned process definitions from processes/*.bpmn and the editor, through one
                validation pipeline (`validation`).
- `runtime`     start / complete_task / send_message / fire_due_timers / retry: one transaction per step,
                the instance row locked, service operators writing domain rows in the same session.
- `registry`    `@operator("context.verb")` and script functions that business contexts register.
- `inbox_sync`  human_task rows kept in step with the engine's READY user tasks after every step.
- `forms`       JSON-Schema forms of user tasks: fields from schema + uiSchema, coercion and validation
                of submissions (pages and API).
- `tasks`       task actions as services: claim, unclaim, reassign, delegate, dates, comments, drafts;
                `task_files` (attachments on disk), `task_filters` (saved inbox filters),
                `task_queries` (the inbox lists and counts).

Business contexts never import SpiffWorkflow; they speak in process keys, object references and
human-task ids."""
