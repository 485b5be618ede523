"""Which names a notice template may use: its AST walked against the merge-field catalogue.

Every ``Name``/``Getattr``/``Getitem`` must resolve to a declared field
(``merge_fields.CATALOGUE``), a loop variable (a loop over ``assemblies`` knows its items'
fields), a ``set``/macro variable or ``range``; filters and tests must be the sandbox's. An
unknown name is reported with the closest known one ("did you mean ...?"). ``validation``
runs this over every part of a template.
"""

from __future__ import annotations

import datetime
import difflib

from django.utils.translation import gettext as _
from jinja2 import nodes

from ..merge_fields import CATALOGUE, DATE, LIST, OBJECT, TEXT, MergeField
from .filters import date_filter
from .sandbox import FORBIDDEN_NAMES, SAFE_DATE_ATTRIBUTES, SAFE_DICT_METHODS, SAFE_STR_METHODS

ANY = MergeField("", "", kind="any")  # a value the checker does not follow (locals, calls)
_TEXT = MergeField("", "", kind=TEXT)  # a string literal

#: Filters that hand back (part of) their input, so that the field's spec carries through.
_SAME_SPEC_FILTERS = frozenset(
    [
        "d",
        "default",
        "sort",
        "reverse",
        "unique",
        "list",
        "select",
        "reject",
        "selectattr",
        "rejectattr",
    ]
)
_ITEM_FILTERS = frozenset({"first", "last", "min", "max"})


