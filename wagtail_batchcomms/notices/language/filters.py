"""The filters and tests notice templates may use, each checked before it runs.

Jinja's own filters and tests wrapped in the checks of ``limits``: a filter is refused before
it builds a value over the limits (``join``, ``replace``, ``list``, ``sum``, ``round`` have
their own estimate; the others are checked from their input's size and how much they may grow
it, ``_sized_filter``), its result is checked and charged, and a test is charged its operands'
size. ``ALLOWED_FILTERS`` is the whitelist editors see; ``date`` is our own filter.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from django.utils import dateformat
from django.utils.translation import gettext as _
from jinja2.filters import FILTERS, do_join, do_replace, make_attrgetter
from jinja2.sandbox import SecurityError
from jinja2.tests import TESTS
from jinja2.utils import pass_environment, pass_eval_context
from markupsafe import Markup, escape

from .limits import (
    CONTAINERS,
    TemplateLimitError,
    bits_of,
    check_bits,
    check_size,
    check_value,
    current_budget,
    escaped_size,
    estimate_binop,
    int_digits,
    size_of,
)

DEFAULT_DATE_FORMAT = "F j, Y"

#: Filters editors may use, each size-checked (``SIZED_FILTERS``). Left out:
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


@pass_eval_context
def join_filter(eval_ctx, value, d: str = "", attribute=None):
    """Jinja's ``join``, refused before it builds a text over the limit."""
    items = _bounded_list(value)
    if attribute is not None:
        getter = make_attrgetter(eval_ctx.environment, attribute)
        items = [getter(item) for item in items]
    markup = eval_ctx.autoescape and any(isinstance(x, Markup) for x in (*items, d))
    measure = escaped_size if markup else size_of
    check_size(sum(measure(item) for item in items) + measure(d) * max(len(items) - 1, 0))
    return check_value(do_join(eval_ctx, items, d))


@pass_eval_context
def replace_filter(eval_ctx, s, old, new, count=None):
    """Jinja's ``replace`` (on escaped text it stays escaped: the replacement is escaped too),
    refused before it builds a text over the limit."""
    markup = eval_ctx.autoescape and any(isinstance(x, Markup) for x in (s, old, new))
    measure = escaped_size if markup else size_of
    text, pattern = str(s), str(old)
    hits = text.count(pattern) if pattern else len(text) + 1
    if count is not None:
        hits = min(hits, max(int(count), 0))
    check_size(measure(s) + hits * measure(new))
    return check_value(do_replace(eval_ctx, s, old, new, count))


def _bounded_list(value: Any) -> list:
    """``list(value)``, stopped as soon as its items are over the size limit (a generator's
    size is not known before it runs)."""
    if isinstance(value, range):
        check_size(len(value) * (int_digits(max(abs(value.start), abs(value.stop))) + 2))
        return list(value)
    if isinstance(value, (list, tuple, dict, str)):
        check_size(size_of(value) * (LIST_OF_CHARACTERS if isinstance(value, str) else 1))
        return list(value)
    items, total = [], 2
    for item in value:
        total += 4 + size_of(item)
        check_size(total)
        items.append(item)
    return items


def list_filter(value: Any) -> list:
    """Jinja's ``list``: a text becomes a list of its characters (``LIST_OF_CHARACTERS``)."""
    return check_value(_bounded_list(value))


@pass_environment
def sum_filter(environment, iterable: Any, attribute: Any = None, start: Any = 0) -> Any:
    """Jinja's ``sum`` of numbers only (summing lists copies them over and over); the total's
    bits are checked before each addition."""
    getter = (lambda x: x) if attribute is None else make_attrgetter(environment, attribute)
    if not isinstance(start, (int, float)) or isinstance(iterable, str):
        raise SecurityError(_("sum adds numbers only."))
    current_budget().spend(size_of(iterable))
    total = start
    for item in map(getter, iterable):
        if not isinstance(item, (int, float)):
            raise SecurityError(_("sum adds numbers only."))
        estimate_binop("+", total, item)
        total = total + item
    return total


def round_filter(value: Any, precision: int = 0, method: str = "common") -> Any:
    """Jinja's ``round``; a precision such as ``10**9`` would make Python compute ``10**10**9``."""
    if not isinstance(precision, int) or abs(precision) > 100:
        raise TemplateLimitError(_("round() takes a precision between -100 and 100."))
    if isinstance(value, int) and not (method == "common" and precision >= 0):
        check_bits(bits_of(value) + 4 * abs(precision))  # it scales by 10**precision
    return check_value(FILTERS["round"](value, precision, method))


