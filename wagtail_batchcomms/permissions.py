"""One permission policy per model, and the one way to ask it.

Every view, column, chooser, export and use case asks ``policy_for(model)`` (or
``user_can``): never ``user.has_perm`` with a spelled-out codename. The policies are
Wagtail's own classes, registered with Wagtail (``compat.register_permission_policy``) so
that Wagtail's views, choosers and listings ask the same object, and returned by our viewsets'
``permission_policy`` (``PolicyViewSetMixin``), where Wagtail 7.4 looks for them.
"""

from __future__ import annotations

from functools import wraps
from typing import TYPE_CHECKING

from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.db.models import Model, Q
from django.utils.functional import cached_property
from wagtail.admin.views.generic.permissions import PermissionCheckedMixin
from wagtail.permission_policies import BasePermissionPolicy, ModelPermissionPolicy
from wagtail.snippets.views.chooser import SnippetChooserViewSet

from .compat import register_permission_policy, registered_permission_policy

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
    "CommunicationType",
    "RuleRun",
    "ImportRun",
    "ExportRun",
)

#: Actions that let a user look at a model's rows (its listing, inspect view, chooser, the
#: sections of other pages that show them). "add" alone is not among them: a user who may only
#: create contacts, or only start batches, does not thereby see everyone else's.
LOOK_ACTIONS = ("view", "change")


class BatchPermissionPolicy(ModelPermissionPolicy):
    """Batches: "view" (the batch page, its lists, history, exports) is granted by
    ``view_batch`` and by every permission to act on an existing batch (whoever may send a
    batch must be able to open it), but not by ``add_batch`` alone: starting batches from the
    register does not open every batch, its recipients and its letters."""

    VIEW_GRANTING = ("view", "change", "delete", "generate", "send", "complete", "archive", "clone")

    def user_has_permission(self, user, action):
        if action == "review":
            # Releasing a batch held for review is RuleRun's review_rulerun ("Can review
            # and release automatic notices"): the batch actions ask the batch policy, so it
            # answers for it here, from the one place that knows.
            runs = policy_for(apps.get_model("wagtail_batchcomms", "RuleRun"))
            return runs.user_has_permission(user, "review")
        if action == "view":
            # A reviewer of automatic notices opens the batches they release.
            return any(
                super(BatchPermissionPolicy, self).user_has_permission(user, granting)
                for granting in self.VIEW_GRANTING
            ) or self.user_has_permission(user, "review")
        return super().user_has_permission(user, action)

    def users_with_any_permission(self, actions):
        """The users ``user_has_permission`` says yes to for any of ``actions``: "view" also
        by the acting permissions and by RuleRun's review, "review" only by the latter."""
        actions = set(actions)
        reviewers = "review" in actions or "view" in actions
        if "view" in actions:
            actions |= set(self.VIEW_GRANTING)
        actions.discard("review")
        users = super().users_with_any_permission(actions) if actions else None
        if not reviewers:
            return users
        runs = policy_for(apps.get_model("wagtail_batchcomms", "RuleRun"))
        reviewing = runs.users_with_any_permission(["review"])
        if users is None:
            return reviewing
        return users.model._default_manager.filter(
            Q(pk__in=users.values("pk")) | Q(pk__in=reviewing.values("pk"))
        )


class RequesterPermissionPolicy(ModelPermissionPolicy):
    """Listing exports: no permission of their own. Every admin user may look at the exports
    they asked for (a superuser at all of them), never change or delete one; downloading one
    also asks the listing's own permission (``exports.download_problem``)."""

    def user_has_permission(self, user, action):
        if action == "view":
            return bool(user.is_active and (user.is_superuser or user.pk is not None))
        return False

    def user_has_permission_for_instance(self, user, action, instance):
        if action != "view" or not user.is_active:
            return False
        return user.is_superuser or instance.requested_by_id == user.pk

    def instances_user_has_any_permission_for(self, user, actions):
        queryset = self.model._default_manager.all()
        if "view" not in actions or not user.is_active:
            return queryset.none()
        return queryset if user.is_superuser else queryset.filter(requested_by=user)


