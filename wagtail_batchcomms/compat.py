"""The few places where the Wagtail versions we support differ (7.4 LTS and 8.x).

Everything else imports Wagtail directly. Each entry names the release that lets it go: when the
lowest supported Wagtail reaches it, delete the entry and import Wagtail's name at its callers.
"""

from __future__ import annotations

import wagtail
from django.db.models import Model

WAGTAIL_VERSION: tuple[int, int] = tuple(wagtail.VERSION[:2])

# The range declared in pyproject.toml and tested in CI; checks.py refuses anything else.
SUPPORTED_WAGTAIL = ((7, 4), (9, 0))  # lowest supported, first unsupported

try:
    # Wagtail 8.0 keeps one permission policy per model in a registry that its own views,
    # choosers and reference-index listings ask. Let go with Wagtail 7.4.
    from wagtail.permissions import policy_registry as _policy_registry
except ImportError:  # Wagtail 7.4: each viewset's permission_policy is what its views ask.
    _policy_registry = None


def register_permission_policy(model: type[Model], policy) -> None:
    """Make ``policy`` the one Wagtail asks for ``model`` (Wagtail 8's registry). On Wagtail
    7.4 there is no registry: our viewsets return the same policy from ``permission_policy``
    (``permissions.PolicyViewSetMixin``), which is where 7.4 looks."""
    if _policy_registry is not None and _policy_registry.get_by_type(model, fallback=False) is None:
        _policy_registry.register(model, value=policy, exact_class=True)
