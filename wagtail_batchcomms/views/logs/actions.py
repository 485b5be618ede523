"""The actions on a one-time communication's page (Create Log): retry its failed email,
download its letter PDF, mark its letter as mailed; and what the page shows of them."""

from __future__ import annotations

from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View
from wagtail.admin import messages
from wagtail.admin.auth import permission_denied
from wagtail.log_actions import log
from wagtail.log_actions import registry as log_registry

from ... import history
from ...logs.letters import has_log_letter, letter_file_name, user_can_download_log_letter
from ...logs.recording import mark_log_letter_mailed, retry_log_email, user_can_log
from ...models import Channel, Communication, CommunicationStatus
from ...storage import letter_storage


def unavailable(request, *, status: int, title: str, message: str, batch_url: str):
    """The letter downloads' "not available" page (same template), back to the log's page."""
    context = {
        "header_title": title,
        "page_title": title,
        "header_icon": "doc-full",
        "message": message,
        "batch_url": batch_url,
        "breadcrumbs_items": [
            {"url": reverse("wagtailadmin_home"), "label": _("Home")},
            {"url": batch_url, "label": _("Communication")},
            {"url": "", "label": title},
        ],
    }
    return TemplateResponse(
        request, "wagtail_batchcomms/admin/letter_download_unavailable.html", context, status=status
    )


def inspect_url(communication_id: int) -> str:
    return reverse("wagtail_batchcomms_communication:inspect", args=[communication_id])


def one_time_context(user, communication: Communication) -> dict:
    """What a one-time communication's page offers: its email's retry, its letter's PDF
    (ready, being prepared or failed) and "mark as mailed"."""
    c = communication
    history_entries = log_registry.get_logs_for_instance(c).select_related("user")
    context: dict = {
        "kind": c.get_kind_display(),
        # Its record: who recorded it, each sending attempt's outcome, the letter's PDF.
        "history": list(history_entries.order_by("-timestamp", "-pk")[:20]),
    }
    if c.channel == Channel.EMAIL and (c.body_html or c.body_text):
        context["can_retry"] = c.needs_attention and user_can_log(user)
        context["retry_url"] = reverse("wagtail_batchcomms_logs:retry", args=[c.pk])
        context["email_waiting"] = c.status in (
            CommunicationStatus.PENDING,
            CommunicationStatus.SENDING,
        )
    if c.channel == Channel.LETTER and (c.body_html or c.body_text):
        ready = has_log_letter(c)
        may = user_can_download_log_letter(user)
        context["letter"] = {
            "ready": ready,
            "failed": c.status == CommunicationStatus.FAILED,
            "download_url": reverse("wagtail_batchcomms_logs:letter", args=[c.pk]) if may else "",
            "can_mark_mailed": may and ready and c.status == CommunicationStatus.PENDING,
            "mark_mailed_url": reverse("wagtail_batchcomms_logs:mark_mailed", args=[c.pk]),
        }
    return context


def _one_time(pk: int, channel: str) -> Communication:
    return get_object_or_404(Communication, pk=pk, batch__isnull=True, channel=channel)


class RetryEmailView(View):
    """POST: send a failed (or delivery-unknown) one-time email again, once."""

    http_method_names = ["post"]

    def post(self, request, pk: int):
        if not user_can_log(request.user):
            return permission_denied(request)
        communication = _one_time(pk, Channel.EMAIL)
        if retry_log_email(communication.pk, user=request.user):
            messages.success(request, _("The email is queued to be sent again."))
        else:
            messages.error(request, _("Only a failed or delivery-unknown email can be retried."))
        return redirect(inspect_url(communication.pk))


class MarkMailedView(View):
    """POST: the one-time letter was printed and posted (pending -> sent)."""

    http_method_names = ["post"]

    def post(self, request, pk: int):
        if not user_can_download_log_letter(request.user):
            return permission_denied(request)
        communication = _one_time(pk, Channel.LETTER)
        if mark_log_letter_mailed(communication.pk, user=request.user):
            messages.success(request, _("The letter is marked as mailed."))
        else:
            messages.info(request, _("This letter was already marked as mailed."))
        return redirect(inspect_url(communication.pk))


class LetterDownloadView(View):
    """GET the one-time letter's PDF from the private letter storage: the same rules as a
    batch's letter downloads (a permission check, never cached, and who took a copy is
    recorded in its history)."""

    def get(self, request, pk: int):
        if not user_can_download_log_letter(request.user):
            return permission_denied(request)
        communication = _one_time(pk, Channel.LETTER)
        back = {"batch_url": inspect_url(communication.pk)}
        if not has_log_letter(communication):
            if communication.status == CommunicationStatus.FAILED:
                message = _("This letter could not be made: %(error)s") % {
                    "error": communication.error or _("unknown error")
                }
                return unavailable(
                    request, status=410, title=_("No letter PDF"), message=message, **back
                )
            return unavailable(
                request,
                status=409,
                title=_("Letter still being prepared"),
                message=_("The PDF is being prepared; its page offers it when it is ready."),
                **back,
            )
        handle = letter_storage().open(letter_file_name(communication.pk), "rb")
        log(
            communication,
            history.LETTERS_DOWNLOADED,
            user=request.user,
            data={"kind": "pdf", "letters": 1},
        )
        response = FileResponse(
            handle,
            as_attachment=True,
            filename=f"letter-{communication.pk}.pdf",
            content_type="application/pdf",
        )
        # Names and addresses: never kept by a shared cache or the browser's disk cache.
        response["Cache-Control"] = "private, no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response
