"""Compiling and rendering a notice template's source in the sandbox.

``compile_template`` parses a part's source, refuses the constructs no notice may use
(``forbidden_constructs``: includes, imports, ``self``, private names, recursive loops ...)
and rewrites the tree so that what Jinja compiles straight to Python passes the checks of
``limits`` (``_Guards``: ``~``, list and dict displays, comparisons, slices, loops,
``{% filter %}`` blocks). ``render`` runs a compiled part over plain data (``plain_data``)
within the current notice's budget. The environment itself is ``sandbox``.
"""

from __future__ import annotations

import datetime
import functools
from typing import Any

from django.utils.translation import gettext as _
from jinja2 import Template, TemplateRuntimeError, nodes
from jinja2.sandbox import SecurityError
from jinja2.visitor import NodeTransformer

from .limits import active_budget, current_budget, render_budget
from .sandbox import FORBIDDEN_NAMES, get_environment


class TemplateEvaluationError(TemplateRuntimeError):
    """An editor's expression failed on the data (``{{ 1 / 0 }}``, ``{{ "a" + 1 }}``): like
    any ``TemplateError``, the notice cannot be rendered, and the message says why."""


#: What evaluating an editor's expression may raise besides Jinja's own errors; ``render``
#: turns them into ``TemplateEvaluationError`` so that callers handle one kind of error.
EVALUATION_ERRORS = (ArithmeticError, TypeError, ValueError, LookupError)


def forbidden_constructs(ast: nodes.Template) -> list[tuple[int, str]]:
    """Constructs refused in any template, with their line numbers."""
    problems = []
    for node in ast.find_all(nodes.Node):
        message = None
        if isinstance(node, (nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)):
            message = _("including or importing other templates is not allowed")
        elif isinstance(node, (nodes.EvalContextModifier, nodes.Block)):
            message = _("this tag is not allowed in notices")
        elif isinstance(node, nodes.For) and node.recursive:
            message = _("recursive loops are not allowed")
        elif isinstance(node, nodes.Name) and (
            node.name in FORBIDDEN_NAMES or node.name.startswith("_")
        ):
            message = _("'%(name)s' is not available in notices") % {"name": node.name}
        elif isinstance(node, (nodes.Getattr, nodes.Filter)):
            name = node.attr if isinstance(node, nodes.Getattr) else node.name
            if name.startswith("_"):
                message = _("'%(name)s' is private and not available") % {"name": name}
        elif (
            isinstance(node, nodes.Getitem)
            and isinstance(node.arg, nodes.Const)
            and isinstance(node.arg.value, str)
            and node.arg.value.startswith("_")
        ):
            message = _("'%(name)s' is private and not available") % {"name": node.arg.value}
        if message:
            problems.append((node.lineno, message))
    return problems


class _Guards(NodeTransformer):
    """Puts the checks of ``limits`` where Jinja compiles straight to Python:
    ``~`` (a join), list/tuple/dict displays, comparisons, slices, loops and ``{% filter %}``
    blocks."""

    def _filter(self, node: nodes.Expr, name: str, *args: nodes.Expr) -> nodes.Filter:
        return nodes.Filter(node, name, list(args), [], None, None, lineno=node.lineno)

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return self._filter(nodes.List(node.nodes, lineno=node.lineno), "_concat")

    def _display(self, node: nodes.Expr, items: list[nodes.Node]) -> nodes.Node:
        self.generic_visit(node)
        if getattr(node, "ctx", "load") != "load" or all(
            isinstance(item, nodes.Const) for item in items
        ):
            return node  # an assignment target, or written out in the source: its own size
        return self._filter(node, "_sized")

    def visit_List(self, node: nodes.List) -> nodes.Node:
        return self._display(node, node.items)

    def visit_Tuple(self, node: nodes.Tuple) -> nodes.Node:
        return self._display(node, node.items)

    def visit_Dict(self, node: nodes.Dict) -> nodes.Node:
        return self._display(node, [v for pair in node.items for v in (pair.key, pair.value)])

    def visit_Compare(self, node: nodes.Compare) -> nodes.Node:
        self.generic_visit(node)
        node.expr = self._filter(node.expr, "_touch")
        for operand in node.ops:
            operand.expr = self._filter(operand.expr, "_touch")
        return node

    def visit_Getitem(self, node: nodes.Getitem) -> nodes.Node:
        self.generic_visit(node)
        if isinstance(node.arg, nodes.Slice):  # compiled to obj[a:b]: copies up to all of it
            node.node = self._filter(node.node, "_touch")
        return node

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        text = sum(
            len(data.data) for child in node.body for data in child.find_all(nodes.TemplateData)
        )
        node.iter = self._filter(node.iter, "_loop_guard", nodes.Const(text))
        return node

    def visit_FilterBlock(self, node: nodes.FilterBlock) -> nodes.Node:
        self.generic_visit(node)
        node.filter = self._filter(node.filter, "_escape_block")
        return node

    def visit_AssignBlock(self, node: nodes.AssignBlock) -> nodes.Node:
        # {% set x | striptags %}...{% endset %}: Jinja marks the filter's result as markup.
        self.generic_visit(node)
        if node.filter is not None:
            node.filter = self._filter(node.filter, "_escape_block")
        return node


@functools.lru_cache(maxsize=1024)
def compile_template(source: str, *, html: bool) -> Template:
    """Parse, check and compile ``source``; cached per source text (revisions render many times).

    Raises ``TemplateSyntaxError`` for syntax errors and ``SecurityError`` for forbidden
    constructs. The checks Jinja cannot hook are put into the tree (``_Guards``).
    """
    env = get_environment(html)
    ast = env.parse(source)
    problems = forbidden_constructs(ast)
    if problems:
        raise SecurityError(problems[0][1])
    return env.from_string(_Guards().visit(ast))


def render(source: str, data: dict, *, html: bool) -> str:
    """Render one template part (subject or paragraph) within the current notice's budget.

    Raises a ``jinja2.TemplateError`` when it cannot: over a limit (``TemplateLimitError``),
    a missing value (``UndefinedError``), an expression that fails on the data
    (``TemplateEvaluationError``)."""
    if not source:
        return ""
    if active_budget() is None:
        with render_budget():
            return render(source, data, html=html)
    template = compile_template(source, html=html)
    budget = current_budget()
    data = budget.plain(data, plain_data)
    parts = []
    try:
        for chunk in template.generate(**data):
            budget.output(len(chunk))
            parts.append(chunk)
    except EVALUATION_ERRORS as error:
        raise TemplateEvaluationError(f"{type(error).__name__}: {error}") from error
    return "".join(parts)


_PLAIN_TYPES = frozenset({str, int, float, bool, type(None), datetime.date, datetime.datetime})


def plain_data(value: Any) -> Any:
    """``value`` with every text a plain ``str``: a ``Markup`` or Django ``SafeString`` in the
    merge data would print unescaped, and recipient data must always be escaped."""
    kind = type(value)
    if kind in _PLAIN_TYPES:  # nearly every value: checked first, it runs for every notice
        return value
    if kind is dict:
        return {key: plain_data(item) for key, item in value.items()}
    if kind is list or kind is tuple:
        return [plain_data(item) for item in value]
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, dict):
        return {plain_data(key): plain_data(item) for key, item in value.items()}
    return value
