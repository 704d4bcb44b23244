"""Task actions, as services and through the pages: claim (and a second claim losing), unclaim, reassign,
delegate and return, dates and priority, comments, attachments; who may see a task (404 for everyone
else) and who may do what (403)."""

from __future__ import annotations

import io
from datetime import UTC
from datetime import datetime

import pytest
from sqlalchemy import select

from crm.core.clock import utcnow
from crm.core.errors import Conflict
from crm.core.errors import InvalidTransition
from crm.core.errors import NotFound
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.extensions import db
from crm.workflow import runtime
from crm.workflow.models import HumanTask
from crm.workflow.models import ProcessEvent
from crm.workflow.models import TaskAttachment
from crm.workflow.models import TaskStatus
from crm.workflow.tasks import files as task_files
from crm.workflow.tasks import services as tasks
from tests.conftest import html
from tests.conftest import post

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 20


@pytest.fixture
def task(review, inbox):
    """A review task of store A: candidates a_sup (the lane's supervisors), a_rep1 and a_rep2."""
    return review(candidates=[inbox.a_rep1, inbox.a_rep2])


def kinds(task):
    return [e.kind for e in runtime.history(task.instance_id)]


def fresh(task):
    return db.session.get(HumanTask, task.id, populate_existing=True)


# Claim --------------------------------------------------------------------------------------------------
def test_a_candidate_claims_and_a_second_claim_gets_a_clear_conflict(task, inbox):
    assert set(tasks.candidate_ids(task)) == {inbox.a_sup.id, inbox.a_rep1.id, inbox.a_rep2.id}
    tasks.claim(task.id, actor=inbox.a_rep1)
    db.session.commit()
    assert fresh(task).assignee_id == inbox.a_rep1.id and task.status == TaskStatus.CLAIMED
    with pytest.raises(Conflict) as err:
        tasks.claim(task.id, actor=inbox.a_rep2)
    assert "A Rep One has already claimed this task." in str(err.value.message)
    assert fresh(task).assignee_id == inbox.a_rep1.id
    tasks.claim(task.id, actor=inbox.a_rep1)  # claiming one's own task again changes nothing
    assert kinds(task) == ["created", "claimed"]


def test_claim_through_the_page_then_the_second_claimant_sees_who_won(task, inbox, login_as):
    resp = post(login_as(inbox.a_rep1), f"/tasks/{task.id}/claim")
    assert resp.status_code == 303 and resp.headers["Location"] == f"/tasks/{task.id}"
    resp = post(login_as(inbox.a_rep2), f"/tasks/{task.id}/claim")
    assert resp.status_code == 409
    assert "A Rep One has already claimed this task." in html(resp)
    assert fresh(task).assignee_id == inbox.a_rep1.id


def test_only_candidates_claim(task, inbox, login_as):
    with pytest.raises(PermissionDenied):
        tasks.claim(task.id, actor=inbox.a_manager)  # sees the task (store scope), is no candidate
    assert post(login_as(inbox.a_manager), f"/tasks/{task.id}/claim").status_code == 403
    with pytest.raises(NotFound):
        tasks.claim(task.id, actor=inbox.a_rep3)  # salesperson, own records only: does not even see it
    assert post(login_as(inbox.b_sup), f"/tasks/{task.id}/claim").status_code == 404
    assert fresh(task).assignee_id is None


def test_a_closed_task_cannot_be_claimed(task, inbox):
    runtime.complete_task(task.id, {"decision": "reject"}, actor_id=inbox.a_sup.id)
    with pytest.raises(Conflict):
        tasks.claim(task.id, actor=inbox.a_rep1)


# Unclaim -------------------------------------------------------------------------------------------------
def test_unclaim_by_the_assignee_or_a_supervisor(task, inbox):
    tasks.claim(task.id, actor=inbox.a_rep1)
    with pytest.raises(PermissionDenied):
        tasks.unclaim(task.id, actor=inbox.a_rep2)
    tasks.unclaim(task.id, actor=inbox.a_rep1)
    assert task.assignee_id is None and task.status == TaskStatus.OPEN
    tasks.claim(task.id, actor=inbox.a_rep2)
    tasks.unclaim(task.id, actor=inbox.a_sup)  # a_rep2's supervisor
    assert task.assignee_id is None
    with pytest.raises(InvalidTransition):
        tasks.unclaim(task.id, actor=inbox.a_sup)
    assert kinds(task) == ["created", "claimed", "unclaimed", "claimed", "unclaimed"]


