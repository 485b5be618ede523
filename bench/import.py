#!/usr/bin/env python
"""Benchmark importing the register: a flat CSV of 100,000 assemblies with their locations
and contacts, imported into an empty register, then imported again (nothing to change).

    .venv/bin/python bench/import.py [--assemblies 100000]
        [--database-url postgres://postgres@127.0.0.1:5432/postgres]

Uses the test settings against a database of its own (an SQLite file in a temporary folder by
default, or a scratch PostgreSQL database next to the one --database-url names, dropped at
the end), like ``bench/generation.py``. The file is realistic in shape: about 1.6 assemblies
per location (some locations have 3-5), an owner on every row and a tenant on a third,
contacts shared by several locations (a property manager), service areas by code, sizes
written 3/4", dates in US and ISO form, a test result on most assemblies.

Times, through the real use cases (``imports.runs``; no worker, as a task runs them):
* the dry run (read, map, check against the empty register);
* the import (the re-check of the register against the dry run's, then the stored plan's
  writes), asserting the register's counts;
* the dry run of the same file again, and its import, asserting 0 created and 0 updated.
Targets: import under 60 s, re-import under 30 s.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from generation import scratch_postgres  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assemblies", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", help="PostgreSQL server (default SQLite)")
    return parser.parse_args()


def configure(options):
    folder = tempfile.mkdtemp(prefix="batchcomms-bench-import-")
    os.environ["BATCHCOMMS_TEST_DIR"] = folder
    drop = None
    if options.database_url:
        url, drop = scratch_postgres(options.database_url)
        os.environ["DATABASE_URL"] = url
    else:
        os.environ.pop("DATABASE_URL", None)

    def cleanup() -> None:
        if drop:
            drop()
        shutil.rmtree(folder, ignore_errors=True)

    sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "support")]
    os.environ["DJANGO_SETTINGS_MODULE"] = "testproject.settings"
    import django

    django.setup()
    from django.conf import settings

    settings.WAGTAIL_BATCHCOMMS = {
        **getattr(settings, "WAGTAIL_BATCHCOMMS", {}),
        "PRIVATE_ROOT": str(Path(folder) / "private"),
    }
    return cleanup


STREETS = ["Main St", "Oak Ave", "Mill Rd", "River Dr", "Elm St", "Park Blvd", "Lake Rd"]
CITIES = [("Riverbend", "62701"), ("Springfield", "62702"), ("Oakdale", "62703")]
FIRST = ["Ada", "Bo", "Cy", "Di", "Ed", "Flo", "Gus", "Hal", "Ivy", "Jo", "Kim", "Lu"]
LAST = ["Baker", "Smith", "Nguyen", "Garcia", "Olsen", "Khan", "Reyes", "Stone", "Ward"]
MAKERS = ["Watts", "Febco", "Zurn Wilkins", "Ames", "Apollo"]
TYPES = ["RP", "DC", "PVB", "DCDA", "RPDA", "SVB"]
SIZES = ['3/4"', '1"', '1-1/2"', '2"', '3"', '4"', '6"']


def build_csv(assemblies: int, seed: int) -> bytes:
    """The flat export: one row per assembly (and a second row for a tenant on some)."""
    from wagtail_batchcomms.imports.columns import DEFAULT_HEADERS

    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(DEFAULT_HEADERS), extrasaction="ignore")
    writer.writeheader()
    managers = [
        {
            "contact_name": f"{rng.choice(FIRST)} {rng.choice(LAST)} Property Mgmt {n}",
            "email": f"manager{n}@pm.example",
            "role": "property_manager",
        }
        for n in range(200)
    ]
    made = 0
    account = 0
    while made < assemblies:
        account += 1
        city, postal = rng.choice(CITIES)
        location = {
            "account_number": f"{account:08d}",
            "location_name": "" if rng.random() < 0.6 else f"{rng.choice(LAST)} Holdings",
            "address_line1": f"{rng.randint(1, 9999)} {rng.choice(STREETS)}",
            "city": city,
            "state": "IL",
            "postal_code": postal,
            "property_type": rng.choice(["residential", "commercial", "Industrial"]),
            "service_area": f"Z{rng.randint(1, 5)}",
        }
        owner = {
            "contact_name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            "email": f"owner{account}@mail.example" if rng.random() < 0.7 else "",
            "mailing_address_line1": f"PO Box {account}",
            "mailing_city": city,
            "mailing_postal_code": postal,
            "role": "owner",
            "primary": "yes",
        }
        count = 1 if rng.random() < 0.7 else rng.randint(2, 5)
        for _n in range(min(count, assemblies - made)):
            made += 1
            tested = rng.random() < 0.85
            year, month, day = rng.randint(2022, 2025), rng.randint(1, 12), rng.randint(1, 28)
            assembly = {
                "serial_number": f"S{made:09d}",
                "manufacturer": rng.choice(MAKERS),
                "model_number": f"M-{rng.randint(100, 999)}",
                "assembly_type": rng.choice(TYPES),
                "size": rng.choice(SIZES),
                "hazard": rng.choice(["health", "non_health"]),
                "service_type": rng.choice(["domestic", "fire", "irrigation"]),
                "last_tested_on": (
                    (
                        f"{month:02d}/{day:02d}/{year}"
                        if made % 2
                        else f"{year}-{month:02d}-{day:02d}"
                    )
                    if tested
                    else ""
                ),
                "last_test_result": (rng.choice(["pass"] * 9 + ["fail"]) if tested else ""),
            }
            writer.writerow({**location, **owner, **assembly})
        if account % 3 == 0:
            writer.writerow({**location, **rng.choice(managers), "primary": ""})
    return out.getvalue().encode()


def main() -> int:
    options = parse_args()
    cleanup = configure(options)
    try:
        from django.core.files.uploadedfile import SimpleUploadedFile
        from django.core.management import call_command
        from django.db import connection

        from wagtail_batchcomms.imports import runs
        from wagtail_batchcomms.models import (
            Assembly,
            Contact,
            ImportRun,
            Location,
            LocationContact,
            ServiceArea,
        )

        print(f"database: {connection.vendor}")
        call_command("migrate", verbosity=0)
        for n in range(1, 6):
            ServiceArea.objects.create(name=f"Zone {n}", code=f"Z{n}")
        started = time.perf_counter()
        content = build_csv(options.assemblies, options.seed)
        lines = content.count(b"\n") - 1
        print(
            f"file: {options.assemblies:,} assemblies, {lines:,} rows, "
            f"{len(content) / 2**20:.1f} MB (built in {time.perf_counter() - started:.1f} s)"
        )

        def one_import(label: str) -> ImportRun:
            run = runs.start_import(SimpleUploadedFile("register.csv", content), None)
            started = time.perf_counter()
            runs.request_check(run, None)  # inline here, as the task would run it
            run.refresh_from_db()
            check = time.perf_counter() - started
            if run.status == "checking":  # queued (bigger than the inline limit): run it here
                runs.check_import(run.pk)
                run.refresh_from_db()
                check = time.perf_counter() - started
            started = time.perf_counter()
            runs.request_import(run, None)
            run.refresh_from_db()
            if run.status == "importing":
                runs.apply_import(run.pk)
                run.refresh_from_db()
            seconds = time.perf_counter() - started
            print(
                f"{label}: dry run {check:.1f} s, import {seconds:.1f} s "
                f"(re-check and writes); rows {run.results['rows']}, "
                f"assemblies {run.results['assembly']}; errors {len(run.errors)}"
            )
            assert run.status == "imported", (run.status, run.error)
            return run, seconds

        first, first_seconds = one_import("import")
        counts = {
            "locations": Location.objects.count(),
            "contacts": Contact.objects.count(),
            "roles": LocationContact.objects.count(),
            "assemblies": Assembly.objects.count(),
        }
        print(f"register: {counts}")
        assert counts["assemblies"] == options.assemblies, counts
        assert not first.errors, first.errors[:5]
        second, second_seconds = one_import("re-import")
        for kind in ("rows", "location", "contact", "role", "assembly"):
            assert second.results[kind]["created"] == 0, second.results
            assert second.results[kind]["updated"] == 0, second.results
        print(
            f"targets: import {first_seconds:.1f} s (< 60: {first_seconds < 60}), "
            f"re-import {second_seconds:.1f} s (< 30: {second_seconds < 30})"
        )
    finally:
        cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
