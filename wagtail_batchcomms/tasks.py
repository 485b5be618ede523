"""django-q2 entry points. They take primary keys, call a service and hold no business rules.

Every task is idempotent: django-q2's ORM broker can deliver a task twice, and a worker can
die half way. The services they call are written so that running them again is harmless.
"""

from __future__ import annotations

# --- sending emails (services.sending) ------------------------------------------------------


def send_batch_emails(batch_id: int) -> dict:
    """Send the batch's pending emails; safe to run twice or in parallel (rows are claimed)."""
    from dataclasses import asdict

    from .services.sending import run_send_task

    return asdict(run_send_task(batch_id))


def reap_stale_sending() -> int:
    """Scheduled: emails a dead worker left in "sending" become "delivery unknown"."""
    from .services.sending import reap_stale_sending

    return reap_stale_sending()


def generate_batch(batch_id: int, token: str) -> str:
    """Generate a batch's communications (``services.generation.generate``).

    ``token`` is the batch's ``task_token`` when the task was queued: a task that no longer
    owns the batch (regenerated since, or already finished) does nothing.
    """
    from .services.generation import generate

    return generate(batch_id, token)
