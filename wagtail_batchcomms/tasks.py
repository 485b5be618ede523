"""django-q2 entry points. They take primary keys, call a capability and hold no business rules.

Every task is idempotent: django-q2's ORM broker can deliver a task twice, and a worker can
die half way. The use cases they call are written so that running them again is harmless.
"""

from __future__ import annotations

from dataclasses import asdict

from .batches.generation import generate
from .emails import sending
from .imports import runs
from .letters.chunks import merge_download, render_chunk
from .letters.downloads import purge_expired_downloads, recover_letter_downloads

# --- sending emails (emails.sending) ------------------------------------------------------


def send_batch_emails(batch_id: int) -> dict:
    """Send the batch's pending emails; safe to run twice or in parallel (rows are claimed)."""
    return asdict(sending.run_send_task(batch_id))


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


# --- importing the register (imports.runs) ------------------------------------------------


def check_register_import(run_id: int) -> str:
    """The dry run of an uploaded register file; does nothing unless the run waits for it."""
    return runs.check_import(run_id)


def run_register_import(run_id: int) -> str:
    """Import a checked register file; safe to run twice (upserts by natural keys)."""
    return runs.apply_import(run_id)
