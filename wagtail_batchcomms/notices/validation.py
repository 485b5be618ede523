"""Validation of notice templates: syntax errors and unknown merge fields, named by place.

The Jinja AST is walked against the merge field catalogue (``merge_fields.CATALOGUE``): every
``Name``/``Getattr``/``Getitem`` must resolve to a declared field, a loop variable (a loop over
``assemblies`` knows its items' fields), a ``set``/macro variable or ``range``.
"""

from __future__ import annotations

import datetime
import difflib
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from jinja2 import TemplateSyntaxError, nodes
from jinja2.sandbox import SecurityError

from .merge_fields import CATALOGUE, DATE, LIST, OBJECT, TEXT, MergeField
from .sandbox import (
    FORBIDDEN_NAMES,
    SAFE_DATE_ATTRIBUTES,
    SAFE_DICT_METHODS,
    SAFE_STR_METHODS,
    _forbidden,
    compile_template,
    date_filter,
    get_environment,
    paragraph_source,
)

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


@dataclass(frozen=True)
class Problem:
    """One problem: ``field`` is the model field, ``block_index`` the body block (or None)."""

    field: str
    block_index: int | None
    place: str
    line: int | None
    message: str

    @property
    def full(self) -> str:
        return f"{self.place}: {self.message}"

    @property
    def short(self) -> str:
        if self.line is None:
            return self.message
        return _("Line %(line)s: %(message)s") % {"line": self.line, "message": self.message}


@dataclass(frozen=True)
class TemplatePart:
    """One part of a notice template that renders on its own: the subject or a paragraph."""

    field: str  # "subject" or "body"
    block_index: int | None  # the paragraph's index in the body
    place: str  # "Subject", "Body, paragraph 2": how problems name it
    source: str  # Jinja source (a paragraph's rich text prepared by ``prepare_rich_text``)
    html: bool


def template_parts(template) -> list[TemplatePart]:
    """The subject and the body's paragraphs of a ``NoticeTemplate``, in order."""
    parts = [TemplatePart("subject", None, _("Subject"), template.subject or "", html=False)]
    paragraph = 0
    for index, block in enumerate(template.body or []):
        if block.block_type != "paragraph":
            continue
        paragraph += 1
        place = _("Body, paragraph %(n)s") % {"n": paragraph}
        parts.append(TemplatePart("body", index, place, paragraph_source(block.value), html=True))
    return parts


class _FieldChecker:
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


def validate_source(source: str, *, html: bool) -> list[tuple[int | None, str]]:
    """Problems of one template part as (line, message), in line order; [] when it is fine."""
    if not source:
        return []
    environment = get_environment(html)
    try:
        ast = environment.parse(source)
    except TemplateSyntaxError as error:
        return [(error.lineno, _syntax_message(error))]
    except RecursionError:
        return [(None, _("the template is nested too deeply"))]
    problems = _forbidden(ast) + _FieldChecker(environment).check(ast)
    if not problems:
        try:
            compile_template(source, html=html)
        except TemplateSyntaxError as error:
            problems.append((error.lineno, _syntax_message(error)))
        except SecurityError as error:
            problems.append((None, str(error)))
    seen: set[tuple[Any, str]] = set()
    unique = []
    for problem in sorted(problems, key=lambda p: p[0] or 0):
        if problem not in seen:
            seen.add(problem)
            unique.append(problem)
    return unique


def _syntax_message(error: TemplateSyntaxError) -> str:
    message = _("syntax error: %(message)s") % {"message": error.message}
    if "looking for the following tags" in (error.message or ""):
        message += " " + _("(a loop or condition must end in the same paragraph block)")
    return message


def template_problems(template) -> list[Problem]:
    """Every problem of a ``NoticeTemplate``'s subject and paragraph blocks, in order.

    Without syntax or merge field problems, the template is also rendered once over the
    built-in sample under a notice's budget (``template_trial``): a template that would fail
    every notice (a runaway loop, a huge string) is refused here, not at sending."""
    problems = []
    for part in template_parts(template):
        for line, message in validate_source(part.source, html=part.html):
            if part.field == "subject":  # one line: its line number would say nothing
                problems.append(Problem(part.field, None, part.place, None, message))
                continue
            place = part.place
            if line is not None:
                place = _("%(place)s, line %(line)s") % {"place": place, "line": line}
            problems.append(Problem(part.field, part.block_index, place, line, message))
    if not problems:
        from .trial import trial_render_problem

        problem = trial_render_problem(template)
        if problem is not None:
            problems.append(problem)
    return problems


def template_errors(template) -> dict[str, list[str]]:
    """``{field: [message naming the place, ...]}`` for ``template``; empty when valid."""
    errors: dict[str, list[str]] = {}
    for problem in template_problems(template):
        errors.setdefault(problem.field, []).append(problem.full)
    return errors


def template_validation_errors(template) -> dict[str, list[ValidationError]]:
    """Like ``template_errors``, as ``ValidationError``s for ``NoticeTemplate.clean()``.

    The body's error is a ``StreamBlockValidationError``: the full messages show at the top of
    the body and each paragraph with a problem is marked in the editor.
    """
    from wagtail.blocks.stream_block import StreamBlockValidationError

    problems = template_problems(template)
    errors: dict[str, list[ValidationError]] = {}
    subject = [ValidationError(p.full, code="template") for p in problems if p.field == "subject"]
    if subject:
        errors["subject"] = subject
    body = [p for p in problems if p.field == "body"]
    if body:
        per_block: dict[int, list[str]] = {}
        for problem in body:
            per_block.setdefault(problem.block_index, []).append(problem.short)
        error = StreamBlockValidationError(
            block_errors={i: ValidationError(msgs) for i, msgs in per_block.items()},
            non_block_errors=[ValidationError(p.full, code="template") for p in body],
        )
        # Its own message is a fixed "Validation error in StreamBlock"; say what is wrong, for
        # anything that shows the error outside the StreamField widget (logs, API, tests).
        error.message = "; ".join(p.full for p in body)
        error.code = "template"
        errors["body"] = [error]
    return errors
