#!/usr/bin/env python3
"""Letters benchmark: our download pipeline against raw WeasyPrint and the naive way.

    .venv/bin/python bench/letters.py [--letters 2000] [--compare 2000] [--workers 1]
    .venv/bin/python bench/letters.py --letters 10000 --compare 0      # the memory figure

Seeds a fresh SQLite database in a temp folder with a Generated batch of N one-page letters
(each with an assemblies table, the letterhead with a logo image from MEDIA_ROOT, per-letter
page numbers), then runs each contender in a process of its own, so that each peak RSS
(``ru_maxrss``) is its own:

1. **ours**: ``request_letter_download`` + every chunk task's body in this one process
   (``letter_chunks.run_download_here``: claim, letters HTML from the database, WeasyPrint in
   render groups combined with ``Document.copy``, chunk PDFs in private storage, pypdf merge,
   CSV mailing list). Timed end to end, database and HTML generation included.
2. **raw**: the same letters' HTML (``letters_html`` of all of them, made before the clock
   starts) as ONE WeasyPrint document: ``HTML(string=...).write_pdf()``.
3. **naive**: the same HTML one letter at a time (made before the clock starts):
   ``HTML(string=...).write_pdf()`` per letter, then merged with pypdf.

raw and naive get our URL fetcher too (the HTML references the logo by URL), nothing else of
ours. ``--compare`` sets how many letters raw and naive render (default: up to 2,000).
``--workers N`` also runs ours with the chunks shared by N processes, as N queue workers
would (the production topology). Prints pages per second (wall clock, and per CPU second,
which a loaded machine disturbs less), peak memory and the ratios. Targets (issue 4): ours at
least 0.8x raw and 2x naive; peak memory under 600 MB for 10,000 letters.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "support"), str(ROOT)]


def setup_django(folder: str) -> None:
    """The test project's settings on a SQLite file in ``folder`` (shared by the children)."""
    os.environ.pop("DATABASE_URL", None)
    os.environ["BATCHCOMMS_TEST_DIR"] = folder
    os.environ["BATCHCOMMS_TEST_DB_NAME"] = str(Path(folder) / "bench.sqlite3")
    os.environ["DJANGO_SETTINGS_MODULE"] = "testproject.settings"
    import django

    django.setup()


def seed(count: int) -> int:
    """Migrate, set the letterhead (with a logo), make the batch; return its id."""
    import letters_data
    from django.core.files.images import ImageFile
    from django.core.management import call_command
    from PIL import Image as PILImage
    from wagtail.images.models import Image

    from wagtail_batchcomms.models import Letterhead

    call_command("migrate", verbosity=0)
    buffer = io.BytesIO()
    PILImage.new("RGB", (600, 160), (20, 80, 160)).save(buffer, "PNG")
    logo = Image(title="Logo")
    logo.file.save("logo.png", ImageFile(buffer, name="logo.png"), save=False)
    logo.save()
    letterhead = Letterhead.load()
    letterhead.organisation_name = "Riverbend Water"
    letterhead.return_address = "PO Box 100\nRiverbend, IL 62701"
    letterhead.phone = "(555) 010-2000"
    letterhead.signature_name = "Pat Lee"
    letterhead.signature_title = "Cross-connection control"
    letterhead.footer_text = "Riverbend Water backflow prevention programme"
    letterhead.logo = logo
    letterhead.save()
    started = time.perf_counter()
    batch = letters_data.letter_batch(count)
    print(f"  seeded {count:,} letters in {time.perf_counter() - started:.1f}s", flush=True)
    return batch.pk


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def children_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the worker processes)."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class Clock:
    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), cpu_seconds()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall
        self.cpu = cpu_seconds() - self.cpu


# --- the contenders (each runs in a child process) ---------------------------------------------


