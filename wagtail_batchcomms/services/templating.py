"""The Jinja2 sandbox notice templates render in, and their validation.

Editors write merge fields (``{{ contact.name }}``) and loops over ``assemblies`` in the subject
and the body's paragraphs. Those templates are content, not code: they run in
``NoticeEnvironment``, an ``ImmutableSandboxedEnvironment`` over plain data (dicts, lists, str,
dates; see ``merge_fields``) with:

- no globals but a bounded ``range``; no ``self``, ``include``, ``import``, ``extends``,
  ``autoescape`` blocks or recursive loops;
- attribute access limited to the data's keys and a few harmless methods; nothing private;
- a whitelist of filters (no ``safe``, ``format``, ``attr``, ``center``, ...) plus ``date``;
- a budget per notice: ``MAX_LOOP_ITERATIONS`` loop iterations (and twice as many calls),
  ``MAX_RENDERED_LENGTH`` characters of output; exceeding it raises ``TemplateLimitError``
  (``template_limits``).

``template_errors()`` validates a ``NoticeTemplate`` (syntax and unknown merge fields) with
messages that name the place; ``NoticeTemplate.clean()`` refuses to save on any of them.
"""

from __future__ import annotations

import datetime
import functools
import html
import re
from typing import TYPE_CHECKING, Any

from django.utils import dateformat
from django.utils.translation import gettext as _
from jinja2 import StrictUndefined, Template, TemplateRuntimeError, nodes
from jinja2.filters import FILTERS
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from .template_limits import (
    RenderBudget,
    TemplateLimitError,
    active_budget,
    bounded_range,
    check_size,
    current_budget,
    join_filter,
    loop_guard,
    render_budget,
    replace_filter,
)

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from ..models import NoticeTemplate

DEFAULT_DATE_FORMAT = "F j, Y"

#: Filters editors may use. Left out: safe/forceescape/xmlattr (would unescape recipient data),
#: format/center/indent/wordwrap/batch/slice (can allocate without bound), attr/pprint/tojson
#: (introspection), random/urlize (not useful in a notice).
ALLOWED_FILTERS = [
    "abs",
    "capitalize",
    "count",
    "d",
    "default",
    "dictsort",
    "e",
    "escape",
    "first",
    "float",
    "groupby",
    "int",
    "items",
    "join",
    "last",
    "length",
    "list",
    "lower",
    "map",
    "max",
    "min",
    "reject",
    "rejectattr",
    "replace",
    "reverse",
    "round",
    "select",
    "selectattr",
    "sort",
    "string",
    "striptags",
    "sum",
    "title",
    "trim",
    "truncate",
    "unique",
    "upper",
    "urlencode",
    "wordcount",
]

#: Methods of text values a template may call (everything else of ``str`` is refused).
SAFE_STR_METHODS = frozenset(
    ["lower", "upper", "title", "capitalize", "strip", "lstrip", "rstrip", "startswith", "endswith"]
)
SAFE_DICT_METHODS = frozenset({"items", "keys", "values", "get"})
SAFE_DATE_ATTRIBUTES = frozenset({"year", "month", "day"})

FORBIDDEN_NAMES = frozenset({"self", "lipsum", "cycler", "joiner", "namespace", "dict"})


class TemplateEvaluationError(TemplateRuntimeError):
    """An editor's expression failed on the data (``{{ 1 / 0 }}``, ``{{ "a" + 1 }}``): like
    any ``TemplateError``, the notice cannot be rendered, and the message says why."""


#: What evaluating an editor's expression may raise besides Jinja's own errors; ``render``
#: turns them into ``TemplateEvaluationError`` so that callers handle one kind of error.
EVALUATION_ERRORS = (ArithmeticError, TypeError, ValueError, LookupError)


def date_filter(value: Any, format: str = DEFAULT_DATE_FORMAT) -> str:
    """``{{ batch.due_date|date("j F Y") }}``: Django's date format letters (F = month name)."""
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        try:
            value = datetime.date.fromisoformat(value)
        except ValueError:
            return value
    if not isinstance(value, datetime.date):
        return str(value)
    if len(str(format)) > 100:
        raise TemplateLimitError(_("A date format may be at most 100 characters."))
    try:
        return dateformat.format(value, str(format))
    except TypeError as error:  # time letters (H, i, ...) on a date
        raise SecurityError(str(error)) from error


def _finalize(value: Any) -> Any:
    """How a ``{{ value }}`` prints: nothing for None, dates in words."""
    if value is None:
        return ""
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return dateformat.format(value, DEFAULT_DATE_FORMAT)
    return value


# --- the environment ---------------------------------------------------------------------


class NoticeEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox of notice templates (see the module docstring for what it refuses)."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, *, html: bool) -> None:
        super().__init__(
            autoescape=html,
            undefined=StrictUndefined,
            finalize=_finalize,
            auto_reload=False,
            cache_size=0,
        )
        self.globals.clear()
        self.globals["range"] = bounded_range
        self.filters = {name: FILTERS[name] for name in ALLOWED_FILTERS}
        self.filters.update(join=join_filter, replace=replace_filter, date=date_filter)
        self.filters["_loop_guard"] = loop_guard

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if not super().is_safe_attribute(obj, attr, value):
            return False
        if isinstance(obj, str):
            return attr in SAFE_STR_METHODS
        if isinstance(obj, dict):
            return attr in SAFE_DICT_METHODS
        if isinstance(obj, datetime.date):
            return attr in SAFE_DATE_ATTRIBUTES
        # Numbers and sequences have no attribute a notice needs; the loop object, macros
        # and caller do.
        return not isinstance(obj, (int, float, list, tuple, range))

    def wrap_str_format(self, value: Any) -> None:
        # str.format is refused outright (a format spec can pad to any width); returning
        # None sends "format" through is_safe_attribute, which refuses it.
        return None

    def call(self, context, obj, /, *args: Any, **kwargs: Any) -> Any:
        current_budget().call()
        for arg in (*args, *kwargs.values()):
            if isinstance(arg, str):
                check_size(len(arg))
        return super().call(context, obj, *args, **kwargs)

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(times, int):
                    check_size(len(seq) * max(times, 0))
        elif operator == "**":
            ints = isinstance(left, int) and isinstance(right, int)
            if ints and right > 0 and abs(left) > 1 and abs(left).bit_length() * right > 4096:
                raise TemplateLimitError(_("That power is too large."))
        elif operator == "%" and isinstance(left, str):
            raise SecurityError(_("Formatting text with % is not available; use filters."))
        return super().call_binop(context, operator, left, right)


@functools.cache
def get_environment(html: bool) -> NoticeEnvironment:
    """The process's sandbox for HTML parts (autoescaped) or plain-text parts (the subject)."""
    return NoticeEnvironment(html=html)


def _forbidden(ast: nodes.Template) -> list[tuple[int, str]]:
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


def prepare_rich_text(source: str) -> str:
    """Rich text HTML -> Jinja source.

    The editor stores ``{{ x|date("j F") }}`` as ``{{ x|date(&quot;j F&quot;) }}`` and may put
    markup or non-breaking spaces inside the braces; inside ``{{ }}``/``{% %}`` those are undone.
    A newline after each block element makes Jinja's line numbers count the paragraph's lines.
    """
    source = re.sub(r"(</(?:p|li|h[1-6]|ul|ol|blockquote)>|<br\s*/?>)", r"\1\n", source)

    def clean(match: re.Match) -> str:
        inner = re.sub(r"<[^>]*>", "", match.group(0))
        return html.unescape(inner).replace("\xa0", " ")

    return re.sub(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", clean, source, flags=re.DOTALL)


def paragraph_source(value: Any) -> str:
    """The Jinja source of a paragraph block's value (its rich text, prepared)."""
    return prepare_rich_text(getattr(value, "source", str(value)))


@functools.lru_cache(maxsize=1024)
def compile_template(source: str, *, html: bool) -> Template:
    """Parse, check and compile ``source``; cached per source text (revisions render many times).

    Raises ``TemplateSyntaxError`` for syntax errors and ``SecurityError`` for forbidden
    constructs. Every loop's iterable is wrapped in the loop guard.
    """
    env = get_environment(html)
    ast = env.parse(source)
    problems = _forbidden(ast)
    if problems:
        raise SecurityError(problems[0][1])
    for loop in ast.find_all(nodes.For):
        loop.iter = nodes.Filter(loop.iter, "_loop_guard", [], [], None, None, lineno=loop.lineno)
    return env.from_string(ast)


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
    parts = []
    try:
        for chunk in template.generate(**data):
            budget.output(len(chunk))
            parts.append(chunk)
    except EVALUATION_ERRORS as error:
        raise TemplateEvaluationError(f"{type(error).__name__}: {error}") from error
    return "".join(parts)


def live_templates() -> QuerySet[NoticeTemplate]:
    """Notice templates a batch may use (published, with a live revision to pin), by name."""
    from ..models import NoticeTemplate

    return NoticeTemplate.objects.filter(live=True, live_revision__isnull=False).order_by("name")


# Validation (syntax, unknown merge fields, place names) lives in its own module.
from .template_validation import (  # noqa: E402
    template_errors,
    template_validation_errors,
    validate_source,
)

__all__ = [
    "NoticeEnvironment",
    "RenderBudget",
    "TemplateEvaluationError",
    "TemplateLimitError",
    "compile_template",
    "get_environment",
    "live_templates",
    "paragraph_source",
    "prepare_rich_text",
    "render",
    "render_budget",
    "template_errors",
    "template_validation_errors",
    "validate_source",
]
