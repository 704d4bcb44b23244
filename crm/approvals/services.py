"""State changes of approval requests (opened, stepped, reminded, escalated and closed by the `approval`
process through `bpmn`) and decisions (approve or reject one task, or many at once); the chains they
follow are edited in `chains`. Services flush, never commit."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.approvals import rules
from crm.approvals.chains import chain_for
from crm.approvals.chains import current_steps
from crm.approvals.models import ApprovalChain
from crm.approvals.models import ApprovalDecision
from crm.approvals.models import ApprovalRequest
from crm.approvals.models import DecisionOutcome
from crm.approvals.models import RequestStatus
from crm.approvals.registry import approvable
from crm.core.clock import utcnow
from crm.core.errors import Conflict
from crm.core.errors import DomainError
from crm.core.errors import NotFound
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.core.i18n import frozen
from crm.core.i18n import later
from crm.extensions import db
from crm.notify.services import notify
from crm.org.models import User
from crm.workflow import locks
from crm.workflow import runtime
from crm.workflow.models import HumanTask
from crm.workflow.models import TaskStatus

APPROVAL_PROCESS = "approval"
# The decision tasks sit in the embedded sub-process `ap_step` of approval.bpmn (its spec's name).
APPROVAL_TASK_PROCESSES = ("approval", "ap_step")
DECISION_TASKS = ("st_decide", "st_decide_seq", "st_decide_escalated")
QUEUE_URL = "/approvals/"


def request_url(request_id: int) -> str:
    return f"/approvals/requests/{request_id}"


# Requests (called by the approval process) --------------------------------------------------------------
def _object_view(object_type: str | None, object_id: int | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(values for conditions, summary for the queue) of the object, through its registered type."""
    kind = approvable(object_type)
    obj = kind.load(object_id, None) if kind is not None and object_id is not None else None
    if kind is None or obj is None:
        return {}, {"title": f"{object_type or '?'} #{object_id}", "lines": []}
    summary = dict(kind.summary(obj))
    summary.setdefault("type_label", kind.label)
    lines = [(label, "" if value is None else value) for label, value in summary.get("lines", [])]
    title = summary.get("title") or f"{object_type} #{object_id}"
    # The words as catalogue keys, rendered in each reader's language (`ApprovalRequest.shown`); the plain
    # texts beside them, in the language of the moment, are what the queue's search reads.
    summary["i18n"] = {"title": frozen(title), "type_label": frozen(summary["type_label"]),
                       "lines": [[frozen(label), frozen(value)] for label, value in lines]}
    summary["lines"] = [[str(label), str(value)] for label, value in lines]
    summary["title"], summary["type_label"] = str(title), str(summary["type_label"])
    if isinstance(summary.get("table"), dict):  # one table of items (a quote's lines): labels as text
        columns = summary["table"].get("columns", [])
        summary["i18n"]["columns"] = [frozen(c) for c in columns]
        summary["table"] = {**summary["table"], "columns": [str(c) for c in columns]}
    return dict(kind.values(obj)), summary


