"""The Assemblies listing's bulk action "Add to batch communication": the selected rows, or
"select all N in listing" with the listing's filters and search applied (Wagtail's default
``get_all_objects_in_listing_query`` ignores them and would take every assembly), into a new
batch or an existing Open one.

Also Wagtail's bulk delete for our snippets, with the ``?id=`` values checked first.
"""

from __future__ import annotations

import uuid

from django import forms
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.utils.functional import cached_property, classproperty
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import FormView
from wagtail import hooks
from wagtail.admin import messages
from wagtail.snippets.bulk_actions.delete import DeleteBulkAction
from wagtail.snippets.bulk_actions.snippet_bulk_action import SnippetBulkAction
from wagtail.snippets.models import get_snippet_models

from ...batches import lifecycle
from ...exceptions import BatchActionError
from ...models import Assembly, Batch, BatchStatus
from ...register.filters import ids_of
from .add_to_batch import (
    BULK_PARAMS,
    NOT_FILTERS,
    FilteredAssemblies,
    NewBatchForm,
    already_created,
    listing_query,
    remember_created,
)
from .links import batch_landing_url, batch_policy


class BulkAddForm(NewBatchForm):
    target = forms.ChoiceField(
        label=gettext_lazy("Add to"),
        choices=[
            ("new", gettext_lazy("A new batch communication")),
            ("existing", gettext_lazy("An existing Open batch")),
        ],
        initial="new",
        widget=forms.RadioSelect,
    )
    batch = forms.ModelChoiceField(
        label=gettext_lazy("Open batch"),
        queryset=Batch.objects.none(),
        required=False,
    )

    field_order = ["form_token", "target", "batch", "name", "template", "due_date"]

    def __init__(self, *args, can_create: bool = True, can_add: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["batch"].queryset = Batch.objects.filter(status=BatchStatus.OPEN).order_by(
            "-created_at"
        )
        for name in ("name", "template", "due_date"):
            self.fields[name].required = False
        # Offer only what the user may do: "add" makes batches, "change" fills Open ones.
        target = self.fields["target"]
        target.choices = [
            (value, label)
            for value, label in target.choices
            if (value == "new" and can_create) or (value == "existing" and can_add)
        ]
        target.initial = target.choices[0][0] if target.choices else None

    def clean(self):
        data = super().clean()
        if data.get("target") == "existing":
            if not data.get("batch"):
                self.add_error("batch", _("Pick the Open batch to add to."))
        else:
            for name in ("name", "template", "due_date"):
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, _("This field is required for a new batch."))
        return data


