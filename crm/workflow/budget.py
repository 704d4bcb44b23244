"""A time budget for every process step (DESIGN §6): whatever a step runs past the limit is stopped.

A step runs the engine in the request's (or the job's) own thread, under `flask crm serve`'s threads as
under gunicorn's workers, so neither a signal (main thread only) nor a child process (too slow for every
step) can stop it. One watchdog thread per process keeps the deadlines; when one passes while its step
still runs, it raises `StepTimeout` in that thread (`PyThreadState_SetAsyncExc`), which Python delivers
at the next bytecode boundary: a `while True:` in a script is stopped at once, a long C call when it
returns. `StepTimeout` derives from BaseException so the library's `except Exception` handlers let it
through, and the sandbox refuses the `except:` and `finally:` a script could catch it with.

The runtime rolls the step back and records the error on the instance; PostgreSQL's
`statement_timeout` bounds what a statement can wait on meanwhile, and `idle_in_transaction_session_
timeout` any transaction a stuck process leaves open."""

from __future__ import annotations

import ctypes
import heapq
import itertools
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from time import monotonic

DEFAULT_SECONDS = 5.0


class StepTimeout(BaseException):  # noqa: N818 — it is delivered like KeyboardInterrupt, not raised by code
    """The step ran past its time budget."""

    def __init__(self, seconds: float | None = None) -> None:
        super().__init__(seconds)
        self.seconds = seconds


@dataclass(order=True)
class _Deadline:
    at: float
    seq: int
    thread_id: int = field(compare=False)
    seconds: float = field(compare=False)
    active: bool = field(default=True, compare=False)
    fired: bool = field(default=False, compare=False)


class _Watchdog:
    def __init__(self) -> None:
        self._lock = threading.Condition(threading.Lock())
        self._heap: list[_Deadline] = []
        self._seq = itertools.count()
        self._pid: int | None = None

    def _ensure_thread(self) -> None:
        # Started lazily, and again in a forked worker (a fork keeps only the forking thread).
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._heap.clear()
            threading.Thread(target=self._run, name="crm-step-budget", daemon=True).start()

    def arm(self, seconds: float) -> _Deadline:
        entry = _Deadline(monotonic() + seconds, next(self._seq), threading.get_ident(), seconds)
        with self._lock:
            self._ensure_thread()
            heapq.heappush(self._heap, entry)
            if self._heap[0] is entry:
                self._lock.notify()
        return entry

    def disarm(self, entry: _Deadline) -> None:
        with self._lock:
            entry.active = False
            if entry.fired:
                # Raised but perhaps not yet delivered: the step finished meanwhile, so take it back
                # (a NULL exception clears the thread's pending one).
                _set_async_exc(entry.thread_id, None)

    def _run(self) -> None:
        pid = os.getpid()
        with self._lock:
            while pid == self._pid:
                while self._heap and not self._heap[0].active:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._lock.wait()
                    continue
                wait = self._heap[0].at - monotonic()
                if wait > 0:
                    self._lock.wait(wait)
                    continue
                entry = heapq.heappop(self._heap)
                entry.fired = True
                _set_async_exc(entry.thread_id, StepTimeout)


def _set_async_exc(thread_id: int, exc: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc else None)


_watchdog = _Watchdog()
_local = threading.local()


@contextmanager
def budget(seconds: float | None) -> Iterator[bool]:
    """Run the block under a deadline of `seconds` (None or <= 0: no limit). Yields whether this is the
    outermost budget of the thread: a step that runs inside another (a message sent by an operator)
    shares the outer deadline, and only the outermost step records the timeout."""
    if getattr(_local, "depth", 0) or not seconds or seconds <= 0:
        _local.depth = getattr(_local, "depth", 0) + 1
        try:
            yield not (_local.depth - 1)
        finally:
            _local.depth -= 1
        return
    _local.depth = 1
    entry = _watchdog.arm(seconds)
    try:
        yield True
    except StepTimeout as exc:
        exc.seconds = seconds
        raise
    finally:
        _local.depth = 0
        _watchdog.disarm(entry)
