"""Process definitions for the admin pages: every process with its versions and running-instance counts,
a readable diff of two versions, and the editor's save (through the one validation pipeline of
`deploy`). Reads take no actor: definitions are company-wide configuration guarded by permissions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from lxml import etree
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select

from crm.auth.scopes import visible
from crm.core.audit import OperationLog
from crm.core.clock import utcnow
from crm.core.errors import InvalidTransition
from crm.core.errors import NotFound
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.extensions import db
from crm.org.models import User
from crm.workflow.deploy import DeploymentRejected
from crm.workflow.deploy import DeployResult
from crm.workflow.deploy import current_definitions
from crm.workflow.deploy import deploy_files
from crm.workflow.models import InstanceStatus
from crm.workflow.models import ProcessDefinition
from crm.workflow.models import ProcessDraft
from crm.workflow.models import ProcessInstance
from crm.workflow.validation import BPMN_NS
from crm.workflow.validation import Problem
from crm.workflow.validation import main_process
from crm.workflow.validation import parse_xml

KEY_RE = re.compile(r"[A-Za-z_][\w.-]{0,99}")
MAX_DIAGRAM_BYTES = 2 * 1024 * 1024
LIVE = (InstanceStatus.RUNNING, InstanceStatus.ERROR, InstanceStatus.SUSPENDED)


@dataclass
class ProcessSummary:
    key: str
    name: str
    current: ProcessDefinition
    versions: int
    live: int  # running, failed or suspended instances, all versions


def overview() -> list[ProcessSummary]:
    """Every deployed BPMN process: its current version, how many versions, how many live instances."""
    current = current_definitions()
    counts = dict(db.session.execute(
        select(ProcessDefinition.key, func.count()).group_by(ProcessDefinition.key)
    ).all())
    live = dict(db.session.execute(
        select(ProcessInstance.process_key, func.count()).where(ProcessInstance.status.in_(LIVE))
        .group_by(ProcessInstance.process_key)
    ).all())
    return [ProcessSummary(key, d.name or key, d, int(counts.get(key, 0)), int(live.get(key, 0)))
            for key, d in sorted(current.items()) if not key.endswith(".dmn")]


@dataclass
class VersionRow:
    definition: ProcessDefinition
    deployed_by: str | None
    live: int
    total: int
    is_current: bool


def versions(key: str) -> list[VersionRow]:
    """The versions of one process, newest first, with who deployed them and their instance counts."""
    defs = list(db.session.scalars(
        select(ProcessDefinition).where(ProcessDefinition.key == key).order_by(ProcessDefinition.version.desc())
    ))
    if not defs or key.endswith(".dmn"):
        raise NotFound()
    ids = [d.id for d in defs]
    stmt = (select(ProcessInstance.definition_id, ProcessInstance.status, func.count())
            .where(ProcessInstance.definition_id.in_(ids)).group_by(ProcessInstance.definition_id, ProcessInstance.status))
    live: dict[int, int] = {}
    total: dict[int, int] = {}
    for def_id, status, n in db.session.execute(stmt):
        total[def_id] = total.get(def_id, 0) + n
        if status in LIVE:
            live[def_id] = live.get(def_id, 0) + n
    people = {d.deployed_by_id for d in defs if d.deployed_by_id}
    names = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(people))).all()) if people else {}
    return [VersionRow(d, names.get(d.deployed_by_id) if d.deployed_by_id else None, live.get(d.id, 0),
                       total.get(d.id, 0), i == 0)
            for i, d in enumerate(defs)]


def get_version(key: str, version: Any) -> ProcessDefinition:
    try:
        number = int(version)
    except (TypeError, ValueError):
        raise NotFound() from None
    if not 0 < number < 2**31:
        raise NotFound()
    found = db.session.scalar(
        select(ProcessDefinition).where(ProcessDefinition.key == key, ProcessDefinition.version == number)
    )
    if found is None or key.endswith(".dmn"):
        raise NotFound()
    return found


def get_definition(definition_id: Any) -> ProcessDefinition:
    try:
        key = int(definition_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    found = db.session.get(ProcessDefinition, key) if 0 < key < 2**31 else None
    if found is None:
        raise NotFound()
    return found


def live_instances_on_old_versions(key: str, actor: Any, limit: int = 200) -> list[ProcessInstance]:
    """Live instances in the actor's scope not on the current version (candidates for migration), oldest
    first."""
    current = current_definitions().get(key)
    if current is None:
        return []
    stmt = select(ProcessInstance).where(ProcessInstance.process_key == key, ProcessInstance.status.in_(LIVE),
                                         ProcessInstance.definition_id != current.id)
    return list(db.session.scalars(visible(stmt, actor, ProcessInstance).order_by(ProcessInstance.id).limit(limit)))


# The diff of two versions ----------------------------------------------------------------------------------
CONTAINERS = {"process", "subProcess", "transaction", "adHocSubProcess", "laneSet", "definitions", "collaboration"}
SKIPPED = {"process", "collaboration", "laneSet", "BPMNDiagram"}
PART_LABELS = {
    "name": _l("name"),
    "incoming": _l("connections"),
    "outgoing": _l("connections"),
    "sourceRef": _l("connections"),
    "targetRef": _l("connections"),
    "script": _l("script"),
    "conditionExpression": _l("condition"),
    "timerEventDefinition": _l("timer"),
    "messageEventDefinition": _l("message"),
    "signalEventDefinition": _l("signal"),
    "errorEventDefinition": _l("error"),
    "multiInstanceLoopCharacteristics": _l("multi-instance settings"),
    "standardLoopCharacteristics": _l("loop settings"),
    "documentation": _l("documentation"),
    "default": _l("default flow"),
    "calledElement": _l("called process"),
    "formJsonSchemaFilename": _l("form"),
    "formUiSchemaFilename": _l("form layout"),
    "properties": _l("properties"),
    "serviceTaskOperator": _l("service operator or parameters"),
    "preScript": _l("pre-script"),
    "postScript": _l("post-script"),
    "instructionsForEndUser": _l("instructions"),
    "messageVariable": _l("message variable"),
}


@dataclass
class ElementChange:
    element_id: str
    kind: str
    name: str | None
    changes: list[str] = field(default_factory=list)  # readable part names ("name", "script", ...)
    before: dict[str, str] = field(default_factory=dict)
    after: dict[str, str] = field(default_factory=dict)


@dataclass
class VersionDiff:
    added: list[ElementChange]
    removed: list[ElementChange]
    changed: list[ElementChange]

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def _local(tag: Any) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _norm(text: str | None) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


def _signature(el: Any) -> dict[str, str]:
    """The parts of an element a reader cares about: attributes and each child (by local name), as text.
    Children that are elements of their own (flow nodes inside a sub-process) are left out."""
    parts: dict[str, str] = {}
    for attr, value in el.attrib.items():
        name = _local(attr)
        if name != "id":
            parts[name] = value
    for child in el:
        name = _local(child.tag)
        if not name or (child.get("id") and _local(el.tag) in CONTAINERS):
            continue
        if name == "extensionElements":
            for ext in child:
                ext_name = _local(ext.tag)
                if ext_name:
                    parts[ext_name] = (parts.get(ext_name, "") + " " + _norm(etree.tostring(ext, encoding="unicode",
                                                                                            with_tail=False))).strip()
            continue
        text = _norm(etree.tostring(child, encoding="unicode", with_tail=False))
        text = re.sub(r'\sid="[^"]*"', "", text)  # generated ids of event definitions are no change
        parts[name] = (parts.get(name, "") + " " + text).strip()
    return parts


def _elements(xml: str) -> dict[str, tuple[str, dict[str, str]]]:
    tree = parse_xml("diagram.bpmn", xml.encode(), [])
    out: dict[str, tuple[str, dict[str, str]]] = {}
    if tree is None:
        return out
    for el in tree.iter():
        if not isinstance(el.tag, str) or etree.QName(el.tag).namespace != BPMN_NS or not el.get("id"):
            continue
        parent = el.getparent()
        kind = _local(el.tag)
        if kind in SKIPPED or parent is None or _local(parent.tag) not in CONTAINERS:
            continue
        out[el.get("id")] = (kind, _signature(el))
    return out


def diff_versions(old: ProcessDefinition, new: ProcessDefinition) -> VersionDiff:
    """Elements added, removed and changed between two versions (by element id), with what changed."""
    before, after = _elements(old.bpmn_xml), _elements(new.bpmn_xml)
    added = [ElementChange(i, after[i][0], after[i][1].get("name")) for i in after if i not in before]
    removed = [ElementChange(i, before[i][0], before[i][1].get("name")) for i in before if i not in after]
    changed = []
    for element_id in before.keys() & after.keys():
        (kind_a, a), (kind_b, b) = before[element_id], after[element_id]
        keys = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
        if kind_a != kind_b:
            keys.insert(0, "type")
        if not keys:
            continue
        labels = []
        for k in keys:
            label = str(PART_LABELS.get(k, _l("type") if k == "type" else k))
            if label not in labels:
                labels.append(label)
        changed.append(ElementChange(element_id, kind_b, b.get("name") or a.get("name"), labels,
                                     {k: a.get(k, "") for k in keys if k != "type"},
                                     {k: b.get(k, "") for k in keys if k != "type"}))
    order = lambda c: (c.kind, c.element_id)  # noqa: E731
    return VersionDiff(sorted(added, key=order), sorted(removed, key=order), sorted(changed, key=order))


# The editor's save --------------------------------------------------------------------------------------------
def _comment(comment: Any, missing: Any) -> str:
    text = comment.strip() if isinstance(comment, str) else ""
    if not text:
        raise ValidationFailed({"comment": missing})
    if len(text) > 1000:
        raise ValidationFailed({"comment": _l("The comment is too long (at most 1000 characters).")})
    return text


ROLLBACK_SOURCE = "rollback:v"


def rollback(key: str, version: Any, *, comment: Any, actor: Any) -> ProcessDefinition:
    """Make an earlier version current again: its content becomes a NEW version (versions only grow, so
    running instances keep theirs and the history says what happened), deployed through the same
    validation as any other, with who (`deployed_by_id`) and why (the required comment), and an entry in
    the operation log. New instances start on it; running ones stay on the version they started with."""
    if not actor.can("process.deploy"):
        raise PermissionDenied()
    target = get_version(key, version)
    text = _comment(comment, _l("Say why this version becomes current again."))
    current = current_definitions().get(key)
    if current is None or current.sha256 == target.sha256:
        raise InvalidTransition(_l("Version %(version)s is already what new instances use.", version=target.version))
    filename = key if key.endswith(".dmn") else f"{key}.bpmn"
    result = deploy_files({filename: target.bpmn_xml.encode("utf-8")}, source=f"{ROLLBACK_SOURCE}{target.version}",
                          actor_id=actor.id, comment=text)
    created = result.created[0]
    db.session.add(OperationLog(
        occurred_at=utcnow(), actor_id=actor.id, object_type="process_definition", object_id=created.id,
        store_id=None, action="process_rolled_back", note=text,
        changes={"key": {"type": "str", "old": None, "new": key},
                 "version": {"type": "str", "old": str(current.version), "new": str(created.version)},
                 "content_of": {"type": "str", "old": None, "new": str(target.version)}},
    ))
    db.session.flush()
    return created


def prepare_diagram(xml: Any, *, key: str | None, comment: Any, comment_message: Any = None) -> tuple[str, bytes, str]:
    """The checks every editor write makes before the deployment pipeline: the comment (required when
    `comment_message` names what to say), the size, the XML, and a process id that is the one being edited.
    Returns (file name, content, comment); refuses with ValidationFailed or DeploymentRejected."""
    errors: dict[str, str] = {}
    text = comment.strip() if isinstance(comment, str) else ""
    if not text and comment_message is not None:
        errors["comment"] = comment_message
    elif len(text) > 1000:
        errors["comment"] = _l("The comment is too long (at most 1000 characters).")
    if not isinstance(xml, str) or not xml.strip():
        errors["xml"] = _l("The diagram is empty.")
    elif len(xml.encode("utf-8", "replace")) > MAX_DIAGRAM_BYTES:
        errors["xml"] = _l("The diagram is larger than 2 MB.")
    if errors:
        raise ValidationFailed(errors)
    assert isinstance(xml, str)
    content = xml.encode("utf-8", "replace")
    stem = key or "diagram"
    filename = f"{stem}.bpmn"
    problems: list[Problem] = []
    tree = parse_xml(filename, content, problems)
    if tree is None:
        raise DeploymentRejected(problems)
    main, _name = main_process(filename, tree)
    if main is not None:
        if key is not None and main != key:
            raise DeploymentRejected([Problem(filename, _("The diagram's executable process is %(main)s, but this "
                                                          "editor edits %(key)s. Keep the process id %(key)s.",
                                                          main=repr(main), key=repr(key)), main)])
        if not KEY_RE.fullmatch(main):
            raise DeploymentRejected([Problem(filename, _("The process id must start with a letter or _ and have at "
                                                          "most 100 letters, digits, _, . or -."), main)])
        filename = f"{main}.bpmn"  # a new diagram with the id of an existing process becomes its next version
    return filename, content, text


def save_from_editor(xml: Any, *, key: str | None, comment: Any, actor_id: int) -> DeployResult:
    """Deploy a diagram saved in the browser editor as a new version of its process. `key` is the process
    being edited (None for a new process). Rejected diagrams raise `DeploymentRejected` with every problem;
    nothing changes then. A draft of the process (`drafts`) is done with once its content is deployed."""
    filename, content, text = prepare_diagram(xml, key=key, comment=comment,
                                              comment_message=_l("Say in a few words what changed in this version."))
    result = deploy_files({filename: content}, source="editor", actor_id=actor_id, comment=text)
    for created in result.created:
        db.session.execute(delete(ProcessDraft).where(ProcessDraft.key == created.key,
                                                      ProcessDraft.bpmn_xml == created.bpmn_xml))
    return result
