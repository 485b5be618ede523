"""The errors capabilities raise to each other.

They live below every capability so that the one that raises and the ones that catch need not
import each other (``emails`` and ``letters`` catch what ``notices`` raises).
"""

from __future__ import annotations


class BatchActionError(Exception):
    """A refused batch action (wrong state, no permission, a condition not met)."""


class LetterError(BatchActionError):
    """A refused letter action (request, download, mark mailed)."""


class SendingError(Exception):
    """A refused send request."""


class RenderError(Exception):
    """A notice that cannot be rendered; ``str(error)`` names the problem for the admin."""


class RuleError(Exception):
    """A Communication Type that cannot be applied now (a scope that no longer validates, a
    template with no published version); ``str(error)`` is shown on the type's form, its
    preview and the run's figures."""


class ImportFileError(Exception):
    """An import file that cannot be read (format, encoding, no header row), or a mapping
    that cannot be used; ``str(error)`` says what to fix."""
