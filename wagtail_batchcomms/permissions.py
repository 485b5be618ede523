"""One permission policy per model, and the one way to ask it.

Every view, column, chooser, export and use case asks ``policy_for(model)`` (or
``user_can``): never ``user.has_perm`` with a spelled-out codename. The policies are
Wagtail's own classes, registered with Wagtail (``compat.register_permission_policy``) so
that Wagtail's views, choosers and listings ask the same object, and returned by our viewsets'
``permission_policy`` (``PolicyViewSetMixin``), where Wagtail 7.4 looks for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import apps
from django.db.models import Model
from wagtail.permission_policies import BasePermissionPolicy, ModelPermissionPolicy

from .compat import register_permission_policy

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    User = AbstractBaseUser | AnonymousUser

# Model names (of this app) with a policy. A model's custom actions are its Meta.permissions
# ("send_batch" is the action "send" of Batch).
POLICY_MODELS = (
    "ServiceArea",
    "Location",
    "Contact",
    "LocationContact",
    "Assembly",
    "NoticeTemplate",
    "Batch",
    "Communication",
    "LetterDownload",
)

_policies: dict[type[Model], BasePermissionPolicy] = {}


def register_policies() -> None:
    """Create and register every model's policy (``AppConfig.ready``: before Wagtail's
    viewsets register theirs, so that Wagtail never makes a fallback of its own)."""
    for name in POLICY_MODELS:
        model = apps.get_model("wagtail_batchcomms", name)
        if model not in _policies:
            _policies[model] = ModelPermissionPolicy(model)
        register_permission_policy(model, _policies[model])


def policy_for(model_or_instance: type[Model] | Model) -> BasePermissionPolicy:
    """The permission policy of a model of this app (or of an instance's model)."""
    model = model_or_instance if isinstance(model_or_instance, type) else type(model_or_instance)
    return _policies[model._meta.concrete_model]


def user_can(user: User, action: str, model_or_instance: type[Model] | Model) -> bool:
    """Whether ``user`` may take ``action`` ("view", "add", "change", "delete", or a custom
    action such as "send" for ``send_batch``) on the model, or on the instance given."""
    policy = policy_for(model_or_instance)
    if isinstance(model_or_instance, Model):
        return policy.user_has_permission_for_instance(user, action, model_or_instance)
    return policy.user_has_permission(user, action)


def user_can_any(user: User, actions: list[str] | tuple[str, ...], model: type[Model]) -> bool:
    """Whether ``user`` holds at least one of ``actions`` on ``model``."""
    return policy_for(model).user_has_any_permission(user, actions)


class PolicyViewSetMixin:
    """For our viewsets: their views ask the model's one policy (Wagtail 7.4 asks the
    viewset's ``permission_policy``; Wagtail 8 asks its registry, which holds the same)."""

    model: type[Model]

    @property
    def permission_policy(self) -> BasePermissionPolicy:
        return policy_for(self.model)