def run_ours(batch_id: int, workers: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connections

    from wagtail_batchcomms.letters import chunks as letter_chunks
    from wagtail_batchcomms.letters import downloads
    from wagtail_batchcomms.models import LetterDownload
    from wagtail_batchcomms.storage import letter_storage

    user = get_user_model().objects.filter(is_superuser=True).first()
    if user is None:
        user = get_user_model().objects.create_superuser("bench", "bench@example.com", "x")
    LetterDownload.objects.filter(batch_id=batch_id).delete()
    with Clock() as clock:
        download = downloads.request_letter_download(batch_id, user=user)
        if workers > 1:
            chunk_ids = list(download.chunks.values_list("pk", flat=True))
            connections.close_all()
            procs = [
                subprocess.Popen(
                    [
                        *(sys.executable, __file__, "--child", "chunks", "--batch", str(batch_id)),
                        *("--chunk-ids", ",".join(map(str, chunk_ids[i::workers]))),
                    ],
                    env=os.environ.copy(),
                )
                for i in range(workers)
            ]
            for proc in procs:
                proc.wait()
            download.refresh_from_db()
        else:
            letter_chunks.run_download_here(download.pk)
            download.refresh_from_db()
    assert download.status == "ready", download.error
    return {
        "pages": download.page_count,
        "letters": download.letter_count,
        "size": letter_storage().size(download.file),
        "wall": clock.wall,
        "cpu": clock.cpu,
        "peak_mb": max(peak_mb(), children_peak_mb()),
        "children_peak_mb": children_peak_mb(),
    }


def run_chunks(chunk_ids: list[int]) -> dict:
    from wagtail_batchcomms.jobs import worker_id
    from wagtail_batchcomms.letters import chunks as letter_chunks

    worker = worker_id()
    for chunk_id in chunk_ids:
        letter_chunks.render_chunk(chunk_id, worker)
    return {"peak_mb": peak_mb()}


def _letters_in_print_order(batch_id: int, count: int) -> list:
    from wagtail_batchcomms.letters.downloads import pending_letters

    return list(pending_letters(batch_id)[:count])


def _html(string: str):
    from weasyprint import HTML

    from wagtail_batchcomms.letters.pdf import SafeURLFetcher, base_url

    return HTML(string=string, base_url=base_url(), url_fetcher=SafeURLFetcher())


def run_raw(batch_id: int, count: int) -> dict:
    import pypdf

    from wagtail_batchcomms.notices.rendering import letters_html

    html = letters_html(_letters_in_print_order(batch_id, count))
    with Clock() as clock:
        data = _html(html).write_pdf()
    pages = len(pypdf.PdfReader(io.BytesIO(data)).pages)
    return {
        "pages": pages,
        "size": len(data),
        "wall": clock.wall,
        "cpu": clock.cpu,
        "peak_mb": peak_mb(),
    }


def run_naive(batch_id: int, count: int) -> dict:
    import pypdf

    from wagtail_batchcomms.notices.rendering import letters_html

    htmls = [letters_html([letter]) for letter in _letters_in_print_order(batch_id, count)]
    out = io.BytesIO()
    with Clock() as clock:
        writer = pypdf.PdfWriter()
        for html in htmls:
            writer.append(pypdf.PdfReader(io.BytesIO(_html(html).write_pdf())))
        writer.write(out)
    return {
        "pages": len(writer.pages),
        "size": len(out.getvalue()),
        "wall": clock.wall,
        "cpu": clock.cpu,
        "peak_mb": peak_mb(),
    }


def child(options) -> None:
    setup_django(os.environ["BATCHCOMMS_TEST_DIR"])
    if options.child == "ours":
        result = run_ours(options.batch, options.workers)
    elif options.child == "chunks":
        result = run_chunks([int(pk) for pk in options.chunk_ids.split(",") if pk])
    elif options.child == "raw":
        result = run_raw(options.batch, options.compare)
    else:
        result = run_naive(options.batch, options.compare)
    print("RESULT " + json.dumps(result), flush=True)


def spawn(mode: str, batch_id: int, *, compare: int = 0, workers: int = 1) -> dict:
    command = [sys.executable, __file__, "--child", mode, "--batch", str(batch_id)]
    command += ["--compare", str(compare), "--workers", str(workers)]
    done = subprocess.run(command, capture_output=True, text=True, env=os.environ.copy())
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        raise RuntimeError(f"{mode} failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}")
    return json.loads(lines[-1][len("RESULT ") :])


def report(name: str, result: dict) -> None:
    pages = result["pages"]
    print(
        f"  {name}: {pages:,} pages in {result['wall']:.1f}s wall = {pages / result['wall']:.1f} "
        f"pages/s; {result['cpu']:.1f}s CPU = {pages / result['cpu']:.1f} pages/CPU-s; "
        f"peak RSS {result['peak_mb']:.0f} MB; PDF {result['size'] / 1e6:.1f} MB",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--letters", type=int, default=2000, help="letters for our pipeline")
    parser.add_argument(
        "--compare",
        type=int,
        default=None,
        help="letters for raw and naive (default: min(letters, 2000); 0 skips)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="also run ours with the chunks shared by this many processes",
    )
    parser.add_argument(
        "--child", choices=["ours", "chunks", "raw", "naive"], help=argparse.SUPPRESS
    )
    parser.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--chunk-ids", default="", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        child(options)
        return
    compare = min(options.letters, 2000) if options.compare is None else options.compare

    with tempfile.TemporaryDirectory(prefix="batchcomms-bench-") as folder:
        setup_django(folder)
        batch_id = seed(options.letters)
        print(f"ours: the download pipeline in one process, {options.letters:,} letters")
        ours = spawn("ours", batch_id)
        report("ours", ours)
        results = {"ours": ours}
        if options.workers > 1:
            print(f"ours with {options.workers} worker processes sharing the chunks")
            shared = spawn("ours", batch_id, workers=options.workers)
            report(f"ours x{options.workers}", shared)
        if compare:
            print(f"raw: one WeasyPrint document of {compare:,} letters (same HTML)")
            results["raw"] = spawn("raw", batch_id, compare=compare)
            report("raw", results["raw"])
            print(f"naive: write_pdf per letter + pypdf merge, {compare:,} letters (same HTML)")
            results["naive"] = spawn("naive", batch_id, compare=compare)
            report("naive", results["naive"])

    print()
    # Verdicts on both clocks. Wall-clock pages per second is what a user sees, but on a
    # machine shared with other work it measures the other work too; CPU time (this process
    # and its children) is steadier there, so it decides the exit status.
    ok = True
    rate = {name: (r["pages"] / r["wall"], r["pages"] / r["cpu"]) for name, r in results.items()}
    for other, target in (("raw", 0.8), ("naive", 2.0)):
        if other in rate:
            wall = rate["ours"][0] / rate[other][0]
            cpu = rate["ours"][1] / rate[other][1]
            ok &= cpu >= target
            print(
                f"ours / {other}: {wall:.2f}x wall ({'met' if wall >= target else 'NOT met'}), "
                f"{cpu:.2f}x CPU ({'met' if cpu >= target else 'NOT met'}); target >= {target}x"
            )
    if options.letters >= 10_000:
        met = ours["peak_mb"] < 600
        ok &= met
        print(
            f"peak memory for {options.letters:,} letters: {ours['peak_mb']:.0f} MB; "
            f"target < 600 MB: {'met' if met else 'NOT met'}"
        )
    print(
        f"load average during the run: {os.getloadavg()[0]:.1f} (this machine has "
        f"{os.cpu_count()} CPUs)"
    )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
