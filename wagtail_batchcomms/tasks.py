"""django-q2 entry points. They take primary keys, call a capability and hold no business rules.

Every task is idempotent: django-q2's ORM broker can deliver a task twice, and a worker can
die half way. The use cases they call are written so that running them again is harmless.
"""

from __future__ import annotations

from dataclasses import asdict

from django.contrib.auth import get_user_model

from . import exports
from .batches.generation import generate
from .emails import sending
from .imports.recovery import requeue_stopped
from .imports.runs import apply_import, check_import
from .imports.stored import purge_files as purge_import_files
from .letters.chunks import merge_download, render_chunk
from .letters.downloads import purge_expired_downloads, recover_letter_downloads
from .logs.letters import run_letter_task
from .rules import runs

# --- sending emails (emails.sending) ------------------------------------------------------


def send_batch_emails(batch_id: int) -> dict:
    """Send the batch's pending emails; safe to run twice or in parallel (rows are claimed)."""
    return asdict(sending.run_send_task(batch_id))


def send_one_time_email(communication_id: int) -> dict:
    """Send one one-time email (Create Log); safe to run twice: the row is claimed first."""
    return asdict(sending.run_send_one_task(communication_id))


def reap_stale_sending() -> int:
    """Scheduled: emails a dead worker left in "sending" become "delivery unknown"."""
    return sending.reap_stale_sending()


# --- generating a batch (batches.generation) ----------------------------------------------


def generate_batch(batch_id: int, token: str) -> str:
    """Generate a batch's communications (``batches.generation.generate``).

    ``token`` is the batch's ``task_token`` when the task was queued: a task that no longer
    owns the batch (regenerated since, or already finished) does nothing.
    """
    return generate(batch_id, token)


# --- letters (letters.downloads, letters.chunks) --------------------------------------


def render_letter_chunk(chunk_id: int) -> str:
    """Render one chunk of a letter download; the last chunk to finish merges the PDF.

    Safe to run twice or on several workers: the chunk is claimed in the database first.
    """
    return render_chunk(chunk_id)


def merge_letter_download(download_id: int) -> str:
    """Merge a download's finished chunks (queued by recovery when a merge was lost)."""
    return merge_download(download_id)


def letters_housekeeping() -> dict:
    """Scheduled: re-queue letter work dead workers left behind; purge expired downloads."""
    return {"requeued": recover_letter_downloads(), "purged": purge_expired_downloads()}


# --- listing exports (exports) --------------------------------------------------------


def write_export(run_id: int) -> str:
    """Write a listing export's file; safe to run twice (the run is claimed first)."""
    return exports.run_export(run_id)


def exports_housekeeping() -> dict:
    """Scheduled: remove expired export files (records kept); re-queue dead workers' runs (or
    fail those started again too often)."""
    return exports.exports_housekeeping()


# --- automatic notices (rules.runs) ---------------------------------------------------


def run_automatic_notices(user_id: int | None = None) -> str:
    """Run the automatic notices now: an admin's "Run now" (``user_id``), or the day's
    scheduled run (None). Safe to run twice: claims are once per type, assembly and cycle."""
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    if user_id and user is None:
        return f"User {user_id} no longer exists; nothing run."
    run = runs.run_automatic_notices(user=user)
    return f"Automatic run {run.pk} of {run.run_date}: {run.status}"


def automatic_notices_tick() -> str:
    """Scheduled every few minutes: start the day's run once past AUTOMATIC_NOTICES_HOUR
    (local time), and finish what a killed run left."""
    run = runs.tick()
    return f"Automatic run {run.pk} of {run.run_date}: {run.status}" if run else "Not yet time."


# --- one-time communications (logs) --------------------------------------------------------


def make_one_time_letter(communication_id: int) -> str:
    """Make a one-time letter's PDF (Create Log's "letter now"); safe to run twice."""
    return run_letter_task(communication_id)


# --- importing the register (imports.runs, imports.recovery) ------------------------------


def check_register_import(run_id: int) -> str:
    """The dry run of an uploaded register file; does nothing unless the run waits for it."""
    return check_import(run_id)


def run_register_import(run_id: int) -> str:
    """Import a checked register file; safe to run twice (the run is claimed first, and the
    import upserts by natural keys)."""
    return apply_import(run_id)


def imports_housekeeping() -> dict:
    """Scheduled: queue again register imports whose task was lost or whose worker stopped
    (or fail those started again too often); remove imported and abandoned imports' uploaded
    files."""
    return {**requeue_stopped(), "purged": purge_import_files()}


def purge_register_import_files() -> int:
    """Remove imported and abandoned register imports' uploaded files (the schedule's task
    before ``imports_housekeeping``; kept for the tasks already queued under this name)."""
    return purge_import_files()
