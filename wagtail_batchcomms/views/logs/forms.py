"""The Create Log form: what was done, with whom, where, when, and whether to send an email
or make a letter now. Its choices depend on the page it was started from (``Origin``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from wagtail.admin.widgets.datetime import AdminDateTimeInput

from ...logs.recipients import assemblies_at, contacts_at, locations_of
from ...logs.recording import LogRequest, problem_with
from ...models import Assembly, Contact, Location, LogKind, NoticeTemplate

#: The kinds that may be sent now, and how the form says it.
SENDABLE = (LogKind.EMAIL, LogKind.LETTER)


@dataclass(frozen=True)
class Origin:
    """The register page Create Log was started from, and the choices it allows."""

    instance: Assembly | Location | Contact

    @property
    def location(self) -> Location | None:
        if isinstance(self.instance, Assembly):
            return self.instance.location
        return self.instance if isinstance(self.instance, Location) else None

    def contacts(self) -> QuerySet[Contact]:
        if isinstance(self.instance, Contact):
            return Contact.objects.filter(pk=self.instance.pk)
        return contacts_at(self.location)

    def locations(self) -> QuerySet[Location]:
        if isinstance(self.instance, Contact):
            return locations_of(self.instance).order_by("account_number")
        return Location.objects.filter(pk=self.location.pk)

    def assemblies(self) -> QuerySet[Assembly]:
        if isinstance(self.instance, Contact):
            return Assembly.objects.filter(location__in=self.locations()).order_by(
                "location__account_number", "serial_number"
            )
        return assemblies_at(self.location)

    def initial(self) -> dict:
        initial: dict = {}
        if isinstance(self.instance, Assembly):
            initial["assembly"] = self.instance.pk
        if isinstance(self.instance, Contact):
            initial["contact"] = self.instance.pk
            only = list(self.locations().values_list("pk", flat=True)[:2])
            if len(only) == 1:
                initial["location"] = only[0]
        else:
            initial["location"] = self.location.pk
        return initial


class CreateLogForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"), choices=LogKind.choices, widget=forms.RadioSelect, initial=LogKind.PHONE
    )
    contact = forms.ModelChoiceField(label=_("Contact"), queryset=Contact.objects.none())
    location = forms.ModelChoiceField(label=_("Location"), queryset=Location.objects.none())
    assembly = forms.ModelChoiceField(
        label=_("Assembly"),
        queryset=Assembly.objects.none(),
        required=False,
        help_text=_("Optional: the assembly it was about."),
    )
    occurred_at = forms.DateTimeField(label=_("When"), widget=AdminDateTimeInput)
    subject = forms.CharField(label=_("Subject"), max_length=500, required=False)
    notes = forms.CharField(
        label=_("Notes"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )
    outcome = forms.CharField(label=_("Outcome"), max_length=200, required=False)
    send_now = forms.BooleanField(
        label=_("Send the email or make the letter now"),
        required=False,
        help_text=_(
            "Email: sent once through the app's mail server. Letter: a PDF to print. "
            "Leave unticked to record one sent some other way."
        ),
    )
    template = forms.ModelChoiceField(
        label=_("Notice template"),
        queryset=NoticeTemplate.objects.none(),
        required=False,
        help_text=_("A published template, rendered for this contact; or write the message below."),
    )
    body = forms.CharField(
        label=_("Message"),
        widget=forms.Textarea(attrs={"rows": 8}),
        required=False,
        help_text=_(
            "Plain text, sent in the letterhead's layout; the subject above is its subject."
        ),
    )
    # One token per rendered form: a second POST of the same form records nothing new.
    token = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, origin: Origin, **kwargs) -> None:
        kwargs.setdefault("initial", {})
        kwargs["initial"] = {
            "token": uuid.uuid4().hex,
            "occurred_at": timezone.localtime().replace(second=0, microsecond=0),
            **origin.initial(),
            **kwargs["initial"],
        }
        super().__init__(*args, **kwargs)
        self.origin = origin
        self.fields["contact"].queryset = origin.contacts()
        self.fields["location"].queryset = origin.locations()
        self.fields["assembly"].queryset = origin.assemblies()
        self.fields["template"].queryset = NoticeTemplate.objects.filter(live=True).order_by("name")

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        kind = data["kind"]
        send_now = bool(data.get("send_now")) and kind in SENDABLE
        data["send_now"] = send_now
        if not (send_now and data.get("template")) and not data.get("subject", "").strip():
            self.add_error("subject", _("Say in a few words what it was about."))
            return data
        problem = problem_with(self.log_request(data))
        if problem is not None:
            self.add_error(problem.field if problem.field in self.fields else None, str(problem))
        return data

    def log_request(self, data: dict | None = None) -> LogRequest:
        data = data if data is not None else self.cleaned_data
        send_now = bool(data.get("send_now"))
        return LogRequest(
            kind=data["kind"],
            contact=data["contact"],
            location=data["location"],
            assembly=data.get("assembly"),
            occurred_at=data["occurred_at"],
            token=data["token"],
            subject=data.get("subject", ""),
            notes=data.get("notes", ""),
            outcome=data.get("outcome", ""),
            send_now=send_now,
            template=data.get("template") if send_now else None,
            body=data.get("body", "") if send_now else "",
        )
