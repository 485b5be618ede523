"""The limits of one notice's render: what a template may spend before it is stopped.

A notice (its subject and every paragraph) shares one ``RenderBudget``: ``MAX_LOOP_ITERATIONS``
loop iterations (and twice as many calls), ``MAX_RENDERED_LENGTH`` characters of output, and
``WORK_FACTOR`` times that of work (characters of every value it builds, compares or prints,
in loops, macros and ``{% set %}`` blocks too).

Every intermediate value is bounded *before* it is computed: an int to ``MAX_INT_BITS`` bits, a
text, list or dict to ``MAX_RENDERED_LENGTH`` characters of its text (``size_of``: a list of
lists counts every item of every inner list, however often it is shared). The operators
(``estimate_binop``), ``~`` (``concat``), list and dict literals (``sized``), every filter
and test (``filters``) and method are checked from their operands' sizes, so that
``10**999 * 10**999 ...`` or ``'x' * 200000 ~ ...`` is refused in microseconds instead of
freezing the process or taking gigabytes. Going over raises ``TemplateLimitError``.

This module owns the budget, the size measures and the checked operations; ``filters`` wraps
Jinja's filters and tests in the same checks, ``sandbox`` and ``compiler`` put them in the
environment and the compiled template.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.utils.translation import gettext as _
from jinja2.runtime import Undefined, markup_join, str_join
from jinja2.sandbox import SecurityError
from jinja2.utils import pass_eval_context
from markupsafe import Markup, escape

from ...conf import batchcomms_settings


class TemplateLimitError(SecurityError):
    """The template went over a limit (loop iterations, calls, output length, value size)."""


#: Largest int a template may compute (4096 bits: 1234 digits). Products and powers of larger
#: ints cost more than linear time and their digits would not fit in a notice anyway.
MAX_INT_BITS = 4096

#: A notice may build, copy and compare this many times ``MAX_RENDERED_LENGTH`` characters.
WORK_FACTOR = 20


class RenderBudget:
    """What one notice may still spend. Shared by its subject and all its paragraphs."""

    def __init__(self) -> None:
        self.loops_left = batchcomms_settings.MAX_LOOP_ITERATIONS
        self.calls_left = batchcomms_settings.MAX_LOOP_ITERATIONS * 2
        self.output_left = batchcomms_settings.MAX_RENDERED_LENGTH
        self.work_left = batchcomms_settings.MAX_RENDERED_LENGTH * WORK_FACTOR
        # id -> (container, size_of it): a list built of lists is measured from its items'
        # sizes instead of walking them again. The container is kept so that its id stays
        # its own while the notice renders.
        self.sizes: dict[int, tuple[Any, int]] = {}
        self._plain: tuple[Any, Any] | None = None

    def plain(self, data: Any, convert: Callable[[Any], Any]) -> Any:
        """``convert(data)``, once per notice for the same data (its parts share it)."""
        if self._plain is None or self._plain[0] is not data:
            self._plain = (data, convert(data))
        return self._plain[1]

    def loop(self) -> None:
        self.loops_left -= 1
        if self.loops_left < 0:
            raise TemplateLimitError(
                _("The template repeats more than %(n)s times; a notice may loop at most that.")
                % {"n": batchcomms_settings.MAX_LOOP_ITERATIONS}
            )

    def call(self) -> None:
        self.calls_left -= 1
        if self.calls_left < 0:
            raise TemplateLimitError(_("The template makes too many calls."))

    def spend(self, units: int) -> None:
        """Charge ``units`` (characters built, copied or compared) to the notice's work."""
        self.work_left -= units
        if self.work_left < 0:
            raise TemplateLimitError(
                _(
                    "The template does too much work: it builds or compares more than "
                    "%(n)s characters in all."
                )
                % {"n": batchcomms_settings.MAX_RENDERED_LENGTH * WORK_FACTOR}
            )

    def output(self, length: int) -> None:
        self.output_left -= length
        if self.output_left < 0:
            raise TemplateLimitError(
                _("The notice would be longer than %(n)s characters.")
                % {"n": batchcomms_settings.MAX_RENDERED_LENGTH}
            )


