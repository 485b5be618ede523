"""Reading one cell as a model value. Each parser returns the value or raises ``CellError``
with the message the admin sees next to the row and column. Empty cells never get here
(``planning`` treats them as "leave as it is")."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from ..models import (
    SIZE_CHOICES,
    AssemblyStatus,
    AssemblyType,
    ContactRole,
    Hazard,
    PropertyType,
    ServiceType,
    TestResult,
)


class CellError(ValueError):
    """A cell that cannot be read; ``str(error)`` is the message for the admin."""


def text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        # An account number typed as a number in Excel comes back 1234.0.
        value = int(value)
    return str(value).strip()


def _choice(choices) -> Callable[[object], str]:
    """A choice read by its value or its label, without case ("rp", "RP: reduced ...")."""
    lookup = {}
    for value, label in choices.choices:
        lookup[value.lower()] = value
        lookup[str(label).lower()] = value
        # "RP" for "RP: reduced pressure principle"; "Multi family" for "multi_family".
        lookup[str(label).split(":")[0].strip().lower()] = value
        lookup[value.replace("_", " ").lower()] = value

    def parse(value: object) -> str:
        key = text(value).lower()
        if key in lookup:
            return lookup[key]
        raise CellError(
            _("%(value)r is not one of %(choices)s")
            % {"value": text(value), "choices": ", ".join(v for v, _label in choices.choices)}
        )

    return parse


_SIZES = {size: size for size, _label in SIZE_CHOICES}
_FRACTION = re.compile(r"^(?:(\d+)\s*[- ]\s*)?(\d+)\s*/\s*(\d+)$")


def size(value: object) -> Decimal:
    """A size in inches: 0.75, 3/4, 3/4", 1-1/2", 1 1/2, 2 in; one of ``SIZE_CHOICES``."""
    raw = text(value)
    cleaned = re.sub(r'(?i)\s*(?:"|”|in\.?|inch(?:es)?)$', "", raw).strip()
    try:
        match = _FRACTION.match(cleaned)
        if match:
            whole, top, bottom = match.groups()
            number = Decimal(whole or 0) + Decimal(top) / Decimal(bottom)
        else:
            number = Decimal(cleaned)
    except (InvalidOperation, ZeroDivisionError):
        number = None
    if number is not None and number.is_finite():
        found = _SIZES.get(number.quantize(Decimal("0.01")))
        if found is not None:
            return found
    raise CellError(
        _("%(value)r is not an assembly size (%(sizes)s)")
        % {"value": raw, "sizes": ", ".join(label for _size, label in SIZE_CHOICES)}
    )


_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%Y/%m/%d")


def date(value: object) -> datetime.date:
    """A date: an XLSX date cell, or text as 2025-03-31, 03/31/2025 or 3/31/25 (US order)."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    raw = text(value)
    parts = raw.split("/")
    try:
        # The two common forms without strptime (slow, and called for every distinct date).
        if len(raw) == 10 and raw[4] == "-":
            return datetime.date.fromisoformat(raw)
        if len(parts) == 3 and len(parts[2]) == 4:
            return datetime.date(int(parts[2]), int(parts[0]), int(parts[1]))
    except ValueError:
        pass
    for form in _DATE_FORMATS:
        try:
            return datetime.datetime.strptime(raw, form).date()
        except ValueError:
            continue
    raise CellError(_("%(value)r is not a date (use 2025-03-31 or 03/31/2025)") % {"value": raw})


_TRUE = {"yes", "y", "true", "t", "1", "x"}
_FALSE = {"no", "n", "false", "f", "0"}


def boolean(value: object) -> bool:
    if isinstance(value, bool):
        return value
    raw = text(value).lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise CellError(_("%(value)r is not yes or no") % {"value": text(value)})


def email(value: object) -> str:
    raw = text(value)
    try:
        validate_email(raw)
    except ValidationError as error:
        raise CellError(_("%(value)r is not an email address") % {"value": raw}) from error
    return raw


def months(value: object) -> int:
    raw = text(value)
    try:
        number = int(raw)
    except ValueError:
        number = 0
    if not 1 <= number <= 120:
        raise CellError(_("%(value)r is not a number of months from 1 to 120") % {"value": raw})
    return number


def bounded_text(limit: int) -> Callable[[object], str]:
    def parse(value: object) -> str:
        raw = text(value)
        if len(raw) > limit:
            raise CellError(
                _("%(length)s characters; at most %(limit)s fit")
                % {"length": len(raw), "limit": limit}
            )
        return raw

    return parse


PARSERS: dict[str, Callable[[object], object]] = {
    "property_type": _choice(PropertyType),
    "role": _choice(ContactRole),
    "assembly_type": _choice(AssemblyType),
    "hazard": _choice(Hazard),
    "service_type": _choice(ServiceType),
    "assembly_status": _choice(AssemblyStatus),
    "test_result": _choice(TestResult),
    "size": size,
    "date": date,
    "bool": boolean,
    "email": email,
    "months": months,
}