class FieldChecker:
    """Walks one template's AST and collects (line, message) for unknown names."""

    def __init__(self, environment) -> None:
        self.environment = environment
        self.scopes: list[dict[str, MergeField]] = [{}]
        self.problems: list[tuple[int, str]] = []

    def check(self, ast: nodes.Template) -> list[tuple[int, str]]:
        for node in ast.body:
            self.visit(node)
        return self.problems

    def report(self, node: nodes.Node, message: str) -> None:
        self.problems.append((node.lineno, message))

    # statements -------------------------------------------------------------------------

    def visit(self, node: nodes.Node) -> None:
        if isinstance(node, nodes.Expr):
            self.resolve(node)
            return
        method = getattr(self, f"visit_{type(node).__name__}", None)
        if method is not None:
            method(node)
            return
        for child in node.iter_child_nodes():
            self.visit(child)

    def visit_For(self, node: nodes.For) -> None:
        spec = self.resolve(node.iter)
        item = spec.as_item() if spec.kind == LIST else ANY
        self.scopes.append({"loop": ANY})
        self.bind(node.target, item)
        if node.test is not None:
            self.resolve(node.test)
        for child in node.body:
            self.visit(child)
        self.scopes.pop()
        for child in node.else_:
            self.visit(child)

    def visit_Assign(self, node: nodes.Assign) -> None:
        self.bind(node.target, self.resolve(node.node))

    def visit_AssignBlock(self, node: nodes.AssignBlock) -> None:
        for child in node.body:
            self.visit(child)
        if node.filter is not None:
            self.resolve_filter(node.filter, ANY)
        self.bind(node.target, ANY)

    def visit_Macro(self, node: nodes.Macro) -> None:
        self.scopes[-1][node.name] = ANY
        for default in node.defaults:
            self.resolve(default)
        self.scopes.append({"caller": ANY, "varargs": ANY, "kwargs": ANY})
        for arg in node.args:
            self.bind(arg, ANY)
        for child in node.body:
            self.visit(child)
        self.scopes.pop()

    def visit_CallBlock(self, node: nodes.CallBlock) -> None:
        self.resolve(node.call)
        for default in node.defaults:
            self.resolve(default)
        self.scopes.append({})
        for arg in node.args:
            self.bind(arg, ANY)
        for child in node.body:
            self.visit(child)
        self.scopes.pop()

    def visit_With(self, node: nodes.With) -> None:
        values = [self.resolve(value) for value in node.values]
        self.scopes.append({})
        for target, spec in zip(node.targets, values, strict=False):
            self.bind(target, spec)
        for child in node.body:
            self.visit(child)
        self.scopes.pop()

    def visit_FilterBlock(self, node: nodes.FilterBlock) -> None:
        for child in node.body:
            self.visit(child)
        self.resolve_filter(node.filter, ANY)

    def bind(self, target: nodes.Node, spec: MergeField) -> None:
        if isinstance(target, nodes.Name):
            self.scopes[-1][target.name] = spec
        elif isinstance(target, (nodes.Tuple, nodes.List)):
            for item in target.items:
                self.bind(item, ANY)
        elif isinstance(target, nodes.NSRef):
            pass

    # expressions ------------------------------------------------------------------------

    def resolve(self, node: nodes.Node) -> MergeField:
        if isinstance(node, nodes.Name):
            return self.resolve_name(node)
        if isinstance(node, nodes.Getattr):
            return self.member(self.resolve(node.node), node.attr, node)
        if isinstance(node, nodes.Getitem):
            base = self.resolve(node.node)
            arg = node.arg
            if isinstance(arg, nodes.Const) and isinstance(arg.value, str):
                return self.member(base, arg.value, node)
            self.resolve(arg)
            return base.as_item() if base.kind == LIST else ANY
        if isinstance(node, nodes.Filter):
            base = self.resolve(node.node) if node.node is not None else ANY
            return self.resolve_filter(node, base)
        if isinstance(node, nodes.Const):
            return _TEXT if isinstance(node.value, str) else ANY
        if isinstance(node, nodes.Mod):
            if self.resolve(node.left).kind == TEXT:
                self.report(node, _("formatting text with % is not available; use filters"))
            self.resolve(node.right)
            return ANY
        if isinstance(node, nodes.Test):
            self.resolve(node.node)
            if node.name not in self.environment.tests:
                self.report(node, _("unknown test '%(name)s'") % {"name": node.name})
            self.resolve_args(node)
            return ANY
        for child in node.iter_child_nodes():
            self.resolve(child)
        return ANY

    def resolve_args(self, node: nodes.Node) -> None:
        for arg in node.args:
            self.resolve(arg)
        for keyword in node.kwargs:
            self.resolve(keyword.value)
        for dyn in (node.dyn_args, node.dyn_kwargs):
            if dyn is not None:
                self.resolve(dyn)

    def resolve_filter(self, node: nodes.Filter, base: MergeField) -> MergeField:
        if node.name not in self.environment.filters or node.name.startswith("_"):
            self.report(node, _("unknown filter '%(name)s'") % {"name": node.name})
        if node.name == "date" and node.args and isinstance(node.args[0], nodes.Const):
            try:
                date_filter(datetime.date(2025, 1, 31), node.args[0].value)
            except Exception as error:  # a time letter on a date, a too long format
                self.report(node, _("invalid date format: %(error)s") % {"error": error})
        self.resolve_args(node)
        if node.name in _SAME_SPEC_FILTERS:
            return base
        if node.name in _ITEM_FILTERS and base.kind == LIST:
            return base.as_item()
        return ANY

    def resolve_name(self, node: nodes.Name) -> MergeField:
        if node.name in FORBIDDEN_NAMES or node.name.startswith("_"):
            return ANY  # reported by the forbidden-constructs check
        for scope in reversed(self.scopes):
            if node.name in scope:
                return scope[node.name]
        if node.name in self.environment.globals:
            return ANY
        spec = CATALOGUE.child(node.name)
        if spec is None:
            self.unknown(node, node.name, CATALOGUE.child_names + self.local_names())
            return ANY
        return spec

    def local_names(self) -> list[str]:
        return [name for scope in self.scopes for name in scope]

    def member(self, base: MergeField, attr: str, node: nodes.Node) -> MergeField:
        if base.kind == "any" or attr.startswith("_"):
            return ANY  # private names are reported by the forbidden-constructs check
        path = _path(node)
        if base.kind == OBJECT:
            child = base.child(attr)
            if child is not None:
                return child
            if attr in SAFE_DICT_METHODS:
                return ANY
            self.unknown(node, path, [f"{_path(node.node)}.{name}" for name in base.child_names])
        elif base.kind == LIST:
            self.report(
                node,
                _("'%(list)s' is a list: loop over it, e.g. {%% for a in %(list)s %%}")
                % {"list": _path(node.node)},
            )
        elif (base.kind == DATE and attr in SAFE_DATE_ATTRIBUTES) or (
            base.kind == TEXT and attr in SAFE_STR_METHODS
        ):
            return ANY
        else:
            self.unknown(node, path, [])
        return ANY

    def unknown(self, node: nodes.Node, path: str, candidates: list[str]) -> None:
        message = _("unknown merge field '%(field)s'") % {"field": path}
        close = difflib.get_close_matches(path, candidates, n=1, cutoff=0.6)
        if close:
            message += " " + _("(did you mean '%(field)s'?)") % {"field": close[0]}
        self.report(node, message)


def _path(node: nodes.Node) -> str:
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        return f"{_path(node.node)}.{node.attr}"
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        if isinstance(node.arg.value, str):
            return f"{_path(node.node)}.{node.arg.value}"
        return f"{_path(node.node)}[{node.arg.value!r}]"
    if isinstance(node, nodes.Const):
        return repr(node.value)
    return "…"
