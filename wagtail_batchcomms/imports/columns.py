"""Our import columns, the default header set (the template file's) and the column mapping."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Column:
    """One of our columns: its header in the template file, the record it belongs to, the
    model field it fills and how its cells are read (``parsing.PARSERS``)."""

    name: str
    record: str  # "location", "contact", "role" or "assembly"
    field: str
    kind: str
    label: str


COLUMNS: tuple[Column, ...] = (
    Column("account_number", "location", "account_number", "text", _("Account number")),
    Column("location_name", "location", "name", "text", _("Location name")),
    Column("address_line1", "location", "address_line1", "text", _("Service address line 1")),
    Column("address_line2", "location", "address_line2", "text", _("Service address line 2")),
    Column("city", "location", "city", "text", _("City")),
    Column("state", "location", "state", "text", _("State")),
    Column("postal_code", "location", "postal_code", "text", _("Postal code")),
    Column("property_type", "location", "property_type", "property_type", _("Property type")),
    Column("service_area", "location", "service_area_id", "service_area", _("Service area")),
    Column("location_active", "location", "is_active", "bool", _("Location active")),
    Column("contact_name", "contact", "name", "text", _("Contact name")),
    Column("organisation", "contact", "organisation", "text", _("Organisation")),
    Column("email", "contact", "email", "email", _("Email")),
    Column("phone", "contact", "phone", "text", _("Phone")),
    Column(
        "mailing_address_line1",
        "contact",
        "mailing_address_line1",
        "text",
        _("Mailing address line 1"),
    ),
    Column(
        "mailing_address_line2",
        "contact",
        "mailing_address_line2",
        "text",
        _("Mailing address line 2"),
    ),
    Column("mailing_city", "contact", "mailing_city", "text", _("Mailing city")),
    Column("mailing_state", "contact", "mailing_state", "text", _("Mailing state")),
    Column(
        "mailing_postal_code", "contact", "mailing_postal_code", "text", _("Mailing postal code")
    ),
    Column("prefers_paper", "contact", "prefers_paper", "bool", _("Prefers paper")),
    Column("role", "role", "role", "role", _("Role")),
    Column("primary", "role", "is_primary", "bool", _("Primary contact")),
    Column("serial_number", "assembly", "serial_number", "text", _("Serial number")),
    Column("manufacturer", "assembly", "manufacturer", "text", _("Manufacturer")),
    Column("model_number", "assembly", "model_number", "text", _("Model")),
    Column("assembly_type", "assembly", "assembly_type", "assembly_type", _("Assembly type")),
    Column("size", "assembly", "size", "size", _("Size")),
    Column("placement", "assembly", "placement", "text", _("Placement")),
    Column("hazard", "assembly", "hazard", "hazard", _("Hazard")),
    Column("service_type", "assembly", "service_type", "service_type", _("Service type")),
    Column("installed_on", "assembly", "installed_on", "date", _("Installed on")),
    Column("assembly_status", "assembly", "status", "assembly_status", _("Assembly status")),
    Column("last_tested_on", "assembly", "last_tested_on", "date", _("Last tested on")),
    Column("last_test_result", "assembly", "last_test_result", "test_result", _("Last result")),
    Column("test_frequency_months", "assembly", "test_frequency_months", "months", _("Frequency")),
    Column("next_test_due", "assembly", "next_test_due", "date", _("Next test due")),
)

BY_NAME: dict[str, Column] = {column.name: column for column in COLUMNS}

#: The template file's headers: our column names, in this order.
DEFAULT_HEADERS: tuple[str, ...] = tuple(column.name for column in COLUMNS)


def _normal(header: str) -> str:
    """A header compared loosely: "Account Number", "account_number", "ACCOUNT-NUMBER"."""
    return re.sub(r"[^a-z0-9]+", "_", str(header).strip().lower()).strip("_")


def guess_mapping(headers: list[str], remembered: dict[str, str] | None = None) -> dict[str, str]:
    """Our column name -> the file's header, for the mapping form's initial values: the
    mapping remembered from the last upload where its headers are in this file, then every
    header that matches one of ours by name or label (loosely)."""
    mapping: dict[str, str] = {}
    present = set(headers)
    for ours, theirs in (remembered or {}).items():
        if ours in BY_NAME and theirs in present:
            mapping[ours] = theirs
    taken = set(mapping.values())
    by_normal = {}
    for column in COLUMNS:
        by_normal.setdefault(_normal(column.name), column.name)
        by_normal.setdefault(_normal(str(column.label)), column.name)
    for header in headers:
        ours = by_normal.get(_normal(header))
        if ours and ours not in mapping and header not in taken:
            mapping[ours] = header
            taken.add(header)
    return mapping


def mapping_problems(mapping: dict[str, str], headers: list[str]) -> list[str]:
    """Why ``mapping`` cannot be used with a file of ``headers`` (empty when it can)."""
    problems = []
    unknown = sorted(set(mapping) - set(BY_NAME))
    if unknown:
        problems.append(str(_("Unknown columns: %(names)s")) % {"names": ", ".join(unknown)})
    missing = sorted(theirs for theirs in mapping.values() if theirs not in headers)
    if missing:
        problems.append(
            str(_("The file has no column %(names)s")) % {"names": ", ".join(map(repr, missing))}
        )
    used: dict[str, str] = {}
    for ours, theirs in mapping.items():
        if theirs in used:
            problems.append(
                str(_("The file's column %(header)r is mapped twice (%(a)s and %(b)s)"))
                % {"header": theirs, "a": used[theirs], "b": ours}
            )
        used[theirs] = ours
    if "account_number" not in mapping:
        problems.append(str(_("Map a column to the account number: every row needs one.")))
    return problems
