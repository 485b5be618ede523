"""The errors one capability raises and another (or a view) catches.

They live below every capability, so the one that raises and the one that catches need not
import each other. ``str(error)`` is always the message for the admin.
"""

from __future__ import annotations


class BatchActionError(Exception):
    """A refused batch action (wrong state, no permission, a condition not met)."""


class LetterError(BatchActionError):
    """A refused letter action (request, download, mark mailed)."""


class SendingError(Exception):
    """A refused send request."""
