"""Every instance of a process gets its task's form and instructions, not only the first one (the
engine's cached spec dicts were consumed by the first load)."""

from __future__ import annotations

from crm.workflow.tasks import services as tasks


def test_each_instance_keeps_the_forms_and_instructions_of_its_tasks(inbox, review):
    made = [review(order_no=f"SO-{i}") for i in range(3)]
    for i, task in enumerate(made):
        assert task.form_schema == "wf_inbox.review.schema.json"
        assert task.form_uischema == "wf_inbox.review.uischema.json"
        assert task.instructions == f"Check order SO-{i} of ACME Pallets before it ships."
        assert tasks.task_data(task)["order_no"] == f"SO-{i}"
