"""What differs between the Wagtail versions we support (compat.py) holds on the one running.

CI runs the whole suite on the lowest supported Wagtail and on the latest, so each test here
checks a difference on both.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from wagtail.admin.views.generic.permissions import PermissionCheckedMixin

from wagtail_batchcomms.permissions import POLICY_MODELS, policy_for


def our_views(patterns=None, namespace: str = "") -> Iterator[tuple[str, type, dict]]:
    """(url name, view class, the keyword arguments it is built with) of every class-based
    view of this app behind the admin's URLs: our own and Wagtail's (snippet viewsets)."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from our_views(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and "batchcomms" in f"{namespace}{pattern.name}":
            view_class = getattr(pattern.callback, "view_class", None)
            if view_class is not None:
                initkwargs = getattr(pattern.callback, "view_initkwargs", {})
                yield f"{namespace}{pattern.name}", view_class, initkwargs


def test_every_permission_checked_view_asks_one_of_our_policies():
    """Wagtail 8's PermissionCheckedMixin finds a view's policy from its ``model``; Wagtail
    7.4's has none unless it is given one, and then lets everyone in. Every view of ours that
    checks permissions must have one of our policies on both."""
    from django.apps import apps

    policies = {
        id(policy_for(apps.get_model("wagtail_batchcomms", name))): name for name in POLICY_MODELS
    }
    checked, missing = [], []
    for name, view_class, initkwargs in our_views():
        if not issubclass(view_class, PermissionCheckedMixin):
            continue
        view = view_class(**initkwargs)
        checked.append(name)
        if id(view.permission_policy) not in policies:
            missing.append(f"{name} ({view_class.__name__}): {view.permission_policy!r}")
    assert missing == []
    # The walk found the views: the batch admin, its actions and previews, the register.
    assert len(checked) > 40
    for name in (
        "wagtail_batchcomms_batch:preview_email",
        "wagtail_batchcomms_batch:detail",
        "wagtail_batchcomms_batch:add",
        "wagtail_batchcomms_batch:send",
        "wagtailsnippets_wagtail_batchcomms_assembly:list",
    ):
        assert name in checked


@pytest.mark.parametrize("model", POLICY_MODELS)
def test_wagtail_asks_our_policy_for_each_model(model):
    """Where Wagtail keeps a registry of policies (8.x), it holds ours; on 7.4 our viewsets
    hand theirs to their views (above)."""
    from django.apps import apps

    model_class = apps.get_model("wagtail_batchcomms", model)
    try:
        from wagtail.permissions import policy_registry
    except ImportError:  # Wagtail 7.4: no registry
        pytest.skip("this Wagtail has no policy registry")
    assert policy_registry.get_by_type(model_class) is policy_for(model_class)


@pytest.mark.parametrize("model", POLICY_MODELS)
def test_the_models_find_the_policy_permissions_registered(model):
    """The batch's FSM transitions ask ``compat.registered_permission_policy`` (the models do
    not import permissions.py): on every Wagtail it is the policy every view asks."""
    from django.apps import apps

    from wagtail_batchcomms.compat import registered_permission_policy

    model_class = apps.get_model("wagtail_batchcomms", model)
    assert registered_permission_policy(model_class) is policy_for(model_class)
