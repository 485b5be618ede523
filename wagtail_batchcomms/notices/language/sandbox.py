"""The Jinja2 sandbox notice templates render in: what a template can reach.

Editors write merge fields (``{{ contact.name }}``) and loops over ``assemblies`` in the subject
and the body's paragraphs. Those templates are content, not code: they run in
``NoticeEnvironment``, an ``ImmutableSandboxedEnvironment`` over plain data (dicts, lists, str,
dates; see ``merge_fields``) with:

- no globals but a bounded ``range``; no ``self``, ``include``, ``import``, ``extends``,
  ``autoescape`` blocks or recursive loops (refused in the source by ``compiler``);
- attribute access limited to the data's keys and a few harmless methods; nothing private;
- a whitelist of filters (no ``safe``, ``format``, ``attr``, ``center``, ...) plus ``date``,
  and of tests (``filters``);
- every intermediate value bounded before it is computed, whatever makes it: operators
  (``call_binop``), ``~`` and list/dict literals (rewritten by ``compiler`` into checked
  calls), filters, tests, methods, slices (``limits``);
- a budget per notice: ``MAX_LOOP_ITERATIONS`` loop iterations (and twice as many calls),
  ``MAX_RENDERED_LENGTH`` characters of output, and a bounded amount of work (characters
  built, copied or compared); exceeding it raises ``TemplateLimitError``;
- in HTML parts, recipient data is always escaped: it is plain ``str`` (``compiler.plain_data``),
  what a filter unescapes (``striptags``) is plain text again, and the result of a
  ``{% filter %}`` block or a filtered ``{% set %}`` block is escaped like any ``{{ value }}``;
  ``rendering`` also cleans each paragraph's HTML to its rich text features
  (``rich_text.clean_rich_text_html``).
"""

from __future__ import annotations

import datetime
import functools
from typing import Any

from django.utils import dateformat
from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .filters import ALLOWED_FILTERS, DEFAULT_DATE_FORMAT, SIZED_FILTERS, SIZED_TESTS, date_filter
from .limits import (
    bounded_range,
    check_size,
    check_value,
    concat,
    current_budget,
    escape_block,
    estimate_binop,
    loop_guard,
    sized,
    touch,
)

#: Methods of text values a template may call (everything else of ``str`` is refused).
SAFE_STR_METHODS = frozenset(
    ["lower", "upper", "title", "capitalize", "strip", "lstrip", "rstrip", "startswith", "endswith"]
)
CASE_METHODS = frozenset(["lower", "upper", "title", "capitalize"])  # may triple a text
SAFE_DICT_METHODS = frozenset({"items", "keys", "values", "get"})
SAFE_DATE_ATTRIBUTES = frozenset({"year", "month", "day"})

FORBIDDEN_NAMES = frozenset({"self", "lipsum", "cycler", "joiner", "namespace", "dict"})


def _finalize(value: Any) -> Any:
    """How a ``{{ value }}`` prints: nothing for None, dates in words."""
    if value is None:
        return ""
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return dateformat.format(value, DEFAULT_DATE_FORMAT)
    # Charged: inside a macro or a {% set %} block it goes to a buffer the output budget
    # does not see.
    return check_value(value)


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
        # Inserted by compiler.compile_template (names with "_" are refused in editors' source).
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
