"""The demo register: a realistic, deterministic register for the fictional city of Riverbend.

``seed_demo(assemblies=N, seed=S)`` plans the register in Python from one random stream, then
inserts what the database lacks with bulk inserts in one transaction:

* Deterministic: the same seed and day give the same register (the same CSV export).
* Prefix-stable: the plan for N assemblies is the first N assemblies of the plan for any
  larger N, so a bigger N on a seeded database tops the register up to exactly what a fresh
  seed of that size holds, and a smaller or equal N adds nothing ("already seeded").
* Idempotent: rows are matched by natural keys (account number, serial number; shared
  contacts by name and organisation), so running it twice never duplicates anything.

Test dates are spread around ``today`` so that every compliance status occurs.
"""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from wagtail_batchcomms.models import Assembly, Contact, Location, LocationContact, ServiceArea

from . import words
from .accounts import (
    ensure_demo_accounts,
    ensure_demo_groups,
    ensure_letterhead,
    ensure_notice_templates,
)
from .ladder import ensure_communication_types, ensure_ladder_history
from .plan import ACCOUNT_PREFIX, RegisterPlanner, plan_register

BATCH_SIZE = 2000


class DemoSeedMismatch(Exception):
    """The database holds a demo register made with another seed."""


@dataclass
class SeedResult:
    assemblies: int
    seed: int
    created: dict[str, int]
    totals: dict[str, int]
    seconds: float

    @property
    def already_seeded(self) -> bool:
        return not any(self.created.values())


def ensure_service_areas() -> dict[str, ServiceArea]:
    """The demo's service areas, made if missing; ``{code: ServiceArea}``."""
    areas = {}
    for code, name, _, _ in words.SERVICE_AREAS:
        areas[code], _ = ServiceArea.objects.get_or_create(code=code, defaults={"name": name})
    return areas


def _check_same_plan(planner: RegisterPlanner, existing: dict[str, int]) -> None:
    """Refuse to top up a register made from another seed (or another version of the plan).

    Compares the first and the last stored demo locations that the plan also holds: the
    stream of random draws runs through every location, so a different seed or plan shows
    at the latest in the last one.
    """
    planned = [p.fields for p in planner.locations if p.fields["account_number"] in existing]
    for fields in {id(f): f for f in planned[:1] + planned[-1:]}.values():
        stored = Location.objects.get(pk=existing[fields["account_number"]])
        if (stored.address_line1, stored.name) != (fields["address_line1"], fields["name"]):
            raise DemoSeedMismatch(
                "This database holds a demo register made with another seed; seed a fresh "
                "database or use the seed it was made with."
            )


def _insert_register(planner: RegisterPlanner) -> dict[str, int]:
    areas = ensure_service_areas()
    existing = dict(
        Location.objects.filter(account_number__startswith=ACCOUNT_PREFIX).values_list(
            "account_number", "pk"
        )
    )
    _check_same_plan(planner, existing)
    new = [p for p in planner.locations if p.fields["account_number"] not in existing]
    locations = [Location(service_area=areas[p.area_code], **p.fields) for p in new]
    Location.objects.bulk_create(locations, batch_size=BATCH_SIZE)
    location_ids = {**existing, **{loc.account_number: loc.pk for loc in locations}}

    # Contacts of the new locations; shared ones (managers, landlords) may exist already.
    needed = list(dict.fromkeys(key for p in new for key, _, _ in p.roles))
    shared = {
        (planner.contacts[k]["name"], planner.contacts[k]["organisation"]): k
        for k in needed
        if k in planner.shared
    }
    contact_ids = {}
    if shared:
        orgs = sorted({org for _, org in shared})
        for pk, name, org in Contact.objects.filter(organisation__in=orgs).values_list(
            "pk", "name", "organisation"
        ):
            if (name, org) in shared:
                contact_ids.setdefault(shared[(name, org)], pk)
    missing = [key for key in needed if key not in contact_ids]
    contacts = [Contact(**planner.contacts[key]) for key in missing]
    Contact.objects.bulk_create(contacts, batch_size=BATCH_SIZE)
    contact_ids.update(zip(missing, (c.pk for c in contacts), strict=True))
    roles = [
        LocationContact(
            location_id=location_ids[p.fields["account_number"]],
            contact_id=contact_ids[key],
            role=role,
            is_primary=primary,
        )
        for p in new
        for key, role, primary in p.roles
    ]
    LocationContact.objects.bulk_create(roles, batch_size=BATCH_SIZE)

    serials = set(
        Assembly.objects.filter(location__account_number__startswith=ACCOUNT_PREFIX).values_list(
            "serial_number", flat=True
        )
    )
    assemblies = [
        Assembly(location_id=location_ids[p.fields["account_number"]], **fields)
        for p in planner.locations
        for fields in p.assemblies
        if fields["serial_number"] not in serials
    ]
    Assembly.objects.bulk_create(assemblies, batch_size=BATCH_SIZE)
    return {
        "locations": len(locations),
        "contacts": len(contacts),
        "roles": len(roles),
        "assemblies": len(assemblies),
    }


def analyze_register() -> None:
    """Refresh the query planner's statistics of the register tables after a bulk load.

    PostgreSQL's autovacuum gets to it only later, and SQLite has no statistics at all until
    ANALYZE runs; until then both may plan the listing's queries for an empty table.
    """
    models = (ServiceArea, Location, Contact, LocationContact, Assembly)
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def seed_demo(
    *,
    assemblies: int = 5000,
    seed: int = 1,
    today: datetime.date | None = None,
    create_logins: bool = False,
    superuser: bool = False,
) -> SeedResult:
    """Seed (or top up) the demo register, the demo groups, templates and letterhead.

    Creates only what is missing, in one transaction. Raises ``DemoSeedMismatch`` when the
    database holds a demo register made with another seed. ``today`` anchors the test dates
    (default: the local date), so the same arguments on the same day give the same register.
    ``create_logins`` also makes the demo logins with known passwords (and ``superuser`` the
    superuser ``admin / admin``); callers decide whether that is safe (the command asks for
    ``DEBUG``). ``superuser`` without ``create_logins`` raises ``ValueError``.
    """
    if superuser and not create_logins:
        raise ValueError("superuser=True needs create_logins=True.")
    started = time.perf_counter()
    planner = plan_register(assemblies, seed, today or timezone.localdate())
    with transaction.atomic():
        created = _insert_register(planner)
        if create_logins:
            editor = ensure_demo_accounts(superuser=superuser)["editor"]
        else:
            ensure_demo_groups()
            editor = None
        ensure_letterhead()
        created["notice templates"] = ensure_notice_templates(editor)
        created["communication types"] = ensure_communication_types(editor)
        created["past automatic notices"] = ensure_ladder_history(today or timezone.localdate())
    if created["assemblies"]:
        analyze_register()
    totals = {
        "service areas": ServiceArea.objects.count(),
        "locations": Location.objects.count(),
        "contacts": Contact.objects.count(),
        "assemblies": Assembly.objects.count(),
    }
    return SeedResult(assemblies, seed, created, totals, time.perf_counter() - started)
