"""Who a one-time communication can go to, and where: the contacts of a location, the
locations of a contact, and the recipient fields a Communication keeps (copied as a batch's
generation copies them)."""

from __future__ import annotations

from django.db.models import QuerySet

from ..models import Assembly, Contact, Location
from ..models.register import address_lines

#: The address fields of a Communication, in ``address_lines`` order.
ADDRESS_FIELDS = ("address_line1", "address_line2", "city", "state", "postal_code")


def contacts_at(location: Location) -> QuerySet[Contact]:
    """The contacts holding a role at ``location``, by name."""
    return Contact.objects.filter(location_roles__location=location).distinct().order_by("name")


def locations_of(contact: Contact) -> QuerySet[Location]:
    """The locations where ``contact`` holds a role, by account number."""
    return Location.objects.filter(location_contacts__contact=contact).distinct()


def assemblies_at(location: Location) -> QuerySet[Assembly]:
    return Assembly.objects.filter(location=location).order_by("serial_number")


def mailing_address(contact: Contact, location: Location) -> tuple[str, ...] | None:
    """Where a letter to ``contact`` about ``location`` goes: the contact's mailing address
    unless it is flagged as bad (returned mail), else the location's address; ``None``
    when neither is usable (as generation decides, ``batches.generation_sql._address``)."""
    if contact.has_mailing_address and contact.mailing_address_bad_since is None:
        return (
            contact.mailing_address_line1,
            contact.mailing_address_line2,
            contact.mailing_city,
            contact.mailing_state,
            contact.mailing_postal_code,
        )
    if location.has_address:
        return tuple(getattr(location, field) for field in ADDRESS_FIELDS)
    return None


def recipient_fields(contact: Contact, location: Location) -> dict:
    """The recipient's name, organisation, email and address as the Communication keeps them,
    so the record shows where it went even if the contact changes later."""
    address = mailing_address(contact, location) or ("",) * len(ADDRESS_FIELDS)
    return {
        "recipient_name": contact.name,
        "recipient_organisation": contact.organisation,
        "email": contact.email,
        **dict(zip(ADDRESS_FIELDS, address, strict=True)),
    }


def address_text(contact: Contact, location: Location) -> str:
    address = mailing_address(contact, location)
    return ", ".join(address_lines(*address)) if address else ""
