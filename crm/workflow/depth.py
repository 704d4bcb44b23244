"""Deep diagrams: SpiffWorkflow's parser follows the sequence flows recursively (a few frames per element),
so a long chain of tasks runs past Python's recursion limit long before the 2 MB size limit. Parsing runs
in a thread of its own with a large stack and, while it runs, a recursion limit that every diagram under the
size limit stays within (a lock keeps the raise to one parse at a time and restores the limit after)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any
from typing import TypeVar

from crm.workflow.engine import CrmWorkflow

T = TypeVar("T")

DEEP_RECURSION_LIMIT = 100_000
DEEP_STACK_BYTES = 512 * 1024 * 1024  # address space reserved for the thread, used only as deep as it goes
_deep_lock = threading.Lock()


def deep(fn: Callable[[], T]) -> T:
    """`fn()` with room for deep recursion; returns its result or raises its exception."""
    values: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            values.append(fn())
        except BaseException as exc:  # noqa: BLE001 — handed to the caller's thread
            errors.append(exc)

    with _deep_lock:
        limit = sys.getrecursionlimit()
        size = threading.stack_size()
        try:
            threading.stack_size(DEEP_STACK_BYTES)
            thread = threading.Thread(target=run, name="crm-deep-parse")
            sys.setrecursionlimit(max(limit, DEEP_RECURSION_LIMIT))
            thread.start()
        finally:
            threading.stack_size(size)
        try:
            thread.join()
        finally:
            sys.setrecursionlimit(limit)
    if errors:
        raise errors[0]
    return values[0]


# What a step runs above the engine (server, Flask, the runtime) before the engine recurses, with room to spare.
RUNTIME_DEPTH_MARGIN = 300


def runs_within_recursion_limit(spec: Any, subprocess_specs: dict[str, Any]) -> bool:
    """Can the engine build this spec's workflow under the normal recursion limit? It predicts the task
    tree recursively along the flow (about one frame per element in a row), as every start does; tried
    here in a thread that first spends the frames a request spends above the engine."""
    fits: dict[str, bool] = {}

    def trial(depth: int) -> None:
        if depth:
            trial(depth - 1)
            return
        try:
            CrmWorkflow(spec, subprocess_specs)
            fits["ok"] = True
        except RecursionError:
            fits["ok"] = False

    with _deep_lock:  # never while a parse has the limit raised
        thread = threading.Thread(target=trial, args=(RUNTIME_DEPTH_MARGIN,), name="crm-depth-check")
        thread.start()
        thread.join()
    return fits.get("ok", False)
