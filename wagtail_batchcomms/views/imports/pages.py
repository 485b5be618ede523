"""The import's pages (all need the "import" permission of ``ImportRun``, through its one
policy): upload, mapping, the run's page (dry run results, progress, import button), the
check and import POSTs, the progress JSON, the errors CSV and the template CSV."""

from __future__ import annotations

from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import FormView, TemplateView
from wagtail.admin import messages
from wagtail.admin.views.generic.base import BaseObjectMixin, WagtailAdminTemplateMixin

from ...exceptions import ImportFileError
from ...imports import recovery, runs
from ...imports.columns import COLUMNS
from ...imports.reading import template_csv
from ...models import ImportRun, ImportStatus
from ...permissions import PolicyCheckedMixin
from ...timetext import clock, duration
from .forms import MappingForm, UploadForm

#: Errors shown on the page; all of them are in the CSV.
ERRORS_SHOWN = 100


def index_url() -> str:
    return reverse("wagtail_batchcomms_import:index")


def run_url(run: ImportRun) -> str:
    return reverse("wagtail_batchcomms_import:detail", args=[run.pk])


class ImportPermissionMixin(PolicyCheckedMixin):
    model = ImportRun
    permission_required = "import"


class ImportPageMixin(ImportPermissionMixin, WagtailAdminTemplateMixin):
    header_icon = "upload"

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": index_url(), "label": _("Register imports")},
            {"url": "", "label": self.get_page_title()},
        ]


class UploadView(ImportPageMixin, FormView):
    template_name = "wagtail_batchcomms/admin/imports/upload.html"
    form_class = UploadForm
    page_title = gettext_lazy("Import the register")

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "template_url": reverse("wagtail_batchcomms_import:template"),
            "columns": COLUMNS,
        }

    def form_valid(self, form):
        try:
            run = runs.start_import(form.cleaned_data["file"], self.request.user)
        except ImportFileError as error:
            form.add_error("file", str(error))
            return self.form_invalid(form)
        return redirect("wagtail_batchcomms_import:mapping", run.pk)


class RunMixin(ImportPermissionMixin, BaseObjectMixin):
    def get_base_object_queryset(self):
        return ImportRun.objects.select_related("created_by", "imported_by")


class MappingView(RunMixin, WagtailAdminTemplateMixin, FormView):
    template_name = "wagtail_batchcomms/admin/imports/mapping.html"
    form_class = MappingForm
    header_icon = "upload"

    def get_page_title(self):
        return _("Map the columns of %(name)s") % {"name": self.object.original_name}

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": index_url(), "label": _("Register imports")},
            {"url": run_url(self.object), "label": str(self.object)},
            {"url": "", "label": _("Columns")},
        ]

    def get_form_kwargs(self):
        return {
            **super().get_form_kwargs(),
            "headers": self.object.headers,
            "mapping": self.object.mapping,
        }

    def post(self, request, *args, **kwargs):
        if self.object.is_busy:
            messages.error(request, _("This import is being checked or imported; wait for it."))
            return redirect(run_url(self.object))
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        try:
            runs.set_mapping(self.object, form.mapping())
            runs.request_check(self.object, self.request.user)
        except ImportFileError as error:
            form.add_error(None, str(error))
            return self.form_invalid(form)
        return redirect(run_url(self.object))


class RunView(RunMixin, WagtailAdminTemplateMixin, TemplateView):
    """The run's page: what the dry run found (or the import did), and what to do next."""

    template_name = "wagtail_batchcomms/admin/imports/detail.html"
    header_icon = "upload"

    def get_page_title(self):
        return str(self.object)

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": index_url(), "label": _("Register imports")},
            {"url": "", "label": str(self.object)},
        ]

    @cached_property
    def counts(self) -> list[dict]:
        labels = {
            "rows": _("Rows"),
            "location": _("Locations"),
            "contact": _("Contacts"),
            "role": _("Contacts' roles"),
            "assembly": _("Assemblies"),
        }
        results = self.object.results
        return [
            {"label": label, **results[kind]} for kind, label in labels.items() if kind in results
        ]

    def get_context_data(self, **kwargs):
        run = self.object
        waiting, since = recovery.waiting_since(run)
        return {
            **super().get_context_data(**kwargs),
            "run": run,
            "waiting": waiting,
            "waiting_since": clock(since),
            "lost_after": duration(recovery.QUEUED_LOST_AFTER),
            "tries_left": recovery.tries_left(run),
            "counts": self.counts,
            "errors": run.errors[:ERRORS_SHOWN],
            "error_total": len(run.errors),
            "can_import": run.status == ImportStatus.CHECKED,
            "can_check": not run.is_busy
            and run.status != ImportStatus.IMPORTED
            and not run.file_removed_at,
            "not_new_default": runs.register_is_empty(),
            "mapped": [(c.label, run.mapping[c.name]) for c in COLUMNS if c.name in run.mapping],
            "progress_url": reverse("wagtail_batchcomms_import:progress", args=[run.pk]),
            "mapping_url": reverse("wagtail_batchcomms_import:mapping", args=[run.pk]),
            "check_url": reverse("wagtail_batchcomms_import:check", args=[run.pk]),
            "import_url": reverse("wagtail_batchcomms_import:run", args=[run.pk]),
            "errors_url": reverse("wagtail_batchcomms_import:errors", args=[run.pk]),
            "history_url": reverse("wagtail_batchcomms_import:history", args=[run.pk]),
        }


class CheckView(RunMixin, View):
    """POST: the dry run again (the register may have changed since)."""

    def post(self, request, pk):
        try:
            runs.request_check(self.object, request.user)
        except ImportFileError as error:
            messages.error(request, str(error))
        return redirect(run_url(self.object))


class ImportView(RunMixin, View):
    """POST: import what the dry run showed."""

    def post(self, request, pk):
        run = self.object
        try:
            runs.request_import(run, request.user, not_new="not_new" in request.POST)
        except ImportFileError as error:
            messages.error(request, str(error))
            return redirect(run_url(run))
        run.refresh_from_db()
        if run.status == ImportStatus.IMPORTED:
            messages.success(request, _("“%(name)s” was imported.") % {"name": run})
        elif run.status == ImportStatus.IMPORTING:
            messages.info(
                request, _("Importing “%(name)s”; this page shows the progress.") % {"name": run}
            )
        else:
            messages.error(request, run.error or _("The import did not complete."))
        return redirect(run_url(run))


class ProgressView(RunMixin, View):
    def get(self, request, pk):
        run = self.object
        return JsonResponse(
            {
                "status": run.status,
                "status_label": run.get_status_display(),
                "busy": run.is_busy,
                "done": run.progress_done,
                "total": run.progress_total,
            }
        )


class ErrorsView(RunMixin, View):
    """The dry run's errors as CSV, every cell formula-guarded (``spreadsheets``)."""

    def get(self, request, pk):
        run = self.object
        response = HttpResponse(runs.errors_csv(run), content_type="text/csv; charset=utf-8")
        name = slugify(run.original_name.rsplit(".", 1)[0]) or "import"
        response["Content-Disposition"] = f'attachment; filename="{name}-errors.csv"'
        response["Cache-Control"] = "private, no-store"
        return response


class TemplateFileView(ImportPermissionMixin, View):
    """The template file: our default headers."""

    def get(self, request):
        response = HttpResponse(template_csv(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="register-import-template.csv"'
        return response