#: Models whose policy is not Wagtail's plain ModelPermissionPolicy.
POLICY_CLASSES: dict[str, type[ModelPermissionPolicy]] = {
    "Batch": BatchPermissionPolicy,
    "ExportRun": RequesterPermissionPolicy,
}


def register_policies() -> None:
    """Create and register every model's policy (``AppConfig.ready``: before Wagtail's
    viewsets register theirs, so that Wagtail never makes a fallback of its own). The one
    record of which policy is a model's is ``compat``'s, which the models' transitions read."""
    for name in POLICY_MODELS:
        model = apps.get_model("wagtail_batchcomms", name)
        if not is_ours(model):
            policy = POLICY_CLASSES.get(name, ModelPermissionPolicy)(model)
            register_permission_policy(model, policy)


def is_ours(model: type[Model]) -> bool:
    """Whether ``model`` is one of this app's models with a policy here."""
    try:
        registered_permission_policy(model)
    except KeyError:
        return False
    return True


def policy_for(model_or_instance: type[Model] | Model) -> BasePermissionPolicy:
    """The permission policy of a model of this app (or of an instance's model)."""
    model = model_or_instance if isinstance(model_or_instance, type) else type(model_or_instance)
    return registered_permission_policy(model)


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


def user_can_look(user: User, model: type[Model]) -> bool:
    """Whether ``user`` may look at the rows of ``model`` (``LOOK_ACTIONS``): the test for
    every page section, column, chooser and export that shows them."""
    return user_can_any(user, LOOK_ACTIONS, model)


def look_required(view, model: type[Model]):
    """``view`` answering 403 to users who may not look at ``model`` (for the choosers'
    modal and JSON endpoints, which Wagtail opens to anyone with admin access)."""

    @wraps(view)
    def guarded(request, *args, **kwargs):
        if not user_can_look(request.user, model):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return guarded


class LookRequiredMixin:
    """For views that show other models' rows besides their own (a batch's communications):
    after the view's own permission check, each of ``look_models`` must pass
    ``user_can_look``."""

    look_models: tuple[type[Model], ...] = ()

    def dispatch(self, request, *args, **kwargs):
        if not all(user_can_look(request.user, model) for model in self.look_models):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class PolicyChooserViewSet(SnippetChooserViewSet):
    """Wagtail's snippet chooser (``/admin/snippets/choose/<app>/<model>/``: the modal, its
    results, "chosen" JSON, create), open only to users who may look at the model's rows."""

    def construct_view(self, view_class, **kwargs):
        # Every chooser view is built here (ChooserViewSet.choose_view, chosen_view, ...).
        return look_required(super().construct_view(view_class, **kwargs), self.model)


class PolicyCheckedMixin(PermissionCheckedMixin):
    """Wagtail's ``PermissionCheckedMixin`` asking the view's ``model``'s one policy. Every
    permission-checked view of ours uses it, built by a viewset or not: Wagtail 8's mixin would
    find the policy in its registry, but Wagtail 7.4's has none unless a viewset passes it, and
    without one it lets every admin user in."""

    model: type[Model]

    @cached_property
    def permission_policy(self) -> BasePermissionPolicy:
        return policy_for(self.model)


class PolicyViewSetMixin:
    """For our viewsets: their views ask the model's one policy (Wagtail 7.4 asks the
    viewset's ``permission_policy``; Wagtail 8 asks its registry, which holds the same)."""

    model: type[Model]
    # Snippet viewsets build their chooser from this (ModelViewSets ignore it).
    chooser_viewset_class = PolicyChooserViewSet

    @property
    def permission_policy(self) -> BasePermissionPolicy:
        return policy_for(self.model)
