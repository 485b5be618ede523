#!/usr/bin/env python
"""Benchmark every listing export (CSV and XLSX) on a freshly seeded register.

    .venv/bin/python bench/exports.py [--assemblies 100000]
        [--database-url postgres://postgres@127.0.0.1:5432/postgres] [--only assemblies]

Same scratch database as ``bench/listing.py`` (an SQLite file, or a new PostgreSQL database
dropped at the end). Seeds the demo register, then, as a superuser through Django's test
client, requests each listing's export in each format with the background threshold out of the
way (``EXPORT_BACKGROUND_ROWS`` raised above the row count) and reads the whole response: the
seconds a request would take if it wrote the file itself. It then requests the same export at
the default threshold and prints how long the request took (it only queues the export when the
listing holds more rows than the threshold) and how long the export then took to write the file
(the task run in this process).

Target: every export of the full register answers within 30 s (gunicorn's default timeout).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from listing import configure

FORMATS = ("csv", "xlsx")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assemblies", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--database-url", help="PostgreSQL server to create a scratch database on (default SQLite)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--only", action="append", help="only the listings with these labels")
    parser.add_argument(
        "--no-background", action="store_true", help="skip the background (queued) figures"
    )
    return parser.parse_args()


def listings() -> list[tuple[str, str]]:
    """(label, URL) of every listing with an export, the biggest batch for the batch ones."""
    from django.db.models import Count
    from django.urls import reverse

    from wagtail_batchcomms.models import Batch

    cases = [
        ("assemblies", "/admin/snippets/wagtail_batchcomms/assembly/"),
        ("locations", "/admin/snippets/wagtail_batchcomms/location/"),
        ("contacts", "/admin/snippets/wagtail_batchcomms/contact/"),
        ("service areas", "/admin/snippets/wagtail_batchcomms/servicearea/"),
        ("communication log", reverse("wagtail_batchcomms_communication:index")),
        ("batches", reverse("wagtail_batchcomms_batch:index")),
    ]
    batch = Batch.objects.annotate(n=Count("communications")).order_by("-n", "pk").first()
    if batch is not None:
        cases.append(
            (
                f"batch {batch.pk} communications",
                reverse("wagtail_batchcomms_batch:communications", args=[batch.pk]),
            )
        )
    return cases


def timed_export(client, url: str, export_format: str) -> tuple[float, float, int, int]:
    """Seconds (wall, and CPU of this process) to request ``url`` and read the whole file,
    its status and size in bytes. The CPU time includes SQLite's work, not PostgreSQL's; on a
    shared machine it is the steadier figure."""
    started, started_cpu = time.perf_counter(), time.process_time()
    response = client.get(url, {"export": export_format})
    if response.streaming:
        size = sum(len(part) for part in response.streaming_content)
    else:
        size = len(response.content)
    cpu = time.process_time() - started_cpu
    return time.perf_counter() - started, cpu, response.status_code, size


def main() -> int:
    options = parse_args()
    cleanup = configure(options)
    try:
        from django.conf import settings
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client, override_settings

        from wagtail_batchcomms.demo.seeding import seed_demo

        print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
        call_command("migrate", verbosity=0)
        result = seed_demo(
            assemblies=options.assemblies, seed=options.seed, create_logins=True, superuser=True
        )
        created = ", ".join(f"{n:,} {name}" for name, n in result.created.items())
        print(f"seed_demo --assemblies {options.assemblies}: {result.seconds:.1f} s ({created})")
        client = Client()
        client.force_login(get_user_model().objects.get(username="admin"))
        background = background_runner()
        columns = f"{'inline s':>9} {'cpu s':>6} {'MB':>6} {'queue s':>8} {'task s':>7}"
        print(f"\n{'export':32} {'format':6} {columns}")
        for label, url in listings():
            if options.only and label not in options.only:
                continue
            for export_format in FORMATS:
                load = os.getloadavg()[0]
                inline = {**settings.WAGTAIL_BATCHCOMMS, "EXPORT_BACKGROUND_ROWS": 10**9}
                with override_settings(WAGTAIL_BATCHCOMMS=inline):
                    seconds, cpu, status, size = timed_export(client, url, export_format)
                assert status == 200, (label, export_format, status)
                queued = task = ""
                if background is not None and not options.no_background:
                    queued, task = background(client, url, export_format)
                print(
                    f"{label:32} {export_format:6} {seconds:9.1f} {cpu:6.1f} {size / 1e6:6.1f}"
                    f" {queued:>8} {task:>7}   (load {load:.1f})",
                    flush=True,
                )
    finally:
        if not options.keep:
            cleanup()
    return 0


def background_runner():
    """A function that queues an export at the default threshold and runs its task here, or
    None where the package has no background exports."""
    try:
        from wagtail_batchcomms.exports import run_export
        from wagtail_batchcomms.models import ExportRun
    except ImportError:
        return None

    def run(client, url: str, export_format: str) -> tuple[str, str]:
        last = ExportRun.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        started = time.perf_counter()
        response = client.get(url, {"export": export_format})
        queued = time.perf_counter() - started
        run_ = ExportRun.objects.filter(pk__gt=last).order_by("pk").first()
        if run_ is None:
            return f"{queued:.2f}", "inline"
        assert response.status_code == 302, response.status_code
        started = time.perf_counter()
        run_export(run_.pk)
        return f"{queued:.2f}", f"{time.perf_counter() - started:.1f}"

    return run


if __name__ == "__main__":
    sys.exit(main())
