"""Writing a dry run's plan: set-based, in chunks, each chunk its own transaction.

New records are inserted with ``bulk_create`` (``ignore_conflicts`` where a unique key exists,
so that a task delivered twice, or resumed after its worker died, never doubles a location,
role or assembly); changed ones with ``bulk_update``, grouped by the fields that change, so a
cell the file left empty is never written. Nothing is deleted. The plan is rebuilt from the
register before each run (``runs.apply_import``), so a resumed run writes only what is left.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from django.db import transaction

from ..models import Assembly, Contact, Location, LocationContact
from .existing import CHUNK
from .planning import Plan, Record

WRITE_CHUNK = 2000


def _chunks(items: list, size: int = WRITE_CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def apply_plan(plan: Plan, progress: Callable[[int], None] | None = None) -> None:
    """Write every created and updated record of ``plan``; ``progress(records written)``
    after each committed chunk."""
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        if progress:
            progress(done)

    location_ids = _write_locations(plan, advance)
    contact_ids = _write_contacts(plan, advance)
    _write_roles(plan, location_ids, contact_ids, advance)
    _write_assemblies(plan, location_ids, advance)


def _update(model, records: list[Record], resolve: Callable[[str, object], object], advance):
    """``bulk_update`` of existing records, grouped by the set of fields they change."""
    groups: dict[tuple[str, ...], list] = defaultdict(list)
    for record in records:
        changes = record.changes()
        instance = model(pk=record.current["id"])
        for name, value in changes.items():
            setattr(instance, name, resolve(name, value))
        groups[tuple(sorted(changes))].append(instance)
    for fields, instances in groups.items():
        for chunk in _chunks(instances):
            with transaction.atomic():
                model.objects.bulk_update(chunk, fields)
            advance(len(chunk))


def _write_locations(plan: Plan, advance) -> dict[str, int]:
    records = plan.to_write("location")
    new = [Location(**r.values) for r in records if r.current is None]
    for chunk in _chunks(new):
        with transaction.atomic():
            Location.objects.bulk_create(chunk, ignore_conflicts=True)
        advance(len(chunk))
    _update(Location, [r for r in records if r.current is not None], lambda n, v: v, advance)
    # Every location of the plan, new or not, by account number (for roles and assemblies).
    ids = {account: r.current["id"] for account, r in plan.records["location"].items() if r.current}
    missing = [account for account in plan.records["location"] if account not in ids]
    for chunk in _chunks(missing, CHUNK):
        ids.update(
            Location.objects.filter(account_number__in=chunk).values_list("account_number", "pk")
        )
    return ids


def _write_contacts(plan: Plan, advance) -> dict[object, int]:
    records = plan.to_write("contact")
    new = [r for r in records if r.current is None]
    ids = {key: r.current["id"] for key, r in plan.records["contact"].items() if r.current}
    for chunk in _chunks(new):
        instances = [Contact(**r.values) for r in chunk]
        with transaction.atomic():
            # No unique key to conflict on; bulk_create sets the primary keys (PostgreSQL,
            # SQLite 3.35+), which the roles need.
            Contact.objects.bulk_create(instances)
        for record, instance in zip(chunk, instances, strict=True):
            ids[record.key] = instance.pk
        advance(len(chunk))
    _update(Contact, [r for r in records if r.current is not None], lambda n, v: v, advance)
    return ids


def _write_roles(plan: Plan, location_ids, contact_ids, advance) -> None:
    records = plan.to_write("role")
    new = [
        LocationContact(
            location_id=location_ids[r.refs["location"]],
            contact_id=contact_ids[r.refs["contact"]],
            **r.values,
        )
        for r in records
        if r.current is None
    ]
    for chunk in _chunks(new):
        with transaction.atomic():
            LocationContact.objects.bulk_create(chunk, ignore_conflicts=True)
        advance(len(chunk))
    _update(LocationContact, [r for r in records if r.current is not None], lambda n, v: v, advance)


def _write_assemblies(plan: Plan, location_ids, advance) -> None:
    def resolve(name: str, value: object) -> object:
        if name == "location_id" and isinstance(value, tuple):
            return location_ids[value[1]]
        return value

    records = plan.to_write("assembly")
    new = [
        Assembly(**{name: resolve(name, value) for name, value in r.values.items()})
        for r in records
        if r.current is None
    ]
    for chunk in _chunks(new):
        with transaction.atomic():
            Assembly.objects.bulk_create(chunk, ignore_conflicts=True)
        advance(len(chunk))
    _update(Assembly, [r for r in records if r.current is not None], resolve, advance)
