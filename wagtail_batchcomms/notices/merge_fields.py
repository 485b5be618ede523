"""The merge field catalogue: every value a notice template can use, declared once.

The template validation (``notices.language.field_check``), the merge data builder
(``notices.merge_data``) and the editor's help panel all read this structure, so a field
documented here is a field that exists, and a field that exists is documented here.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

TEXT = "text"
DATE = "date"
LIST = "list"
OBJECT = "object"

#: The loop variable the help panel shows in examples of ``assemblies`` loops.
LOOP_VARIABLE = "a"


@dataclass(frozen=True)
class MergeField:
    """One merge field; ``fields``: an object's children, or the fields of a list's items."""

    name: str
    description: str
    example: str = ""
    kind: str = TEXT
    fields: tuple[MergeField, ...] = field(default=())

    def child(self, name: str) -> MergeField | None:
        for child in self.fields:
            if child.name == name:
                return child
        return None

    @property
    def child_names(self) -> list[str]:
        return [child.name for child in self.fields]

    def as_item(self) -> MergeField:
        """The spec of one item of a list field (what a loop variable holds)."""
        if not self.fields:  # a list of plain values, such as address lines
            return MergeField(self.name, self.description, kind=TEXT)
        return MergeField(self.name, self.description, kind=OBJECT, fields=self.fields)


def _f(name: str, description: str, example: str = "", kind: str = TEXT, fields=()) -> MergeField:
    return MergeField(name, description, example, kind, tuple(fields))


ASSEMBLY_FIELDS = (
    _f("serial_number", _("Serial number"), "4521-RP-0087"),
    _f("type", _("Type code"), "RP"),
    _f("type_name", _("Type, in full"), "RP: reduced pressure principle"),
    _f("size", _("Size"), '1"'),
    _f("manufacturer", _("Manufacturer"), "Watts"),
    _f("model", _("Model"), "909"),
    _f("placement", _("Where it is installed"), "Basement mech room"),
    _f("hazard", _("Hazard"), "Health hazard"),
    _f("service_type", _("Service type"), "Domestic"),
    _f("last_tested_on", _("Date of the last test (empty if never tested)"), "May 2, 2024", DATE),
    _f("last_test_result", _("Result of the last test"), "Pass"),
    _f("next_test_due", _("Date the next test is due"), "May 2, 2025", DATE),
    _f("compliance_status", _("Compliance status today"), "Due within 30 days"),
)

MERGE_FIELDS: tuple[MergeField, ...] = (
    _f(
        "contact",
        _("The recipient"),
        kind=OBJECT,
        fields=[
            _f("name", _("Name"), "Dana Whitfield"),
            _f("organisation", _("Organisation (may be empty)"), "Riverside Bakery LLC"),
            _f("email", _("Email address (may be empty)"), "dana@riverside.example"),
            _f("role", _("Role at the location"), "Owner"),
            _f(
                "address",
                _("Postal address the notice goes to, on one line"),
                "12 Mill Road, Riverbend, IL 62701",
            ),
            _f(
                "address_lines",
                _("Postal address, as a list of lines"),
                "['12 Mill Road', 'Riverbend, IL 62701']",
                LIST,
            ),
        ],
    ),
    _f(
        "location",
        _("The service address the notice is about"),
        kind=OBJECT,
        fields=[
            _f("account_number", _("Account number"), "ACC-004521"),
            _f("name", _("Business or site name (may be empty)"), "Riverside Bakery"),
            _f("address", _("Address on one line"), "400 River Street, Riverbend, IL 62701"),
            _f(
                "address_lines",
                _("Address as a list of lines"),
                "['400 River Street', 'Riverbend, IL 62701']",
                LIST,
            ),
            _f("city", _("City"), "Riverbend"),
            _f("postal_code", _("Postal code"), "62701"),
            _f("property_type", _("Property type"), "Commercial"),
            _f("service_area", _("Service area (may be empty)"), "North Zone"),
        ],
    ),
    _f(
        "batch",
        _("The batch communication"),
        kind=OBJECT,
        fields=[
            _f("name", _("Batch name"), "Spring 2025 test reminders"),
            _f(
                "due_date",
                _('Due date; format it with |date("j F Y") if you like'),
                "June 30, 2025",
                DATE,
            ),
        ],
    ),
    _f(
        "assemblies",
        _("The batch's assemblies at this location (a list: loop over it)"),
        kind=LIST,
        fields=ASSEMBLY_FIELDS,
    ),
    _f(
        "assembly",
        _("The assembly of a one-per-assembly notice (otherwise the first of the list)"),
        kind=OBJECT,
        fields=ASSEMBLY_FIELDS,
    ),
    _f(
        "organisation",
        _("Your organisation, from the Letterhead settings"),
        kind=OBJECT,
        fields=[
            _f("name", _("Name"), "Riverbend Water"),
            _f("phone", _("Phone"), "(555) 010-2000"),
            _f("email", _("Email"), "backflow@riverbend.example"),
            _f("website", _("Website"), "https://water.riverbend.example"),
            _f("address", _("Return address on one line"), "PO Box 100, Riverbend, IL 62701"),
        ],
    ),
    _f("today", _("Today's date"), "March 3, 2025", DATE),
)

CATALOGUE = MergeField("", "", kind=OBJECT, fields=MERGE_FIELDS)


def catalogue_rows() -> list[dict]:
    """The catalogue flattened for the editor's help panel, in declaration order.

    Each row: ``code`` (what to type), ``description``, ``example``, ``depth`` (0 or 1) and
    ``group`` (True for the heading row of an object or list). Items of a list are shown with
    the loop variable, as they are used inside a loop.
    """
    rows = []
    for top in MERGE_FIELDS:
        if top.kind == TEXT or top.kind == DATE:
            rows.append(_row(f"{{{{ {top.name} }}}}", top.description, top.example))
            continue
        if top.kind == LIST:
            code = f"{{% for {LOOP_VARIABLE} in {top.name} %}} … {{% endfor %}}"
            prefix = LOOP_VARIABLE
        else:
            code = top.name
            prefix = top.name
        # An object's heading is not something to type; a list's loop is (it is copyable).
        rows.append(_row(code, top.description, "", group=top.kind == OBJECT))
        for child in top.fields:
            rows.append(
                _row(f"{{{{ {prefix}.{child.name} }}}}", child.description, child.example, 1)
            )
    return rows


def _row(code: str, description, example: str, depth: int = 0, group: bool = False) -> dict:
    return {
        "code": code,
        "description": description,
        "example": example,
        "depth": depth,
        "group": group,
    }


def builtin_sample(today: datetime.date) -> dict:
    """Merge data for previews when the register has no location to borrow."""
    due = today + datetime.timedelta(days=60)

    def assembly(serial, code, name, size, placement, tested_days_ago, result, status):
        tested = today - datetime.timedelta(days=tested_days_ago)
        return {
            "serial_number": serial,
            "type": code,
            "type_name": name,
            "size": size,
            "manufacturer": "Watts",
            "model": "909" if code == "RP" else "007",
            "placement": placement,
            "hazard": "Health hazard" if code == "RP" else "Non-health hazard",
            "service_type": "Domestic" if code == "RP" else "Irrigation",
            "last_tested_on": tested,
            "last_test_result": result,
            "next_test_due": tested + datetime.timedelta(days=365),
            "compliance_status": status,
        }

    assemblies = [
        assembly(
            "4521-RP-0087",
            "RP",
            "RP: reduced pressure principle",
            '1"',
            "Basement mech room",
            340,
            "Pass",
            "Due within 30 days",
        ),
        assembly(
            "4521-DC-0112",
            "DC",
            "DC: double check valve",
            '3/4"',
            "Front yard vault",
            380,
            "Pass",
            "Overdue",
        ),
    ]
    contact_lines = ["12 Mill Road", "Riverbend, IL 62701"]
    location_lines = ["400 River Street", "Riverbend, IL 62701"]
    return {
        "contact": {
            "name": "Dana Whitfield",
            "organisation": "Riverside Bakery LLC",
            "email": "dana@riverside.example",
            "role": "Owner",
            "address": ", ".join(contact_lines),
            "address_lines": contact_lines,
        },
        "location": {
            "account_number": "ACC-004521",
            "name": "Riverside Bakery",
            "address": ", ".join(location_lines),
            "address_lines": location_lines,
            "city": "Riverbend",
            "postal_code": "62701",
            "property_type": "Commercial",
            "service_area": "North Zone",
        },
        "batch": {"name": "Sample batch", "due_date": due},
        "assemblies": assemblies,
        "assembly": assemblies[0],
        "today": today,
    }
