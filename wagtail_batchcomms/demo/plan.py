"""The plan of the demo register, made in Python from one random stream (no database).

``plan_register(N, seed, today)`` makes the same locations, contacts and assemblies for the
same arguments, and the plan for N assemblies is the first N assemblies of the plan for any
larger N (prefix-stable), which is what lets ``seed_demo`` top a register up.
"""

from __future__ import annotations

import datetime
import random
from bisect import bisect
from calendar import monthrange
from dataclasses import dataclass, field
from itertools import accumulate

from . import words

ACCOUNT_PREFIX = "RB-"
MANAGER_POOL = len(words.WORDS) * len(words.MANAGERS)
LANDLORD_POOL = 300

# Compliance buckets for active assemblies: (name, weight, days from today to the due date).
BUCKETS = [
    ("overdue", 14, None),
    ("due_30", 8, (0, 30)),
    ("due_60", 7, (31, 60)),
    ("due_90", 7, (61, 90)),
    ("compliant", 57, (91, 330)),
    ("never_tested", 7, None),
]


@dataclass
class PlannedLocation:
    fields: dict
    area_code: str
    roles: list[tuple[str, str, bool]] = field(default_factory=list)  # (contact key, role, primary)
    assemblies: list[dict] = field(default_factory=list)


def add_months(day: datetime.date, months: int) -> datetime.date:
    """``day`` plus ``months`` (may be negative), clamped to the month's end like relativedelta."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, monthrange(year, month)[1]))


class _Chooser:
    """A fast weighted choice over a fixed population."""

    def __init__(self, items, weights) -> None:
        self.items = list(items)
        self.cum = list(accumulate(weights))

    def __call__(self, rng: random.Random):
        return self.items[bisect(self.cum, rng.random() * self.cum[-1])]


def _weighted_by_repetition(values) -> _Chooser:
    return _Chooser(values, [1] * len(values))


class RegisterPlanner:
    """Plans locations, contacts and assemblies from one random stream, location by location."""

    def __init__(self, seed: int, today: datetime.date) -> None:
        self.seed, self.today = seed, today
        self.rng = random.Random(f"riverbend:{seed}")
        self.serial_offset = (seed * 1_000_003) % 10**7
        self.assembly_index = 0
        self.contacts: dict[str, dict] = {}
        self.shared: set[str] = set()
        self.locations: list[PlannedLocation] = []
        self.property = _Chooser(
            [p[0] for p in words.PROPERTY_MIX], [p[1] for p in words.PROPERTY_MIX]
        )
        self.counts = {p[0]: _weighted_by_repetition(p[2]) for p in words.PROPERTY_MIX}
        self.bucket = _Chooser(BUCKETS, [b[1] for b in BUCKETS])
        makers = words.MANUFACTURERS
        weights = {"Watts": 30, "Febco": 22, "Zurn Wilkins": 20, "Ames": 12, "Apollo": 10}
        self.makers = {
            kind: _Chooser(
                [
                    (name, prefix, models[kind])
                    for name, (prefix, models) in makers.items()
                    if kind in models
                ],
                [weights.get(name, 6) for name, (_, models) in makers.items() if kind in models],
            )
            for kind in ("RP", "RPDA", "DC", "DCDA", "PVB", "SVB", "AVB")
        }

    # --- people -------------------------------------------------------------------------

    def _person(self, rng: random.Random) -> tuple[str, str]:
        return rng.choice(words.FIRST_NAMES), rng.choice(words.LAST_NAMES)

    def _contact(
        self,
        key: str,
        rng: random.Random,
        *,
        first: str,
        last: str,
        org: str = "",
        email_share: float = 0.8,
        mailing: bool = False,
    ) -> str:
        email = ""
        if rng.random() < email_share:
            domain = rng.choice(words.EMAIL_DOMAINS)
            if org:
                slug = "".join(ch for ch in org.split()[0].lower() if ch.isalnum())
                email = f"{first[0]}{last}@{slug}.{domain}".lower()
            else:
                email = f"{first}.{last}{rng.randint(1, 99)}@{domain}".lower()
        fields = {
            "name": f"{first} {last}",
            "organisation": org,
            "email": email,
            "phone": f"(217) 555-{rng.randint(100, 9999):04d}" if rng.random() < 0.85 else "",
            "prefers_paper": rng.random() < 0.07,
        }
        if mailing:
            area = rng.choice(words.SERVICE_AREAS)
            if rng.random() < 0.4:
                line1, city, postal = f"PO Box {rng.randint(100, 9999)}", words.CITY, area[2][0]
            else:
                line1 = f"{rng.randrange(100, 9900, 2)} {rng.choice(area[3])}"
                city, postal = rng.choice(
                    [
                        (words.CITY, area[2][0]),
                        ("Springfield", "62704"),
                        ("Peoria", "61602"),
                        ("Chicago", "60606"),
                    ]
                )
            fields.update(
                mailing_address_line1=line1,
                mailing_city=city,
                mailing_state=words.STATE,
                mailing_postal_code=postal,
            )
            if org and rng.random() < 0.3:
                fields["mailing_address_line2"] = f"Suite {rng.randint(100, 900)}"
        self.contacts[key] = fields
        return key

    def _manager(self, j: int) -> str:
        key = f"manager/{j}"
        if key not in self.contacts:
            rng = random.Random(f"riverbend:{self.seed}:{key}")
            count = len(words.WORDS)
            org = f"{words.WORDS[j % count]} {words.MANAGERS[j // count]}"
            self._contact(
                key,
                rng,
                first=rng.choice(words.FIRST_NAMES),
                last=rng.choice(words.LAST_NAMES),
                org=org,
                email_share=0.9,
                mailing=True,
            )
            self.shared.add(key)
        return key

    def _landlord(self, j: int) -> str:
        key = f"landlord/{j}"
        if key not in self.contacts:
            rng = random.Random(f"riverbend:{self.seed}:{key}")
            first = words.FIRST_NAMES[j % len(words.FIRST_NAMES)]
            last = words.LAST_NAMES[(j // len(words.FIRST_NAMES)) % len(words.LAST_NAMES)]
            self._contact(
                key,
                rng,
                first=first,
                last=last,
                org=f"{last} Rentals LLC",
                email_share=0.75,
                mailing=True,
            )
            self.shared.add(key)
        return key

    # --- a location ---------------------------------------------------------------------

    def location(self, i: int) -> PlannedLocation:
        rng = self.rng
        ptype = self.property(rng)
        if ptype == "industrial" and rng.random() < 0.7:
            area = words.SERVICE_AREAS[4]
        else:
            area = rng.choice(words.SERVICE_AREAS)
        code, _name, postal_codes, streets = area
        street = rng.choice(streets)
        word = rng.choice(words.WORDS)
        name = {
            "residential": "",
            "commercial": f"{word} {rng.choice(words.BUSINESSES)}",
            "industrial": f"{word} {rng.choice(words.INDUSTRIES)}",
            "institutional": f"{word} {rng.choice(words.INSTITUTIONS)}",
            "multi_family": f"{word} {rng.choice(words.HOMES)}",
            "irrigation": f"{word} {rng.choice(words.IRRIGATION_SITES)}",
        }[ptype]
        line1 = f"{rng.randrange(100, 9900, 2)} {street}"
        if ptype == "irrigation" and rng.random() < 0.3:
            line1, name = "", f"{name}, {street} (meter only)"  # no street address
        line2 = ""
        if ptype in ("commercial", "multi_family") and rng.random() < 0.2:
            line2 = rng.choice([f"Suite {rng.randint(100, 400)}", "Building B", "Unit 1"])
        planned = PlannedLocation(
            fields={
                "account_number": f"{ACCOUNT_PREFIX}{i + 1:06d}",
                "name": name,
                "address_line1": line1,
                "address_line2": line2,
                "city": "Riverbend Township" if code == "AP" else words.CITY,
                "state": words.STATE,
                "postal_code": rng.choice(postal_codes),
                "property_type": ptype,
                "is_active": rng.random() >= 0.02,
            },
            area_code=code,
        )
        self._roles(planned, i, ptype)
        self._assemblies(planned, ptype)
        return planned

    def _roles(self, planned: PlannedLocation, i: int, ptype: str) -> None:
        rng = self.rng
        account = planned.fields["account_number"]
        roles = planned.roles
        first, last = self._person(rng)
        if ptype == "residential":
            rental = rng.random() < 0.3
            if rental and rng.random() < 0.5:
                pool = min(LANDLORD_POOL, 5 + i // 60)
                roles.append((self._landlord(int(pool * rng.random() ** 1.5)), "owner", True))
            else:
                owner = self._contact(
                    f"{account}/owner",
                    rng,
                    first=first,
                    last=last,
                    mailing=rental or rng.random() < 0.05,
                )
                roles.append((owner, "owner", True))
                if rng.random() < 0.06:  # a co-owner, not primary
                    co = self._contact(
                        f"{account}/co-owner", rng, first=rng.choice(words.FIRST_NAMES), last=last
                    )
                    roles.append((co, "owner", False))
            if rental:
                tenant = self._contact(
                    f"{account}/tenant",
                    rng,
                    first=rng.choice(words.FIRST_NAMES),
                    last=rng.choice(words.LAST_NAMES),
                    email_share=0.7,
                )
                roles.append((tenant, "tenant", True))
            return
        org = f"{last} {rng.choice(words.COMPANY_SUFFIXES)}"
        if ptype == "institutional":
            org = f"{words.CITY} {rng.choice(['School District', 'Parish', 'Health System'])}"
        owner = self._contact(
            f"{account}/owner",
            rng,
            first=first,
            last=last,
            org=org,
            email_share=0.85,
            mailing=rng.random() < 0.7,
        )
        roles.append((owner, "owner", True))
        if ptype == "commercial" and rng.random() < 0.7:
            for n in range(rng.choice((1, 1, 1, 2, 3))):
                tf, tl = self._person(rng)
                tenant = self._contact(
                    f"{account}/tenant{n}",
                    rng,
                    first=tf,
                    last=tl,
                    org=planned.fields["name"] if n == 0 else "",
                    email_share=0.75,
                )
                roles.append((tenant, "tenant", n == 0))
        manager_share = {"multi_family": 0.9, "commercial": 0.4, "irrigation": 0.3}
        if rng.random() < manager_share.get(ptype, 0.1):
            pool = min(MANAGER_POOL, 4 + i // 100)
            roles.append((self._manager(int(pool * rng.random() ** 2)), "property_manager", True))
        if rng.random() < {"industrial": 0.5, "institutional": 0.5}.get(ptype, 0.2):
            if rng.random() < 0.5:
                roles.append((owner, "billing", True))
            else:
                bf, bl = self._person(rng)
                billing = self._contact(
                    f"{account}/billing",
                    rng,
                    first=bf,
                    last=bl,
                    org=org,
                    email_share=0.9,
                    mailing=True,
                )
                roles.append((billing, "billing", True))
        if rng.random() < {"industrial": 0.8, "institutional": 0.7}.get(ptype, 0.25):
            sf, sl = self._person(rng)
            site = self._contact(
                f"{account}/site", rng, first=sf, last=sl, org=org, email_share=0.8
            )
            roles.append((site, "site_contact", True))

    def _assemblies(self, planned: PlannedLocation, ptype: str) -> None:
        rng, today = self.rng, self.today
        location_active = planned.fields["is_active"]
        for _ in range(self.counts[ptype](rng)):
            service = rng.choice(words.SERVICES[ptype])
            kind = rng.choice(words.TYPES[service])
            if ptype == "residential" and kind in ("RPDA", "DCDA"):
                kind = "DC"
            if kind == "AG":
                maker, prefix, model = "", "AG", ""
            else:
                maker, prefix, models = self.makers[kind](rng)
                model = rng.choice(models)
            small = ptype in ("residential", "irrigation") and service != "fire"
            size = rng.choice(words.SIZES["small" if small else service])
            hazard = (
                "health"
                if rng.random() < words.HEALTH_HAZARD_SHARE.get(kind, 0.0)
                else "non_health"
            )
            status = "active"
            roll = rng.random()
            if (not location_active and roll < 0.7) or roll < 0.03:
                status = "inactive"
            elif roll < 0.06:
                status = "removed"
            months = 12 if rng.random() < 0.9 else rng.choice((6, 24))
            bucket, _, days = self.bucket(rng)
            installed = last = due = None
            result = "none"
            if bucket == "never_tested":
                if rng.random() < 0.8:
                    installed = today - datetime.timedelta(days=rng.randint(0, 240))
            else:
                if days is None:  # overdue: mostly recently, some for years
                    offset = -1 - min(int(rng.expovariate(1 / 90)), 1500)
                else:
                    offset = rng.randint(days[0], min(days[1], months * 28 - 1))
                last = add_months(today + datetime.timedelta(days=offset), -months)
                due = add_months(last, months)
                result = "fail" if rng.random() < 0.07 else "pass"
                if rng.random() < 0.88:
                    installed = last - datetime.timedelta(days=rng.randint(20, 7000))
            number = (self.assembly_index * 7919 + self.serial_offset) % 10**7
            self.assembly_index += 1
            planned.assemblies.append(
                {
                    "serial_number": f"{prefix}{number:07d}",
                    "assembly_type": kind,
                    "size": size,
                    "manufacturer": maker,
                    "model_number": model,
                    "placement": rng.choice(words.PLACEMENTS[service]),
                    "hazard": hazard,
                    "service_type": service,
                    "installed_on": installed,
                    "status": status,
                    "last_tested_on": last,
                    "last_test_result": result,
                    "test_frequency_months": months,
                    "next_test_due": due,
                }
            )


def plan_register(assemblies: int, seed: int, today: datetime.date) -> RegisterPlanner:
    """Plan the first ``assemblies`` assemblies of the register for ``seed`` (no database)."""
    planner = RegisterPlanner(seed, today)
    total = 0
    while total < assemblies:
        planned = planner.location(len(planner.locations))
        del planned.assemblies[assemblies - total :]
        total += len(planned.assemblies)
        planner.locations.append(planned)
    return planner