def test_the_only_candidate_cannot_drop_the_task(review, inbox):
    task = review()  # store A's only supervisor is the only candidate
    assert tasks.candidate_ids(task) == [inbox.a_sup.id]
    tasks.claim(task.id, actor=inbox.a_sup)
    inbox.a_sup.roles = [inbox.roles["salesperson"]]  # no task.reassign: not their own manager
    inbox.a_sup.__dict__.pop("_permissions", None)
    inbox.a_sup.__dict__.pop("_scope_context", None)
    with pytest.raises(InvalidTransition) as err:
        tasks.unclaim(task.id, actor=inbox.a_sup)
    assert "ask your supervisor" in str(err.value.message)


# Reassign and delegate ---------------------------------------------------------------------------------------
def test_a_supervisor_reassigns_within_the_store(task, inbox):
    tasks.claim(task.id, actor=inbox.a_rep1)
    with pytest.raises(PermissionDenied):
        tasks.reassign(task.id, inbox.a_rep2.id, actor=inbox.a_rep1)  # salespeople have no task.reassign
    with pytest.raises(ValidationFailed) as err:
        tasks.reassign(task.id, inbox.b_rep.id, actor=inbox.a_sup)  # not of the task's store
    assert "user_id" in err.value.errors
    tasks.reassign(task.id, inbox.a_rep3.id, actor=inbox.a_sup)
    assert task.assignee_id == inbox.a_rep3.id and task.status == TaskStatus.CLAIMED
    assert inbox.a_rep3.id in tasks.candidate_ids(task)  # the new assignee may see and complete it
    event = db.session.scalar(select(ProcessEvent).where(ProcessEvent.kind == "reassigned"))
    assert event.details["previous"] == inbox.a_rep1.id and event.details["to"] == inbox.a_rep3.id
    assert event.actor_id == inbox.a_sup.id
    # The store manager (store scope) and a process admin may too; another store's manager does not see it.
    tasks.reassign(task.id, inbox.a_rep1.id, actor=inbox.a_manager)
    with pytest.raises(NotFound):
        tasks.reassign(task.id, inbox.b_rep.id, actor=inbox.b_manager)


def test_reassign_through_the_page(task, inbox, login_as):
    client = login_as(inbox.a_sup)
    page = html(client.get(f"/tasks/{task.id}"))
    assert 'id="reassign-button"' in page and inbox.a_rep3.name in page and inbox.b_rep.name not in page
    resp = post(client, f"/tasks/{task.id}/reassign", {"user_id": inbox.a_rep2.id})
    assert resp.status_code == 303
    assert fresh(task).assignee_id == inbox.a_rep2.id
    resp = post(client, f"/tasks/{task.id}/reassign", {"user_id": inbox.b_rep.id})
    assert resp.status_code == 422 and 'data-field-error="user_id"' in html(resp)
    assert post(login_as(inbox.a_rep1), f"/tasks/{task.id}/reassign", {"user_id": inbox.a_rep1.id}).status_code == 403


def test_delegate_keeps_the_owner_and_the_delegate_returns_it(task, inbox, login_as):
    with pytest.raises(InvalidTransition):
        tasks.delegate(task.id, inbox.a_rep2.id, actor=inbox.a_sup)  # nobody owns it yet
    tasks.claim(task.id, actor=inbox.a_rep1)
    tasks.delegate(task.id, inbox.a_rep3.id, actor=inbox.a_rep1)  # the assignee delegates their own task
    assert (task.assignee_id, task.delegated_by_id) == (inbox.a_rep3.id, inbox.a_rep1.id)
    db.session.commit()
    page = html(login_as(inbox.a_rep3).get(f"/tasks/{task.id}"))
    assert "delegated by A Rep One" in page and "Return to A Rep One" in page
    resp = post(login_as(inbox.a_rep3), f"/tasks/{task.id}/unclaim")
    assert resp.status_code == 303
    task = fresh(task)
    assert (task.assignee_id, task.delegated_by_id) == (inbox.a_rep1.id, None)
    assert kinds(task)[-2:] == ["delegated", "delegation_returned"]
    with pytest.raises(ValidationFailed):
        tasks.delegate(task.id, inbox.a_rep1.id, actor=inbox.a_rep1)  # already theirs


