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
from django.http import QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import FormView
from wagtail.admin import messages
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.widgets.button import HeaderButton
from wagtail.admin.widgets.datetime import AdminDateInput

from ...batches import lifecycle
from ...exceptions import BatchActionError
from ...models import Assembly, Batch
from ...notices.usage import live_templates
from ...permissions import PolicyCheckedMixin
from ...register.filters import AssemblyFilterSet, ListingSearchForm, search_assemblies
from .forms import validate_due_date
from .links import batch_landing_url, batch_policy

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
        # The listing's own search form: it refuses what the database cannot search for
        # (a NUL character is a DataError on PostgreSQL, 50,000 characters an error on SQLite).
        self.search_form = ListingSearchForm(data)
        self.search = (data.get("q") or "").strip()

    @cached_property
    def is_valid(self) -> bool:
        return self.filterset.is_valid() and self.search_form.is_valid()

    @property
    def errors(self) -> list[str]:
        errors = []
        for form in (self.filterset.form, self.search_form):
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


class AddToBatchView(PolicyCheckedMixin, WagtailAdminTemplateMixin, FormView):
    """GET: how many assemblies the filters select, and the batch's name, template, due date.
    POST: ``batches.lifecycle.create_batch`` with that queryset, then the new batch's page."""

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
            return redirect(batch_landing_url(self.request.user, previous))
        if not self.selection.is_valid:
            return self.form_invalid(form)
        if self.selection.count == 0:
            form.add_error(None, _("No assemblies match these filters; nothing to add."))
            return self.form_invalid(form)
        try:
            batch = lifecycle.create_batch(
                user=self.request.user,
                name=form.cleaned_data["name"],
                template=form.cleaned_data["template"],
                due_date=form.cleaned_data["due_date"],
                assemblies=self.selection.queryset,
                filter_query=self.filter_query,
            )
        except BatchActionError as error:
            form.add_error(None, str(error))
            return self.form_invalid(form)
        remember_created(self.request, token, batch)
        messages.success(
            self.request,
            _("Batch “%(name)s” created with %(count)s assemblies.")
            % {"name": batch.name, "count": f"{batch.assembly_count or self.selection.count:,}"},
        )
        return redirect(batch_landing_url(self.request.user, batch))

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
