"""django-q2 entry points. They take primary keys, call a service and hold no business rules.

Every task is idempotent: django-q2's ORM broker can deliver a task twice, and a worker can
die half way. The services they call are written so that running them again is harmless.
"""

from __future__ import annotations

# --- sending emails (emails.sending) ------------------------------------------------------


def send_batch_emails(batch_id: int) -> dict:
    """Send the batch's pending emails; safe to run twice or in parallel (rows are claimed)."""
    from dataclasses import asdict

    from .emails.sending import run_send_task

    return asdict(run_send_task(batch_id))


def reap_stale_sending() -> int:
    """Scheduled: emails a dead worker left in "sending" become "delivery unknown"."""
    from .emails.sending import reap_stale_sending

    return reap_stale_sending()


def generate_batch(batch_id: int, token: str) -> str:
    """Generate a batch's communications (``batches.generation.generate``).

    ``token`` is the batch's ``task_token`` when the task was queued: a task that no longer
    owns the batch (regenerated since, or already finished) does nothing.
    """
    from .batches.generation import generate

    return generate(batch_id, token)


# --- letters (letters.downloads, letters.chunks) --------------------------------------


def render_letter_chunk(chunk_id: int) -> str:
    """Render one chunk of a letter download; the last chunk to finish merges the PDF.

    Safe to run twice or on several workers: the chunk is claimed in the database first.
    """
    from .letters.chunks import render_chunk

    return render_chunk(chunk_id)


def merge_letter_download(download_id: int) -> str:
    """Merge a download's finished chunks (queued by recovery when a merge was lost)."""
    from .letters.chunks import merge_download

    return merge_download(download_id)


def letters_housekeeping() -> dict:
    """Scheduled: re-queue letter work dead workers left behind; purge expired downloads."""
    from .letters.downloads import purge_expired_downloads, recover_letter_downloads

    return {"requeued": recover_letter_downloads(), "purged": purge_expired_downloads()}