_budget: contextvars.ContextVar[RenderBudget | None] = contextvars.ContextVar(
    "batchcomms_render_budget", default=None
)


@contextlib.contextmanager
def render_budget() -> Iterator[RenderBudget]:
    """Share one budget between every ``render()`` inside the block (one notice's parts)."""
    budget = RenderBudget()
    token = _budget.set(budget)
    try:
        yield budget
    finally:
        _budget.reset(token)


def active_budget() -> RenderBudget | None:
    """The budget of the notice being rendered (inside ``render_budget()``), else None."""
    return _budget.get()


def current_budget() -> RenderBudget:
    """The notice's budget; a template run outside ``render()`` gets a fresh one."""
    return _budget.get() or RenderBudget()


def loop_guard(iterable: Iterable, text: int = 0) -> Iterator:
    """Wrapped around every ``{% for %}``'s iterable by ``compile_template``; ``text`` is the
    length of the loop body's own text, written on every iteration (into a macro's or a
    ``{% set %}`` block's buffer too, where the output budget does not see it)."""
    budget = current_budget()
    for item in iterable:
        budget.loop()
        budget.spend(text + 1)
        yield item


def bounded_range(*args: int) -> range:
    """The templates' ``range()``: refused beyond ``MAX_LOOP_ITERATIONS`` numbers."""
    try:
        rng = range(*args)
        length = len(rng)
    except OverflowError:
        length = None
    limit = batchcomms_settings.MAX_LOOP_ITERATIONS
    if length is None or length > limit:
        raise TemplateLimitError(_("range() may give at most %(n)s numbers.") % {"n": limit})
    current_budget().spend(length)
    return rng


def check_size(length: int) -> None:
    """Refuse to build a text of ``length`` characters beyond ``MAX_RENDERED_LENGTH``."""
    if length > batchcomms_settings.MAX_RENDERED_LENGTH:
        raise TemplateLimitError(
            _("The template builds a text longer than %(n)s characters.")
            % {"n": batchcomms_settings.MAX_RENDERED_LENGTH}
        )


def check_bits(bits: int) -> None:
    """Refuse to compute an int of more than ``MAX_INT_BITS`` bits."""
    if bits > MAX_INT_BITS:
        raise TemplateLimitError(
            _("The template computes a number with more than %(n)s digits.")
            % {"n": int(MAX_INT_BITS * math.log10(2))}
        )


# --- sizes ---------------------------------------------------------------------------------

_SCALAR = 32  # at most the text of a float, a date, None, True ...
CONTAINERS = (list, tuple, dict, set, frozenset)


def int_digits(value: int) -> int:
    return value.bit_length() * 30103 // 100000 + 2  # log10(2) = 0.30103


