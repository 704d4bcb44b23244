"""The one validation pipeline every deployment goes through (files from processes/, editor saves).

It collects every problem it can find instead of stopping at the first: XML syntax, the BPMN + spiff
XSD, the parser's structural checks (`get_spec`, sub-process specs), a lint of every Python snippet
(conditions, scripts, pre/post scripts, multi-instance expressions, service parameters, timers — the
library only finds those at run time), unknown service operators, missing form files, and files
without an executable process. Each problem names the file, the element id and the line."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from functools import partial
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from crm.workflow import deadlines
from crm.workflow import registry
from crm.workflow import sandbox
from crm.workflow import soundness
from crm.workflow.depth import deep
from crm.workflow.depth import runs_within_recursion_limit

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
# No network, no entity expansion: uploaded XML is untrusted input (XXE, billion laughs).
_XML_PARSER = etree.XMLParser(
    resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False, remove_comments=False
)


@dataclass(frozen=True)
class Problem:
    file: str
    message: str
    element_id: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}"
        if self.line:
            where += _(", line %(line)s", line=self.line)
        if self.element_id:
            where += _(", element %(element)s", element=self.element_id)
        return f"{where}: {self.message}"


@dataclass
class ParsedFile:
    filename: str
    tree: Any
    main_process: str | None
    process_name: str | None
    lines: dict[str, int] = field(default_factory=dict)


@dataclass
class ValidationResult:
    problems: list[Problem]
    files: dict[str, ParsedFile]
    parser: SpiffBpmnParser | None

    @property
    def ok(self) -> bool:
        return not self.problems


def _text(exc: BaseException) -> str:
    return str(exc.args[0]) if exc.args else type(exc).__name__


def _parse_xml(filename: str, content: bytes, problems: list[Problem]) -> Any | None:
    try:
        tree = etree.fromstring(content, _XML_PARSER)
    except etree.XMLSyntaxError as exc:
        problems.append(Problem(filename, _("XML syntax error: %(error)s", error=exc.msg), line=exc.lineno))
        return None
    except ValueError as exc:  # e.g. a str with an encoding declaration
        problems.append(Problem(filename, _("Not a readable XML document: %(error)s", error=exc)))
        return None
    if tree.getroottree().docinfo.doctype:
        # Entities are left unexpanded above, but a stored file is parsed again later by the library's
        # own parser (default settings): refuse DTDs outright. BPMN and DMN files never need one.
        problems.append(Problem(filename, _("The file declares a DOCTYPE (DTD or entities), which diagrams may not "
                                            "contain."), line=_line_of(content, b"<!DOCTYPE")))
        return None
    return tree


def _line_of(content: bytes, marker: bytes) -> int | None:
    at = content.find(marker)
    return content.count(b"\n", 0, at) + 1 if at >= 0 else None


def _xsd(filename: str, tree: Any, problems: list[Problem]) -> None:
    try:
        VALIDATOR.preprocess(tree)
        schema = VALIDATOR.validator
        if not schema.validate(tree):
            for err in schema.error_log:
                problems.append(Problem(filename, _("Schema: %(error)s", error=err.message), line=err.line or None))
    except Exception as exc:  # noqa: BLE001 — anything the schema code raises is a problem of the file
        problems.append(Problem(filename, _("Schema check failed: %(error)s", error=_text(exc))))


def _main_process(filename: str, tree: Any) -> tuple[str | None, str | None]:
    stem = filename.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    executable = [
        p for p in tree.iter(f"{{{BPMN_NS}}}process") if (p.get("isExecutable") or "").lower() == "true"
    ]
    for p in executable:
        if p.get("id") == stem:
            return p.get("id"), p.get("name")
    if executable:
        return executable[0].get("id"), executable[0].get("name")
    return None, None


def validate_files(
    candidates: Mapping[str, bytes],
    context: Mapping[str, bytes] | None = None,
    *,
    known_operators: set[str] | None = None,
    check_forms: bool = True,
) -> ValidationResult:
    """Validate `candidates` (filename -> content). `context` holds the current versions of the other
    deployed files, so call activities into them resolve; it is not itself reported on."""
    problems: list[Problem] = []
    files: dict[str, ParsedFile] = {}
    operators = known_operators if known_operators is not None else set(registry.operators())
    for filename, content in candidates.items():
        tree = _parse_xml(filename, content, problems)
        if tree is None:
            continue
        if filename.endswith(".dmn"):
            files[filename] = ParsedFile(filename, tree, None, None)
            continue
        _xsd(filename, tree, problems)
        main, name = _main_process(filename, tree)
        lines = {el.get("id"): el.sourceline for el in tree.iter() if isinstance(el.tag, str) and el.get("id")}
        if main is None:
            problems.append(Problem(filename, _('The file has no executable process (isExecutable="true").')))
        files[filename] = ParsedFile(filename, tree, main, name, lines)
    if not files:
        return ValidationResult(problems, files, None)

    parser = SpiffBpmnParser()  # a fresh parser per validation (guide §2.5); the XSD ran above
    candidate_processes: set[str] = set()
    processes: dict[str, Any] = {}  # process id -> element, for the deep checks of call activities
    for pf in files.values():
        candidate_processes.update(p.get("id") for p in pf.tree.iter(f"{{{BPMN_NS}}}process"))
        processes.update((p.get("id"), p) for p in pf.tree.iter(f"{{{BPMN_NS}}}process"))
    for filename, content in (context or {}).items():
        if filename in candidates:
            continue
        tree = _parse_xml(filename, content, [])
        if tree is None:
            continue
        if {p.get("id") for p in tree.iter(f"{{{BPMN_NS}}}process")} & candidate_processes:
            continue  # the candidate replaces this file
        processes.update((p.get("id"), p) for p in tree.iter(f"{{{BPMN_NS}}}process"))
        try:
            if filename.endswith(".dmn"):
                parser.add_dmn_xml(tree, filename)
            else:
                parser.add_bpmn_xml(tree, filename)
        except Exception:  # noqa: BLE001,S112 — context files were valid when deployed; skip what no longer loads
            continue
    added: list[ParsedFile] = []
    for pf in files.values():
        try:
            if pf.filename.endswith(".dmn"):
                parser.add_dmn_xml(pf.tree, pf.filename)
            else:
                parser.add_bpmn_xml(pf.tree, pf.filename)
                added.append(pf)
        except ValidationException as exc:
            problems.append(_from_validation(pf, exc))
        except Exception as exc:  # noqa: BLE001
            problems.append(Problem(pf.filename, _("The diagram cannot be read: %(error)s", error=_text(exc))))

    for pf in added:
        if pf.main_process is None:
            continue
        specs = []
        try:
            specs.append(deep(partial(parser.get_spec, pf.main_process)))
        except ValidationException as exc:
            problems.append(_from_validation(pf, exc))
            continue
        except Exception as exc:  # noqa: BLE001
            problems.append(Problem(pf.filename, _("The process cannot be built: %(error)s", error=_text(exc))))
            continue
        try:
            subprocess_specs = deep(partial(parser.get_subprocess_specs, pf.main_process))
            specs.extend(subprocess_specs.values())
            if not runs_within_recursion_limit(specs[0], subprocess_specs):
                # A loop with no way out looks endless to the engine too: say that, when it is the reason.
                problems.extend(deep_check(pf, processes) or [Problem(pf.filename, _(
                    "The process is too deep for the engine: too many of its %(count)s elements follow one another "
                    "in a row. Split it into called processes (call activities).", count=len(specs[0].task_specs)))])
                continue
        except ValidationException as exc:
            problems.append(_from_validation(pf, exc))
        except Exception as exc:  # noqa: BLE001
            problems.append(Problem(pf.filename, _("A called or embedded process cannot be built: %(error)s", error=_text(exc))))
        for spec in specs:
            # Lint what this file defines (its processes and embedded sub-processes), not called files.
            if spec is not None and spec.name in pf.lines:
                problems.extend(lint_spec(spec, pf, operators, check_forms))
        problems.extend(deep_check(pf, processes))
    return ValidationResult(_dedupe(problems), files, parser)


def deep_check(pf: ParsedFile, processes: dict[str, Any]) -> list[Problem]:
    """What would break when the diagram runs (`crm.workflow.soundness`): flow, names, contracts."""
    found: list[Problem] = []

    def report(element_id: str, message: str) -> None:
        found.append(Problem(pf.filename, message, element_id, pf.lines.get(element_id)))

    process = next((p for p in pf.tree.iter(f"{{{BPMN_NS}}}process") if p.get("id") == pf.main_process), None)
    if process is not None:
        soundness.check_process(process, processes, _kind_label, report)
    return found


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[Any, ...]] = set()
    out = []
    for p in problems:
        key = (p.file, p.element_id, p.line, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def _from_validation(pf: ParsedFile, exc: ValidationException) -> Problem:
    element = getattr(exc, "id", None) or None
    line = getattr(exc, "line_number", None) or (pf.lines.get(element) if element else None)
    notes = [n for n in getattr(exc, "notes", []) if n]
    message = _text(exc) + (" " + " ".join(notes) if notes else "")
    return Problem(getattr(exc, "file_name", None) or pf.filename, message.strip(), element, int(line) if line else None)


# Lint of the Python snippets -----------------------------------------------------------------------------
def _snippets(ts: Any) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    for cond, _target in getattr(ts, "cond_task_specs", None) or []:
        if cond is not None and getattr(cond, "args", None):
            out.append(("condition", cond.args[0], "eval"))
    if getattr(ts, "script", None):
        out.append(("script", ts.script, "exec"))
    for attr in ("prescript", "postscript"):
        if getattr(ts, attr, None):
            out.append((attr, getattr(ts, attr), "exec"))
    if isinstance(getattr(ts, "cardinality", None), str):
        out.append(("loop cardinality", ts.cardinality, "eval"))
    if isinstance(getattr(ts, "condition", None), str):
        out.append(("completion condition", ts.condition, "eval"))
    for name, param in (getattr(ts, "operation_params", None) or {}).items():
        value = param.get("value") if isinstance(param, dict) else None
        if isinstance(value, str):
            out.append((f"service parameter {name!r}", value, "eval"))
    ed = getattr(ts, "event_definition", None)
    for d in ed.event_definitions if isinstance(ed, MultipleEventDefinition) else [ed]:
        if isinstance(d, TimerEventDefinition):
            out.append(("timer", d.expression, "eval"))
    properties = (getattr(ts, "extensions", None) or {}).get("properties") or {}
    for name in ("assignee", "exclude"):
        expr = properties.get(name)
        if isinstance(expr, str) and expr.strip():
            out.append((name, expr.strip(), "eval"))
    due = properties.get("due")
    if isinstance(due, str) and deadlines.is_expression(due):
        out.append(("due", due.strip(), "eval"))
    return out


def _timer_problem(code: str) -> str | None:
    body = ast.parse(code, mode="eval").body
    if isinstance(body, ast.Name) and body.id[:1] in "PR" and any(c.isdigit() for c in body.id):
        return str(_('The timer %(code)s is a Python expression, not ISO text: write "%(text)s" with quotes.',
                     code=repr(code), text=code))
    if isinstance(body, ast.Constant) and isinstance(body.value, str):
        value = body.value
        try:
            if value.upper().startswith("R"):
                TimerEventDefinition.parse_iso_recurring_interval(value)
            else:
                TimerEventDefinition.parse_time_or_duration(value)
        except Exception as exc:  # noqa: BLE001 — the library raises bare Exception('Invalid duration')
            return str(_("The timer value %(value)s is not a valid ISO 8601 date, duration or cycle (%(error)s).",
                         value=repr(value), error=_text(exc)))
    return None


KIND_LABELS = {
    "condition": _l("condition"),
    "script": _l("script"),
    "prescript": _l("pre-script"),
    "postscript": _l("post-script"),
    "loop cardinality": _l("loop cardinality"),
    "completion condition": _l("completion condition"),
    "timer": _l("timer"),
    "assignee": _l("assignee expression"),
    "exclude": _l("exclude expression"),
    "due": _l("due expression"),
    "multi-instance collection": _l("multi-instance collection"),
    "loop condition": _l("loop condition"),
}


def _kind_label(kind: str) -> str:
    if kind.startswith("service parameter "):
        return str(_("service parameter %(name)s", name=kind[len("service parameter "):]))
    return str(KIND_LABELS.get(kind, kind))


def lint_spec(spec: Any, pf: ParsedFile, operators: set[str], check_forms: bool) -> list[Problem]:
    problems: list[Problem] = []
    for ts in spec.task_specs.values():
        bpmn_id = getattr(ts, "bpmn_id", None)
        if not bpmn_id:
            continue
        line = pf.lines.get(bpmn_id)

        def add(message: str, _bpmn_id: str = bpmn_id, _line: int | None = line) -> None:
            problems.append(Problem(pf.filename, message, _bpmn_id, _line))

        for kind, code, mode in _snippets(ts):
            try:
                ast.parse(code, mode=mode)
            except SyntaxError as exc:
                add(_("The %(kind)s is not valid Python: %(error)s (line %(line)s): %(code)s.", kind=_kind_label(kind),
                      error=exc.msg, line=exc.lineno, code=repr(code)))
                continue
            refused = sandbox.check(code, mode)
            if refused:
                add(_("The %(kind)s is refused by the sandbox: %(error)s", kind=_kind_label(kind),
                      error=" ".join(refused)))
                continue
            if kind == "timer":
                problem = _timer_problem(code)
                if problem:
                    add(problem)
        properties = (getattr(ts, "extensions", None) or {}).get("properties") or {}
        for prop in ("due", "remind", "escalate_after"):
            value = properties.get(prop)
            if isinstance(value, str) and not deadlines.literal_ok(prop, value):
                add(_("The task's %(name)s property %(value)s is not a duration of working time such as PT4H, P2D "
                      "or P1DT4H (ISO 8601, without years and months).", name=prop, value=repr(value.strip())))
        op = getattr(ts, "operation_name", None)
        if op is not None and op not in operators:
            add(_("Unknown service operator %(name)s.", name=repr(op)))
        if check_forms:
            ext = getattr(ts, "extensions", None) or {}
            for key in ("formJsonSchemaFilename", "formUiSchemaFilename"):
                name = ext.get(key)
                if name and registry.find_form(name) is None:
                    add(_("The form file %(name)s does not exist in forms/.", name=repr(name)))
    return problems


# Public names for the editor's save (it reads the process id before deploying).
parse_xml = _parse_xml
main_process = _main_process


def spiff_error_text(exc: SpiffWorkflowException) -> str:
    return _text(exc)
