#!/usr/bin/env python
"""Benchmark a batch's snapshot and generation on a freshly seeded register.

    .venv/bin/python bench/generation.py [--assemblies 100000]
        [--database-url postgres://postgres@127.0.0.1:5432/postgres]

Uses the test settings against a database of its own: an SQLite file in a temporary folder by
default, or, with --database-url, a new PostgreSQL database created next to the one the URL
names (and dropped at the end). Migrates and seeds the demo register (``seed_demo``), then:

* snapshot: ``create_batch`` with every assembly (one ``INSERT ... SELECT``);
* generation: ``start_generation`` and the task's body, ``generation.generate``, run here
  (no worker) with the default ``GENERATION_CHUNK_SIZE``; communications per second;
* floor: a raw ``INSERT ... SELECT`` of the same rows (read back from the communication
  table) into a scratch copy of that table: same columns, indexes, unique constraints and
  foreign keys, timed to the commit. The cost of writing those rows into a table of that
  shape, without working out who gets what. For reference, also into a bare table without
  indexes (the communication table carries 14 indexes, which alone cost several times the
  bare insert).

Prints the seconds and the ratio of generation to the floor.
Targets (SQLite and PostgreSQL): snapshot under 1 s, generation under 3 s, ratio to the
floor under 3.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

RULES = {
    "contact_roles": ["owner", "tenant", "property_manager"],
    "contact_methods": "both",
    "first_available_only": True,
    "primary_only": False,
    "grouping": "location",
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assemblies", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--database-url", help="PostgreSQL server to create a scratch database on (default SQLite)"
    )
    parser.add_argument(
        "--per-assembly", action="store_true", help="one notice per assembly, not per location"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return parser.parse_args()


def scratch_postgres(url: str):
    """Create a scratch database on the server ``url`` names; return its URL and a dropper."""
    import dj_database_url
    import psycopg

    config = dj_database_url.parse(url)
    name = f"bc_bench_generation_{os.getpid()}"
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

    return f"{url.rsplit('/', 1)[0]}/{name}", drop


def configure(options: argparse.Namespace):
    """Point the test settings at a fresh database and set Django up; return a cleanup."""
    folder = tempfile.mkdtemp(prefix="batchcomms-bench-")
    os.environ["BATCHCOMMS_TEST_DIR"] = folder
    drop = None
    if options.database_url:
        url, drop = scratch_postgres(options.database_url)
        os.environ["DATABASE_URL"] = url
    else:
        os.environ.pop("DATABASE_URL", None)
        print(f"(SQLite file under {folder}{'; kept' if options.keep else ''})")

    def cleanup() -> None:
        if drop:
            drop()
        shutil.rmtree(folder, ignore_errors=True)

    sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "support")]
    os.environ["DJANGO_SETTINGS_MODULE"] = "testproject.settings"
    import django

    django.setup()
    return cleanup


def timed(label: str, func):
    started = time.perf_counter()
    result = func()
    seconds = time.perf_counter() - started
    return result, seconds


def floor(batch_id: int, rows: int) -> tuple[float, float]:
    """Seconds to INSERT ... SELECT the batch's rows into a bare copy, and an indexed copy.

    Only the benchmark batch's rows: the seeded demo has batches (and notices) of its own.
    """
    from django.db import connection, transaction

    from wagtail_batchcomms.models import Communication

    source = connection.ops.quote_name(Communication._meta.db_table)
    results = []
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE bench_floor AS SELECT * FROM {source} WHERE 1 = 0")  # noqa: S608
        # Timed to the commit, where PostgreSQL runs the deferred foreign-key checks.
        started = time.perf_counter()
        with transaction.atomic():
            cursor.execute(
                f"INSERT INTO bench_floor SELECT * FROM {source} WHERE batch_id = %s",  # noqa: S608
                [batch_id],
            )
            assert cursor.rowcount == rows, cursor.rowcount
        results.append(time.perf_counter() - started)
        cursor.execute("DROP TABLE bench_floor")

        # The same table shape with the same indexes, built by Django's schema editor.
        from django.db import models

        class Meta:
            app_label = "wagtail_batchcomms"
            db_table = "bench_floor_indexed"
            indexes = [
                models.Index(fields=index.fields, name=f"bf_{index.name[-20:]}")
                for index in Communication._meta.indexes
            ]
            constraints = [
                models.UniqueConstraint(
                    fields=constraint.fields,
                    condition=constraint.condition,
                    name=f"bf_{constraint.name[-20:]}",
                )
                for constraint in Communication._meta.constraints
            ]

        fields = {"__module__": __name__, "Meta": Meta}
        for field in Communication._meta.local_fields:
            clone = field.clone()
            if clone.is_relation:
                clone.remote_field.related_name = "+"
            fields[field.name] = clone
        model = type("BenchFloorIndexed", (models.Model,), fields)
        with connection.schema_editor() as editor:
            editor.create_model(model)
        columns = ", ".join(connection.ops.quote_name(f.column) for f in model._meta.local_fields)
        started = time.perf_counter()
        with transaction.atomic():
            cursor.execute(
                f"INSERT INTO bench_floor_indexed ({columns}) "  # noqa: S608
                f"SELECT {columns} FROM {source} WHERE batch_id = %s",
                [batch_id],
            )
        results.append(time.perf_counter() - started)
        with connection.schema_editor() as editor:
            editor.delete_model(model)
    return results[0], results[1]


def main() -> int:
    options = parse_args()
    cleanup = configure(options)
    try:
        import factories
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.db import connection
        from django.utils import timezone

        from wagtail_batchcomms.batches import generation
        from wagtail_batchcomms.batches.lifecycle import create_batch, start_generation
        from wagtail_batchcomms.conf import batchcomms_settings
        from wagtail_batchcomms.demo.seeding import seed_demo
        from wagtail_batchcomms.models import Assembly, Communication

        print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
        _, seconds = timed("migrate", lambda: call_command("migrate", verbosity=0))
        print(f"migrate: {seconds:.1f} s")
        result = seed_demo(
            assemblies=options.assemblies, seed=options.seed, create_logins=True, superuser=True
        )
        print(f"seed_demo --assemblies {options.assemblies:,}: {result.seconds:.1f} s")

        user = get_user_model().objects.get(username="admin")
        rules = dict(RULES, grouping="assembly" if options.per_assembly else "location")
        template = factories.notice_template(name="Benchmark notice", **rules)
        print("rules: " + ", ".join(f"{key}={value}" for key, value in rules.items()))

        batch, snapshot = timed(
            "snapshot",
            lambda: create_batch(
                user=user,
                name="Benchmark batch",
                template=template,
                due_date=timezone.localdate(),
                assemblies=Assembly.objects.all(),
            ),
        )
        print(f"\nsnapshot: {batch.assembly_count:,} assemblies in {snapshot:.3f} s")

        batch = start_generation(batch.pk, user=user)
        message, seconds = timed(
            "generate", lambda: generation.generate(batch.pk, batch.task_token)
        )
        batch.refresh_from_db()
        rows = Communication.objects.filter(batch=batch).count()
        skipped = batch.skipped.count()
        print(
            f"generation: {rows:,} communications ({skipped:,} skipped) in {seconds:.3f} s "
            f"= {rows / seconds:,.0f} communications/s "
            f"(chunks of {batchcomms_settings.GENERATION_CHUNK_SIZE:,} locations; "
            f"{batch.progress_total:,} locations)"
        )
        print(f"  {message}")

        bare, indexed = floor(batch.pk, rows)
        print(
            f"floor: INSERT ... SELECT of the same {rows:,} rows into a scratch copy of the "
            f"communication table (same columns, indexes, constraints): {indexed:.3f} s"
        )
        print(f"       (into a bare scratch table without any index: {bare:.3f} s)")
        print(
            f"\nratio generation / floor: {seconds / indexed:.2f}"
            f"   (/ bare table: {seconds / bare:.2f})"
        )
        verdicts = [
            ("snapshot < 1 s", snapshot < 1),
            ("generation < 3 s", seconds < 3),
            ("ratio < 3", seconds / indexed < 3),
        ]
        print("targets: " + ", ".join(f"{t}: {'met' if ok else 'MISSED'}" for t, ok in verdicts))
    finally:
        if not options.keep:
            cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
