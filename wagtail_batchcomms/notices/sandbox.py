"""The Jinja2 sandbox notice templates render in, and their validation.

Editors write merge fields (``{{ contact.name }}``) and loops over ``assemblies`` in the subject
and the body's paragraphs. Those templates are content, not code: they run in
``NoticeEnvironment``, an ``ImmutableSandboxedEnvironment`` over plain data (dicts, lists, str,
dates; see ``merge_fields``) with:

- no globals but a bounded ``range``; no ``self``, ``include``, ``import``, ``extends``,
  ``autoescape`` blocks or recursive loops;
- attribute access limited to the data's keys and a few harmless methods; nothing private;
- a whitelist of filters (no ``safe``, ``format``, ``attr``, ``center``, ...) plus ``date``,
  and of tests;
- every intermediate value bounded before it is computed, whatever makes it: operators
  (``call_binop``), ``~`` and list/dict literals (rewritten by ``compile_template`` into
  checked calls), filters, tests, methods, slices (``template_limits``);
- a budget per notice: ``MAX_LOOP_ITERATIONS`` loop iterations (and twice as many calls),
  ``MAX_RENDERED_LENGTH`` characters of output, and a bounded amount of work (characters
  built, copied or compared); exceeding it raises ``TemplateLimitError``;
- in HTML parts, recipient data is always escaped: it is plain ``str`` (``plain_data``), what
  a filter unescapes (``striptags``) is plain text again, and the result of a ``{% filter %}``
  block or a filtered ``{% set %}`` block is escaped like any ``{{ value }}``; ``rendering``
  also cleans each paragraph's HTML to its rich text features (``clean_rich_text_html``).

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
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.visitor import NodeTransformer
from wagtail.whitelist import DEFAULT_ELEMENT_RULES, check_url

from ..blocks import PARAGRAPH_FEATURES
from .limits import (
    SIZED_FILTERS,
    SIZED_TESTS,
    RenderBudget,
    TemplateLimitError,
    active_budget,
    bounded_range,
    check_size,
    check_value,
    concat,
    current_budget,
    escape_block,
    estimate_binop,
    loop_guard,
    render_budget,
    sized,
    touch,
)

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from ..models import NoticeTemplate

DEFAULT_DATE_FORMAT = "F j, Y"

#: Filters editors may use, each size-checked (``template_limits.SIZED_FILTERS``). Left out:
#: safe/forceescape/xmlattr/urlize/tojson (would unescape recipient data or write markup),
#: format/center/indent/wordwrap/batch/slice/filesizeformat (padding and layout a notice does
#: not need), attr/pprint (introspection), random.
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
CASE_METHODS = frozenset(["lower", "upper", "title", "capitalize"])  # may triple a text
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
    # Charged: inside a macro or a {% set %} block it goes to a buffer the output budget
    # does not see.
    return check_value(value)


# --- the environment ---------------------------------------------------------------------


class NoticeEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox of notice templates (see the module docstring for what it refuses)."""

    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})

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
        self.filters = {name: SIZED_FILTERS[name] for name in ALLOWED_FILTERS}
        self.filters["date"] = date_filter
        self.tests = dict(SIZED_TESTS)
        # Inserted by compile_template (names with "_" are refused in editors' source).
        self.filters.update(
            _loop_guard=loop_guard,
            _concat=concat,
            _sized=sized,
            _touch=touch,
            _escape_block=escape_block,
        )

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
        # Methods (a text's upper(), a macro, caller()) get checked arguments; a case change
        # may triple a text, so the object itself is checked for that.
        current_budget().call()
        for arg in (*args, *kwargs.values()):
            if isinstance(arg, str):
                check_size(len(arg))
        receiver = getattr(obj, "__self__", None)
        if isinstance(receiver, str) and getattr(obj, "__name__", "") in CASE_METHODS:
            check_size(len(receiver) * 3)
        return check_value(super().call(context, obj, *args, **kwargs))

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
        estimate_binop(operator, left, right)
        return check_value(super().call_binop(context, operator, left, right))


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


