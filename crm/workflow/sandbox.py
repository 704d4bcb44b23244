"""The sandbox for everything a diagram evaluates: scripts, pre/post scripts, gateway conditions,
multi-instance and timer expressions, service-task parameters and `assignee` expressions.

A process owner (`process.deploy`) is not the server's administrator (DESIGN §6): nothing a diagram
evaluates may reach Python internals, imports, files, the network, the configuration or other instances.
Snippets are compiled by RestrictedPython with a stricter policy than its default and run against guards
that allow only what the processes need:

- compile time (refused at deployment, with the element and line): names and attributes starting with
  `_`, frame and code attributes, imports, `exec`/`eval`, class definitions, a bare `except:` and
  `finally:` (either would let a script outlive its step's time budget, which arrives as an exception),
  `nonlocal`, async code, f-string format specifications that are not small constants;
- run time: attribute access only on an allowlist of value types (str, numbers, Decimal, dates, dict,
  list, tuple, set) and of the exposed classes, never `str.format`; `*`, `**`, `<<`, `+` and `%` refuse
  results past a size limit (memory bombs); `range` is bounded; the builtins are a short list with no
  `type`, `getattr`, `open`, `__import__`, `vars` or `globals`.

The step's time budget (`crm.workflow.budget`) stops whatever still runs too long."""

from __future__ import annotations

import ast
import builtins as python_builtins
import math
import operator
import re
from collections.abc import Callable
from collections.abc import Iterable
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from RestrictedPython import compile_restricted_eval
from RestrictedPython import compile_restricted_exec
from RestrictedPython.Guards import guarded_iter_unpack_sequence
from RestrictedPython.Guards import guarded_unpack_sequence
from RestrictedPython.transformer import RestrictingNodeTransformer
from RestrictedPython.transformer import copy_locations

MAX_TEXT = 10_000_000  # characters (or bytes) of one string a snippet may build
MAX_ITEMS = 1_000_000  # items of one list, tuple or range
MAX_INT_BITS = 100_000  # about 30,000 decimal digits
MAX_FORMAT_WIDTH = 1_000  # width or precision in a format specification


class SandboxViolation(Exception):
    """A snippet tried something the sandbox does not allow (the message says what)."""


# Compile time -------------------------------------------------------------------------------------------
_GUARDED_BINOPS: dict[type[ast.operator], str] = {
    ast.Pow: "**", ast.Mult: "*", ast.LShift: "<<", ast.Add: "+", ast.Mod: "%",
}
_NUMBER_IN_SPEC = re.compile(r"\d+")
_BUILTIN_NAMES = (
    "abs", "all", "any", "bool", "dict", "enumerate", "filter", "float", "int", "isinstance", "len", "list",
    "map", "max", "min", "reversed", "round", "set", "sorted", "str", "sum", "tuple", "zip", "range",
    "ValueError", "KeyError", "None", "True", "False",
)
# Python's builtins a snippet does not get: calling one is refused at deployment rather than at run time.
_UNAVAILABLE_BUILTINS = frozenset(n for n in dir(python_builtins) if not n.startswith("_")) - frozenset(_BUILTIN_NAMES)


class Policy(RestrictingNodeTransformer):
    """RestrictedPython's policy, stricter where a time budget or memory is at stake."""

    def visit_Import(self, node: ast.Import) -> Any:
        self.error(node, "Imports are not allowed in diagrams.")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> Any:
        self.error(node, "Imports are not allowed in diagrams.")

    def visit_ClassDef(self, node: ast.ClassDef) -> Any:
        self.error(node, "Class definitions are not allowed in diagrams.")

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> Any:
        if node.type is None:
            self.error(node, "A bare 'except:' is not allowed: name the exceptions (ValueError, KeyError).")
        return super().visit_ExceptHandler(node)

    def visit_Try(self, node: ast.Try) -> Any:
        if node.finalbody:
            self.error(node, "'finally:' is not allowed in diagrams.")
        return super().visit_Try(node)

    def visit_TryStar(self, node: ast.AST) -> Any:
        self.error(node, "'except*' is not allowed in diagrams.")

    def visit_With(self, node: ast.With) -> Any:
        self.error(node, "'with' is not allowed in diagrams.")

    def visit_Global(self, node: ast.Global) -> Any:
        self.error(node, "'global' is not allowed in diagrams.")

    def visit_FormattedValue(self, node: ast.FormattedValue) -> Any:
        spec = node.format_spec
        if spec is not None:
            for part in getattr(spec, "values", [spec]):
                if not isinstance(part, ast.Constant):
                    self.error(node, "An f-string format specification must be written out, not computed.")
                elif any(int(n) > MAX_FORMAT_WIDTH for n in _NUMBER_IN_SPEC.findall(str(part.value))):
                    self.error(node, f"An f-string width or precision may not exceed {MAX_FORMAT_WIDTH}.")
        return super().visit_FormattedValue(node)

    def visit_Call(self, node: ast.Call) -> Any:
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name in _UNAVAILABLE_BUILTINS:
            self.error(node, f"{name}() is not available in diagrams.")
        return super().visit_Call(node)

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        node = self.node_contents_visit(node)
        symbol = _GUARDED_BINOPS.get(type(node.op))
        if symbol is None:
            return node
        call = ast.Call(func=ast.Name("_binop_", ast.Load()), args=[ast.Constant(symbol), node.left, node.right],
                        keywords=[])
        copy_locations(call, node)
        return call


