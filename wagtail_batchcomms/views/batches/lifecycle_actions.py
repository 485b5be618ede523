"""The batch page's state-machine actions: generate, regenerate, restart a stalled generation,
complete, archive and clone. Same pattern as ``batch_actions``: a confirm page on GET, one
``batches.lifecycle`` call on POST.
"""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail.admin import messages

from ...batches import lifecycle as batch_services
from ...batches.closing import closing_plan
from ...models import SkipReason
from ...timetext import clock
from .actions import BatchActionView
from .viewsets import batch_url

# --- generation -----------------------------------------------------------------------------


class GenerateView(BatchActionView):
    action = "generate"
    permission_required = "generate"
    template_name = "wagtail_batchcomms/admin/confirm_generate.html"
    confirm_button = gettext_lazy("Generate the notices")

    def perform(self):
        return batch_services.start_generation(self.object.pk, user=self.request.user)

    def get_success_message(self, result) -> str:
        return _("Generating the notices of “%(name)s”. This page shows the progress.") % {
            "name": self.object
        }

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if self.request.method == "GET":
            preview = batch_services.preview_generation(self.object)
            labels = dict(SkipReason.choices)
            context["preview"] = preview
            context["skipped"] = [
                (labels.get(reason, reason), count)
                for reason, count in preview.skipped.items()
                if count
            ]
            context["skipped_total"] = sum(preview.skipped.values())
        return context


class RegenerateView(GenerateView):
    action = "regenerate"
    confirm_button = gettext_lazy("Regenerate the notices")

    def get_confirm_text(self) -> str:
        return _(
            "The notices generated so far are replaced by new ones from the template's "
            "current published version. Nothing has been sent yet. Emails already tried "
            "(failed ones, or ones put back in the queue) are kept as they are, with the mail "
            "server's answer, and get no second notice: use “Retry failed emails” to try "
            "them again."
        )


class ResumeGenerationView(BatchActionView):
    """Restart a generation that stopped making progress (its task was lost)."""

    action = "resume_generation"
    permission_required = "generate"
    confirm_button = gettext_lazy("Restart generation")

    def perform(self):
        return batch_services.resume_generation(self.object.pk, user=self.request.user)

    def get_confirm_text(self) -> str:
        batch = self.object
        return _(
            "Generation has made no progress since %(time)s (%(done)s of %(total)s "
            "locations): the worker running it stopped, or its task was lost. Restarting "
            "queues it again; the notices generated so far are kept and none is made twice."
        ) % {
            "time": clock(batch.updated_at),
            "done": f"{batch.progress_done:,}",
            "total": f"{batch.progress_total:,}",
        }

    def get_success_message(self, result) -> str:
        return _("Generation of “%(name)s” restarted. This page shows the progress.") % {
            "name": self.object
        }


# --- closing out ----------------------------------------------------------------------------


class CloseView(BatchActionView):
    """Complete and archive: both remove the notices never attempted, keep the record and
    withdraw letters PDFs holding removed letters; the page says exactly which
    (``batches.closing.closing_plan``, the same sorting the action does)."""

    template_name = "wagtail_batchcomms/admin/confirm_close.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["plan"] = closing_plan(self.object)
        return context


class CompleteView(CloseView):
    action = "complete"
    permission_required = "complete"
    confirm_button = gettext_lazy("Yes, complete it")
    confirm_text = gettext_lazy(
        "Completing closes the batch out. It stays as the record of what was sent and can "
        "be cloned."
    )

    def perform(self):
        return batch_services.complete_batch(self.object.pk, user=self.request.user)

    def get_success_message(self, result) -> str:
        return _("“%(name)s” is complete.") % {"name": self.object}


class ArchiveView(CloseView):
    action = "archive"
    permission_required = "archive"
    confirm_button = gettext_lazy("Yes, archive it")
    confirm_button_classname = "button serious"
    confirm_text = gettext_lazy(
        "Archived batches are hidden from the listing unless you filter for them; they stay "
        "as the record and can be cloned."
    )

    def perform(self):
        return batch_services.archive_batch(self.object.pk, user=self.request.user)

    def get_success_message(self, result) -> str:
        return _("“%(name)s” is archived.") % {"name": self.object}


class CloneForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name of the new batch"), max_length=200)
    reapply_filter = forms.BooleanField(
        label=gettext_lazy("Re-apply the saved filter to today's register"),
        required=False,
        help_text=gettext_lazy(
            "Instead of copying this batch's working list, take the assemblies that match "
            "its Assemblies filter today."
        ),
    )

    def __init__(self, *args, has_filter: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not has_filter:
            del self.fields["reapply_filter"]


class CloneView(BatchActionView):
    action = "clone"
    permission_required = "clone"
    template_name = "wagtail_batchcomms/admin/confirm_clone.html"
    form_class = CloneForm
    confirm_button = gettext_lazy("Clone")
    confirm_text = gettext_lazy(
        "The new batch is Open, with the same template, due date and working list."
    )

    def get_form_kwargs(self) -> dict:
        return {
            "has_filter": bool(self.object.filter_query),
            "initial": {"name": _("%(name)s (copy)") % {"name": self.object.name}},
        }

    def perform(self):
        data = self.form.cleaned_data
        return batch_services.clone_batch(
            self.object.pk,
            user=self.request.user,
            reapply_filter=bool(data.get("reapply_filter")),
            name=data["name"],
        )

    def get_success_message(self, result) -> str:
        return _("“%(name)s” was cloned to “%(clone)s”.") % {"name": self.object, "clone": result}

    def add_result_message(self, result) -> None:
        super().add_result_message(result)
        if result.due_date and result.due_date < timezone.localdate():
            # The clone keeps the source's date; generating refuses a past one.
            messages.warning(
                self.request,
                _(
                    "The due date (%(date)s) is in the past: edit the new batch and change "
                    "it before generating."
                )
                % {"date": date_format(result.due_date)},
            )

    def get_success_url(self, result) -> str:
        return batch_url(result)


LIFECYCLE_VIEWS = {
    "generate": GenerateView,
    "regenerate": RegenerateView,
    "resume_generation": ResumeGenerationView,
    "complete": CompleteView,
    "archive": ArchiveView,
    "clone": CloneView,
}
