"""The "Preview next run" page of a Communication Type: what a run today would send (counts,
skipped with reasons) and the first assemblies it applies to, from ``rules.preview``."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext as _gettext
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView
from wagtail.admin.ui.tables import Table
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from ...models import Assembly, CommunicationType, RunMode, SkipReason
from ...permissions import LOOK_ACTIONS, LookRequiredMixin, PolicyCheckedMixin
from ...rules.preview import SAMPLE_SIZE, TypePreview, preview_type
from ..columns import ComplianceColumn, DateTextColumn, LinkColumn, TextColumn

SKIP_LABELS = dict(SkipReason.choices)


def skipped_rows(preview: TypePreview) -> list[tuple[str, int]]:
    """[(reason's label, count)], largest first."""
    rows = [(str(SKIP_LABELS.get(reason, reason)), n) for reason, n in preview.skipped.items()]
    return sorted(rows, key=lambda row: -row[1])


def activation_sentence(preview: TypePreview) -> str:
    """E.g. "Activating sends 1,234 emails and 56 letters on the next run." """
    return _gettext(
        "Activating sends %(emails)s emails and %(letters)s letters on the next run "
        "(%(assemblies)s assemblies at %(locations)s locations)."
    ) % {
        "emails": f"{preview.emails:,}",
        "letters": f"{preview.letters:,}",
        "assemblies": f"{preview.assemblies:,}",
        "locations": f"{preview.locations:,}",
    }


def sample_with_compliance(preview: TypePreview) -> list[Assembly]:
    """The preview's sample, in its order, with ``compliance_status`` annotated (one query)."""
    order = [assembly.pk for assembly in preview.sample]
    rows = Assembly.objects.filter(pk__in=order).with_compliance().select_related("location")
    by_pk = {assembly.pk: assembly for assembly in rows}
    return [by_pk[pk] for pk in order if pk in by_pk]


class PreviewRunView(
    LookRequiredMixin, PolicyCheckedMixin, WagtailAdminTemplateMixin, TemplateView
):
    """Read-only; for users who may look at types and at assemblies (it lists them)."""

    model = CommunicationType
    any_permission_required = LOOK_ACTIONS
    look_models = (Assembly,)
    template_name = "wagtail_batchcomms/rules/preview.html"
    header_icon = "view"
    page_title = _("Preview next run")

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.object = get_object_or_404(
            CommunicationType.objects.select_related("template"), pk=kwargs["pk"]
        )

    def get_page_subtitle(self):
        return str(self.object)

    @cached_property
    def preview(self) -> TypePreview:
        return preview_type(self.object)

    def get_breadcrumbs_items(self):
        viewset = CommunicationType.snippet_viewset
        return [
            {"url": reverse(viewset.get_url_name("list")), "label": viewset.menu_label},
            {
                "url": reverse(viewset.get_url_name("edit"), args=[self.object.pk]),
                "label": str(self.object),
            },
            {"url": "", "label": _("Preview next run")},
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        preview = self.preview
        context.update(
            object=self.object,
            preview=preview,
            skipped=skipped_rows(preview),
            sample_size=SAMPLE_SIZE,
            held=self.object.mode == RunMode.REVIEW,
            activation_sentence=activation_sentence(preview),
            edit_url=reverse(
                CommunicationType.snippet_viewset.get_url_name("edit"), args=[self.object.pk]
            ),
            table=Table(
                [
                    LinkColumn(
                        "serial_number",
                        label=_("Serial number"),
                        url=lambda a: reverse(
                            Assembly.snippet_viewset.get_url_name("inspect"), args=[a.pk]
                        ),
                    ),
                    TextColumn("location", label=_("Location")),
                    DateTextColumn("next_test_due", label=_("Next test due")),
                    ComplianceColumn(),
                ],
                sample_with_compliance(preview) if preview.sample else [],
            ),
        )
        return context