def resolve_chain(
    steps: list[dict[str, Any]], *, submitter: User | None, store_id: int | None, values: dict[str, Any],
    picks: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    return [rules.resolve_step(step, i, submitter=submitter, store_id=store_id, values=values, picks=picks)
            for i, step in enumerate(steps)]


def preview(chain: ApprovalChain, *, submitter: User | None, store_id: int | None, values: dict[str, Any] | None = None,
            object_type: str | None = None, object_id: int | None = None, actor: User) -> list[dict[str, Any]]:
    """Who would approve: for a real object (loaded within the actor's scope) or for given field values."""
    if object_type and object_id:
        kind = approvable(object_type)
        obj = kind.load(object_id, actor) if kind is not None else None
        if kind is None or obj is None:
            raise NotFound()
        values = dict(kind.values(obj))
    return resolve_chain(current_steps(chain), submitter=submitter, store_id=store_id, values=values or {})


def open_request(
    *, chain_key: str, submitter_id: int | None, instance_id: int | None, object_type: str | None,
    object_id: int | None, store_id: int | None, picks: dict[str, Any] | None = None,
) -> tuple[ApprovalRequest, list[dict[str, Any]]]:
    """A new request with the snapshot of the chain as it is now, its steps resolved. Returns the steps the
    process runs (those whose condition holds). No chain configured: no steps, approved at once (logged)."""
    if store_id is None:
        raise DomainError(_l("An approval needs the store of its object."))
    submitter = db.session.get(User, submitter_id) if submitter_id else None
    chain = chain_for(chain_key, store_id)
    values, summary = _object_view(object_type, object_id)
    steps = current_steps(chain) if chain is not None else []
    resolved = resolve_chain(steps, submitter=submitter, store_id=store_id, values=values, picks=picks)
    request = ApprovalRequest(
        store_id=store_id, chain_key=chain_key, chain_id=chain.id if chain else None,
        chain_version=chain.current_version if chain else None, instance_id=instance_id or None,
        object_type=object_type, object_id=object_id, submitter_id=submitter.id if submitter else None,
        status=RequestStatus.PENDING, snapshot={
            "chain": {"key": chain_key, "name": chain.name if chain else None, "id": chain.id if chain else None,
                      "version": chain.current_version if chain else None, "store_id": chain.store_id if chain else None},
            "steps": resolved, "values": {k: str(v) for k, v in values.items()},
            "note": None if chain else "no chain configured for this key: approved without steps",
        },
        summary=summary, created_at=utcnow(),
    )
    db.session.add(request)
    db.session.flush()
    for step in resolved:
        if not step["applies"]:
            _log(request, step["index"], DecisionOutcome.SKIPPED, step["reason"])
    return request, [s for s in resolved if s["applies"]]


def _log(request: ApprovalRequest, step_index: int | None, outcome: DecisionOutcome, comment: str | None,
         by: int | None = None, task_id: int | None = None) -> ApprovalDecision:
    d = ApprovalDecision(request_id=request.id, store_id=request.store_id, step_index=step_index, task_id=task_id,
                         decided_by_id=by, outcome=outcome, comment=comment, decided_at=utcnow())
    db.session.add(d)
    db.session.flush()
    return d


def _request(request_id: int) -> ApprovalRequest:
    request = db.session.get(ApprovalRequest, request_id)
    if request is None:
        raise NotFound()
    return request


def _step(request: ApprovalRequest, step_index: int) -> dict[str, Any]:
    for s in request.steps:
        if s.get("index") == step_index:
            return s
    raise NotFound()


def _title(request: ApprovalRequest) -> Any:
    """The request's title for a notification: in each recipient's language, and kept as a key."""
    kept = (request.summary.get("i18n") or {}).get("title")
    return later(kept) if kept else str(request.summary.get("title") or f"#{request.id}")


def enter_step(request_id: int, step_index: int) -> dict[str, Any]:
    request = _request(request_id)
    step = _step(request, step_index)
    request.current_step = step_index
    if step.get("auto"):
        _log(request, step_index, DecisionOutcome.AUTO_PASSED, step.get("reason"))
    elif step["mode"] != "sequential":  # sequential: each turn's task announces itself (notify_kind)
        notify(step["approvers"], "approval_requested",
               _l("Approval requested: %(title)s", title=_title(request)),
               body=_l("Step: %(step)s", step=step.get("title") or ""), url=QUEUE_URL, store_id=request.store_id)
    db.session.flush()
    return {"request_id": request.id, "step": step_index}


def _open_approval_tasks(instance_id: int | None) -> list[HumanTask]:
    if instance_id is None:
        return []
    return list(db.session.scalars(select(HumanTask).where(
        HumanTask.instance_id == instance_id, HumanTask.process_key.in_(APPROVAL_TASK_PROCESSES),
        HumanTask.bpmn_id.in_(DECISION_TASKS), HumanTask.status.in_([TaskStatus.OPEN, TaskStatus.CLAIMED]))))


def remind(request_id: int, step_index: int) -> dict[str, Any]:
    request = _request(request_id)
    pending = sorted({t.assignee_id for t in _open_approval_tasks(request.instance_id) if t.assignee_id})
    _log(request, step_index, DecisionOutcome.REMINDED, None)
    notify(pending, "approval_reminder", _l("Reminder: approval waiting: %(title)s", title=_title(request)),
           url=QUEUE_URL, store_id=request.store_id)
    return {"reminded": pending}


def escalate(request_id: int, step_index: int, submitter_id: int | None = None) -> dict[str, Any]:
    """The step waited too long: its pending approvers' supervisors take it over (any one of them decides).
    Nobody above them: the step's nobody-resolves rule (pass automatically, or the named admin)."""
    request = _request(request_id)
    step = _step(request, step_index)
    pending = [t.assignee_id for t in _open_approval_tasks(request.instance_id) if t.assignee_id]
    approvers: list[int] = []
    for uid in pending:
        user = db.session.get(User, uid)
        boss = db.session.get(User, user.supervisor_id) if user is not None and user.supervisor_id else None
        if boss is not None and boss.active and boss.id != request.submitter_id and boss.id not in approvers:
            approvers.append(boss.id)
    auto = False
    reason = None
    if not approvers:
        admin = db.session.get(User, step.get("fallback_admin_id")) if step.get("fallback_admin_id") else None
        if step.get("on_empty") == "admin" and admin is not None and admin.active and admin.id != request.submitter_id:
            approvers = [admin.id]
            reason = "no supervisor above the approvers; routed to the admin"
        else:
            auto = True
            reason = "no supervisor above the approvers; passed automatically"
    _log(request, step_index, DecisionOutcome.ESCALATED, reason)
    if approvers:
        notify(approvers, "approval_escalated", _l("Approval escalated to you: %(title)s", title=_title(request)),
               url=QUEUE_URL, store_id=request.store_id)
    return {"approvers": approvers, "auto": auto, "reason": reason}


def close_step(request_id: int, step_index: int, decisions: list[Any], *, auto: bool, escalated: bool,
               actor_id: int | None) -> dict[str, Any]:
    request = _request(request_id)
    step = _step(request, step_index)
    decisions = [d for d in decisions or [] if isinstance(d, dict)]
    if auto:
        if escalated:
            _log(request, step_index, DecisionOutcome.AUTO_PASSED, "escalation found nobody")
        return {"index": step_index, "approved": True}
    # Decisions taken through the approval pages are logged by `decide`, right after this step; those
    # taken elsewhere (the generic task page) are logged here from the process data.
    for d in decisions:
        by = d.get("by") or actor_id
        outcome = DecisionOutcome.APPROVED if d.get("approved") else DecisionOutcome.REJECTED
        if by is None or db.session.scalar(select(ApprovalDecision.id).where(
                ApprovalDecision.request_id == request.id, ApprovalDecision.step_index == step_index,
                ApprovalDecision.decided_by_id == by, ApprovalDecision.outcome == outcome).limit(1)) is None:
            _log(request, step_index, outcome, d.get("comment") or None, by=by)
    votes = [bool(d.get("approved")) for d in decisions]
    mode = step.get("mode")
    if escalated or mode in ("single", "any"):
        approved = any(votes)
    else:  # all-of and sequential: everyone, and nobody rejected
        approved = bool(votes) and all(votes) and len(votes) >= len(step.get("approvers") or [])
    return {"index": step_index, "approved": approved}


def close_request(request_id: int, step_results: list[Any]) -> dict[str, Any]:
    request = _request(request_id)
    results = [r for r in step_results or [] if isinstance(r, dict)]
    approved = all(r.get("approved") for r in results)
    request.status = RequestStatus.APPROVED if approved else RequestStatus.REJECTED
    request.decided_at = utcnow()
    request.current_step = None
    db.session.flush()
    if request.submitter_id:
        # A rejection carries the approver's reason: the submitter can act on the bell or e-mail alone.
        no = [d for d in request.decisions if d.outcome == DecisionOutcome.REJECTED and d.comment][-1:]
        body = _l("%(name)s: %(reason)s", name=getattr(db.session.get(User, no[0].decided_by_id or 0), "name", ""),
                  reason=no[0].comment) if no and not approved else None
        notify([request.submitter_id], "approval_decided",
               _l("Your request was approved: %(title)s", title=_title(request)) if approved
                   else _l("Your request was rejected: %(title)s", title=_title(request)),
               body=body, url=request_url(request.id), store_id=request.store_id)
    return {
        "request_id": request.id, "status": request.status.value,
        "decisions": [
            {"by": d.decided_by_id, "outcome": d.outcome.value, "comment": d.comment, "at": d.decided_at.isoformat(),
             "step": d.step_index}
            for d in request.decisions
        ],
    }


def withdraw_requests(instance_id: int) -> list[int]:
    """The process of `instance_id` left its approval before it ended (a boundary event on the `approval`
    call activity: the submitter withdrew the request; its tasks are cancelled by the same step): its
    pending requests are closed as withdrawn, so no list shows them as waiting. Returns their ids."""
    rows = list(db.session.scalars(select(ApprovalRequest).where(
        ApprovalRequest.instance_id == instance_id, ApprovalRequest.status == RequestStatus.PENDING)))
    for request in rows:
        request.status, request.decided_at, request.current_step = RequestStatus.WITHDRAWN, utcnow(), None
    db.session.flush()
    return [r.id for r in rows]


# Decisions ------------------------------------------------------------------------------------------------
class AlreadyDecided(Conflict):
    default_message = _l("This approval was already decided (by someone else, or the step ended). Nothing was changed.")


def _approval_task(task_id: int) -> tuple[HumanTask, ApprovalRequest]:
    task = db.session.get(HumanTask, task_id)
    if task is None or task.process_key not in APPROVAL_TASK_PROCESSES or task.bpmn_id not in DECISION_TASKS:
        raise NotFound()
    request = db.session.scalar(select(ApprovalRequest).where(ApprovalRequest.instance_id == task.instance_id)
                                .order_by(ApprovalRequest.id.desc()).limit(1))
    if request is None:
        raise NotFound()
    return task, request


def approval_task_for(task_id: int, actor: User) -> HumanTask:
    """An approval task the actor may decide (assignee or candidate) or submitted; NotFound otherwise."""
    task, request = _approval_task(task_id)
    if request.submitter_id != actor.id and task.assignee_id != actor.id and not locks.is_candidate(task.id, actor.id):
        raise NotFound()
    return task


def decide(task_id: int, *, approved: bool, comment: str | None, actor: User) -> ApprovalRequest:
    """Approve or reject one approval task. Two approvers of an any-of step deciding at once: the instance
    row lock lets one through; the other finds the task cancelled and gets AlreadyDecided."""
    comment = (comment or "").strip() or None
    if comment is not None and len(comment) > 2000:
        raise ValidationFailed({"comment": _l("At most 2000 characters.")})
    if not approved and not comment:
        raise ValidationFailed({"comment": _l("Say why you reject it.")})
    task, request = _approval_task(task_id)
    if request.submitter_id == actor.id:
        raise PermissionDenied(_l("You cannot approve your own request."))
    if not task.is_open:
        raise AlreadyDecided()
    if task.assignee_id != actor.id and not locks.is_candidate(task.id, actor.id):
        raise NotFound()
    step_index = request.current_step
    decision = {"approved": bool(approved), "comment": comment or "", "by": actor.id, "at": utcnow().isoformat()}
    try:
        # Each multi-instance task of approval.bpmn collects its own output item.
        runtime.complete_task(task.id, {"decision": decision, "seq_decision": decision,
                                        "escalated_decision": decision}, actor_id=actor.id)
    except Conflict as exc:
        raise AlreadyDecided() from exc
    outcome = DecisionOutcome.APPROVED if approved else DecisionOutcome.REJECTED
    # The step may have closed in this very step and logged the decision from the process data.
    row = db.session.scalar(select(ApprovalDecision).where(
        ApprovalDecision.request_id == request.id, ApprovalDecision.step_index == step_index,
        ApprovalDecision.decided_by_id == actor.id, ApprovalDecision.task_id.is_(None),
        ApprovalDecision.outcome == outcome).order_by(ApprovalDecision.id.desc()).limit(1))
    if row is None:
        _log(request, step_index, outcome, comment, by=actor.id, task_id=task.id)
    else:
        row.task_id = task.id
        db.session.flush()
    db.session.refresh(request)
    return request


def bulk_approve(task_ids: list[int], *, comment: str | None, actor: User) -> dict[str, list[int]]:
    """Approve several tasks; each one on its own (one already decided does not stop the others)."""
    done: list[int] = []
    skipped: list[int] = []
    for task_id in dict.fromkeys(task_ids):
        try:
            decide(task_id, approved=True, comment=comment, actor=actor)
            done.append(task_id)
        except (DomainError, runtime.StepFailed):
            skipped.append(task_id)
    return {"approved": done, "skipped": skipped}


def rejection_comment(approval: Any) -> str | None:
    """The reason the approver gave: the last rejecting decision's comment in the output of the `approval`
    call activity (what an object's process reads when its chain said no)."""
    decisions = approval.get("decisions") if isinstance(approval, dict) else None
    for decision in reversed(decisions if isinstance(decisions, list) else []):
        if isinstance(decision, dict) and decision.get("outcome") == "rejected" and decision.get("comment"):
            return str(decision["comment"])[:500]
    return None
