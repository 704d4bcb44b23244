"""Work tasks: arranged by a manager for people in their scope, or personal; listed in the one inbox
(`crm.inbox`) beside the process tasks."""