#: A list of a text's characters is five times as long as the text: 'x', 'y'
LIST_OF_CHARACTERS = 5


def _wrapped(
    function: Callable, before: Callable[[Any], None], after: Callable[[Any], Any] | None = None
) -> Callable:
    """``function`` (a Jinja filter) with ``before(value)`` run first and ``after(result)`` on
    its result, keeping how Jinja passes it the environment or context."""
    after = after or (lambda result: result)
    pass_arg = getattr(function, "jinja_pass_arg", None)
    if pass_arg is not None:

        def wrapper(first, value, *args, **kwargs):
            before(value)
            return after(function(first, value, *args, **kwargs))

        wrapper.jinja_pass_arg = pass_arg  # type: ignore[attr-defined]
    else:

        def wrapper(value, *args, **kwargs):
            before(value)
            return after(function(value, *args, **kwargs))

    wrapper.__name__ = getattr(function, "__name__", "filter")
    wrapper.__doc__ = function.__doc__
    return wrapper


def _sized_filter(function: Callable, growth: int = 1, text_growth: int | None = None) -> Callable:
    """``function`` refused before it runs when its input is over the limit times
    ``1 / growth`` (what it may grow by; ``text_growth`` when the input is a text), and its
    result checked and charged."""

    def estimate(value: Any) -> None:
        size = size_of(value)
        check_size(size * (text_growth if text_growth and isinstance(value, str) else growth))
        current_budget().spend(size)

    return _wrapped(function, estimate, check_value)


def _charge_input(function: Callable) -> Callable:
    """``function`` handing back a generator over its input (``map``, ``select`` ...): its
    items are the input's or other filters' checked results; walking the input is charged."""

    def charge(value: Any) -> None:
        if isinstance(value, (str, *CONTAINERS)):
            current_budget().spend(size_of(value))

    return _wrapped(function, charge)


def escape_filter(value: Any) -> Markup:
    """Jinja's ``e``/``escape``, refused before it builds an escaped text over the limit."""
    size = escaped_size(value)
    check_size(size)
    current_budget().spend(size)
    return escape(value)


def _charged_test(function: Callable) -> Callable:
    """A Jinja test whose cost is its operands' size (``in``, ``==``, ``lower`` ...)."""

    def wrapper(value, *args):
        current_budget().spend(size_of(value) + sum(size_of(arg) for arg in args))
        return function(value, *args)

    wrapper.__name__ = getattr(function, "__name__", "test")
    return wrapper


#: Every filter a notice may use, each checked before it runs (see ``_sized_filter``); the
#: growth factor is how much larger than its input its result may be (a case change can
#: triple a text, URL-encoding makes up to 12 characters of one).
SIZED_FILTERS: dict[str, Callable] = {
    **{name: _sized_filter(FILTERS[name]) for name in ("abs", "float", "int", "max", "min")},
    **{name: _sized_filter(FILTERS[name]) for name in ("reverse", "string", "trim")},
    "sort": _sized_filter(FILTERS["sort"], text_growth=LIST_OF_CHARACTERS),
    **{name: _sized_filter(FILTERS[name]) for name in ("dictsort", "striptags", "truncate")},
    **{name: _sized_filter(FILTERS[name]) for name in ("unique", "wordcount")},
    **{name: _sized_filter(FILTERS[name], 3) for name in ("capitalize", "lower", "title")},
    "upper": _sized_filter(FILTERS["upper"], 3),
    "groupby": _sized_filter(FILTERS["groupby"], 2),
    "urlencode": _sized_filter(FILTERS["urlencode"], 12),
    **{name: _charge_input(FILTERS[name]) for name in ("map", "select", "reject", "items")},
    **{name: _charge_input(FILTERS[name]) for name in ("selectattr", "rejectattr")},
    # These hand back (part of) what they are given, or a number.
    **{name: FILTERS[name] for name in ("count", "length", "d", "default", "first", "last")},
    "e": escape_filter,
    "escape": escape_filter,
    "join": join_filter,
    "list": list_filter,
    "replace": replace_filter,
    "round": round_filter,
    "sum": sum_filter,
}

#: Every test a notice may use (no ``callable``, ``filter``, ``test``: introspection).
SIZED_TESTS: dict[str, Callable] = {
    name: _charged_test(test)
    for name, test in TESTS.items()
    if name not in ("callable", "filter", "test")
}
