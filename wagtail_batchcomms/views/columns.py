"""Table columns shared by the app's listings."""

from __future__ import annotations

from wagtail.admin.ui.tables import Column, StatusTagColumn

from ..models import BatchStatus, ComplianceStatus, CommunicationStatus

COMPLIANCE_LABELS = dict(ComplianceStatus.choices)
PRIMARY_COMPLIANCE = {ComplianceStatus.OVERDUE, ComplianceStatus.NEVER_TESTED}


class LinkColumn(Column):
    """A related object rendered as a link to its admin page (no extra query: select_related)."""

    cell_template_name = "wagtail_batchcomms/tables/link_cell.html"

    def __init__(self, name, *, url=None, **kwargs):
        super().__init__(name, **kwargs)
        self._get_url = url

    def get_cell_context_data(self, instance, parent_context):
        context = super().get_cell_context_data(instance, parent_context)
        target = context["raw_value"]
        if self._get_url:
            context["link_url"] = self._get_url(instance)
        elif target is not None and hasattr(target, "get_admin_url"):
            context["link_url"] = target.get_admin_url()
        return context


class ComplianceColumn(StatusTagColumn):
    """The annotated compliance status as a Wagtail status tag; overdue and untested stand out."""

    def __init__(self, name="compliance_status", **kwargs):
        kwargs.setdefault("label", "Compliance")
        kwargs.setdefault("sort_key", "compliance_rank")
        super().__init__(
            name, primary=lambda obj: obj.compliance_status in PRIMARY_COMPLIANCE, **kwargs
        )

    def get_value(self, instance):
        return COMPLIANCE_LABELS.get(instance.compliance_status, instance.compliance_status)


class BatchStatusColumn(StatusTagColumn):
    def __init__(self, name="status", **kwargs):
        kwargs.setdefault("label", "State")
        kwargs.setdefault("sort_key", "status")
        super().__init__(
            name,
            primary=lambda obj: obj.status in (BatchStatus.GENERATED, BatchStatus.PARTIALLY_SENT),
            **kwargs,
        )

    def get_value(self, instance):
        return instance.get_status_display()


class CommunicationStatusColumn(StatusTagColumn):
    def __init__(self, name="status", **kwargs):
        kwargs.setdefault("label", "Status")
        kwargs.setdefault("sort_key", "status")
        super().__init__(
            name,
            primary=lambda obj: obj.status
            in (CommunicationStatus.FAILED, CommunicationStatus.UNKNOWN),
            **kwargs,
        )

    def get_value(self, instance):
        return instance.get_status_display()
