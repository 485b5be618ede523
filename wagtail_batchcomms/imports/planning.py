"""The dry run: what importing a file would do to the register, row by row, without writing.

``build_plan`` reads every row (``rows``), reads the records their keys name (``existing``)
and decides, for each row, created / updated / unchanged or its errors, and for each record
the fields to write. ``applying.apply_plan`` writes exactly that. A row with an error is left
out whole (none of its records are written from it); the other rows do not depend on it.

Within one file, a record named by several rows (a location on every row of its assemblies)
takes each field from the first row that fills it; a later row that gives another value for
the same field is an error on that row ("row 7 says X").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import Assembly, TestResult
from . import existing
from .columns import COLUMNS
from .rows import RECORDS, ParsedRow, RowError, assembly_key, contact_key, parse_rows

#: Rows with a change listed on the import's page (all errors are kept; see the CSV).
CHANGES_SHOWN = 500

REQUIRED_ON_CREATE = {
    "location": ("property_type",),
    "contact": ("name",),
    "assembly": ("assembly_type", "size", "hazard", "service_type"),
}
OUTCOMES = ("created", "updated", "unchanged")


@dataclass
class Record:
    """One location, contact, role or assembly the file names: its key, what the register
    holds (None: it is new), and the values the file gives (model field -> value)."""

    kind: str
    key: object
    current: dict | None
    values: dict[str, object] = field(default_factory=dict)
    first_row: int = 0
    refs: dict[str, object] = field(default_factory=dict)  # role: location/contact keys
    frozen: str = ""  # the outcome, once the plan is complete (``Plan.freeze``)

    def changes(self) -> dict[str, object]:
        """The fields to write: all given ones for a new record, the differing ones else."""
        if self.current is None:
            return dict(self.values)
        return {
            name: value for name, value in self.values.items() if self.current.get(name) != value
        }

    @property
    def outcome(self) -> str:
        if self.frozen:
            return self.frozen
        if self.current is None:
            return "created"
        return "updated" if self.changes() else "unchanged"


@dataclass
class Plan:
    row_count: int = 0
    rows: Counter = field(default_factory=Counter)
    errors: list[RowError] = field(default_factory=list)
    records: dict[str, dict[object, Record]] = field(
        default_factory=lambda: {kind: {} for kind in RECORDS}
    )
    row_records: list[tuple[int, list[Record]]] = field(default_factory=list)
    keys: tuple = ((), (), ())  # the natural keys the file names (``existing.keys_of``)
    register: str = ""  # ``register_digest`` of the records the plan was made against

    def freeze(self) -> None:
        """Every record's outcome, once: the plan is complete."""
        for records in self.records.values():
            for record in records.values():
                record.frozen = ""
                record.frozen = record.outcome

    def counts(self) -> dict[str, dict[str, int]]:
        """Rows and each kind of record by outcome (the page's and the history's figures)."""
        result = {"rows": {name: self.rows[name] for name in (*OUTCOMES, "error")}}
        for kind, records in self.records.items():
            counter = Counter(record.outcome for record in records.values())
            result[kind] = {name: counter[name] for name in OUTCOMES}
        return result

    def to_write(self, kind: str) -> list[Record]:
        return [record for record in self.records[kind].values() if record.outcome != "unchanged"]

    @property
    def write_total(self) -> int:
        return sum(len(self.to_write(kind)) for kind in RECORDS)

    def changes(self, limit: int = CHANGES_SHOWN) -> list[dict]:
        """The first rows that create or update something, for the page."""
        shown = []
        for number, records in self.row_records:
            parts = [f"{record.kind} {record.outcome}" for record in records]
            outcome = _row_outcome(records)
            if outcome != "unchanged":
                shown.append({"row": number, "outcome": outcome, "summary": ", ".join(parts)})
                if len(shown) >= limit:
                    break
        return shown


def _row_outcome(records: list[Record]) -> str:
    outcomes = {record.outcome for record in records}
    for outcome in ("created", "updated"):
        if outcome in outcomes:
            return outcome
    return "unchanged"


