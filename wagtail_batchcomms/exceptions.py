"""The errors capabilities raise to each other.

They live below every capability so that the one that raises and the ones that catch need not
import each other (``emails`` and ``letters`` catch what ``notices`` raises).
"""

from __future__ import annotations


class RenderError(Exception):
    """A notice that cannot be rendered; ``str(error)`` names the problem for the admin."""
