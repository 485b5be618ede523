"""Writing a dry run's plan: set-based raw SQL (``sql``), in chunks, each chunk its own
transaction.

``Writes`` is what a plan writes, reduced to plain values (the dry run keeps it with the run,
``stored``): new records with their values, changed ones with only the fields that change (a
cell the file left empty is never written), and the ids of the locations and contacts the
register already holds. New locations, roles and assemblies are inserted with ``ON CONFLICT DO
NOTHING`` on their unique keys, so that a task delivered twice, or resumed after its worker
died, never doubles one; a resumed run plans again from the register (``runs.apply_import``),
so it writes only what is left (contacts have no unique key). Nothing is deleted, and a plan
with nothing to write writes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction

from ..models import Assembly, Contact, Location, LocationContact
from . import sql
from .existing import CHUNK
from .planning import Plan
from .rows import RECORDS

WRITE_CHUNK = 5000


@dataclass
class Writes:
    """Per kind: ``new`` (key, values, refs) and ``changed`` (id, the fields that change);
    ``ids``: the register's location ids by account number and contact ids by key."""

    new: dict[str, list[tuple]] = field(default_factory=lambda: {k: [] for k in RECORDS})
    changed: dict[str, list[tuple]] = field(default_factory=lambda: {k: [] for k in RECORDS})
    ids: dict[str, dict] = field(default_factory=lambda: {"location": {}, "contact": {}})

    @classmethod
    def from_plan(cls, plan: Plan) -> Writes:
        writes = cls()
        for kind in ("location", "contact"):
            writes.ids[kind] = {
                key: record.current["id"]
                for key, record in plan.records[kind].items()
                if record.current is not None
            }
        for kind in RECORDS:
            for record in plan.to_write(kind):
                if record.current is None:
                    writes.new[kind].append((record.key, dict(record.values), record.refs))
                else:
                    writes.changed[kind].append((record.current["id"], record.changes()))
        return writes

    @property
    def total(self) -> int:
        return sum(len(self.new[k]) + len(self.changed[k]) for k in RECORDS)


def _chunks(items: list, size: int = WRITE_CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def apply_writes(
    writes: Writes, progress: Callable[[int], None] | None = None, *, not_new: bool = False
) -> None:
    """Write ``writes``; ``progress(records written)`` after each committed chunk. With
    ``not_new``, new assemblies get no "added" date (they are not new to the programme: an
    "assembly added" Communication Type leaves them alone)."""
    if not writes.total:
        return
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        if progress:
            progress(done)

    locations = dict(writes.ids["location"])
    contacts = dict(writes.ids["contact"])

    def location_id(value: object) -> object:
        return locations[value[1]] if isinstance(value, tuple) else value

    for chunk in _chunks(writes.new["location"]):
        with transaction.atomic():
            sql.insert_rows(Location, [values for _key, values, _refs in chunk])
        advance(len(chunk))
    # The new locations' ids (inserted here or, for a resumed run, before).
    accounts = [key for key, _values, _refs in writes.new["location"]]
    for chunk in _chunks(accounts, CHUNK):
        locations.update(
            Location.objects.filter(account_number__in=chunk).values_list("account_number", "pk")
        )
    _update(Location, writes.changed["location"], advance)

    for chunk in _chunks(writes.new["contact"]):
        with transaction.atomic():
            ids = sql.insert_rows(
                Contact, [values for _key, values, _refs in chunk], returning=True
            )
        contacts.update(zip((key for key, _v, _r in chunk), ids, strict=True))
        advance(len(chunk))
    _update(Contact, writes.changed["contact"], advance)

    for chunk in _chunks(writes.new["role"]):
        rows = [
            {
                "location_id": locations[refs["location"]],
                "contact_id": contacts[refs["contact"]],
                **values,
            }
            for _key, values, refs in chunk
        ]
        with transaction.atomic():
            sql.insert_rows(LocationContact, rows)
        advance(len(chunk))
    _update(LocationContact, writes.changed["role"], advance)

    added = {"created_at": None} if not_new else {}
    for chunk in _chunks(writes.new["assembly"]):
        rows = [
            {**values, "location_id": location_id(values.get("location_id")), **added}
            for _key, values, _refs in chunk
        ]
        with transaction.atomic():
            sql.insert_rows(Assembly, rows)
        advance(len(chunk))
    _update(
        Assembly,
        [
            (pk, {**changes, "location_id": location_id(changes["location_id"])})
            if "location_id" in changes
            else (pk, changes)
            for pk, changes in writes.changed["assembly"]
        ],
        advance,
    )


def _update(model, changed: list[tuple[int, dict]], advance) -> None:
    """Changed records, grouped by the set of fields they change: one UPDATE ... FROM
    (VALUES ...) per group and chunk."""
    groups: dict[tuple[str, ...], list[tuple]] = defaultdict(list)
    for pk, changes in changed:
        names = tuple(sorted(changes))
        groups[names].append((pk, *(changes[name] for name in names)))
    for names, rows in groups.items():
        for chunk in _chunks(rows):
            with transaction.atomic():
                sql.update_rows(model, names, chunk)
            advance(len(chunk))