def build_plan(
    headers: list[str],
    rows: Iterator[tuple[int, list[object]]],
    mapping: dict[str, str],
    progress: Callable[[int], None] | None = None,
) -> Plan:
    """The dry run of a file's rows (``reading.read_rows``) through ``mapping``."""
    parsed: list[ParsedRow] = []
    for parsed_row in parse_rows(rows, headers, mapping, existing_areas()):
        parsed.append(parsed_row)
        if progress and len(parsed) % 5000 == 0:
            progress(len(parsed))
    plan = Plan(row_count=len(parsed))
    plan.keys = existing.keys_of(parsed)
    known = existing.read(plan.keys)
    plan.register = register_digest(known)
    headers_by_field = {(c.record, c.field): mapping.get(c.name, "") for c in COLUMNS}
    checker = _RowChecker(plan, known, headers_by_field)
    for row in parsed:
        if row.errors:
            plan.errors.extend(row.errors)
            plan.rows["error"] += 1
            continue
        checker.check(row)
    plan.freeze()
    return plan


def register_digest(known: dict) -> str:
    """``existing.digest`` of the records read, with what else a plan depends on: the
    service areas and the day (a date "in the future" is checked against it)."""
    return existing.digest(known, sorted(existing_areas().items()), timezone.localdate())


def existing_areas() -> dict[str, int]:
    from .rows import service_area_lookup

    return service_area_lookup()