class AddToBatchBulkAction(SnippetBulkAction):
    display_name = gettext_lazy("Add to batch communication")
    action_type = "add_to_batch"
    aria_label = gettext_lazy("Add the selected assemblies to a batch communication")
    template_name = "wagtail_batchcomms/admin/bulk_add_to_batch.html"
    action_priority = 20
    form_class = BulkAddForm

    @classproperty
    def models(cls):
        return [Assembly]

    def dispatch(self, request, *args, **kwargs):
        if not batch_policy().user_has_any_permission(request.user, {"add", "change"}):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self):
        return {"form_token": uuid.uuid4().hex}

    def get_form_kwargs(self):
        policy = batch_policy()
        return {
            **super().get_form_kwargs(),
            "can_create": policy.user_has_permission(self.request.user, "add"),
            "can_add": policy.user_has_permission(self.request.user, "change"),
        }

    @cached_property
    def select_all(self) -> bool:
        return "all" in self.request.GET.getlist("id")

    @cached_property
    def selection(self) -> FilteredAssemblies:
        return FilteredAssemblies(self.request.GET)

    def get_all_objects_in_listing_query(self, parent_id):
        # "Select all N in listing": the request carries the listing's query string (the
        # bulk-actions script copies window.location's, which AJAX filtering keeps current).
        if not self.selection.is_valid:
            return Assembly.objects.none().values_list("pk", flat=True)
        return self.selection.queryset.values_list("pk", flat=True)

    @cached_property
    def assemblies(self):
        """A lazy queryset of the chosen assemblies (never loaded row by row)."""
        if self.select_all:
            return Assembly.objects.filter(pk__in=self.get_all_objects_in_listing_query(None))
        return Assembly.objects.filter(pk__in=ids_of(self.request.GET.getlist("id"), Assembly))

    @cached_property
    def assembly_count(self) -> int:
        return self.assemblies.count()

    def get_actionable_objects(self):
        return self.assemblies, {"items_with_no_access": []}

    def get_context_data(self, **kwargs):
        # Not BulkAction.get_context_data: it renders one row per object, which for "select
        # all" on a large register is the whole register.
        context = FormView.get_context_data(self, **kwargs)
        context.update(
            assembly_count=self.assembly_count,
            sample=list(self.assemblies.select_related("location")[:10]),
            select_all=self.select_all,
            filter_errors=self.selection.errors if self.select_all else [],
            filter_summary=self.selection.summary if self.select_all else [],
            next=self.next_url,
            submit_url=self.request.path + "?" + self.request.META["QUERY_STRING"],
            model_opts=Assembly._meta,
            header_icon="mail",
        )
        return context

    def form_valid(self, form):
        if self.select_all and not self.selection.is_valid:
            form.add_error(None, _("The listing's filters are not valid; nothing was added."))
            return self.form_invalid(form)
        if not self.assembly_count:
            form.add_error(None, _("No assemblies are selected."))
            return self.form_invalid(form)
        for hook in hooks.get_hooks("before_bulk_action"):
            result = hook(self.request, self.action_type, self.assemblies, self)
            if hasattr(result, "status_code"):
                return result
        data = form.cleaned_data
        if previous := already_created(self.request, data.get("form_token", "")):
            messages.warning(
                self.request,
                _("This form was already sent: “%(name)s” was updated then.") % {"name": previous},
            )
            return redirect(batch_landing_url(self.request.user, previous))
        try:
            if data["target"] == "existing":
                batch = data["batch"]
                added = lifecycle.add_assemblies(batch.pk, self.assemblies, user=self.request.user)
                message = _("%(count)s assemblies added to “%(name)s”.") % {
                    "count": f"{added:,}",
                    "name": batch,
                }
            else:
                batch = lifecycle.create_batch(
                    user=self.request.user,
                    name=data["name"],
                    template=data["template"],
                    due_date=data["due_date"],
                    assemblies=self.assemblies,
                    filter_query=(
                        listing_query(self.request.GET, NOT_FILTERS + BULK_PARAMS)
                        if self.select_all
                        else ""
                    ),
                )
                message = _("Batch “%(name)s” created with %(count)s assemblies.") % {
                    "name": batch.name,
                    "count": f"{self.assembly_count:,}",
                }
        except BatchActionError as error:
            form.add_error(None, str(error))
            return self.form_invalid(form)
        remember_created(self.request, data.get("form_token", ""), batch)
        for hook in hooks.get_hooks("after_bulk_action"):
            result = hook(self.request, self.action_type, self.assemblies, self)
            if hasattr(result, "status_code"):
                return result
        messages.success(self.request, message)
        return redirect(batch_landing_url(self.request.user, batch))

    @classmethod
    def execute_action(cls, objects, **kwargs):  # pragma: no cover - form_valid does the work
        raise NotImplementedError


class BoundedIdsMixin:
    """For Wagtail's bulk actions: ``?id=`` values that are not ids the id column can hold
    (past 64 bits: an OverflowError in ``pk__in`` on SQLite) are left out, so that such a
    request finds nothing (Wagtail's 404), as an unknown id does."""

    @classmethod
    def get_queryset(cls, model, object_ids):
        if isinstance(object_ids, (list, tuple)):
            object_ids = ids_of(list(object_ids), model)
        return super().get_queryset(model, object_ids)


class BoundedDeleteBulkAction(BoundedIdsMixin, DeleteBulkAction):
    """Wagtail's bulk delete for this app's snippets (registered after Wagtail's own, so it
    takes their place)."""

    @classproperty
    def models(cls):
        app_label = Assembly._meta.app_label
        return [model for model in get_snippet_models() if model._meta.app_label == app_label]
