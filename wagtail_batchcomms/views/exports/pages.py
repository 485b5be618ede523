"""An export's page (progress, then the download link or why there is none), its progress
JSON and the download. Only the requester (or a superuser) opens them; the download also asks
the listing's own permission again (``exports.download_problem``)."""

from __future__ import annotations

from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from ... import exports
from ...models import ExportRun, ExportStatus
from ...permissions import user_can


def index_url() -> str:
    return reverse("wagtail_batchcomms_export:index")


def run_url(run: ExportRun) -> str:
    return reverse("wagtail_batchcomms_export:detail", args=[run.pk])


class RunMixin:
    """The run, 404 to anyone but its requester and superusers (the policy's instance check):
    another admin's export does not exist for them."""

    def dispatch(self, request, *args, **kwargs):
        self.object = get_object_or_404(ExportRun.objects.select_related("requested_by"), **kwargs)
        if not user_can(request.user, "view", self.object):
            raise Http404
        return super().dispatch(request, *args, **kwargs)


class RunView(RunMixin, WagtailAdminTemplateMixin, TemplateView):
    template_name = "wagtail_batchcomms/admin/exports/detail.html"
    header_icon = "download"

    def get_page_title(self):
        return _("Export of %(listing)s") % {"listing": self.object}

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": index_url(), "label": _("My exports")},
            {"url": "", "label": str(self.object)},
        ]

    def get_context_data(self, **kwargs):
        run = self.object
        problem = None if run.is_busy else exports.download_problem(run, self.request.user)
        return {
            **super().get_context_data(**kwargs),
            "run": run,
            "problem": problem if run.status != ExportStatus.FAILED else None,
            "can_download": not run.is_busy and problem is None,
            "download_url": reverse("wagtail_batchcomms_export:download", args=[run.pk]),
            "progress_url": reverse("wagtail_batchcomms_export:progress", args=[run.pk]),
            "status_class": {
                ExportStatus.READY: "w-status--primary",
                ExportStatus.FAILED: "w-status--label",
            }.get(run.status, ""),
        }


class ProgressView(RunMixin, View):
    def get(self, request, pk):
        run = self.object
        return JsonResponse(
            {
                "status": run.status,
                "status_label": run.get_status_display(),
                "busy": run.is_busy,
                "done": run.progress_done,
                "total": run.row_count,
            }
        )


class DownloadView(RunMixin, View):
    CONTENT_TYPES = {
        "csv": "text/csv; charset=utf-8",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }

    def get(self, request, pk):
        run = self.object
        problem = exports.download_problem(run, request.user)
        if problem is not None:
            return TemplateResponse(
                request,
                "wagtail_batchcomms/admin/exports/unavailable.html",
                {"run": run, "problem": problem, "run_url": run_url(run)},
                status=410 if run.status == ExportStatus.EXPIRED else 403,
            )
        try:
            handle = exports.open_export(run)
        except FileNotFoundError:
            raise Http404(_("The export's file is missing; export the listing again.")) from None
        exports.record_download(run, request.user)
        response = FileResponse(
            handle,
            as_attachment=True,
            filename=run.file_name,
            content_type=self.CONTENT_TYPES.get(run.export_format, "application/octet-stream"),
        )
        # Names and addresses: never kept by a shared cache.
        response["Cache-Control"] = "private, no-store"
        return response
