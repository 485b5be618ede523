"""Notice templates: CMS content that editors write, with the rules for who receives them."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models
from django.http import HttpResponseBadRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel
from wagtail.fields import StreamField
from wagtail.models import (
    DraftStateMixin,
    LockableMixin,
    PreviewableMixin,
    RevisionMixin,
)

from ..blocks import NoticeBodyBlock
from ..fields import ContactRolesField
from .choices import ContactMethods, ContactRole, Grouping


def default_roles() -> list[str]:
    return [ContactRole.OWNER.value]


def validate_address_list(value: str) -> None:
    for address in split_addresses(value):
        try:
            validate_email(address)
        except ValidationError as error:
            raise ValidationError(
                _("%(address)s is not a valid email address."), params={"address": address}
            ) from error


def split_addresses(value: str) -> list[str]:
    return [part.strip() for part in (value or "").replace(";", ",").split(",") if part.strip()]


class NoticeTemplate(PreviewableMixin, DraftStateMixin, LockableMixin, RevisionMixin, models.Model):
    """A notice that batches send by email and letter.

    The subject and the body's paragraphs are Jinja2 templates rendered in a sandbox over
    plain data (see ``notices.language``). The contact rules decide who receives it.
    """

    name = models.CharField(_("name"), max_length=200, unique=True)
    description = models.TextField(
        _("description"), blank=True, help_text=_("What this notice is for (editors only).")
    )
    subject = models.CharField(
        _("email subject"),
        max_length=300,
        help_text=_("Merge fields allowed, e.g. Backflow test due {{ batch.due_date }}."),
    )
    body = StreamField(NoticeBodyBlock(), verbose_name=_("body"))

    contact_roles = ContactRolesField(
        _("contact types"),
        default=default_roles,
        help_text=_("Contacts with these roles at each location receive the notice."),
    )
    primary_only = models.BooleanField(
        _("use primary contact only"),
        default=False,
        help_text=_("Only the primary contact of each role receives it."),
    )
    contact_methods = models.CharField(
        _("contact methods"),
        max_length=10,
        choices=ContactMethods.choices,
        default=ContactMethods.BOTH,
    )
    first_available_only = models.BooleanField(
        _("use only the first available method"),
        default=True,
        help_text=_(
            "Email where the contact has an address and has not asked for paper, "
            "otherwise a letter. Needs both methods allowed."
        ),
    )
    grouping = models.CharField(
        _("grouping"), max_length=10, choices=Grouping.choices, default=Grouping.LOCATION
    )
    attach_pdf = models.BooleanField(_("attach the letter PDF to the email"), default=False)
    cc = models.CharField(
        _("CC"),
        max_length=500,
        blank=True,
        validators=[validate_address_list],
        help_text=_("Fixed addresses copied on every email, separated by commas."),
    )
    bcc = models.CharField(
        _("BCC"),
        max_length=500,
        blank=True,
        validators=[validate_address_list],
        help_text=_("Fixed addresses blind-copied on every email, separated by commas."),
    )

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    panels = [
        FieldPanel("name"),
        FieldPanel("description"),
        FieldPanel("subject"),
        FieldPanel("body"),
        MultiFieldPanel(
            [
                FieldPanel("contact_roles"),
                FieldPanel("primary_only"),
                FieldRowPanel([FieldPanel("contact_methods"), FieldPanel("first_available_only")]),
                FieldPanel("grouping"),
                FieldPanel("attach_pdf"),
                FieldRowPanel([FieldPanel("cc"), FieldPanel("bcc")]),
            ],
            heading=_("Contact rules"),
        ),
    ]

    preview_modes = [("email", _("Email")), ("letter", _("Letter"))]
    default_preview_mode = "email"

    class Meta:
        ordering = ["name"]
        verbose_name = _("notice template")
        verbose_name_plural = _("notice templates")
        permissions = [
            # Copies go out with every email of every batch (notices.copies), so setting them
            # is for the org admin to grant, apart from writing templates.
            ("set_copies_noticetemplate", _("Can set CC/BCC copies of notice templates")),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def cc_list(self) -> list[str]:
        return split_addresses(self.cc)

    @property
    def bcc_list(self) -> list[str]:
        return split_addresses(self.bcc)

    def clean(self) -> None:
        super().clean()
        errors: dict[str, list] = {}
        # Wagtail relaxes required fields for drafts (and autosaves them), but a template
        # without a name, or with another template's name, cannot be told apart in a batch.
        if not (self.name or "").strip():
            errors.setdefault("name", []).append(_("Give the template a name, also for a draft."))
        elif (
            NoticeTemplate.objects.filter(name__iexact=self.name.strip())
            .exclude(pk=self.pk)
            .exists()
        ):
            errors.setdefault("name", []).append(_("Another notice template has this name."))
        if not self.contact_roles:
            errors.setdefault("contact_roles", []).append(_("Choose at least one contact type."))
        if self.first_available_only and self.contact_methods != ContactMethods.BOTH:
            # Harmless but meaningless; say so rather than silently ignoring it.
            errors.setdefault("first_available_only", []).append(
                _("'First available method' needs both email and letter allowed.")
            )
        if self.attach_pdf and self.contact_methods == ContactMethods.LETTER:
            errors.setdefault("attach_pdf", []).append(
                _("Attaching the letter to the email needs email allowed.")
            )
        # Models are the lowest layer and the notices capability imports them, so the checks
        # are looked up when Django calls clean(): every save path runs it (the admin form's
        # full_clean(), and full_clean()/clean() called directly, as the tests do).
        from ..notices.copies import copy_errors
        from ..notices.language.validation import template_validation_errors

        for field, messages in copy_errors(self).items():
            errors.setdefault(field, []).extend(messages)

        # Drafts too: every revision is a template that renders (see notices.language.validation).
        for field, messages in template_validation_errors(self).items():
            errors.setdefault(field, []).extend(messages)
        if errors:
            raise ValidationError(errors)

    def serve_preview(self, request, mode_name):
        # Wagtail passes ``?mode=`` through unchecked, and the template's path is made from
        # it: anything but our own modes is a 400 (never a 500, never another template).
        if mode_name not in dict(self.preview_modes):
            modes = ", ".join(dict(self.preview_modes))
            return HttpResponseBadRequest(
                gettext("Unknown preview mode; the modes are: %(modes)s.") % {"modes": modes},
                content_type="text/plain; charset=utf-8",
            )
        return super().serve_preview(request, mode_name)

    def get_preview_template(self, request, mode_name):
        return f"wagtail_batchcomms/previews/{mode_name}.html"

    def get_preview_context(self, request, mode_name):
        # Wagtail calls this model hook; the notices capability that renders the preview sits
        # above models and imports them.
        from ..notices.previews import preview_context

        context = super().get_preview_context(request, mode_name)
        context.update(preview_context(self, mode_name))
        return context
