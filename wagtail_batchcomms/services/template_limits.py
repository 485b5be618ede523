"""The limits of one notice's render: what a template may spend before it is stopped.

A notice (its subject and every paragraph) shares one ``RenderBudget``: ``MAX_LOOP_ITERATIONS``
loop iterations (and twice as many calls) and ``MAX_RENDERED_LENGTH`` characters of output.
``range()``, ``join``, ``replace``, ``*`` and string arguments are checked before they
allocate. Going over raises ``TemplateLimitError``. ``services.templating`` builds the
sandbox on these.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterable, Iterator

from django.utils.translation import gettext as _
from jinja2.filters import do_join, do_replace, make_attrgetter
from jinja2.sandbox import SecurityError
from jinja2.utils import pass_eval_context

from ..conf import batchcomms_settings


class TemplateLimitError(SecurityError):
    """The template went over a limit (loop iterations, calls, output length)."""


class RenderBudget:
    """What one notice may still spend. Shared by its subject and all its paragraphs."""

    def __init__(self) -> None:
        self.loops_left = batchcomms_settings.MAX_LOOP_ITERATIONS
        self.calls_left = batchcomms_settings.MAX_LOOP_ITERATIONS * 2
        self.output_left = batchcomms_settings.MAX_RENDERED_LENGTH

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


def loop_guard(iterable: Iterable) -> Iterator:
    """Wrapped around every ``{% for %}``'s iterable by ``compile_template``."""
    budget = current_budget()
    for item in iterable:
        budget.loop()
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
    return rng


def check_size(length: int) -> None:
    """Refuse to build a text of ``length`` characters beyond ``MAX_RENDERED_LENGTH``."""
    if length > batchcomms_settings.MAX_RENDERED_LENGTH:
        raise TemplateLimitError(
            _("The template builds a text longer than %(n)s characters.")
            % {"n": batchcomms_settings.MAX_RENDERED_LENGTH}
        )


@pass_eval_context
def join_filter(eval_ctx, value, d: str = "", attribute=None):
    """Jinja's ``join``, refused before it builds a text over the limit."""
    items = list(value)
    if attribute is not None:
        getter = make_attrgetter(eval_ctx.environment, attribute)
        items = [getter(item) for item in items]
    check_size(sum(len(str(item)) for item in items) + len(str(d)) * max(len(items) - 1, 0))
    return do_join(eval_ctx, items, d)


@pass_eval_context
def replace_filter(eval_ctx, s, old, new, count=None):
    """Jinja's ``replace``, refused before it builds a text over the limit."""
    s, old, new = str(s), str(old), str(new)
    hits = s.count(old) if old else len(s) + 1
    if count is not None:
        hits = min(hits, max(int(count), 0))
    check_size(len(s) + hits * max(len(new) - len(old), 0))
    return do_replace(eval_ctx, s, old, new, count)