def size_of(value: Any) -> int:
    """An upper bound (up to the quoting ``repr`` adds) of ``len(str(value))``, without
    building it: a text's length, an int's digits, a container's items' sizes summed over
    every item of every inner container, however often one is shared. Stops counting soon
    after ``MAX_RENDERED_LENGTH``: any larger answer means "too large"."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, bool) or value is None:
        return 5
    if isinstance(value, int):
        return int_digits(value)
    if isinstance(value, CONTAINERS):
        return _container_size(value, current_budget().sizes)
    return _SCALAR  # a range too: it is lazy, and a loop over it is budgeted


def _container_size(value: Any, cache: dict[int, tuple[Any, int]]) -> int:
    known = cache.get(id(value))
    if known is not None and known[0] is value:
        return known[1]
    limit = batchcomms_settings.MAX_RENDERED_LENGTH
    total = 2
    items = value.items() if isinstance(value, dict) else value
    for item in items:
        # repr() quotes a text inside a container: 'x', 'y'
        if isinstance(item, tuple) and isinstance(value, dict):
            total += 8 + size_of(item[0]) + size_of(item[1])
        else:
            total += 4 + size_of(item)
        if total > limit:
            break
    cache[id(value)] = (value, total)
    return total


def escaped_size(value: Any) -> int:
    """Length of ``escape(value)``: exact for a text (counted, not built), 5x for others."""
    if isinstance(value, Markup):
        return len(value)
    if isinstance(value, str):
        count = value.count
        return (
            len(value) + 4 * (count("&") + count('"') + count("'")) + 3 * (count("<") + count(">"))
        )
    return size_of(value) * 5


def check_value(value: Any) -> Any:
    """Refuse ``value`` if it is over the limits (after a computation whose size could not be
    told beforehand, e.g. a conversion); charge its size as work. Returns ``value``."""
    if isinstance(value, int) and not isinstance(value, bool):
        check_bits(value.bit_length())
    size = size_of(value)
    check_size(size)
    current_budget().spend(size)
    return value


def bits_of(value: Any) -> int:
    return max(abs(int(value)).bit_length(), 1)


def _is_int(value: Any) -> bool:
    return isinstance(value, int)  # bool too: True * 10**999 is an int


def _is_seq(value: Any) -> bool:
    return isinstance(value, (str, list, tuple))


def _same_sequence_kind(left: Any, right: Any) -> bool:
    return any(isinstance(left, kind) and isinstance(right, kind) for kind in (str, list, tuple))


def estimate_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse ``left <operator> right`` before it is computed if the result would be over the
    limits: an int's bits from its operands' bits, a text's or list's size from theirs."""
    if isinstance(left, Undefined) or isinstance(right, Undefined):
        return  # StrictUndefined raises on any operation
    if _is_int(left) and _is_int(right):
        if operator in ("+", "-"):
            check_bits(max(bits_of(left), bits_of(right)) + 1)
        elif operator == "*":
            check_bits(bits_of(left) + bits_of(right))
        elif operator == "**" and right > 0 and abs(left) > 1:
            # bits(a ** b) = b * log2(a); b may itself be huge: compare it first
            check_bits(MAX_INT_BITS + 1 if right > MAX_INT_BITS else right * math.log2(abs(left)))
        # //, %, / never grow an int; a negative power is a float.
        return
    if operator == "%" and isinstance(left, str):
        raise SecurityError(_("Formatting text with % is not available; use filters."))
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            if _is_seq(seq) and _is_int(times):
                check_size(size_of(seq) * max(times, 0))
                current_budget().spend(size_of(seq) * max(times, 0))
    elif operator == "+" and _same_sequence_kind(left, right):
        # Markup + str escapes the str: count it escaped.
        markup = isinstance(left, Markup) or isinstance(right, Markup)
        size = sum(escaped_size(x) if markup else size_of(x) for x in (left, right))
        check_size(size)
        current_budget().spend(size)


@pass_eval_context
def concat(eval_ctx, items: list) -> str:
    """``a ~ b ~ c`` (``compile_template`` turns Jinja's ``Concat`` into this): the joined
    text's size is counted from the parts, escaped where Jinja escapes them, before joining."""
    if eval_ctx.autoescape and any(isinstance(item, Markup) for item in items):
        size = sum(escaped_size(item) for item in items)
    else:
        size = sum(size_of(item) for item in items)
    check_size(size)
    current_budget().spend(size)
    return markup_join(items) if eval_ctx.autoescape else str_join(items)


def sized(value: Any) -> Any:
    """A list, tuple or dict literal with values in it (``[a, a]``): refused before it is used
    if its items make it over the limit, which a nest of such lists reaches quickly."""
    return check_value(value)


def touch(value: Any) -> Any:
    """Charge an operand of a comparison (``==``, ``<``, ``in``): comparing costs its size."""
    current_budget().spend(size_of(value))
    return value


@pass_eval_context
def escape_block(eval_ctx, value: Any) -> Any:
    """The result of a ``{% filter %}`` block, which Jinja writes out as it is: escaped like
    any ``{{ value }}`` (``striptags`` or ``replace`` must not turn escaped text back into
    markup), and charged (inside a macro it goes to a buffer, not to the output)."""
    check_value(value)
    return escape(value) if eval_ctx.autoescape else value
