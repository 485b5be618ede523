#!/usr/bin/env python
"""Benchmark the Assemblies admin listing on a freshly seeded register.

    .venv/bin/python bench/listing.py [--assemblies 100000] [--runs 15]
        [--database-url postgres://postgres@127.0.0.1:5432/postgres]

Uses the test settings against a database of its own: an SQLite file in a temporary folder
by default, or, with --database-url, a new PostgreSQL database created next to the one the URL
names (and dropped at the end). Migrates, seeds the demo register (printing the seconds), then
requests the listing through Django's test client as a superuser: the first page, a filtered
page, sorted pages and a search, each ``--runs`` times after a warm-up. Prints the median and
90th percentile milliseconds and the number of queries per request.

Target: median under 300 ms at 100,000 assemblies, the same number of queries on every page.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIST_URL = "/admin/snippets/wagtail_batchcomms/assembly/"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assemblies", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--database-url", help="PostgreSQL server to create a scratch database on (default SQLite)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return parser.parse_args()


def scratch_postgres(url: str) -> tuple[str, callable]:
    """Create a scratch database on the server ``url`` names; return its URL and a dropper."""
    import dj_database_url
    import psycopg

    config = dj_database_url.parse(url)
    name = f"bc_bench_{os.getpid()}"
    admin = {
        "host": config["HOST"] or "127.0.0.1",
        "port": config["PORT"] or 5432,
        "user": config["USER"],
        "password": config["PASSWORD"] or None,
        "dbname": "postgres",
        "autocommit": True,
    }
    with psycopg.connect(**admin) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(**admin) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    base = url.rsplit("/", 1)[0]
    return f"{base}/{name}", drop


def configure(options: argparse.Namespace):
    """Point the test settings at a fresh database and set Django up; return a cleanup."""
    cleanup = lambda: None  # noqa: E731
    if options.database_url:
        url, cleanup = scratch_postgres(options.database_url)
        os.environ["DATABASE_URL"] = url
    else:
        os.environ.pop("DATABASE_URL", None)
        folder = tempfile.mkdtemp(prefix="batchcomms-bench-listing-")
        os.environ["BATCHCOMMS_TEST_DIR"] = folder
        cleanup = partial(shutil.rmtree, folder, ignore_errors=True)
    sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "support")]
    os.environ["DJANGO_SETTINGS_MODULE"] = "testproject.settings"
    import django

    django.setup()
    return cleanup


def measure(client, url: str, runs: int) -> tuple[float, float, float, int, int]:
    """Median and p90 wall-clock milliseconds of ``runs`` GETs after a warm-up, the median
    CPU milliseconds of this process, the queries and the rows shown.

    The CPU time includes SQLite's work (it runs in this process) but not PostgreSQL's; on
    a busy machine it is the steadier figure.
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    query_count = len(queries)  # now: the next request's request_started resets the log
    assert response.status_code == 200, (url, response.status_code)
    rows = len(re.findall(r'id="snippet_\d+_title"', response.content.decode()))
    timings, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        assert response.status_code == 200
    timings.sort()
    p90 = timings[min(len(timings) - 1, round(0.9 * (len(timings) - 1)))]
    return statistics.median(timings), p90, statistics.median(cpu), query_count, rows


def main() -> int:
    options = parse_args()
    cleanup = configure(options)
    try:
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client

        from wagtail_batchcomms.demo.seeding import seed_demo
        from wagtail_batchcomms.models import ServiceArea

        print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        print(f"migrate: {time.perf_counter() - started:.1f} s")
        result = seed_demo(
            assemblies=options.assemblies, seed=options.seed, create_logins=True, superuser=True
        )
        created = ", ".join(f"{n:,} {name}" for name, n in result.created.items())
        print(f"seed_demo --assemblies {options.assemblies}: {result.seconds:.1f} s ({created})")

        from django.contrib.auth import get_user_model

        client = Client()
        client.force_login(get_user_model().objects.get(username="admin"))
        area = ServiceArea.objects.get(code="DT").pk
        cases = [
            ("first page", LIST_URL),
            (
                "filtered",
                f"{LIST_URL}?compliance=overdue&property_type=commercial&service_area={area}",
            ),
            ("sorted by next test due", f"{LIST_URL}?ordering=-next_test_due"),
            ("sorted by compliance", f"{LIST_URL}?ordering=compliance_rank"),
            ("search (contact name)", f"{LIST_URL}?q=Torres"),
            ("search (serial)", f"{LIST_URL}?q=W00123"),
            ("last page", f"{LIST_URL}?p=999999"),
        ]
        if hasattr(os, "getloadavg"):
            print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        header = f"{'request':28} {'median ms':>10} {'p90 ms':>8} {'cpu ms':>8} {'queries':>8}"
        print(f"\n{header} {'rows':>5}")
        for label, url in cases:
            median, p90, cpu, queries, rows = measure(client, url, options.runs)
            print(f"{label:28} {median:10.1f} {p90:8.1f} {cpu:8.1f} {queries:8d} {rows:5d}")
    finally:
        if not options.keep:
            cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
