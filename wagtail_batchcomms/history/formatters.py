"""Every history id of the package with its formatter, for Wagtail's ``register_log_actions``
hook (``wagtail_hooks.py``)."""

from __future__ import annotations

from wagtail.log_actions import LogActionRegistry, LogFormatter

from . import batches, emails, exports, imports, letters, logs, review, rules

FORMATTERS: dict[str, type[LogFormatter]] = {
    **batches.FORMATTERS,
    **emails.FORMATTERS,
    **letters.FORMATTERS,
    **review.FORMATTERS,
    **rules.FORMATTERS,
    **logs.FORMATTERS,
    **imports.FORMATTERS,
    **exports.FORMATTERS,
}


def register_log_actions(actions: LogActionRegistry) -> None:
    """Register every id of ``FORMATTERS`` with its formatter."""
    for action, formatter in FORMATTERS.items():
        actions.register_action(action)(formatter)
