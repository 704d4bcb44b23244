"""Work: arranged work and personal tasks (tasks/); work reports and announcement pickers join them here."""
