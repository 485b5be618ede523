"""Letter files, served only here: the download PDF and mailing list, and a letter preview.

* ``download/<id>/`` and ``download/<id>/mailing-list/``: need ``send_batch`` and
  ``view_batch`` (the files are the letters being sent, with every recipient's address).
  A ready download streams from private storage as an attachment, never cached. Otherwise a
  Wagtail page says why: 404 for an id that does not exist, 409 while it is being prepared,
  410 when it expired, was purged, failed or was withdrawn (its letters were removed when
  the batch was closed), with a **Re-request** button (a POST) while the batch can send.
* ``download/<id>/rerequest/``: POST only; queues a new download of the batch's unsent
  letters (``letters.downloads.request_letter_download``) and returns to the batch page.
* ``communication/<id>/letter.pdf``: one communication's letter as it will be printed,
  rendered now; needs the Communication Log's permission, like the email preview (the log
  and the batch page link to them).
"""

from __future__ import annotations

import io
import logging

from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import include, path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views import View
from wagtail.admin import messages
from wagtail.admin.auth import permission_denied
from wagtail.log_actions import log

from ... import history
from ...exceptions import LetterError, RenderError
from ...letters.downloads import (
    request_letter_download,
    user_can_send_letters,
)
from ...letters.rendering import render_letters
from ...models import Communication, DownloadStatus, LetterDownload
from ...permissions import user_can_look
from ...storage import letter_storage
from .progress import progress_data

logger = logging.getLogger(__name__)

TEMPLATE = "wagtail_batchcomms/admin/letter_download_unavailable.html"


def _batch_url(batch) -> str:
    return reverse("wagtail_batchcomms_batch:detail", args=[batch.pk])


def unavailable(request, *, status: int, title: str, message: str, download=None, **extra):
    """The Wagtail page shown instead of a file, with the HTTP status that says why."""
    batch = download.batch if download is not None else None
    context = {
        "header_title": title,
        "page_title": title,
        "header_icon": "doc-full",
        "message": message,
        "download": download,
        "batch": batch,
        "batch_url": _batch_url(batch) if batch else reverse("wagtailadmin_home"),
        "breadcrumbs_items": _breadcrumbs(batch, title),
        **extra,
    }
    if download is not None and extra.get("can_rerequest"):
        context["rerequest_url"] = reverse(
            "wagtail_batchcomms_letters:rerequest", args=[download.pk]
        )
    return TemplateResponse(request, TEMPLATE, context, status=status)


def _breadcrumbs(batch, title: str) -> list[dict]:
    items = [{"url": reverse("wagtailadmin_home"), "label": _("Home")}]
    if batch is not None:
        items.append({"url": _batch_url(batch), "label": str(batch)})
    items.append({"url": "", "label": title})
    return items


def _progress_context(download: LetterDownload) -> dict:
    """The batch page's progress bar of this download (letters rendered, time left), kept
    current by the same script; it goes to the batch page once the download is done."""
    return {
        "progress": progress_data(download.batch),
        "progress_url": reverse("wagtail_batchcomms_batch:progress", args=[download.batch_id]),
        "downloads_only": True,
        "done_url": _batch_url(download.batch),
    }


def _can_rerequest(download: LetterDownload) -> bool:
    batch = download.batch
    return (
        batch.can_send
        and not batch.letter_downloads.filter(
            status__in=(DownloadStatus.QUEUED, DownloadStatus.RENDERING)
        ).exists()
    )


