"""The organisation's letterhead, used by every letter and email."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel
from wagtail.contrib.settings.models import BaseGenericSetting, register_setting

from ..conf import batchcomms_settings


@register_setting(icon="mail")
class Letterhead(BaseGenericSetting):
    organisation_name = models.CharField(_("organisation name"), max_length=200, blank=True)
    logo = models.ForeignKey(
        "wagtailimages.Image",
        verbose_name=_("logo"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    return_address = models.TextField(
        _("return address"), blank=True, help_text=_("One line per address line.")
    )
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.EmailField(_("email"), blank=True)
    website = models.URLField(_("website"), blank=True)
    signature_name = models.CharField(_("signature name"), max_length=200, blank=True)
    signature_title = models.CharField(_("signature title"), max_length=200, blank=True)
    signature_image = models.ForeignKey(
        "wagtailimages.Image",
        verbose_name=_("signature image"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    footer_text = models.TextField(_("footer text"), blank=True)

    panels = [
        MultiFieldPanel(
            [
                FieldPanel("organisation_name"),
                FieldPanel("logo"),
                FieldPanel("return_address"),
                FieldRowPanel([FieldPanel("phone"), FieldPanel("email")]),
                FieldPanel("website"),
            ],
            heading=_("Organisation"),
        ),
        MultiFieldPanel(
            [
                FieldRowPanel([FieldPanel("signature_name"), FieldPanel("signature_title")]),
                FieldPanel("signature_image"),
            ],
            heading=_("Signature"),
        ),
        FieldPanel("footer_text"),
    ]

    class Meta:
        verbose_name = _("letterhead")
        verbose_name_plural = _("letterhead")

    def __str__(self) -> str:
        return self.organisation_name or str(_("Letterhead"))

    @property
    def return_address_lines(self) -> list[str]:
        return [line.strip() for line in self.return_address.splitlines() if line.strip()]

    def clean(self) -> None:
        limit = batchcomms_settings.MAX_LETTERHEAD_IMAGE_BYTES
        errors = {}
        for field in ("logo", "signature_image"):
            image = getattr(self, field)
            if image is None:
                continue
            try:
                # file_size is empty for images not uploaded through the form; measure them.
                size = image.get_file_size()
            except Exception:  # the storage's "not found" varies by backend
                errors[field] = _("This image's file cannot be read; upload it again.")
                continue
            if size > limit:
                errors[field] = _(
                    "This image is %(size)s bytes; the letterhead accepts up to %(limit)s bytes."
                ) % {"size": size, "limit": limit}
        if errors:
            raise ValidationError(errors)
