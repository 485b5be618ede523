"""Communication Types in the admin: a snippet with history (Wagtail logs create, edit and
delete), a listing that reads like the rule, and deletion refused while the type has made
notices."""

from __future__ import annotations

from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _gettext
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from wagtail.admin import messages
from wagtail.admin.ui.tables import Column, StatusTagColumn, UpdatedAtColumn
from wagtail.admin.utils import get_valid_next_url_from_request
from wagtail.admin.widgets.button import Button, HeaderButton
from wagtail.snippets.views.snippets import EditView, IndexView, SnippetViewSet

from ...models import CommunicationType, Trigger
from ...permissions import PolicyViewSetMixin
from ...rules.usage import deletion_blockers
from ..listing_guards import GuardedListingMixin
from .forms import communication_type_edit_handler
from .preview import PreviewRunView
from .scope import scope_summary


def trigger_text(ctype: CommunicationType) -> str:
    """The rule's trigger as a phrase: "30 days before due", "failed test (last 7 days)"."""
    days = ctype.days
    if ctype.trigger == Trigger.BEFORE_DUE:
        return ngettext("%(n)s day before due", "%(n)s days before due", days) % {"n": days}
    if ctype.trigger == Trigger.AFTER_DUE:
        return ngettext("%(n)s day after due", "%(n)s days after due", days) % {"n": days}
    event = ctype.get_trigger_display()
    return _gettext("%(event)s (looking back %(n)s days)") % {"event": event, "n": days}


def status_text(ctype: CommunicationType) -> str:
    return _gettext("Active") if ctype.active else _gettext("Paused")


def preview_url(ctype: CommunicationType) -> str:
    return reverse(CommunicationType.snippet_viewset.get_url_name("preview_run"), args=[ctype.pk])


class CommunicationTypeIndexView(GuardedListingMixin, IndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().select_related("template", "requires_type")

    def get_list_more_buttons(self, instance):
        buttons = list(super().get_list_more_buttons(instance))
        buttons.append(
            Button(_("Preview next run"), url=preview_url(instance), icon_name="view", priority=15)
        )
        return buttons


class CommunicationTypeEditView(EditView):
    @property
    def header_buttons(self):
        buttons = list(super().header_buttons)
        buttons.append(
            HeaderButton(_("Preview next run"), url=preview_url(self.object), icon_name="view")
        )
        return buttons


class CommunicationTypeViewSet(PolicyViewSetMixin, SnippetViewSet):
    model = CommunicationType
    icon = "calendar-alt"
    menu_label = _("Communication Types")
    menu_name = "communication-types"
    # In the Communications group (a plain ViewSetGroup): not also under "Snippets".
    menu_item_is_registered = True
    search_fields = ["name", "description"]
    ordering = ["name"]
    copy_view_enabled = False
    list_display = [
        "name",
        Column(trigger_text, label=_("Trigger")),
        Column("template", label=_("Template")),
        Column(lambda ctype: scope_summary(ctype.scope), label=_("Scope")),
        Column("get_mode_display", label=_("When generated")),
        StatusTagColumn(status_text, label=_("Status"), primary=lambda ctype: ctype.active),
        UpdatedAtColumn(),
    ]
    list_filter = ["active", "trigger", "mode"]
    edit_handler = communication_type_edit_handler()
    index_view_class = CommunicationTypeIndexView
    edit_view_class = CommunicationTypeEditView
    # Read-only page for those who may only look at types (and "view" in the group editor).
    inspect_view_enabled = True
    inspect_view_fields = [
        "name",
        "description",
        "template",
        "trigger",
        "days",
        "scope",
        "requires_type",
        "requires_days",
        "response_days",
        "mode",
        "active",
        "updated_at",
    ]

    @property
    def preview_run_view(self):
        return PreviewRunView.as_view()

    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            path("preview/<int:pk>/", self.preview_run_view, name="preview_run"),
        ]


def refuse_deleting_types_in_use(request, instances):
    """``before_delete_snippet`` hook: a type that made notices (claims, batches) or that a
    later type escalates from is not deleted; the admin is told why and to pause it instead.
    Returns a redirect with the messages, or None to let the deletion go ahead."""
    types = [instance for instance in instances if isinstance(instance, CommunicationType)]
    blockers = deletion_blockers(types) if types else {}
    if not blockers:
        return None
    for ctype, found in blockers.items():
        messages.error(request, refusal_message(ctype, found))
    viewset = CommunicationType.snippet_viewset
    if len(instances) == 1:
        return redirect(viewset.get_url_name("edit"), types[0].pk)
    listing = reverse(viewset.get_url_name("list"))
    return redirect(get_valid_next_url_from_request(request) or listing)


def refusal_message(ctype: CommunicationType, found: dict) -> str:
    """E.g. "“First notice” cannot be deleted: it made 120 notices in 3 batches. ..."."""
    reasons = []
    if found["claims"] or found["batches"]:
        reasons.append(
            _gettext("it made notices for %(claims)s assemblies in %(batches)s batches")
            % {"claims": f"{found['claims']:,}", "batches": f"{found['batches']:,}"}
        )
    if found["escalations"]:
        reasons.append(
            _gettext("%(names)s escalate from it") % {"names": ", ".join(found["escalations"])}
        )
    return format_html(
        "{} {}",
        _gettext("“%(name)s” cannot be deleted: %(reasons)s.")
        % {"name": ctype, "reasons": "; ".join(reasons)},
        _gettext(
            "They are the record of what was sent. Pause the type (untick Active) to stop it."
        ),
    )