class _RowChecker:
    """Decides one error-free row at a time, against the register and the rows before it."""

    def __init__(self, plan: Plan, known: dict, headers: dict[tuple[str, str], str]) -> None:
        self.plan, self.known, self.headers = plan, known, headers
        self.today = timezone.localdate()
        # (location key, role) -> the contact key an earlier row made primary there.
        self.primaries: dict[tuple, object] = {}

    def error(self, number: int, record: str, name: str, value: object, message: str):
        return RowError(number, self.headers.get((record, name), ""), _shown(value), message)

    def check(self, row: ParsedRow) -> None:
        errors: list[RowError] = []
        pending: list[tuple[Record, dict, bool]] = []  # (record, values to merge, new here)
        location_values = row.values["location"]
        account = location_values["account_number"]
        location = self._record(
            "location", account, self.known["location"].get(account), row, errors, pending
        )
        contact = None
        if row.has("contact"):
            key = contact_key(row.values["contact"])
            matches = self.known["contact"].get(key, [])
            if len(matches) > 1:
                errors.append(
                    self.error(
                        row.number,
                        "contact",
                        "email" if key[0] == "email" else "name",
                        row.values["contact"].get(key[0]),
                        _(
                            "%(count)s contacts in the register have this %(key)s; merge "
                            "them before importing"
                        )
                        % {
                            "count": len(matches),
                            "key": _("email")
                            if key[0] == "email"
                            else _("name, mailing address and postal code"),
                        },
                    )
                )
            else:
                contact = self._record(
                    "contact", key, matches[0] if matches else None, row, errors, pending
                )
        if contact is not None and location is not None and row.has("role"):
            self._role(row, location, contact, errors, pending)
        if row.has("assembly"):
            self._assembly(row, account, location, errors, pending)
        if errors:
            self.plan.errors.extend(errors)
            self.plan.rows["error"] += 1
            return
        touched = []
        for record, values, new in pending:
            record.values.update(values)
            if record.kind == "role" and values.get("is_primary"):
                self.primaries[(record.refs["location"], values["role"])] = record.refs["contact"]
            if new:
                record.first_row = row.number
                self.plan.records[record.kind][record.key] = record
                touched.append(record)
        self.plan.row_records.append((row.number, touched))
        self.plan.rows[_row_outcome(touched)] += 1

    def _record(self, kind, key, current, row, errors, pending, values=None) -> Record | None:
        """The record ``key`` of ``kind`` with this row's values, checked against an earlier
        row's (``pending`` gets the merge; nothing changes until the row has no errors)."""
        values = dict(row.values.get(kind, {}) if values is None else values)
        record = self.plan.records[kind].get(key)
        new = record is None
        if new:
            record = Record(kind, key, current)
            if current is None:
                for name in REQUIRED_ON_CREATE.get(kind, ()):
                    if name not in values:
                        errors.append(
                            self.error(
                                row.number,
                                kind,
                                name,
                                "",
                                _("A new %(kind)s needs its %(field)s")
                                % {"kind": _(kind), "field": _field_label(kind, name)},
                            )
                        )
        else:
            for name, value in values.items():
                earlier = record.values.get(name)
                if name in record.values and earlier != value:
                    errors.append(
                        self.error(
                            row.number,
                            kind,
                            name,
                            value,
                            _("Row %(row)s gave %(value)s for the same %(kind)s")
                            % {"row": record.first_row, "value": _shown(earlier), "kind": _(kind)},
                        )
                    )
        pending.append((record, values, new))
        return record

    def _role(self, row, location, contact, errors, pending) -> None:
        values = row.values["role"]
        role = values["role"]
        current = None
        location_id = (location.current or {}).get("id")
        contact_id = (contact.current or {}).get("id")
        holders = self.known["role"].get((location_id, role), []) if location_id else []
        for holder in holders:
            if holder["contact_id"] == contact_id:
                current = holder
        record_values = {
            "role": role,
            **({"is_primary": values["is_primary"]} if "is_primary" in values else {}),
        }
        if values.get("is_primary"):
            others = [h for h in holders if h["is_primary"] and h["contact_id"] != contact_id]
            earlier = self.primaries.get((location.key, role))
            if others or (earlier is not None and earlier != contact.key):
                errors.append(
                    self.error(
                        row.number,
                        "role",
                        "is_primary",
                        values["is_primary"],
                        _("This location already has a primary contact in this role"),
                    )
                )
        record = self._record(
            "role", (location.key, contact.key, role), current, row, errors, pending, record_values
        )
        record.refs = {"location": location.key, "contact": contact.key}

    def _assembly(self, row, account, location, errors, pending) -> None:
        values = dict(row.values["assembly"])
        key = assembly_key(values)
        current = self.known["assembly"].get(key)
        location_id = (location.current or {}).get("id") if location else None
        if current is None or current["location_id"] != location_id or location_id is None:
            values["location_id"] = ("account", account)
        merged = {**_assembly_defaults(), **(current or {}), **values}
        if (
            "next_test_due" not in values
            and merged["last_tested_on"]
            and (
                current is None
                or current["next_test_due"] is None
                or any(
                    values.get(n, current[n]) != current[n]
                    for n in ("last_tested_on", "test_frequency_months")
                )
            )
        ):
            due = _due_after(merged["last_tested_on"], merged["test_frequency_months"])
            values["next_test_due"] = merged["next_test_due"] = due
        for name, message in self._assembly_problems(merged):
            errors.append(self.error(row.number, "assembly", name, merged.get(name), message))
        record = self._record("assembly", key, current, row, errors, pending, values)
        record.refs = {"location": account}

    def _assembly_problems(self, merged: dict) -> list[tuple[str, str]]:
        """``Assembly.clean``'s rules on the assembly as the import would leave it."""
        problems = []
        tested, installed, due = (
            merged["last_tested_on"],
            merged["installed_on"],
            merged["next_test_due"],
        )
        if merged["last_test_result"] != TestResult.NONE and not tested:
            problems.append(("last_test_result", _("A test result needs the date of the test")))
        if tested and tested > self.today:
            problems.append(("last_tested_on", _("The last test cannot be in the future")))
        if installed and installed > self.today:
            problems.append(("installed_on", _("The installation date cannot be in the future")))
        if installed and tested and tested < installed:
            problems.append(
                ("last_tested_on", _("The last test cannot be before the installation"))
            )
        if due and tested and due < tested:
            problems.append(
                ("next_test_due", _("The next test cannot be due before the last test"))
            )
        return problems


@lru_cache(maxsize=10_000)
def _due_after(tested_on, months: int):
    """``Assembly.due_after`` (the model's rule), once per distinct date and frequency."""
    return Assembly.due_after(tested_on, months)


def _assembly_defaults() -> dict:
    return {
        "installed_on": None,
        "last_tested_on": None,
        "last_test_result": TestResult.NONE,
        "test_frequency_months": 12,
        "next_test_due": None,
    }


def _field_label(kind: str, name: str) -> str:
    for column in COLUMNS:
        if column.record == kind and column.field == name:
            return str(column.label).lower()
    return name


def _shown(value: object) -> str:
    return "" if value is None else str(value)
