"""A varied register for the generation tests, and generation's expected result in plain Python.

``expected()`` is an independent re-statement of the contact rules (DESIGN.md) over plain
objects, written without looking at the SQL, so the tests compare two implementations.
"""

from __future__ import annotations

import datetime
import random
from collections import defaultdict

import factories
from django.utils import timezone

from wagtail_batchcomms.models import (
    Assembly,
    BatchAssembly,
    Communication,
    Contact,
    ContactRole,
    Location,
    LocationContact,
    SkippedRecipient,
)

ROLES = ["owner", "tenant", "property_manager", "billing"]

COMMUNICATION_FIELDS = (
    "location_id",
    "assembly_id",
    "contact_id",
    "role",
    "channel",
    "recipient_name",
    "recipient_organisation",
    "email",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
)


def due_date() -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=30)


def build_register(seed: int = 7, locations: int = 50) -> dict:
    """Hand-made edge cases plus a random mix; returns the named edge-case objects."""
    rng = random.Random(seed)
    named: dict = {}

    # Edge cases the rules must handle, one location each.
    loc = named["paper"] = factories.location()
    factories.assembly(loc)
    named["paper_contact"] = c = factories.contact(prefers_paper=True)
    factories.role(loc, c, "owner", primary=True)

    loc = named["no_email"] = factories.location()
    factories.assembly(loc)
    c = factories.contact(email="")
    factories.role(loc, c, "owner", primary=True)

    loc = named["no_address"] = factories.location(address_line1="", city="", postal_code="")
    factories.assembly(loc)
    c = factories.contact(email="")  # nowhere to send anything
    factories.role(loc, c, "owner", primary=True)

    loc = named["mailing_address"] = factories.location(address_line1="")
    factories.assembly(loc)
    named["mailing_contact"] = c = factories.contact(
        email="",
        mailing_address_line1="PO Box 12",
        mailing_address_line2="Suite 4",
        mailing_city="Springfield",
        mailing_state="IL",
        mailing_postal_code="62799",
    )
    factories.role(loc, c, "owner", primary=True)

    loc = named["inactive"] = factories.location(is_active=False)
    factories.assembly(loc)
    factories.role(loc, factories.contact(), "owner", primary=True)

    loc = named["nobody"] = factories.location()
    factories.assembly(loc)

    loc = named["two_roles"] = factories.location()
    factories.assembly(loc)
    factories.assembly(loc)
    named["two_roles_contact"] = c = factories.contact()
    factories.role(loc, c, "tenant", primary=True)
    factories.role(loc, c, "owner", primary=False)

    loc = named["not_primary"] = factories.location()
    factories.assembly(loc)
    factories.role(loc, factories.contact(), "owner", primary=False)

    # A random mix: shared contacts, several assemblies, partial mailing addresses.
    contacts: list[Contact] = []
    for _ in range(locations):
        loc = factories.location(
            is_active=rng.random() > 0.1,
            **({"address_line1": ""} if rng.random() < 0.15 else {}),
        )
        for _ in range(rng.choice([1, 1, 2, 3])):
            factories.assembly(loc)
        taken: set[tuple[int, str]] = set()
        primaries: set[str] = set()
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            if contacts and rng.random() < 0.2:
                contact = rng.choice(contacts)
            else:
                fields: dict = {}
                if rng.random() < 0.25:
                    fields["email"] = ""
                if rng.random() < 0.2:
                    fields["prefers_paper"] = True
                if rng.random() < 0.35:
                    fields.update(
                        mailing_address_line1=f"{rng.randint(1, 999)} Post Rd",
                        mailing_city="Riverbend",
                        mailing_state="IL",
                        mailing_postal_code="62702",
                    )
                elif rng.random() < 0.1:
                    fields["mailing_address_line1"] = "Half an address"
                contact = factories.contact(**fields)
                contacts.append(contact)
            for role in rng.sample(ROLES, rng.choice([1, 1, 1, 2])):
                if (contact.pk, role) in taken:
                    continue
                taken.add((contact.pk, role))
                primary = role not in primaries and rng.random() < 0.6
                if primary:
                    primaries.add(role)
                factories.role(loc, contact, role, primary=primary)
    return named


def _complete(*parts: str) -> bool:
    return all(parts)


def expected(batch, template) -> tuple[list[tuple], set[tuple]]:
    """(sorted communication tuples, set of (location_id, assembly_id, reason))."""
    roles = set(template.contact_roles)
    methods = template.contact_methods
    email_ok = methods in ("email", "both")
    letter_ok = methods in ("letter", "both")
    first = template.first_available_only and email_ok and letter_ok
    per_assembly = template.grouping == "assembly"
    role_order = list(ContactRole.values)

    locations = {loc.pk: loc for loc in Location.objects.all()}
    contacts = {c.pk: c for c in Contact.objects.all()}
    links = defaultdict(list)
    for link in LocationContact.objects.all():
        links[link.location_id].append(link)

    members = list(
        BatchAssembly.objects.filter(batch=batch).values_list("location_id", "assembly_id")
    )
    if per_assembly:
        targets = sorted(members)
    else:
        targets = sorted({(location_id, None) for location_id, _ in members})

    rows, skipped = [], set()
    for location_id, assembly_id in targets:
        loc = locations[location_id]
        if not loc.is_active:
            skipped.add((location_id, assembly_id, "inactive_location"))
            continue
        chosen: dict[int, str] = {}
        for link in links[location_id]:
            if link.role not in roles or (template.primary_only and not link.is_primary):
                continue
            best = chosen.get(link.contact_id)
            if best is None or role_order.index(link.role) < role_order.index(best):
                chosen[link.contact_id] = link.role
        if not chosen:
            skipped.add((location_id, assembly_id, "no_contact"))
            continue
        produced = 0
        for contact_id, role in chosen.items():
            c = contacts[contact_id]
            can_email = bool(c.email) and not c.prefers_paper
            own = _complete(c.mailing_address_line1, c.mailing_city, c.mailing_postal_code)
            at_location = _complete(loc.address_line1, loc.city, loc.postal_code)
            if own:
                address = (
                    c.mailing_address_line1,
                    c.mailing_address_line2,
                    c.mailing_city,
                    c.mailing_state,
                    c.mailing_postal_code,
                )
            else:
                address = (
                    loc.address_line1,
                    loc.address_line2,
                    loc.city,
                    loc.state,
                    loc.postal_code,
                )
            channels = []
            if email_ok and can_email:
                channels.append("email")
            if letter_ok and (own or at_location) and not (first and can_email):
                channels.append("letter")
            for channel in channels:
                produced += 1
                rows.append(
                    (
                        location_id,
                        assembly_id,
                        contact_id,
                        role,
                        channel,
                        c.name,
                        c.organisation,
                        c.email,
                        *address,
                    )
                )
        if not produced:
            reason = "no_address" if letter_ok else "no_email"
            skipped.add((location_id, assembly_id, reason))
    return sorted(rows, key=repr), skipped


def actual(batch) -> tuple[list[tuple], set[tuple]]:
    rows = list(Communication.objects.filter(batch=batch).values_list(*COMMUNICATION_FIELDS))
    skipped = set(
        SkippedRecipient.objects.filter(batch=batch).values_list(
            "location_id", "assembly_id", "reason"
        )
    )
    return sorted(rows, key=repr), skipped


def count_channels(rows) -> dict[str, int]:
    counts = {"email": 0, "letter": 0}
    for row in rows:
        counts[row[4]] += 1
    return counts


def count_reasons(skipped) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for *_, reason in skipped:
        counts[reason] += 1
    return dict(counts)


def all_assemblies():
    return Assembly.objects.all()
