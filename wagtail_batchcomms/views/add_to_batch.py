""" "Add To Batch Communication": the Assemblies listing's header button, its confirm view and
the bulk action for selected rows.

The batch holds exactly what the listing shows: the same ``AssemblyFilterSet`` and
``search_assemblies`` over the same query string. The header button carries the listing's
query string (also after AJAX filtering: Wagtail re-renders header buttons in the results
fragment), the confirm view re-applies it, and the bulk action's "select all N in listing"
applies it too (Wagtail's default would take every assembly).
"""

from __future__ import annotations

import uuid

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.functional import cached_property, classproperty
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import FormView
from wagtail import hooks
from wagtail.admin import messages
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.views.generic.permissions import PermissionCheckedMixin
from wagtail.admin.widgets.button import HeaderButton
from wagtail.admin.widgets.datetime import AdminDateInput
from wagtail.snippets.bulk_actions.snippet_bulk_action import SnippetBulkAction

from ..filters import AssemblyFilterSet, search_assemblies
from ..models import Assembly, Batch, BatchStatus
from ..services import batches as batch_services
from .batches import batch_policy, batch_url, live_templates, validate_due_date

#: Listing parameters that are not filters: pagination and Wagtail's AJAX marker.
NOT_FILTERS = ("p", "_w_filter_fragment")
#: Parameters a bulk action request adds to the listing's query string.
BULK_PARAMS = ("id", "next", "childOf")


def listing_query(data: QueryDict, drop: tuple[str, ...] = NOT_FILTERS) -> str:
    """The listing's query string without pagination, markers and empty values.

    The AJAX filter form submits every field, empty ones too ("city=&q="); they filter
    nothing, so they are left out of the button's URL and of the batch's saved filter.
    """
    query = QueryDict(mutable=True)
    for key, values in data.lists():
        kept = [value for value in values if value != ""]
        if key not in drop and kept:
            query.setlist(key, kept)
    return query.urlencode()


class FilteredAssemblies:
    """The assemblies a listing query string selects, exactly as the listing selects them."""

    def __init__(self, data: QueryDict) -> None:
        self.data = data
        self.filterset = AssemblyFilterSet(data=data, queryset=Assembly.objects.all())
        self.search = (data.get("q") or "").strip()

    @cached_property
    def is_valid(self) -> bool:
        return self.filterset.is_valid()

    @property
    def errors(self) -> list[str]:
        form = self.filterset.form
        errors = []
        for name, messages_ in form.errors.items():
            label = form.fields[name].label if name in form.fields else name
            errors.extend(f"{label}: {message}" for message in messages_)
        return errors

    @cached_property
    def queryset(self):
        if not self.is_valid:
            raise ValueError("invalid filters")
        return search_assemblies(self.filterset.qs, self.search)

    @cached_property
    def count(self) -> int:
        return self.queryset.count()

    @property
    def summary(self) -> list[tuple[str, str]]:
        """(label, value) of each filter in force, for the confirm page."""
        if not self.is_valid:
            return []
        form = self.filterset.form
        items = []
        for name in form.changed_data:
            field = form.fields[name]
            value = form.cleaned_data.get(name)
            if value in (None, "", [], ()):
                continue
            items.append((str(field.label), _display(field, value)))
        if self.search:
            items.append((_("Search"), self.search))
        return items


def _display(field, value) -> str:
    """A cleaned filter value as the admin picked it (labels, not codes)."""
    if isinstance(value, slice):  # DateFromToRangeFilter
        return _range(value.start, value.stop)
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    choices = {str(key): label for key, label in getattr(field, "choices", None) or []}
    if isinstance(value, str):
        return str(choices.get(value, value))
    try:
        values = list(value)
    except TypeError:
        return str(value)
    return ", ".join(str(choices.get(str(item), item)) for item in values)


def _range(start, stop) -> str:
    if start and stop:
        return _("%(start)s to %(stop)s") % {
            "start": f"{start:%Y-%m-%d}",
            "stop": f"{stop:%Y-%m-%d}",
        }
    if start:
        return _("from %(date)s") % {"date": f"{start:%Y-%m-%d}"}
    return _("until %(date)s") % {"date": f"{stop:%Y-%m-%d}"}


# --- the header button ----------------------------------------------------------------------


class AddToBatchButtonMixin:
    """For the Assemblies IndexView: "Add To Batch Communication" at the top right.

    Its URL carries the current filters and search, so the confirm view sees what the admin
    sees. The results-only view renders header buttons too, so the URL follows AJAX filtering.
    """

    @cached_property
    def header_buttons(self):
        buttons = list(super().header_buttons)
        if batch_policy().user_has_permission(self.request.user, "add"):
            url = reverse("wagtail_batchcomms_batch:add")
            query = listing_query(self.request.GET)
            buttons.append(
                HeaderButton(
                    _("Add To Batch Communication"),
                    url=f"{url}?{query}" if query else url,
                    icon_name="mail",
                    priority=50,
                    attrs={"data-add-to-batch": ""},
                )
            )
        return buttons


