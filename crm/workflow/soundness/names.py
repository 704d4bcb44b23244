"""What one Python snippet of a diagram reads and sets, and the type mistakes visible without running it
(`<<` with a decimal number, text compared with a number)."""

from __future__ import annotations

import ast
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from flask_babel import gettext as _


# Names read and set by one snippet --------------------------------------------------------------------------
@dataclass
class Reads:
    names: list[tuple[str, bool]] = field(default_factory=list)  # (name, called as a function)
    writes: set[str] = field(default_factory=set)
    types: dict[str, str] = field(default_factory=dict)  # name -> type of the literal a script assigns
    mistakes: list[str] = field(default_factory=list)


class _Names(ast.NodeVisitor):
    """Free names a snippet reads (before it sets them itself), the names it sets at its top level, and
    the type mistakes visible without running it."""

    def __init__(self, code: str, types: dict[str, str]) -> None:
        self.code = code
        self.known_types = types
        self.out = Reads()
        self.bound: set[str] = set()
        self.local_depth = 0

    # reads and writes
    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self._read(node.id)
        else:
            self._bind(node.id)

    def _read(self, name: str, call: bool = False) -> None:
        if name not in self.bound:
            self.out.names.append((name, call))

    def _bind(self, name: str) -> None:
        self.bound.add(name)
        if self.local_depth == 0:
            self.out.writes.add(name)

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Name):
            self._read(node.func.id, call=True)
        else:
            self.visit(node.func)
        for a in node.args:
            self.visit(a)
        for k in node.keywords:
            self.visit(k.value)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for t in node.targets:
            self.visit(t)
            kind = _literal_type(node.value)
            if isinstance(t, ast.Name) and kind and self.local_depth == 0:
                self.out.types[t.id] = kind

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
        self.visit(node.target)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if isinstance(node.target, ast.Name):
            self._read(node.target.id)
        self.visit(node.value)
        self.visit(node.target)
        self._binop_mistake(node.op, node.target, node.value, node)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self.visit(node.target)

    def visit_For(self, node: ast.For) -> None:
        self.visit(node.iter)
        self.visit(node.target)
        for s in node.body + node.orelse:
            self.visit(s)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is not None:
            self.visit(node.type)
        if node.name:
            self._bind(node.name)
        for s in node.body:
            self.visit(s)

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        if node.pattern is not None:
            self.visit(node.pattern)
        if node.name:
            self._bind(node.name)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        if node.name:
            self._bind(node.name)

    def _scoped(self, bind: Iterable[str], visit: Callable[[], None]) -> None:
        saved = set(self.bound)
        self.local_depth += 1
        self.bound |= set(bind)
        try:
            visit()
        finally:
            self.local_depth -= 1
            self.bound = saved

    def _comprehension(self, node: Any, parts: list[Any]) -> None:
        def inside() -> None:
            for gen in node.generators:
                self.visit(gen.iter)
                self.visit(gen.target)
                for cond in gen.ifs:
                    self.visit(cond)
            for p in parts:
                self.visit(p)

        self._scoped((), inside)

    def visit_ListComp(self, node: ast.ListComp) -> None:
        self._comprehension(node, [node.elt])

    def visit_SetComp(self, node: ast.SetComp) -> None:
        self._comprehension(node, [node.elt])

    def visit_GeneratorExp(self, node: ast.GeneratorExp) -> None:
        self._comprehension(node, [node.elt])

    def visit_DictComp(self, node: ast.DictComp) -> None:
        self._comprehension(node, [node.key, node.value])

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._scoped(_arg_names(node.args), lambda: self.visit(node.body))

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        for d in node.decorator_list:
            self.visit(d)
        self._bind(node.name)
        local = _arg_names(node.args) | {n.id for s in node.body for n in ast.walk(s)
                                          if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        # The body runs when called, by then the script's later assignments exist too.
        later = {n.id for n in ast.walk(self.tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        def body() -> None:
            for statement in node.body:
                self.visit(statement)

        self._scoped(local | later, body)

    def run(self, tree: ast.AST) -> Reads:
        self.tree = tree
        self.visit(tree)
        return self.out

    # type mistakes
    def visit_BinOp(self, node: ast.BinOp) -> None:
        self.visit(node.left)
        self.visit(node.right)
        self._binop_mistake(node.op, node.left, node.right, node)

    def _binop_mistake(self, op: ast.operator, left: ast.AST, right: ast.AST, node: ast.AST) -> None:
        symbols = {ast.LShift: ("<<", "<"), ast.RShift: (">>", ">"), ast.BitAnd: ("&", "and"),
                   ast.BitOr: ("|", "or"), ast.BitXor: ("^", "!=")}
        symbol = symbols.get(type(op))
        if symbol is None:
            return
        kinds = {self._type(left), self._type(right)}
        if "float" in kinds or "str" in kinds:
            self.out.mistakes.append(_(
                "%(code)s uses %(op)s, which works on whole numbers only and fails when the step runs. Did you mean "
                "%(fix)s?", code=_segment(self.code, node), op=symbol[0], fix=symbol[1]))

    def visit_Compare(self, node: ast.Compare) -> None:
        self.generic_visit(node)
        left = node.left
        for op, right in zip(node.ops, node.comparators, strict=False):
            kinds = {_number(self._type(left)), _number(self._type(right))}
            if kinds == {"str", "number"} or ("none" in kinds and len(kinds) == 2 and None not in kinds):
                if isinstance(op, (ast.Lt, ast.LtE, ast.Gt, ast.GtE)):
                    self.out.mistakes.append(_(
                        "%(code)s compares values of different types (%(a)s and %(b)s), which fails when the step "
                        "runs. Compare values of the same type (convert with float(), int() or str()).",
                        code=_segment(self.code, node), a=_type_label(_number(self._type(left))),
                        b=_type_label(_number(self._type(right)))))
                elif isinstance(op, (ast.Eq, ast.NotEq)) and "none" not in kinds:
                    self.out.mistakes.append(_(
                        "%(code)s compares text with a number: they are never equal, so the result never changes. "
                        "Compare values of the same type (e.g. '1' or 1, not both).", code=_segment(self.code, node)))
            left = right

    def _type(self, node: ast.AST) -> str | None:
        kind = _literal_type(node)
        if kind is None and isinstance(node, ast.Name):
            kind = self.known_types.get(node.id)
        return kind


def _number(kind: str | None) -> str | None:
    return "number" if kind in ("int", "float", "number") else kind


def _type_label(kind: str | None) -> str:
    labels = {"str": str(_("text")), "number": str(_("a number")), "none": "None"}
    return labels.get(kind or "", kind or "?")


def _literal_type(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool):
            return "bool"
        if isinstance(value, int):
            return "int"
        if isinstance(value, float):
            return "float"
        if isinstance(value, str):
            return "str"
        if value is None:
            return "none"
    if isinstance(node, ast.JoinedStr):
        return "str"
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return _literal_type(node.operand)
    return None


def _arg_names(args: ast.arguments) -> set[str]:
    names = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)}
    names |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
    return names


def _segment(code: str, node: ast.AST) -> str:
    text = ast.get_source_segment(code, node) or code
    return repr(text.strip()[:120])


def names_of(code: str, mode: str, types: dict[str, str] | None = None) -> Reads | None:
    """What one snippet reads and sets (None when it is not valid Python: the lint reports that)."""
    try:
        tree = ast.parse(code.strip() if mode == "eval" else code, mode=mode)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    try:
        return _Names(code.strip() if mode == "eval" else code, types or {}).run(tree)
    except RecursionError:
        return None