# Dates and priority ----------------------------------------------------------------------------------------
def test_due_date_and_priority_need_a_supervisor_follow_up_the_assignee(task, inbox):
    tasks.claim(task.id, actor=inbox.a_rep1)
    due = datetime(2030, 1, 2, 3, 4, tzinfo=UTC)
    with pytest.raises(PermissionDenied):
        tasks.set_dates(task.id, actor=inbox.a_rep1, due_at=due)
    tasks.set_dates(task.id, actor=inbox.a_rep1, follow_up_at=due)
    with pytest.raises(PermissionDenied):
        tasks.set_dates(task.id, actor=inbox.a_rep2, follow_up_at=due)
    tasks.set_dates(task.id, actor=inbox.a_sup, due_at=due, priority=2)
    assert (task.due_at, task.priority, task.follow_up_at) == (due, 2, due)
    with pytest.raises(ValidationFailed) as err:
        tasks.set_dates(task.id, actor=inbox.a_sup, priority=7, due_at="tomorrow")
    assert set(err.value.errors) == {"priority", "due_at"}
    tasks.set_dates(task.id, actor=inbox.a_sup, due_at=None)
    assert task.due_at is None
    changes = [e.details["changes"] for e in runtime.history(task.instance_id) if e.kind == "task_updated"]
    assert list(changes[1]) == ["due_at", "priority"]


def test_dates_through_the_page_in_the_users_time_zone(task, inbox, login_as):
    client = login_as(inbox.a_sup)
    resp = post(client, f"/tasks/{task.id}/dates", {"due_at": "2030-01-02T09:30", "priority": "0", "follow_up_at": ""})
    assert resp.status_code == 303
    task = fresh(task)
    assert task.due_at == datetime(2030, 1, 2, 1, 30, tzinfo=UTC)  # Asia/Shanghai is UTC+8
    assert task.priority == 0 and task.follow_up_at is None
    resp = post(client, f"/tasks/{task.id}/dates", {"due_at": "soon", "priority": "9"})
    assert resp.status_code == 422 and 'data-field-error="due_at"' in html(resp)


# Comments ----------------------------------------------------------------------------------------------------
def test_comments_show_on_the_task_and_in_the_history(task, inbox, login_as):
    client = login_as(inbox.a_manager)  # anyone who sees the task may comment
    resp = post(client, f"/tasks/{task.id}/comments", {"body": "Call the customer first.\nThen ship."})
    assert resp.status_code == 303
    page = html(client.get(f"/tasks/{task.id}"))
    assert page.count("Call the customer first.") == 2  # the comment and its history entry
    resp = post(client, f"/tasks/{task.id}/comments", {"body": "  "})
    assert resp.status_code == 422 and 'data-field-error="body"' in html(resp)
    [comment] = tasks.comments(task)
    assert post(login_as(inbox.a_rep1), f"/tasks/{task.id}/comments/{comment.id}/delete").status_code == 403
    assert post(login_as(inbox.a_manager), f"/tasks/{task.id}/comments/{comment.id}/delete").status_code == 303
    assert tasks.comments(task) == []
    assert kinds(task)[-2:] == ["commented", "comment_deleted"]


def test_a_comment_is_reached_only_through_its_own_task(review, task, inbox, login_as):
    other = review(candidates=[inbox.a_rep1])
    comment = tasks.add_comment(other.id, "elsewhere", actor=inbox.a_rep1)
    db.session.commit()
    assert post(login_as(inbox.a_rep1), f"/tasks/{task.id}/comments/{comment.id}/delete").status_code == 404


# Attachments --------------------------------------------------------------------------------------------------
def test_upload_download_and_remove_a_file(task, inbox, login_as, uploads):
    tasks.claim(task.id, actor=inbox.a_rep1)
    db.session.commit()
    client = login_as(inbox.a_rep1)
    resp = post(client, f"/tasks/{task.id}/attachments", {"file": (io.BytesIO(PDF), "报价单 v2.pdf")},
                content_type="multipart/form-data")
    assert resp.status_code == 303
    [attachment] = task_files.attachments(task)
    assert (attachment.original_name, attachment.size, attachment.content_type) == ("报价单 v2.pdf", len(PDF), "application/pdf")
    assert attachment.uploaded_by_id == inbox.a_rep1.id
    stored = uploads / attachment.stored_name
    assert stored.read_bytes() == PDF
    now = utcnow()
    assert attachment.stored_name.startswith(f"{now:%Y}/{now:%m}/") and "报价单" not in attachment.stored_name
    resp = login_as(inbox.a_manager).get(f"/tasks/{task.id}/attachments/{attachment.id}")
    assert resp.status_code == 200 and resp.data == PDF
    assert resp.headers["Content-Disposition"].startswith("attachment;")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert login_as(inbox.b_manager).get(f"/tasks/{task.id}/attachments/{attachment.id}").status_code == 404
    assert post(login_as(inbox.a_manager), f"/tasks/{task.id}/attachments/{attachment.id}/delete").status_code == 403
    assert post(login_as(inbox.a_rep1), f"/tasks/{task.id}/attachments/{attachment.id}/delete").status_code == 303
    assert task_files.attachments(task) == [] and not stored.exists()  # the file goes when the removal commits
    assert kinds(task)[-2:] == ["attachment_added", "attachment_removed"]