# --- the confirm view -----------------------------------------------------------------------


SESSION_KEY = "wagtail_batchcomms_created_batches"


def already_created(request, token: str) -> Batch | None:
    """The batch a previous POST of this very form made (a double click, a resubmit)."""
    batch_id = request.session.get(SESSION_KEY, {}).get(token) if token else None
    return Batch.objects.filter(pk=batch_id).first() if batch_id else None


def remember_created(request, token: str, batch: Batch) -> None:
    if token:
        created = dict(list(request.session.get(SESSION_KEY, {}).items())[-20:])
        created[token] = batch.pk
        request.session[SESSION_KEY] = created


class NewBatchForm(forms.Form):
    # One token per rendered form: a second POST of the same form lands on the batch the
    # first one made instead of making another.
    form_token = forms.CharField(widget=forms.HiddenInput, required=False)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    template = forms.ModelChoiceField(
        label=gettext_lazy("Notice template"),
        queryset=Batch._meta.get_field("template").related_model.objects.none(),
        help_text=gettext_lazy("Only published templates are listed."),
    )
    due_date = forms.DateField(
        label=gettext_lazy("Due date"), widget=AdminDateInput, validators=[validate_due_date]
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = live_templates()


class AddToBatchView(PermissionCheckedMixin, WagtailAdminTemplateMixin, FormView):
    """GET: how many assemblies the filters select, and the batch's name, template, due date.
    POST: ``services.batches.create_batch`` with that queryset, then the new batch's page."""

    model = Batch
    permission_required = "add"
    form_class = NewBatchForm
    template_name = "wagtail_batchcomms/admin/add_to_batch.html"
    page_title = gettext_lazy("Add To Batch Communication")
    header_icon = "mail"

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.selection = FilteredAssemblies(request.GET)
        self.filter_query = listing_query(request.GET)

    @cached_property
    def assemblies_url(self) -> str:
        url = reverse("wagtailsnippets_wagtail_batchcomms_assembly:list")
        return f"{url}?{self.filter_query}" if self.filter_query else url

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": self.assemblies_url, "label": _("Assemblies")},
            {"url": "", "label": self.get_page_title()},
        ]

    def get_initial(self):
        return {"form_token": uuid.uuid4().hex}

    def form_valid(self, form):
        token = form.cleaned_data.get("form_token", "")
        if previous := already_created(self.request, token):
            messages.warning(
                self.request,
                _("This form was already sent: “%(name)s” was created then.") % {"name": previous},
            )
            return redirect(batch_url(previous))
        if not self.selection.is_valid:
            return self.form_invalid(form)
        if self.selection.count == 0:
            form.add_error(None, _("No assemblies match these filters; nothing to add."))
            return self.form_invalid(form)
        try:
            batch = batch_services.create_batch(
                user=self.request.user,
                name=form.cleaned_data["name"],
                template=form.cleaned_data["template"],
                due_date=form.cleaned_data["due_date"],
                assemblies=self.selection.queryset,
                filter_query=self.filter_query,
            )
        except batch_services.BatchActionError as error:
            form.add_error(None, str(error))
            return self.form_invalid(form)
        remember_created(self.request, token, batch)
        messages.success(
            self.request,
            _("Batch “%(name)s” created with %(count)s assemblies.")
            % {"name": batch.name, "count": f"{batch.assembly_count or self.selection.count:,}"},
        )
        return redirect(batch_url(batch))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            selection_valid=self.selection.is_valid,
            filter_errors=self.selection.errors,
            filter_summary=self.selection.summary,
            assembly_count=self.selection.count if self.selection.is_valid else None,
            assemblies_url=self.assemblies_url,
            action_url=self.request.get_full_path(),
            media=context["form"].media,
        )
        return context


# --- the bulk action ------------------------------------------------------------------------


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
        ids = [pk for pk in self.request.GET.getlist("id") if pk.isdigit()]
        return Assembly.objects.filter(pk__in=ids)

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
            return redirect(batch_url(previous))
        try:
            if data["target"] == "existing":
                batch = data["batch"]
                added = batch_services.add_assemblies(
                    batch.pk, self.assemblies, user=self.request.user
                )
                message = _("%(count)s assemblies added to “%(name)s”.") % {
                    "count": f"{added:,}",
                    "name": batch,
                }
            else:
                batch = batch_services.create_batch(
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
        except batch_services.BatchActionError as error:
            form.add_error(None, str(error))
            return self.form_invalid(form)
        remember_created(self.request, data.get("form_token", ""), batch)
        for hook in hooks.get_hooks("after_bulk_action"):
            result = hook(self.request, self.action_type, self.assemblies, self)
            if hasattr(result, "status_code"):
                return result
        messages.success(self.request, message)
        return redirect(batch_url(batch))

    @classmethod
    def execute_action(cls, objects, **kwargs):  # pragma: no cover - form_valid does the work
        raise NotImplementedError