class _Guards(NodeTransformer):
    """Puts the checks of ``template_limits`` where Jinja compiles straight to Python:
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


#: The tags each rich text feature of Wagtail writes (its contentstate converter's rules).
FEATURE_TAGS: dict[str, tuple[str, ...]] = {
    "bold": ("b", "strong"),
    "italic": ("i", "em"),
    "link": ("a",),
    "ol": ("ol", "li"),
    "ul": ("ul", "li"),
    **{f"h{n}": (f"h{n}",) for n in range(1, 7)},
    "hr": ("hr",),
    "superscript": ("sup",),
    "subscript": ("sub",),
}

#: Tags and attributes a rendered paragraph may keep: what the paragraph block's rich text
#: features allow (within Wagtail's own whitelist), links only to the URL schemes Wagtail
#: allows.
RICH_TEXT_TAGS = frozenset(
    tag
    for tag in ("p", "br", *(t for f in PARAGRAPH_FEATURES for t in FEATURE_TAGS.get(f, ())))
    if tag in DEFAULT_ELEMENT_RULES
)
RICH_TEXT_ATTRIBUTES = {"a": {"href"}}
_URL_ATTRIBUTES = frozenset({"href", "src"})
_TAG = re.compile(
    r"""<(/?)([a-zA-Z][a-zA-Z0-9]*)"""
    r"""((?:\s+[a-zA-Z_:][-\w:.]*(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*)\s*(/?)>"""
    r"""|<"""
)
_ATTRIBUTE = re.compile(
    r"""([a-zA-Z_:][-\w:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?"""
)


def _clean_tag(match: re.Match) -> str:
    name = (match.group(2) or "").lower()
    if name not in RICH_TEXT_TAGS:
        return html.escape(match.group(0))  # shown as text, as {{ value }} would show it
    if match.group(1):
        return f"</{name}>"
    allowed = RICH_TEXT_ATTRIBUTES.get(name, set())
    attributes = []
    for attribute in _ATTRIBUTE.finditer(match.group(3)):
        key = attribute.group(1).lower()
        value = next((v for v in attribute.group(2, 3, 4) if v is not None), None)
        if value is None or not (key in allowed or key == "data-block-key"):
            continue
        value = html.unescape(value)
        if key in _URL_ATTRIBUTES and check_url(value) is None:
            continue  # javascript:, data: ... (Wagtail's check, on the unescaped URL)
        attributes.append(f' {key}="{html.escape(value)}"')
    return f"<{name}{''.join(attributes)}{match.group(4)}>"


def clean_rich_text_html(fragment: str) -> str:
    """A rendered paragraph down to what its rich text allows: other tags are escaped
    (shown as text), other attributes and URLs with other schemes dropped, and every ``<``
    that does not start an allowed tag escaped. Whatever a template put together from pieces
    of the editor's markup, the email and the letter get no more than the editor could write.
    A regular expression, not a DOM: it runs for every paragraph of every notice."""
    return _TAG.sub(_clean_tag, fragment)


def paragraph_source(value: Any) -> str:
    """The Jinja source of a paragraph block's value (its rich text, prepared)."""
    return prepare_rich_text(getattr(value, "source", str(value)))


@functools.lru_cache(maxsize=1024)
def compile_template(source: str, *, html: bool) -> Template:
    """Parse, check and compile ``source``; cached per source text (revisions render many times).

    Raises ``TemplateSyntaxError`` for syntax errors and ``SecurityError`` for forbidden
    constructs. The checks Jinja cannot hook are put into the tree (``_Guards``).
    """
    env = get_environment(html)
    ast = env.parse(source)
    problems = _forbidden(ast)
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


def live_templates() -> QuerySet[NoticeTemplate]:
    """Notice templates a batch may use (published, with a live revision to pin), by name."""
    from ..models import NoticeTemplate

    return NoticeTemplate.objects.filter(live=True, live_revision__isnull=False).order_by("name")


# Validation (syntax, unknown merge fields, place names) lives in its own module.
from .validation import (  # noqa: E402
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
