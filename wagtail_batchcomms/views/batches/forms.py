"""The forms of the batch views: a batch's name, template and due date, and the confirm pages'
questions.

A confirm page's form (``ACTION_FORMS``, by registry key) asks what its use case takes: its
fields are the use case's keyword arguments (``batches.actions.BatchAction.run``), and it is
built from the facts the confirm page shows (the entry's ``confirm_data``).
"""

from __future__ import annotations

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail.admin.forms.models import WagtailAdminModelForm

from ...models import Batch, NoticeTemplate
from ...notices.usage import live_templates


def validate_due_date(value: datetime.date | None) -> None:
    if value and value < timezone.localdate():
        raise forms.ValidationError(_("The due date cannot be in the past."))


class BatchForm(WagtailAdminModelForm):
    """Name, template (published ones only) and due date of an Open batch."""

    template = forms.ModelChoiceField(
        label=gettext_lazy("Notice template"),
        queryset=NoticeTemplate.objects.none(),
        required=False,
        help_text=gettext_lazy("Only published templates can be picked."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = live_templates()
        self.fields["due_date"].validators.append(validate_due_date)


class CloneForm(forms.Form):
    """``batches.lifecycle.clone_batch(name=..., reapply_filter=...)``."""

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

    @classmethod
    def for_batch(cls, batch: Batch, data, facts: dict) -> CloneForm:
        return cls(
            data,
            has_filter=bool(batch.filter_query),
            initial={"name": _("%(name)s (copy)") % {"name": batch.name}},
        )


class RetryForm(forms.Form):
    """``emails.sending.start_sending(retry_failed=..., retry_unknown=...)``."""

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

    @classmethod
    def for_batch(cls, batch: Batch, data, facts: dict) -> RetryForm:
        return cls(data, failed=facts["failed_total"], unknown=facts["unknown_total"])


#: The confirm pages that ask something, by action key.
ACTION_FORMS: dict[str, type[CloneForm] | type[RetryForm]] = {
    "clone": CloneForm,
    "retry": RetryForm,
}