@pytest.mark.parametrize(("name", "content", "message"), [
    ("big.pdf", PDF + b"x" * 3000, "larger than"),
    ("virus.exe", b"MZ\x90\x00", "not accepted"),
    ("fake.pdf", b"just text, not a PDF", "does not match"),
    ("fake.png", PDF, "does not match"),
    ("empty.txt", b"", "empty"),
    ("binary.txt", b"a\x00b", "does not match"),
])
def test_files_too_big_or_of_the_wrong_type_are_refused(task, inbox, login_as, uploads, name, content, message):
    tasks.claim(task.id, actor=inbox.a_rep1)
    db.session.commit()
    resp = post(login_as(inbox.a_rep1), f"/tasks/{task.id}/attachments", {"file": (io.BytesIO(content), name)},
                content_type="multipart/form-data")
    assert resp.status_code == 422
    assert 'data-field-error="file"' in html(resp) and message in html(resp)
    assert db.session.scalar(select(TaskAttachment.id)) is None
    assert not uploads.exists() or not any(p.is_file() for p in uploads.rglob("*"))


def test_text_files_in_chinese_encodings_are_accepted(task, inbox):
    tasks.claim(task.id, actor=inbox.a_rep1)
    attachment = task_files.add_attachment(task.id, "客户.csv", io.BytesIO("名称,数量\n托盘,3\n".encode("gb18030")),
                                           actor=inbox.a_rep1)
    assert attachment.content_type == "text/csv"


def test_only_people_working_on_the_task_attach_files(task, inbox):
    with pytest.raises(PermissionDenied):
        task_files.add_attachment(task.id, "x.pdf", io.BytesIO(PDF), actor=inbox.east_manager)  # sees it, no more
    with pytest.raises(NotFound):
        task_files.add_attachment(task.id, "x.pdf", io.BytesIO(PDF), actor=inbox.b_sup)


def test_a_file_written_in_a_transaction_that_rolls_back_is_removed(task, inbox, uploads):
    tasks.claim(task.id, actor=inbox.a_rep1)
    db.session.commit()
    attachment = task_files.add_attachment(task.id, "x.png", io.BytesIO(PNG), actor=inbox.a_rep1)
    path = uploads / attachment.stored_name
    assert path.exists()
    db.session.rollback()
    assert not path.exists()


# Who sees a task -------------------------------------------------------------------------------------------
def test_the_task_page_is_reachable_by_candidates_assignee_and_scope_only(task, inbox, login_as):
    for user in ("a_sup", "a_rep1", "a_rep2", "a_manager", "east_manager", "hq_manager", "hq_admin"):
        resp = login_as(getattr(inbox, user)).get(f"/tasks/{task.id}")
        assert resp.status_code == 200, user
        assert "Review order SO-1" in html(resp)
    for user in ("a_rep3", "b_manager", "b_sup", "b_rep", "c_manager"):
        assert login_as(getattr(inbox, user)).get(f"/tasks/{task.id}").status_code == 404, user
    tasks.reassign(task.id, inbox.a_rep3.id, actor=inbox.a_sup)
    db.session.commit()
    assert login_as(inbox.a_rep3).get(f"/tasks/{task.id}").status_code == 200  # now its assignee


def test_an_unknown_task_is_404(inbox, login_as):
    client = login_as(inbox.a_sup)
    for path in ("/tasks/999999", "/tasks/0", "/tasks/99999999999"):
        assert client.get(path).status_code == 404
    assert post(client, "/tasks/999999/claim").status_code == 404


def test_supervisor_of_a_candidate_manages_an_unclaimed_task(review, inbox):
    """Outside their data scope (the task is nobody's yet), a supervisor still manages it through the
    candidates they supervise."""
    task = review(candidates=[inbox.a_rep3])
    assert tasks.can_manage(task, inbox.a_sup)  # a_rep3 reports to a_rep1, who reports to a_sup
    assert not tasks.can_manage(task, inbox.a_rep2)
    assert not tasks.can_manage(task, inbox.east_manager)  # sees it, but holds no task.reassign

