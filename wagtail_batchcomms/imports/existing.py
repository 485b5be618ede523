"""Pass two of the dry run: the register's records the file's keys name, read in chunks of
keys (a few queries per thousand rows, never one per row)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from operator import itemgetter

from django.db.models.functions import Lower

from ..models import Assembly, Contact, Location, LocationContact
from .rows import assembly_key, contact_key, name_key

CHUNK = 2000  # keys per query (SQLite takes 32,766 parameters, PostgreSQL 65,535)

LOCATION_FIELDS = (
    "account_number",
    "name",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "property_type",
    "service_area_id",
    "is_active",
)
CONTACT_FIELDS = (
    "name",
    "organisation",
    "email",
    "phone",
    "mailing_address_line1",
    "mailing_address_line2",
    "mailing_city",
    "mailing_state",
    "mailing_postal_code",
    "prefers_paper",
)
ASSEMBLY_FIELDS = (
    "serial_number",
    "manufacturer",
    "model_number",
    "assembly_type",
    "size",
    "placement",
    "hazard",
    "service_type",
    "installed_on",
    "status",
    "last_tested_on",
    "last_test_result",
    "test_frequency_months",
    "next_test_due",
    "location_id",
)


def _chunks(values: Iterable, size: int = CHUNK):
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


def locations(accounts: Iterable[str]) -> dict[str, dict]:
    """Account number -> the location's fields (with "id")."""
    found = {}
    for chunk in _chunks(accounts):
        for row in Location.objects.filter(account_number__in=chunk).values("id", *LOCATION_FIELDS):
            found[row["account_number"]] = row
    return found


def contacts(keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], list[dict]]:
    """Contact key (``rows.contact_key``) -> every contact in the register with that key (more
    than one: the row cannot say which, and is refused)."""
    emails = [value for kind, value in keys if kind == "email"]
    postal_codes = {value.rsplit("\x1f", 1)[1] for kind, value in keys if kind == "name"}
    found: dict[tuple[str, str], list[dict]] = defaultdict(list)
    wanted = set(keys)
    for chunk in _chunks(emails):
        queryset = Contact.objects.annotate(lower_email=Lower("email")).filter(
            lower_email__in=chunk
        )
        for row in queryset.values("id", *CONTACT_FIELDS):
            found[contact_key(row)].append(row)
    # A row without an email finds its contact by name, mailing address and postal code, whether or
    # not the register knows that contact's email.
    for chunk in _chunks(postal_codes):
        queryset = (
            Contact.objects.annotate(lower_code=Lower("mailing_postal_code"))
            .filter(lower_code__in=chunk)
            .values("id", *CONTACT_FIELDS)
        )
        for row in queryset:
            key = name_key(row)
            if key in wanted:
                found[key].append(row)
    return found


def assemblies(keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict]:
    """(manufacturer, serial number) -> the assembly's fields (with "id")."""
    keys = set(keys)
    found = {}
    for chunk in _chunks({serial for _manufacturer, serial in keys}):
        for row in Assembly.objects.filter(serial_number__in=chunk).values("id", *ASSEMBLY_FIELDS):
            key = (row["manufacturer"], row["serial_number"])
            if key in keys:
                found[key] = row
    return found


def roles(location_ids: Iterable[int]) -> dict[tuple[int, str], list[dict]]:
    """(location id, role) -> the location's contacts in that role."""
    found: dict[tuple[int, str], list[dict]] = defaultdict(list)
    for chunk in _chunks(location_ids):
        for row in LocationContact.objects.filter(location_id__in=chunk).values(
            "id", "location_id", "contact_id", "role", "is_primary"
        ):
            found[(row["location_id"], row["role"])].append(row)
    return found


def keys_of(rows: Iterable) -> tuple[list, list, list]:
    """The natural keys a file's parsed rows name: account numbers, contact keys, assembly
    keys (what ``read`` looks up; the dry run keeps them for the import's re-check)."""
    accounts, contact_keys, assembly_keys = set(), set(), set()
    for row in rows:
        accounts.add(row.values.get("location", {}).get("account_number"))
        if row.has("contact"):
            contact_keys.add(contact_key(row.values["contact"]))
        if row.values.get("assembly", {}).get("serial_number"):
            assembly_keys.add(assembly_key(row.values["assembly"]))
    accounts.discard(None)
    return sorted(accounts), sorted(contact_keys), sorted(assembly_keys)


def read(keys: tuple[list, list, list]) -> dict:
    """The register's records ``keys`` name, by kind (the roles of the locations found)."""
    accounts, contact_keys, assembly_keys = keys
    found = locations(accounts)
    return {
        "location": found,
        "contact": contacts(contact_keys),
        "assembly": assemblies(assembly_keys),
        "role": roles(location["id"] for location in found.values()),
    }


def digest(known: dict, *context: object) -> str:
    """A digest of the records ``read`` found (and of ``context``: the service areas, the
    day): equal at import time exactly when the register holds for the file's keys what the
    dry run planned against, so the stored plan still is the import's."""
    hashed = hashlib.sha256(repr(context).encode())
    by_id = itemgetter("id")
    for kind in sorted(known):
        for key, value in sorted(known[kind].items()):
            # A record's values in the query's column order; a key's records by id.
            if isinstance(value, list):
                values = [tuple(row.values()) for row in sorted(value, key=by_id)]
            else:
                values = tuple(value.values())
            hashed.update(repr((key, values)).encode())
    return hashed.hexdigest()