def _errors_text(errors: Iterable[str]) -> str:
    return " ".join(errors)


@lru_cache(maxsize=4096)
def _compiled(source: str, mode: str) -> Any:
    """Code object for a snippet, or the SandboxViolation that refuses it (cached both ways: diagrams
    evaluate the same few snippets on every step)."""
    compile_fn = compile_restricted_eval if mode == "eval" else compile_restricted_exec
    try:
        result = compile_fn(source.strip() if mode == "eval" else source, filename="<string>", policy=Policy)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        return SandboxViolation(f"The snippet cannot be compiled: {exc}")
    if result.errors:
        return SandboxViolation(_errors_text(result.errors))
    return result.code


def check(source: str, mode: str) -> list[str]:
    """The reasons the sandbox refuses `source` (mode "eval" or "exec"), empty when it compiles."""
    compiled = _compiled(source, mode)
    return [str(compiled)] if isinstance(compiled, SandboxViolation) else []


def compiled(source: str, mode: str) -> Any:
    found = _compiled(source, mode)
    if isinstance(found, SandboxViolation):
        raise found
    return found


# Run time: attributes -----------------------------------------------------------------------------------
def _public(kind: type, *, without: Iterable[str] = ()) -> frozenset[str]:
    return frozenset(n for n in dir(kind) if not n.startswith("_")) - frozenset(without)


_TEXT_UNSAFE = ("format", "format_map")
SIZED_TEXT_METHODS = frozenset({"ljust", "rjust", "center", "zfill", "expandtabs", "replace", "join"})

ATTRIBUTES: dict[type, frozenset[str]] = {
    str: _public(str, without=_TEXT_UNSAFE),
    bytes: _public(bytes),
    bool: _public(bool),
    int: _public(int),
    float: _public(float),
    Decimal: _public(Decimal),
    date: _public(date),
    datetime: _public(datetime),
    time: _public(time),
    timedelta: _public(timedelta),
    dict: _public(dict),
    list: _public(list),
    tuple: _public(tuple),
    set: _public(set),
    frozenset: _public(frozenset),
    ValueError: frozenset({"args"}),
    KeyError: frozenset({"args"}),
}
# The classes scripts are given, as objects: `datetime.now()`, `date.today()`, `Decimal.from_float(x)`.
CLASS_ATTRIBUTES: dict[type, frozenset[str]] = {
    kind: _public(kind) for kind in (Decimal, date, datetime, timedelta)
}


def _text_method(value: str | bytes, name: str) -> Callable[..., Any]:
    """`value.<name>` with the size of its result checked before it is built."""
    method = getattr(value, name)

    def guarded(*args: Any, **kwargs: Any) -> Any:
        if name == "join":
            items = list(args[0]) if args else []
            total = sum(len(i) for i in items if isinstance(i, (str, bytes))) + len(value) * max(len(items) - 1, 0)
            _limit_text(total)
            return method(items)
        if name == "replace" and len(args) >= 2:
            old, new = args[0], args[1]
            count = args[2] if len(args) > 2 else kwargs.get("count", -1)
            hits = value.count(old) if old else len(value) + 1
            if isinstance(count, int) and count >= 0:
                hits = min(hits, count)
            _limit_text(len(value) + hits * max(len(new) - len(old), 0))
        elif name == "expandtabs":
            size = args[0] if args else kwargs.get("tabsize", 8)
            if isinstance(size, int):
                tabs = value.count("\t") if isinstance(value, str) else value.count(b"\t")
                _limit_text(len(value) + tabs * max(size, 0))
        elif args and isinstance(args[0], int):  # ljust, rjust, center, zfill: the width
            _limit_text(args[0])
        return method(*args, **kwargs)

    return guarded


def guarded_getattr(obj: Any, name: str, default: Any = None) -> Any:
    """`obj.name` for the allowed types and classes only (compile time already refused `_` names)."""
    kind = type(obj)
    allowed = ATTRIBUTES.get(kind)
    if allowed is None and isinstance(obj, type):
        allowed = CLASS_ATTRIBUTES.get(obj)
        if allowed is not None and name in allowed:
            return getattr(obj, name)
        raise SandboxViolation(f"Attributes of {getattr(obj, '__name__', 'this class')!s} are not available in diagrams.")
    if allowed is None:
        raise SandboxViolation(f"Attributes of a {kind.__name__} value are not available in diagrams.")
    if name not in allowed:
        if kind in (str, bytes) and name in _TEXT_UNSAFE:
            raise SandboxViolation("str.format is not available in diagrams: use an f-string.")
        raise SandboxViolation(f"{kind.__name__} has no attribute {name!r} that diagrams may use.")
    if kind in (str, bytes) and name in SIZED_TEXT_METHODS:
        return _text_method(obj, name)
    return getattr(obj, name)


