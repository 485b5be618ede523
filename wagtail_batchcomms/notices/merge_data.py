"""Merge data: the plain dicts a notice template sees, built from the register and a batch.

Only dicts, lists, str and dates leave this module (the sandbox never sees a model instance).
The shapes follow ``merge_fields.MERGE_FIELDS``.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable

from django.conf import settings
from django.utils import timezone

from ..exceptions import RenderError
from ..models import Assembly, AssemblyStatus, BatchAssembly, Communication, ContactRole, Letterhead

logger = logging.getLogger(__name__)


def assembly_data(assembly) -> dict:
    """One assembly; needs ``Assembly.objects.with_compliance()`` for its compliance status."""
    return {
        "serial_number": assembly.serial_number,
        "type": assembly.assembly_type,
        "type_name": assembly.get_assembly_type_display(),
        "size": assembly.size_label,
        "manufacturer": assembly.manufacturer,
        "model": assembly.model_number,
        "placement": assembly.placement,
        "hazard": assembly.get_hazard_display(),
        "service_type": assembly.get_service_type_display(),
        "last_tested_on": assembly.last_tested_on,
        "last_test_result": assembly.get_last_test_result_display(),
        "next_test_due": assembly.next_test_due,
        "compliance_status": assembly.compliance_label,
    }


def location_data(location) -> dict:
    """One location (``service_area`` joined, or one query for it)."""
    lines = location.address_lines
    return {
        "account_number": location.account_number,
        "name": location.name,
        "address": ", ".join(lines),
        "address_lines": lines,
        "city": location.city,
        "postal_code": location.postal_code,
        "property_type": location.get_property_type_display(),
        "service_area": location.service_area.name if location.service_area_id else "",
    }


def contact_data(
    *, name: str, organisation: str, email: str, role_label: str, address_lines: list[str]
) -> dict:
    """The recipient, from the values a communication kept at generation (or a preview's)."""
    return {
        "name": name,
        "organisation": organisation,
        "email": email,
        "role": role_label,
        "address": ", ".join(address_lines),
        "address_lines": list(address_lines),
    }


def organisation_data(letterhead: dict) -> dict:
    """The ``organisation`` merge field from ``letterhead_data()`` (or ``{}``: all empty)."""
    return {
        "name": letterhead.get("name", ""),
        "phone": letterhead.get("phone", ""),
        "email": letterhead.get("email", ""),
        "website": letterhead.get("website", ""),
        "address": ", ".join(letterhead.get("address_lines", [])),
    }


# --- the letterhead -------------------------------------------------------------------------


def _absolute(url: str) -> str:
    """An email needs absolute image URLs; without WAGTAILADMIN_BASE_URL a relative one is
    useless in a mail client, so it is dropped (the email then shows the name, not the logo)."""
    if url.startswith(("http://", "https://")):
        return url
    base = (getattr(settings, "WAGTAILADMIN_BASE_URL", "") or "").rstrip("/")
    return f"{base}{url}" if base else ""


def _image_urls(image, rendition_spec: str) -> tuple[str, str]:
    """(letter URL, email URL) of a letterhead image.

    Letters use the original file (printed at full resolution; the letters URL fetcher maps its
    storage URL back to the file). Emails use a rendition sized for a 600px-wide message.
    """
    if image is None:
        return "", ""
    try:
        letter_url = image.file.url
    except Exception:  # a missing file must not stop a batch: print without it
        logger.warning("Letterhead image %s has no usable file", image.pk, exc_info=True)
        return "", ""
    try:
        email_url = _absolute(image.get_rendition(rendition_spec).url)
    except Exception:
        logger.warning(
            "No rendition %s of letterhead image %s", rendition_spec, image.pk, exc_info=True
        )
        email_url = ""
    return letter_url, email_url


def letterhead_data() -> dict:
    """The Letterhead settings as plain data, with image URLs for letters and emails.

    Works without a request (``Letterhead.load()``), so workers can call it.
    """
    letterhead = (
        Letterhead.base_queryset().select_related("logo", "signature_image").first()
        or Letterhead.load()
    )
    logo_letter, logo_email = _image_urls(letterhead.logo, "max-600x160")
    signature_letter, signature_email = _image_urls(letterhead.signature_image, "max-440x140")
    return {
        "name": letterhead.organisation_name,
        "address_lines": letterhead.return_address_lines,
        "phone": letterhead.phone,
        "email": letterhead.email,
        "website": letterhead.website,
        "signature_name": letterhead.signature_name,
        "signature_title": letterhead.signature_title,
        "footer_text": letterhead.footer_text,
        "logo_letter_url": logo_letter,
        "logo_email_url": logo_email,
        "signature_letter_url": signature_letter,
        "signature_email_url": signature_email,
    }


# --- communications -------------------------------------------------------------------------


def load_communications(communications: Iterable) -> list:
    """Communications (instances or pks) in the given order with batch and location loaded,
    in one query unless they already are."""
    items = list(communications)
    if (
        items
        and all(isinstance(item, Communication) for item in items)
        and all(
            Communication.batch.is_cached(item) and Communication.location.is_cached(item)
            for item in items
        )
    ):
        return items
    ids = [item.pk if isinstance(item, Communication) else int(item) for item in items]
    loaded = Communication.objects.select_related(
        "batch", "location", "location__service_area"
    ).in_bulk(ids)
    missing = [pk for pk in ids if pk not in loaded]
    if missing:
        raise RenderError(f"Communications not found: {missing[:10]}")
    return [loaded[pk] for pk in ids]


def _assemblies_by_key(items: list) -> tuple[dict, dict]:
    """({(batch_id, location_id): [assembly data, ...]}, {assembly_id: assembly data}), in
    three queries at most whatever the number of communications.

    A one-time communication (Create Log: no batch) about a whole location concerns the
    location's active assemblies; its key is ``(None, location_id)``.
    """
    batch_ids = {item.batch_id for item in items if item.batch_id is not None}
    location_ids = {item.location_id for item in items}
    memberships = list(
        BatchAssembly.objects.filter(
            batch_id__in=batch_ids, location_id__in=location_ids
        ).values_list("batch_id", "location_id", "assembly_id")
    )
    loose = {item.location_id for item in items if item.batch_id is None and not item.assembly_id}
    if loose:
        memberships += [
            (None, location_id, assembly_id)
            for location_id, assembly_id in Assembly.objects.filter(
                location_id__in=loose, status=AssemblyStatus.ACTIVE
            ).values_list("location_id", "pk")
        ]
    wanted = {(item.batch_id, item.location_id) for item in items}
    ids = {assembly_id for b, loc, assembly_id in memberships if (b, loc) in wanted}
    ids |= {item.assembly_id for item in items if item.assembly_id}
    assemblies = Assembly.objects.with_compliance().in_bulk(ids)
    by_id = {pk: assembly_data(assembly) for pk, assembly in assemblies.items()}
    by_key: dict[tuple[int, int], list[tuple[str, dict]]] = {}
    for batch_id, location_id, assembly_id in memberships:
        if (batch_id, location_id) in wanted and assembly_id in by_id:
            data = by_id[assembly_id]
            by_key.setdefault((batch_id, location_id), []).append((data["serial_number"], data))
    return (
        {
            key: [data for _s, data in sorted(rows, key=lambda r: r[0])]
            for key, rows in by_key.items()
        },
        by_id,
    )


def batch_data(batch) -> dict:
    """The ``batch`` merge field; empty for a one-time communication (no batch)."""
    if batch is None:
        return {"name": "", "due_date": None}
    return {"name": batch.name, "due_date": batch.due_date}


def build_merge_data_many(
    communications: Iterable, *, letterhead: dict | None = None, today: datetime.date | None = None
) -> list[dict]:
    """Merge data for many communications, in order, with a constant number of queries (the
    communications unless already loaded with their batch and location, two for the
    assemblies, the letterhead unless given).

    ``assemblies``: the batch's working-list assemblies at the communication's location, by
    serial number; only ``communication.assembly`` when the notice is per assembly.
    ``assembly``: that assembly, else the first of the list (None when the list is empty).
    """
    items = load_communications(communications)
    if letterhead is None:
        letterhead = letterhead_data()
    today = today or timezone.localdate()
    organisation = organisation_data(letterhead)
    by_key, by_id = _assemblies_by_key(items) if items else ({}, {})
    result = []
    for item in items:
        if item.assembly_id:
            assemblies = [by_id[item.assembly_id]] if item.assembly_id in by_id else []
        else:
            assemblies = by_key.get((item.batch_id, item.location_id), [])
        try:
            role_label = str(ContactRole(item.role).label)
        except ValueError:
            role_label = item.role
        result.append(
            {
                "contact": contact_data(
                    name=item.recipient_name,
                    organisation=item.recipient_organisation,
                    email=item.email,
                    role_label=role_label,
                    address_lines=item.address_lines,
                ),
                "location": location_data(item.location),
                "batch": batch_data(item.batch),
                "assemblies": assemblies,
                "assembly": assemblies[0] if assemblies else None,
                "organisation": organisation,
                "today": today,
            }
        )
    return result
