"""Builders for the Create Log tests: a location with its contacts and an assembly, a
contact's other location, a published template, the form's data."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import factories
from django.utils import timezone

from wagtail_batchcomms.models import Assembly, Contact, Location, NoticeTemplate

BODY = [
    ("paragraph", "<p>Dear {{ contact.name }},</p>"),
    ("paragraph", "<p>About account {{ location.account_number }}.</p>"),
    ("assemblies_table", {"heading": "Your assemblies", "columns": ["serial_number"]}),
]


@dataclass
class Site:
    location: Location
    other_location: Location
    owner: Contact
    tenant: Contact
    stranger: Contact
    assembly: Assembly
    template: NoticeTemplate


def site(**owner_fields) -> Site:
    """A location (owner + tenant, one assembly), the owner's second location, a contact
    with no role there, and a published template."""
    location = factories.location(name="Mill Works")
    other = factories.location(name="Second Site")
    owner = factories.contact(
        name="Olive Owner",
        mailing_address_line1="1 Owner Way",
        mailing_city="Lakeside",
        mailing_postal_code="60001",
        **owner_fields,
    )
    tenant = factories.contact(name="Tom Tenant", email="")
    stranger = factories.contact(name="Sam Stranger")
    factories.role(location, owner, "owner", primary=True)
    factories.role(location, tenant, "tenant")
    factories.role(other, owner, "owner")
    assembly = factories.assembly(location, serial_number="SN-LOG-1")
    template = factories.notice_template(
        name="One-off notice", subject="Notice for {{ location.account_number }}", body=BODY
    )
    return Site(location, other, owner, tenant, stranger, assembly, template)


def form_data(s: Site, **values) -> dict:
    """POST data of the Create Log form for ``s``'s owner at its location (a phone call)."""
    now = timezone.localtime()
    data = {
        "kind": "phone",
        "contact": s.owner.pk,
        "location": s.location.pk,
        "assembly": "",
        "occurred_at": now.strftime("%Y-%m-%d %H:%M"),
        "subject": "Called about the annual test",
        "notes": "Left a message.",
        "outcome": "Will book a tester",
        "send_now": "",
        "template": "",
        "body": "",
        "token": uuid.uuid4().hex,
    }
    data.update(values)
    return {key: value for key, value in data.items() if value is not None}