def _write(obj: Any) -> Any:
    """Targets of `x[k] = v` and `del x[k]`: the task data's own containers only."""
    if type(obj) in (dict, list):
        return obj
    raise SandboxViolation(f"A {type(obj).__name__} value cannot be changed in diagrams.")


# Run time: sizes ----------------------------------------------------------------------------------------
def _limit_text(size: int) -> None:
    if size > MAX_TEXT:
        raise SandboxViolation(f"The result would have {size} characters; diagrams may build at most {MAX_TEXT}.")


def _limit_items(size: int) -> None:
    if size > MAX_ITEMS:
        raise SandboxViolation(f"The result would have {size} items; diagrams may build at most {MAX_ITEMS}.")


def _limit_bits(bits: float) -> None:
    if bits > MAX_INT_BITS:
        raise SandboxViolation(f"The number would have about {int(bits)} bits; diagrams may use at most {MAX_INT_BITS}.")


def _is_int(value: Any) -> bool:
    return isinstance(value, int)  # bool included


def _sequence_size(value: Any, times: Any) -> None:
    if isinstance(value, (str, bytes)):
        _limit_text(len(value) * times)
    elif isinstance(value, (list, tuple)):
        _limit_items(len(value) * times)


_PERCENT_DIRECTIVE = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_percent(template: str | bytes) -> None:
    text = template.decode("latin-1") if isinstance(template, bytes) else template
    for width, precision in _PERCENT_DIRECTIVE.findall(text):
        for part in (width, precision):
            if part == "*" or (part and int(part) > MAX_FORMAT_WIDTH):
                raise SandboxViolation(f"A %-format width or precision may not be computed or exceed {MAX_FORMAT_WIDTH}.")


_PLAIN_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "**": operator.pow, "*": operator.mul, "<<": operator.lshift, "+": operator.add, "%": operator.mod,
    "-": operator.sub, "/": operator.truediv, "//": operator.floordiv, ">>": operator.rshift, "&": operator.and_,
    "|": operator.or_, "^": operator.xor, "@": operator.matmul,
}


def guarded_binop(symbol: str, left: Any, right: Any) -> Any:
    """`left <symbol> right` with the size of the result bounded before it is computed."""
    if symbol == "**":
        if _is_int(left) and _is_int(right) and right > 0 and abs(left) > 1:
            _limit_bits(right * math.log2(abs(left)))
    elif symbol == "*":
        if _is_int(left) and _is_int(right):
            _limit_bits(left.bit_length() + right.bit_length())
        elif _is_int(right):
            _sequence_size(left, right)
        elif _is_int(left):
            _sequence_size(right, left)
    elif symbol == "<<":
        if _is_int(left) and _is_int(right) and left:
            _limit_bits(left.bit_length() + right)
    elif symbol == "+":
        if isinstance(left, (str, bytes)) and isinstance(right, (str, bytes)):
            _limit_text(len(left) + len(right))
        elif isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
            _limit_items(len(left) + len(right))
    elif symbol == "%" and isinstance(left, (str, bytes)):
        _check_percent(left)
    return _PLAIN_OPS[symbol](left, right)


def guarded_inplace(symbol: str, left: Any, right: Any) -> Any:
    """`x op= y` (RestrictedPython hands over "+=" etc.): the same bounds as the plain operator."""
    return guarded_binop(symbol[:-1], left, right)


def bounded_range(*args: int) -> range:
    result = range(*args)
    _limit_items(len(result))
    return result


# Globals ------------------------------------------------------------------------------------------------
def _call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return fn(*args, **kwargs)


# C code of the standard library imports through the calling frame's builtins: `date.today()` imports
# `time`, `datetime.strptime` imports `_strptime`. Snippets cannot name `__import__` (compile time refuses
# `_` names), so it serves those modules only.
_LIBRARY_IMPORTS = frozenset({"time", "_strptime"})


def _library_import(name: str, *args: Any, **kwargs: Any) -> Any:
    if name not in _LIBRARY_IMPORTS:
        raise SandboxViolation("Imports are not allowed in diagrams.")
    import importlib

    return importlib.import_module(name)


def builtin_names() -> tuple[str, ...]:
    """The names of the builtins snippets get (deployment's name check knows them)."""
    return _BUILTIN_NAMES


def builtins() -> dict[str, Any]:
    found = {name: getattr(python_builtins, name) for name in _BUILTIN_NAMES if name != "range"}
    found["range"] = bounded_range
    found["__import__"] = _library_import
    return found


GUARDS: dict[str, Any] = {
    "_getattr_": guarded_getattr,
    "_getitem_": operator.getitem,
    "_getiter_": iter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": _write,
    "_inplacevar_": guarded_inplace,
    "_apply_": _call,
    "_binop_": guarded_binop,
}
