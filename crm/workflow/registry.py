"""What business contexts plug into the engine, without the engine importing them (DESIGN §4):

- `@operator("sales.set_order_status")` — a service-task operator. It is called inside the step's
  transaction with an `OperatorContext` and the evaluated parameters, may write domain rows through the
  same session, and returns a JSON-serialisable result (stored in the task's result variable).
- `@simulation("sales.money_held")` — what the operator's result looks like in a dry run
  (`crm.workflow.dryrun`), where operators are not executed: a function of the same context and parameters
  that writes nothing. An operator without one gives its parameters back (`{"status": "…"}`).
- `@script_function("resolve_approvers")` — a function scripts, conditions and expressions may call.
- `register_forms_dir(path)` — another folder holding `<process>.<task>.schema.json` files.
- `register_contract(ProcessContract(...))` — what the application relies on in a process (messages it
  sends that the diagram must catch, the statuses its object has, steps that must run before a status is
  shown). Deployment refuses a diagram that breaks a contract (`crm.workflow.soundness`).

Each context registers in its own `bpmn.py`, imported by `create_app`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

if TYPE_CHECKING:
    from crm.org.models import User

OperatorFn = Callable[..., Any]


@dataclass(frozen=True)
class OperatorContext:
    """What an operator knows about the step that calls it."""

    instance_id: int
    process_key: str
    object_type: str | None
    object_id: int | None
    store_id: int | None
    actor_id: int | None  # the user whose action runs the step; None for timers and messages from jobs
    task_bpmn_id: str
    data: dict[str, Any]  # a copy of the task's data: read, don't write (return values instead)

    def actor(self) -> User | None:
        """The user whose action runs the step, for the services an operator calls (they take `actor:
        User`; the id stays inside the engine's adapter). None for timers and messages from jobs."""
        if self.actor_id is None:
            return None
        from crm.extensions import db
        from crm.org.models import User as UserModel

        return db.session.get(UserModel, self.actor_id)


@dataclass(frozen=True)
class StepsBefore:
    """Steps that must run on every path from the start before an element shows `status`: each step is
    "operator:<name>" (a service task calling that operator) or "form:<file>" (a user task with that form).
    `why` says, in the reader's language, what the application relies on."""

    status: str
    steps: tuple[str, ...]
    why: Any


@dataclass(frozen=True)
class ProcessContract:
    """What a business context relies on in the diagram of `process`, registered from its `bpmn.py`: the
    rule stays the context's (the diagram may change, the application's expectations do not).

    - `catches`: message name -> why (who sends it); the diagram must still catch each one;
    - `statuses`: every status its object can have (its enum); a status property, or a literal `status`
      service parameter, outside them is refused;
    - `before`: steps required before a status is shown (`StepsBefore`)."""

    process: str
    catches: dict[str, Any] = field(default_factory=dict)
    statuses: tuple[str, ...] = ()
    object_label: Any = None
    before: tuple[StepsBefore, ...] = ()


_contracts: dict[str, list[ProcessContract]] = {}
_operators: dict[str, OperatorFn] = {}
_simulations: dict[str, OperatorFn] = {}
_functions: dict[str, Callable[..., Any]] = {}
_forms_dirs: list[Path] = [Path(__file__).resolve().parents[2] / "forms"]


def operator(name: str) -> Callable[[OperatorFn], OperatorFn]:
    def decorator(fn: OperatorFn) -> OperatorFn:
        existing = _operators.get(name)
        if existing is not None and existing is not fn and existing.__qualname__ != fn.__qualname__:
            raise ValueError(f"service operator {name!r} is registered twice")
        _operators[name] = fn
        return fn

    return decorator


def simulation(name: str) -> Callable[[OperatorFn], OperatorFn]:
    """The dry run's stand-in for operator `name`: called like the operator, returns a result of the same
    shape, and never touches the database."""
    def decorator(fn: OperatorFn) -> OperatorFn:
        _simulations[name] = fn
        return fn

    return decorator


def simulation_of(name: str) -> OperatorFn | None:
    return _simulations.get(name)


def script_function(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        _functions[name] = fn
        return fn

    return decorator


def register_forms_dir(path: str | Path) -> None:
    p = Path(path).resolve()
    if p not in _forms_dirs:
        _forms_dirs.append(p)


def register_contract(contract: ProcessContract) -> None:
    """Several contexts may register contracts for one process (sales and finance for the order pipeline);
    registering the same contract again (a second app in one process) changes nothing."""
    mine = _contracts.setdefault(contract.process, [])
    if contract not in mine:
        mine.append(contract)


def contracts(process: str) -> list[ProcessContract]:
    return list(_contracts.get(process, ()))


def operators() -> dict[str, OperatorFn]:
    return dict(_operators)


def get_operator(name: str) -> OperatorFn | None:
    return _operators.get(name)


def functions() -> dict[str, Callable[..., Any]]:
    return dict(_functions)


def find_form(filename: str) -> Path | None:
    """The form file of that name in the registered folders (no path components allowed)."""
    if not filename or "/" in filename or "\\" in filename or filename.startswith("."):
        return None
    for folder in _forms_dirs:
        candidate = folder / filename
        if candidate.is_file():
            return candidate
    return None


def form_files() -> list[str]:
    """Every form file name in the registered folders (the editor offers them)."""
    names: set[str] = set()
    for folder in _forms_dirs:
        if folder.is_dir():
            names.update(p.name for p in folder.glob("*.json") if p.is_file())
    return sorted(names)
