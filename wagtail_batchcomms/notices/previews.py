"""Previews of a notice template for editors: the email and the letter for a sample location.

The sample is a real location of the register when there is one (an active location with
active assemblies, preferring one with a contact of the template's roles), else a built-in one.
"""

from __future__ import annotations

import datetime

from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from ..exceptions import RenderError
from ..models import Assembly, AssemblyStatus, Location, LocationContact
from . import letter_html
from .merge_data import (
    assembly_data,
    contact_data,
    letterhead_data,
    location_data,
    organisation_data,
)
from .merge_fields import builtin_sample
from .rendering import render_notice

SAMPLE_ASSEMBLIES = 25


def sample_merge_data(template=None, *, today: datetime.date | None = None) -> tuple[dict, str]:
    """(merge data, where it comes from) for previewing ``template``."""
    today = today or timezone.localdate()
    location = (
        Location.objects.filter(is_active=True, assemblies__status=AssemblyStatus.ACTIVE)
        .select_related("service_area")
        .order_by("pk")
        .first()
    )
    if location is None:
        return builtin_sample(today), _("a built-in sample (the register has no locations)")

    roles = list(getattr(template, "contact_roles", None) or [])
    contacts = LocationContact.objects.filter(location=location).select_related("contact")
    link = (
        contacts.filter(role__in=roles).order_by("-is_primary", "pk").first()
        or contacts.order_by("-is_primary", "pk").first()
    )
    if link is not None:
        person = link.contact
        if person.has_mailing_address:
            lines = person.mailing_address_lines
        else:
            lines = location.address_lines
        contact = contact_data(
            name=person.name,
            organisation=person.organisation,
            email=person.email,
            role_label=link.get_role_display(),
            address_lines=lines,
        )
    else:
        contact = builtin_sample(today)["contact"]
        contact["address_lines"] = location.address_lines
        contact["address"] = ", ".join(location.address_lines)

    assemblies = [
        assembly_data(a)
        for a in Assembly.objects.with_compliance(today)
        .filter(location=location, status=AssemblyStatus.ACTIVE)
        .order_by("serial_number")[:SAMPLE_ASSEMBLIES]
    ]
    if getattr(template, "grouping", None) == "assembly":
        assemblies = assemblies[:1]
    data = {
        "contact": contact,
        "location": location_data(location),
        "batch": {"name": _("Sample batch"), "due_date": today + datetime.timedelta(days=60)},
        "assemblies": assemblies,
        "assembly": assemblies[0] if assemblies else None,
        "today": today,
    }
    return data, _("location %(location)s") % {"location": location}


def preview_context(template, mode: str) -> dict:
    """Context for ``previews/email.html`` and ``previews/letter.html``.

    On a template that cannot render, ``error`` says why (the preview shows it instead of a
    server error).
    """
    letterhead = letterhead_data()
    data, source = sample_merge_data(template)
    data["organisation"] = organisation_data(letterhead)
    context = {"sample_source": source, "preview_mode": mode, "sample": data}
    try:
        notice = render_notice(template, data, letterhead=letterhead, letter_id="preview")
    except RenderError as error:
        context["error"] = str(error)
        return context
    context["notice"] = notice
    if mode == "letter":
        context["letters_html"] = letter_html.document(
            [(notice.letter_id, notice.letter_html_fragment)],
            footer_text=letterhead.get("footer_text", ""),
            title=notice.subject,
            banner=_(
                "Letter preview for %(source)s. Printed, each page carries its number "
                "and the address shows through a #10 window envelope."
            )
            % {"source": source},
            pdf_url=_pdf_url(template),
        )
    return context


def _pdf_url(template) -> str:
    if not getattr(template, "pk", None):
        return ""
    try:
        return reverse(
            "wagtailsnippets_wagtail_batchcomms_noticetemplate:letter_pdf", args=[template.pk]
        )
    except NoReverseMatch:
        return ""
