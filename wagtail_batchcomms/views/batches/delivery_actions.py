"""The batch page's delivery actions: send emails, retry failed ones, prepare the letters
PDF, mark letters as mailed. Same pattern as ``batch_actions``: a confirm page on GET, one
service call (``emails.sending`` / ``letters.downloads``) on POST.
"""

from __future__ import annotations

from django import forms
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail.admin import messages

from ...models import CommunicationStatus
from ...notices.copies import batch_copies
from .actions import BatchActionView


class SendView(BatchActionView):
    action = "send"
    permission_required = "send"
    template_name = "wagtail_batchcomms/admin/confirm_send.html"
    confirm_button = gettext_lazy("Send the emails")

    def perform(self):
        from ...emails import sending

        return sending.start_sending(self.object.pk, user=self.request.user)

    def get_success_message(self, result) -> str:
        return _(
            "%(count)s emails of “%(name)s” are queued for sending. This page shows the progress."
        ) % {"count": f"{result:,}", "name": self.object}

    @cached_property
    def emails(self) -> dict[str, int]:
        from ...emails.progress import sending_progress

        return sending_progress(self.object)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["pending_total"] = self.emails.get(CommunicationStatus.PENDING, 0)
        context["failed_total"] = self.emails.get(CommunicationStatus.FAILED, 0)
        context["unknown_total"] = self.emails.get(CommunicationStatus.UNKNOWN, 0)
        context["retry"] = self.action == "retry"
        context["copies"] = batch_copies(self.object)
        return context


class RetryForm(forms.Form):
    retry_failed = forms.BooleanField(
        label=gettext_lazy("Retry the failed emails"), required=False, initial=True
    )
    retry_unknown = forms.BooleanField(
        label=gettext_lazy("Also retry the emails whose delivery is unknown"),
        required=False,
        help_text=gettext_lazy("They may have been delivered: a retry can send a second copy."),
    )

    def __init__(self, *args, failed: int, unknown: int, **kwargs):
        super().__init__(*args, **kwargs)
        if not failed:
            del self.fields["retry_failed"]
        if not unknown:
            del self.fields["retry_unknown"]

    def clean(self):
        data = super().clean()
        if not any(data.get(name) for name in ("retry_failed", "retry_unknown")):
            raise forms.ValidationError(_("Tick what to retry."))
        return data


class RetryView(SendView):
    action = "retry"
    form_class = RetryForm
    confirm_button = gettext_lazy("Retry")

    def get_form_kwargs(self) -> dict:
        return {
            "failed": self.emails.get(CommunicationStatus.FAILED, 0),
            "unknown": self.emails.get(CommunicationStatus.UNKNOWN, 0),
        }

    def perform(self):
        from ...emails import sending

        data = self.form.cleaned_data
        return sending.start_sending(
            self.object.pk,
            user=self.request.user,
            retry_failed=bool(data.get("retry_failed")),
            retry_unknown=bool(data.get("retry_unknown")),
        )


class LettersView(BatchActionView):
    action = "download_letters"
    permission_required = "send"
    template_name = "wagtail_batchcomms/admin/confirm_letters.html"
    confirm_button = gettext_lazy("Prepare the letters PDF")

    def perform(self):
        from ...letters import downloads as letters

        return letters.request_letter_download(self.object.pk, user=self.request.user)

    def get_success_message(self, result) -> str:
        return _("The letters PDF is being prepared; it appears under Letter downloads when ready.")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["letter_total"] = _pending_letter_count(self.object)
        return context


class MarkMailedView(BatchActionView):
    action = "mark_mailed"
    permission_required = "send"
    template_name = "wagtail_batchcomms/admin/confirm_mark_mailed.html"
    confirm_button = gettext_lazy("Mark them as mailed")

    def perform(self):
        from ...letters import downloads as letters

        return letters.mark_letters_mailed(self.object.pk, user=self.request.user)

    def add_result_message(self, result) -> None:
        if not result:
            # Another admin was quicker between our check and the service's: nothing done.
            messages.warning(self.request, _("No letters are waiting to be printed."))
        else:
            messages.success(
                self.request, _("%(count)s letters recorded as mailed.") % {"count": f"{result:,}"}
            )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["letter_total"] = _pending_letter_count(self.object)
        return context


def _pending_letter_count(batch) -> int:
    """The letters a download would hold and "mark as mailed" would record."""
    from ...letters.downloads import pending_letters

    return pending_letters(batch.pk).count()


DELIVERY_VIEWS = {
    "send": SendView,
    "retry": RetryView,
    "download_letters": LettersView,
    "mark_mailed": MarkMailedView,
}
