"""Versioned deployments and the catalogue of current specs.

A deployment is a set of files (processes/*.bpmn and *.dmn at start-up or from `flask crm processes
deploy`; one file from the editor). They pass `validation.validate_files` together with the current
versions of every other file; a rejected deployment changes nothing. Each accepted file whose content
changed becomes version N+1 of its process (its key is the file's executable process id; a DMN file's
key is its file name). A file from processes/ whose content was deployed before is not deployed again:
a newer version saved in the browser editor stays current across restarts."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import defer

from crm.core.errors import DomainError
from crm.extensions import db
from crm.workflow.models import ProcessDefinition
from crm.workflow.validation import Problem
from crm.workflow.validation import validate_files

PROCESS_DIR = Path(__file__).resolve().parents[2] / "processes"


class DeploymentRejected(DomainError):
    status = 422
    default_message = _l("The diagram was not deployed: fix the problems listed and try again.")

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__()
        self.problems = problems

    @property
    def errors(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for p in self.problems:
            out.setdefault(p.file, []).append(str(p))
        return out


class UnknownProcess(DomainError):
    status = 404
    default_message = _l("No process of that name is deployed.")


@dataclass
class DeployResult:
    created: list[ProcessDefinition] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def _key_for(filename: str, main_process: str | None) -> str:
    return main_process or Path(filename).name


def _filename(definition: ProcessDefinition) -> str:
    return definition.key if definition.key.endswith(".dmn") else f"{definition.key}.bpmn"


def _newest(*columns: Any) -> Any:
    """SELECT `columns` of the newest version of every process key."""
    newest = (
        select(ProcessDefinition.key, func.max(ProcessDefinition.version).label("v"))
        .group_by(ProcessDefinition.key)
        .subquery()
    )
    return select(*columns).join(
        newest, (newest.c.key == ProcessDefinition.key) & (newest.c.v == ProcessDefinition.version)
    )


def current_definitions(*, without_xml: bool = False) -> dict[str, ProcessDefinition]:
    """The newest version of every process key (`without_xml`: the diagrams load when first read)."""
    stmt = _newest(ProcessDefinition)
    if without_xml:
        stmt = stmt.options(defer(ProcessDefinition.bpmn_xml))
    return {d.key: d for d in db.session.scalars(stmt)}


def current_names() -> dict[str, str | None]:
    """Key -> name of the newest version of every process (without loading the diagrams)."""
    return dict(db.session.execute(_newest(ProcessDefinition.key, ProcessDefinition.name)).all())


def deploy_files(
    files: dict[str, bytes], *, source: str, actor_id: int | None = None, comment: str | None = None
) -> DeployResult:
    current = current_definitions()
    context = {_filename(d): d.bpmn_xml.encode() for d in current.values()}
    result = validate_files(files, context)
    if not result.ok:
        raise DeploymentRejected(result.problems)
    out = DeployResult()
    for filename, content in files.items():
        parsed = result.files[filename]
        key = _key_for(filename, parsed.main_process)
        sha = hashlib.sha256(content).hexdigest()
        previous = current.get(key)
        if previous is not None and previous.sha256 == sha:
            out.unchanged.append(key)
            continue
        if source == "file" and previous is not None and _deployed_before(key, sha):
            # The file did not change since it was deployed; a newer version (saved in the browser editor)
            # stays current instead of being reverted at every start-up.
            out.unchanged.append(key)
            continue
        definition = ProcessDefinition(
            key=key,
            version=(previous.version + 1) if previous else 1,
            name=(parsed.process_name or "")[:200] or None,
            bpmn_xml=content.decode("utf-8"),
            sha256=sha,
            source=source if source != "file" else f"file:processes/{Path(filename).name}",
            comment=comment,
            deployed_by_id=actor_id,
        )
        db.session.add(definition)
        out.created.append(definition)
    db.session.flush()
    return out


def _deployed_before(key: str, sha: str) -> bool:
    return db.session.scalar(
        select(ProcessDefinition.id).where(ProcessDefinition.key == key, ProcessDefinition.sha256 == sha).limit(1)
    ) is not None


def deploy_directory(directory: Path | None = None, *, actor_id: int | None = None) -> DeployResult:
    """Deploy every processes/*.bpmn and *.dmn whose content changed (start-up, `flask crm processes deploy`)."""
    folder = directory or PROCESS_DIR
    files = {p.name: p.read_bytes() for p in sorted([*folder.glob("*.dmn"), *folder.glob("*.bpmn")])}
    if not files:
        return DeployResult()
    return deploy_files(files, source="file", actor_id=actor_id, comment="deployed from processes/")


# The catalogue of parsed specs -------------------------------------------------------------------------
_catalogue: dict[frozenset[tuple[int, str]], Any] = {}
# SpiffWorkflow's parser is not thread-safe: `get_spec()` parses on first use and publishes the spec before
# its tasks are added (ProcessParser._parse assigns `self.spec` first), so a second thread can get a
# half-built spec, and two first parses interleave their tasks. The threads of one process share the
# catalogue (`flask crm serve` and gthread workers serve requests in threads; the scheduler runs jobs in
# threads), so building a parser and every parse happen under this lock. A spec returned is complete, and
# nothing changes it afterwards (migration parses its own: `fresh_spec_for`).
_catalogue_lock = threading.Lock()


def spec_for(key: str) -> tuple[ProcessDefinition, Any, dict[str, Any]]:
    """(current definition, spec, subprocess specs) for new instances of `key`. The parser over all
    current definitions is built once per set of current versions and kept in memory (the diagrams are read
    only to build it)."""
    current = current_definitions(without_xml=True)
    definition = current.get(key)
    if definition is None or definition.key.endswith(".dmn"):
        raise UnknownProcess()
    version_set = frozenset((d.id, d.sha256) for d in current.values())  # ids alone may be reused
    with _catalogue_lock:
        parser = _catalogue.get(version_set)
        if parser is None:
            parser = _parser(current.values())
            _catalogue.clear()  # only the newest set is needed for new instances
            _catalogue[version_set] = parser
        return definition, *_specs(parser, key)


def _specs(parser: Any, key: str) -> tuple[Any, dict[str, Any]]:
    """The parsed specs of `key`, parsed once per parser: parsing recurses along the flows, so it runs in
    `depth.deep` (a thread of its own, which costs about half a millisecond: not on every start)."""
    from crm.workflow.depth import deep

    parsed: dict[str, tuple[Any, dict[str, Any]]] = parser.__dict__.setdefault("crm_specs", {})
    if key not in parsed:
        parsed[key] = deep(lambda: (parser.get_spec(key), parser.get_subprocess_specs(key)))
    spec, subprocess_specs = parsed[key]
    return spec, dict(subprocess_specs)  # the caller's own mapping, as the parser hands out


def _parser(definitions: Any) -> Any:
    """A SpiffWorkflow parser over these definitions, DMN first (business rule tasks name them)."""
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

    parser = SpiffBpmnParser()
    for d in sorted(definitions, key=lambda d: d.key):
        if d.key.endswith(".dmn"):
            parser.add_dmn_str(d.bpmn_xml.encode(), _filename(d))
    for d in sorted(definitions, key=lambda d: d.key):
        if not d.key.endswith(".dmn"):
            parser.add_bpmn_str(d.bpmn_xml.encode(), _filename(d))
    return parser


def fresh_spec_for(key: str) -> tuple[ProcessDefinition, Any, dict[str, Any]]:
    """Like `spec_for`, from a parser of its own: spec objects the caller may change (migration adds the
    specs of completed tasks the new version removed) without touching the shared catalogue."""
    current = current_definitions()
    definition = current.get(key)
    if definition is None or definition.key.endswith(".dmn"):
        raise UnknownProcess()
    parser = _parser(current.values())
    return definition, *_specs(parser, key)


# Rules a diagram owns ---------------------------------------------------------------------------------------
def flow_condition(key: str, gateway_id: str, target_id: str) -> str | None:
    """The condition (Python text) on the flow from `gateway_id` to `target_id` in the current version of
    `key`, or None when that flow has none (a default flow) or the diagram has no such flow."""
    _definition, spec, _subprocess_specs = spec_for(key)
    for ts in spec.task_specs.values():
        if getattr(ts, "bpmn_id", None) != gateway_id:
            continue
        for condition, target in getattr(ts, "cond_task_specs", None) or []:
            if spec.task_specs[target].bpmn_id == target_id and condition is not None and condition.args:
                return str(condition.args[0])
    return None


def condition_holds(key: str, gateway_id: str, target_id: str, data: dict[str, Any]) -> bool:
    """Would the current version of `key` take the flow from `gateway_id` to `target_id` with `data`?
    The diagram's own condition, evaluated in the sandbox: application code asks the diagram instead of
    re-typing a rule it owns (a process owner who edits the condition changes both). False when the
    flow has no condition. To ask several times, read the condition once (`flow_condition`) and
    `evaluate_condition` it."""
    return evaluate_condition(flow_condition(key, gateway_id, target_id), data)


def evaluate_condition(condition: str | None, data: dict[str, Any]) -> bool:
    """A condition read from a diagram, evaluated in the sandbox against `data` (None: False)."""
    from crm.workflow.engine import script_engine

    if condition is None:
        return False
    return bool(script_engine().environment.evaluate(condition, dict(data)))
