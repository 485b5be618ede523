"""Table columns shared by the app's listings."""

from __future__ import annotations

from django.db.models import Model
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from wagtail.admin.ui.tables import BooleanColumn, Column, StatusTagColumn

from ..models import ComplianceStatus
from ..permissions import is_ours, user_can, user_can_look
from ..register.notice_filters import describe

COMPLIANCE_LABELS = dict(ComplianceStatus.choices)
PRIMARY_COMPLIANCE = {
    ComplianceStatus.FAILED_TEST,
    ComplianceStatus.OVERDUE,
    ComplianceStatus.NEVER_TESTED,
}

# The columns below render their cells with format_html instead of a template: a 50-row
# listing has hundreds of cells, and a template render per cell was most of the Assemblies
# listing's time at 100,000 assemblies. The HTML is what Wagtail's cell templates produce.


class TextColumn(Column):
    """Wagtail's ``Column`` (same markup), rendered without a template."""

    def cell(self, content) -> str:
        if self.classname:
            return format_html('<td class="{}">{}</td>', self.classname, content)
        return format_html("<td>{}</td>", content)

    def render_cell_html(self, instance, parent_context):
        value = self.get_value(instance)
        if value is None or not str(value).strip():
            value = self.empty_value_display
        return self.cell(value)


class DateTextColumn(TextColumn):
    """A date as a date ("Nov. 26, 2026"), not "in 3 months": due dates are read as dates."""

    def render_cell_html(self, instance, parent_context):
        value = self.get_value(instance)
        if not value:
            return self.cell("")
        return self.cell(
            format_html('<time datetime="{}">{}</time>', value.isoformat(), date_format(value))
        )


class LastNoticeColumn(TextColumn):
    """An assembly's last notice: its date, and what it was (type, batch or "Logged")."""

    def __init__(self, name="last_notice_at", **kwargs):
        kwargs.setdefault("label", _("Last notice"))
        kwargs.setdefault("sort_key", "last_notice_at")
        super().__init__(name, **kwargs)

    def render_cell_html(self, instance, parent_context):
        moment = instance.last_notice_at
        if moment is None:
            return self.cell(_("Never"))
        day = timezone.localtime(moment).date()
        return self.cell(
            format_html(
                '<time datetime="{}">{}</time><div class="w-text-14">{}</div>',
                day.isoformat(),
                date_format(day),
                describe(instance.last_notice),
            )
        )


def admin_url_for(user, obj) -> str | None:
    """Where ``user`` can open ``obj`` in the admin: its edit view if they may change it,
    else its inspect view if they may look at it, else None."""
    viewset = getattr(type(obj), "snippet_viewset", None)
    if viewset is None or user is None:
        # A batch (a ModelViewSet of ours, not a snippet) opens on its batch page, for users
        # its policy lets look at it.
        if user is not None and is_ours(type(obj)) and not user_can_look(user, type(obj)):
            return None
        return obj.get_admin_url() if hasattr(obj, "get_admin_url") else None
    if user_can(user, "change", type(obj)):
        return reverse(viewset.get_url_name("edit"), args=[obj.pk])
    if viewset.inspect_view_enabled and user_can(user, "view", type(obj)):
        return reverse(viewset.get_url_name("inspect"), args=[obj.pk])
    return None


class LinkColumn(TextColumn):
    """A related object rendered as a link to its admin page (no extra query: select_related).

    Without ``url``, the link goes where the user may go: the edit view, else the inspect
    view, else no link.
    """

    def __init__(self, name, *, url=None, **kwargs):
        super().__init__(name, **kwargs)
        self._get_url = url

    def render_cell_html(self, instance, parent_context):
        target = self.get_value(instance)
        if target is None:
            return self.cell(self.empty_value_display)
        url = None
        if self._get_url:
            url = self._get_url(instance)
        elif isinstance(target, Model):
            request = parent_context.get("request")
            url = admin_url_for(getattr(request, "user", None), target)
        if not url:
            return self.cell(target)
        return self.cell(format_html('<a href="{}">{}</a>', url, target))


class YesNoColumn(BooleanColumn):
    """Wagtail's tick / cross column, whose icons are titled Yes and No, not True and False."""

    cell_template_name = "wagtail_batchcomms/tables/boolean_cell.html"


class ComplianceColumn(StatusTagColumn):
    """The annotated compliance status as a Wagtail status tag; failed, overdue and untested
    stand out."""

    def __init__(self, name="compliance_status", **kwargs):
        kwargs.setdefault("label", _("Compliance"))
        kwargs.setdefault("sort_key", "compliance_rank")
        super().__init__(
            name, primary=lambda obj: obj.compliance_status in PRIMARY_COMPLIANCE, **kwargs
        )

    def get_value(self, instance):
        return COMPLIANCE_LABELS.get(instance.compliance_status, instance.compliance_status)

    def render_cell_html(self, instance, parent_context):
        primary = " w-status--primary" if instance.compliance_status in PRIMARY_COMPLIANCE else ""
        tag = format_html('<span class="w-status{}">{}</span>', primary, self.get_value(instance))
        if self.classname:
            return format_html('<td class="{}">{}</td>', self.classname, tag)
        return format_html("<td>{}</td>", tag)


class BatchStatusColumn(StatusTagColumn):
    def __init__(self, name="status", **kwargs):
        kwargs.setdefault("label", _("State"))
        kwargs.setdefault("sort_key", "status")
        super().__init__(
            name,
            primary=lambda obj: obj.can_send,
            **kwargs,
        )

    def get_value(self, instance):
        return instance.get_status_display()


class CommunicationStatusColumn(StatusTagColumn):
    def __init__(self, name="status", **kwargs):
        kwargs.setdefault("label", _("Status"))
        kwargs.setdefault("sort_key", "status")
        super().__init__(
            name,
            primary=lambda obj: obj.needs_attention,
            **kwargs,
        )

    def get_value(self, instance):
        return instance.get_status_display()


#: Before the answer of a requeued email (``Communication.answer_is_previous``).
PREVIOUS_ANSWER = _("Last attempt:")


class ErrorColumn(TextColumn):
    """A communication's error code and text, the text cut to ``max_length`` characters; the
    whole text is in the cell's title attribute (and on the communication's page)."""

    def __init__(self, name="error", *, max_length: int = 80, **kwargs):
        kwargs.setdefault("label", _("Error"))
        kwargs.setdefault("sort_key", "error_code")
        super().__init__(name, **kwargs)
        self.max_length = max_length

    def render_cell_html(self, instance, parent_context):
        code, text = instance.error_code, instance.error
        if not (code or text):
            return self.cell("")
        short = Truncator(text).chars(self.max_length)
        code_html = format_html("<code>{}</code> ", code) if code else ""
        # A requeued email keeps its earlier answer until the next outcome replaces it.
        previous = format_html("{} ", PREVIOUS_ANSWER) if instance.answer_is_previous else ""
        return self.cell(
            format_html('<span title="{}">{}{}{}</span>', text, previous, code_html, short)
        )
