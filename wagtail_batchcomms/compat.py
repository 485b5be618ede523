"""The few places where the Wagtail versions we support differ (7.4 LTS and 8.x).

Everything else imports Wagtail directly. Each entry names the release that lets it go: when the
lowest supported Wagtail reaches it, delete the entry and import Wagtail's name at its callers.

Not here but of the same kind: our migrations may depend on no Wagtail migration newer than the
lowest supported Wagtail has (wagtailcore 0097 for 7.4; makemigrations on 8.x writes 0098, which
7.4 cannot migrate). CI's leg on 7.4 fails at once when one does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.db.models import Model
    from wagtail.permission_policies import BasePermissionPolicy

# The range declared in pyproject.toml and tested in CI; checks.py refuses anything else.
SUPPORTED_WAGTAIL = ((7, 4), (9, 0))  # lowest supported, first unsupported


def wagtail_requirement() -> str:
    """The pip requirement for the supported range, e.g. ``wagtail>=7.4,<9`` (as pyproject.toml
    spells it)."""
    (low_major, low_minor), (high_major, high_minor) = SUPPORTED_WAGTAIL
    high = f"{high_major}" if high_minor == 0 else f"{high_major}.{high_minor}"
    return f"wagtail>={low_major}.{low_minor},<{high}"


# Every policy registered below, by model, on every supported Wagtail: what code that sits
# below permissions.py (the models' FSM transitions) asks, through registered_permission_policy.
_registered_policies: dict[type[Model], BasePermissionPolicy] = {}


def register_permission_policy(model: type[Model], policy) -> None:
    """Make ``policy`` the one Wagtail asks for ``model`` (Wagtail 8's registry), and the one
    ``registered_permission_policy`` returns. On Wagtail 7.4 there is no registry: our viewsets
    return the same policy from ``permission_policy`` (``permissions.PolicyViewSetMixin``),
    which is where 7.4 looks."""
    _registered_policies[model] = policy
    # Imported here, not at the top: wagtail.permissions imports Wagtail's models, and this
    # module must import while Django is still creating the app configs (apps.py's version
    # check, batchcomms.E010).
    try:
        # Wagtail 8.0 keeps one permission policy per model in a registry that its own views,
        # choosers and reference-index listings ask. Let go with Wagtail 7.4.
        from wagtail.permissions import policy_registry
    except ImportError:  # Wagtail 7.4: each viewset's permission_policy is what its views ask.
        return
    if policy_registry.get_by_type(model, fallback=False) is None:
        policy_registry.register(model, value=policy, exact_class=True)


def registered_permission_policy(model: type[Model]) -> BasePermissionPolicy:
    """The policy registered for ``model`` (its concrete model) with
    ``register_permission_policy``: ``permissions.policy_for`` without importing the admin
    layer, for the models' FSM transitions. Raises ``KeyError`` before the app is ready.

    Let go with Wagtail 7.4 (in favour of ``wagtail.permissions.policy_registry.get_by_type``)
    once our registration is sure to win Wagtail's registry: today a policy someone registered
    there first keeps its place (see above), and ``permissions.policy_for`` returns ours."""
    return _registered_policies[model._meta.concrete_model]