class DownloadView(View):
    """GET the PDF (``kind="pdf"``) or the CSV mailing list (``kind="csv"``) of a download."""

    kind = "pdf"

    def get(self, request, pk: int):
        if not user_can_send_letters(request.user):
            return permission_denied(request)
        download = LetterDownload.objects.select_related("batch").filter(pk=pk).first()
        if download is None:
            return unavailable(
                request,
                status=404,
                title=_("Download not found"),
                message=_(
                    "There is no letter download with this link. It may have belonged to a "
                    "batch that was deleted. Open the batch to request its letters again."
                ),
            )
        if download.status in (DownloadStatus.QUEUED, DownloadStatus.RENDERING):
            return unavailable(
                request,
                status=409,
                title=_("Letters still being prepared"),
                message=_(
                    "This PDF is still being prepared. The batch page shows its progress "
                    "and offers the download when it is ready."
                ),
                download=download,
                **_progress_context(download),
            )
        if download.status == DownloadStatus.FAILED:
            return self.gone(
                request,
                download,
                _("These letters could not be prepared: %(error)s")
                % {"error": download.error or _("unknown error")},
            )
        if download.status == DownloadStatus.WITHDRAWN:
            # Its letters were removed with their notices when the batch was closed.
            return self.gone(
                request,
                download,
                download.error
                or _("These letters were withdrawn when the batch was closed; do not print them."),
            )
        if download.is_expired:
            return self.gone(request, download, self.expired_message(download))
        name = download.file if self.kind == "pdf" else download.mailing_list
        storage = letter_storage()
        try:
            handle = storage.open(name, "rb")
        except (OSError, ValueError):
            # The row says ready but the file is gone (removed by hand, storage restored).
            logger.warning("letter download %s: file %s is missing", download.pk, name)
            return self.gone(request, download, _("This download's file is no longer stored."))
        # The files hold every recipient's name and address: who took a copy is on record.
        log(
            download.batch,
            history.LETTERS_DOWNLOADED,
            user=request.user,
            data={"download": download.pk, "kind": self.kind, "letters": download.letter_count},
        )
        return self.file_response(handle, download)

    @staticmethod
    def expired_message(download: LetterDownload) -> str:
        when = download.expires_at
        if when:
            return _(
                "This download expired on %(date)s: letter PDFs are kept for a limited time "
                "because they contain names and addresses."
            ) % {"date": date_format(timezone.localtime(when), "DATETIME_FORMAT")}
        return _("This download has expired.")

    def gone(self, request, download: LetterDownload, message: str):
        can = _can_rerequest(download)
        if not can and not download.batch.can_send:
            refused = _("The batch is %(state)s, so its letters cannot be requested again.")
            message += " " + refused % {"state": download.batch.get_status_display()}
        return unavailable(
            request,
            status=410,
            title=_("Download no longer available"),
            message=message,
            download=download,
            can_rerequest=can,
        )

    def file_response(self, handle, download: LetterDownload) -> FileResponse:
        stem = f"letters-{slugify(download.batch.name)[:60] or 'batch'}-{download.pk}"
        if self.kind == "pdf":
            filename, content_type = f"{stem}.pdf", "application/pdf"
        else:
            filename, content_type = f"{stem}-mailing-list.csv", "text/csv; charset=utf-8"
        response = FileResponse(
            handle, as_attachment=True, filename=filename, content_type=content_type
        )
        if download.size and self.kind == "pdf":
            response["Content-Length"] = str(download.size)
        _private(response)
        return response


class MailingListView(DownloadView):
    kind = "csv"


class RerequestView(View):
    """POST: queue a new download of the batch's unsent letters, back to the batch page."""

    http_method_names = ["post"]

    def post(self, request, pk: int):
        if not user_can_send_letters(request.user):
            return permission_denied(request)
        download = LetterDownload.objects.select_related("batch").filter(pk=pk).first()
        if download is None:
            return unavailable(
                request,
                status=404,
                title=_("Download not found"),
                message=_("There is no letter download with this link."),
            )
        try:
            new = request_letter_download(download.batch_id, user=request.user)
        except LetterError as error:
            messages.error(request, str(error))
        else:
            if new.pk == download.pk:
                messages.info(request, _("These letters are already being prepared."))
            else:
                messages.success(
                    request,
                    _(
                        "The letters PDF is being prepared again; it appears under Letter "
                        "downloads when ready."
                    ),
                )
        return redirect(_batch_url(download.batch))


class LetterPreviewView(View):
    """GET one communication's letter as a PDF, shown in the browser."""

    def get(self, request, pk: int):
        user = request.user
        if not user_can_look(user, Communication):
            return permission_denied(request)
        communication = Communication.objects.select_related("batch", "location").filter(pk=pk)
        communication = communication.first()
        if communication is None:
            return unavailable(
                request,
                status=404,
                title=_("Letter not found"),
                message=_("There is no communication with this link."),
            )
        buffer = io.BytesIO()
        try:
            render_letters([communication], buffer)
        except RenderError as error:
            return unavailable(
                request,
                status=422,
                title=_("The letter cannot be rendered"),
                message=str(error),
                batch_url=_batch_url(communication.batch)
                if communication.batch_id is not None
                else reverse("wagtail_batchcomms_communication:inspect", args=[communication.pk]),
            )
        response = HttpResponse(buffer.getvalue(), content_type="application/pdf")
        response["Content-Disposition"] = (
            f'inline; filename="letter-{communication.batch_id or "log"}-{communication.pk}.pdf"'
        )
        _private(response)
        return response


def _private(response: HttpResponse) -> None:
    # Names and addresses: never kept by a shared cache or the browser's disk cache.
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"


app_name = "wagtail_batchcomms_letters"
urlpatterns = [
    path("download/<int:pk>/", DownloadView.as_view(), name="download"),
    path("download/<int:pk>/mailing-list/", MailingListView.as_view(), name="mailing_list"),
    path("download/<int:pk>/rerequest/", RerequestView.as_view(), name="rerequest"),
    path("communication/<int:pk>/letter.pdf", LetterPreviewView.as_view(), name="preview"),
]


def get_urls():
    """For the ``register_admin_urls`` hook."""
    return [path("batchcomms/letters/", include((urlpatterns, app_name), namespace=app_name))]
