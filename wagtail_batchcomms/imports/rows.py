"""Pass one of the dry run: every row's cells read into its records (location, contact, role,
assembly), with the row errors of single cells, keys missing and rows that contradict an
earlier row about the same record."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from django.utils.translation import gettext as _

from ..models import Assembly, Contact, Location, ServiceArea
from .columns import BY_NAME, Column
from .parsing import PARSERS, CellError, bounded_text, text

MODELS = {"location": Location, "contact": Contact, "assembly": Assembly}
RECORDS = ("location", "contact", "role", "assembly")


@dataclass
class RowError:
    row: int
    column: str  # the file's header ("" for the row as a whole)
    value: str
    message: str

    def as_dict(self) -> dict:
        return {
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "message": self.message,
        }


@dataclass
class ParsedRow:
    """One row's values by record, as model field -> value (only the cells filled)."""

    number: int
    values: dict[str, dict[str, object]] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)

    def has(self, record: str) -> bool:
        return bool(self.values.get(record))


def _parser(column: Column):
    if column.kind == "text":
        model = MODELS.get(column.record)
        limit = model._meta.get_field(column.field).max_length if model else 100
        parse = bounded_text(limit)
    else:
        parse = PARSERS.get(column.kind, text)
    # A file repeats its values (types, sizes, dates, a location's fields on each of its
    # rows): each distinct cell is read once per column.
    cached = lru_cache(maxsize=100_000)(_outcome(parse))

    def read(raw: object) -> object:
        try:
            ok, value = cached(raw)
        except TypeError:  # not hashable; cells are str, numbers, dates
            ok, value = _outcome(parse)(raw)
        if not ok:
            raise CellError(value)
        return value

    return read


def _outcome(parse):
    """``parse`` returning (True, value) or (False, message): an error is cached too."""

    def run(raw: object) -> tuple[bool, object]:
        try:
            return True, parse(raw)
        except CellError as error:
            return False, str(error)

    return run


def service_area_lookup() -> dict[str, int]:
    """Service area id by code and by name (without case): the one small table read whole."""
    lookup: dict[str, int] = {}
    for pk, code, name in ServiceArea.objects.values_list("pk", "code", "name"):
        lookup[name.lower()] = pk
        lookup[code.lower()] = pk
    return lookup


def parse_rows(
    rows: Iterator[tuple[int, list[object]]],
    headers: list[str],
    mapping: dict[str, str],
    areas: dict[str, int],
) -> Iterator[ParsedRow]:
    """Each row read through the mapping (our column -> the file's header)."""
    positions = [
        (BY_NAME[ours], headers.index(theirs), theirs, _parser(BY_NAME[ours]))
        for ours, theirs in mapping.items()
    ]
    for number, cells in rows:
        parsed = ParsedRow(number)
        for column, position, header, parse in positions:
            raw = cells[position]
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                continue  # empty: leave the register's value as it is
            try:
                if column.kind == "service_area":
                    value = areas.get(text(raw).lower())
                    if value is None:
                        raise CellError(
                            _("%(value)r is not the code or name of a service area")
                            % {"value": text(raw)}
                        )
                else:
                    value = parse(raw)
            except CellError as error:
                parsed.errors.append(RowError(number, header, text(raw), str(error)))
                continue
            parsed.values.setdefault(column.record, {})[column.field] = value
        _check_keys(parsed, mapping)
        yield parsed


def _check_keys(parsed: ParsedRow, mapping: dict[str, str]) -> None:
    """Every row needs its location's account number; a contact needs a name or an email
    and its role there; an assembly needs its serial number."""
    header = mapping.get
    location = parsed.values.get("location", {})
    if "account_number" not in location and not _column_failed(parsed, header("account_number")):
        parsed.errors.append(
            RowError(parsed.number, header("account_number", ""), "", _("No account number"))
        )
    contact = parsed.values.get("contact", {})
    role = parsed.values.get("role", {})
    if contact or role:
        if not contact.get("email") and not contact.get("name"):
            parsed.errors.append(
                RowError(
                    parsed.number,
                    header("contact_name", "") or header("email", ""),
                    "",
                    _("A contact needs a name or an email address"),
                )
            )
        if "role" not in role and not _column_failed(parsed, header("role")):
            parsed.errors.append(
                RowError(
                    parsed.number,
                    header("role", ""),
                    "",
                    _("A contact needs its role at the location (owner, tenant, ...)"),
                )
            )
    assembly = parsed.values.get("assembly", {})
    if (
        assembly
        and "serial_number" not in assembly
        and not _column_failed(parsed, header("serial_number"))
    ):
        parsed.errors.append(
            RowError(parsed.number, header("serial_number", ""), "", _("No serial number"))
        )


def _column_failed(parsed: ParsedRow, header: str | None) -> bool:
    return header is not None and any(error.column == header for error in parsed.errors)


def contact_key(values: dict[str, object]) -> tuple[str, str]:
    """A contact's natural key: ("email", address) when the row has one, else ("name",
    name + mailing address line 1 + mailing postal code); without case or repeated spaces.
    (Name and postal code alone would merge two owners of one name in one town.)"""
    email = str(values.get("email") or "").lower()
    if email:
        return ("email", email)
    return name_key(values)


def name_key(values: dict[str, object]) -> tuple[str, str]:
    """The (name, mailing address line 1, mailing postal code) key, also of a contact that
    has an email. The postal code comes last: ``existing.contacts`` reads it back."""
    parts = (
        values.get("name"),
        values.get("mailing_address_line1"),
        values.get("mailing_postal_code"),
    )
    return ("name", "\x1f".join(" ".join(str(part or "").lower().split()) for part in parts))


def assembly_key(values: dict[str, object]) -> tuple[str, str]:
    """An assembly's natural key: (manufacturer, serial number), as written (the database's
    unique constraint compares them so)."""
    return (str(values.get("manufacturer") or ""), str(values["serial_number"]))
