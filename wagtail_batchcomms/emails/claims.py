"""The rows' side of sending: claiming pending emails for one task (never two tasks the same
row), putting back what a task did not get to, and writing the outcomes it noted.

Used by the send loop (``send_loop.ChunkSender``) and ``emails.sending``; see the latter for
the guarantees.
"""

from __future__ import annotations

from django.db import connections, router, transaction
from django.db.models import F
from django.utils import timezone

from ..models import Channel, Communication, CommunicationStatus
from ..models.batches import DELIVERABLE_STATES
from ..register.last_notice import touch
from .compose import message_id_expression


def claim_emails(
    batch_id: int | None, worker: str, limit: int, *, communication_ids: list[int] | None = None
) -> list[Communication]:
    """Claim up to ``limit`` pending emails of a sendable batch for ``worker``; return them.

    With ``batch_id=None``: the one-time emails (Create Log, no batch) among
    ``communication_ids`` instead. One short transaction. Claimed rows are ``sending`` with
    ``claimed_by=worker``, a fresh ``claimed_at`` and one more attempt; each gets its stable
    Message-ID on its first claim.
    """
    now = timezone.now()
    claim = {
        "status": CommunicationStatus.SENDING,
        "claimed_at": now,
        "claimed_by": worker,
        "attempts": F("attempts") + 1,
        "message_id": message_id_expression(),
    }
    if batch_id is None:
        in_scope = {"batch__isnull": True, "pk__in": communication_ids or []}
    else:
        in_scope = {"batch_id": batch_id, "batch__status__in": DELIVERABLE_STATES}
    candidates = Communication.objects.filter(
        **in_scope, channel=Channel.EMAIL, status=CommunicationStatus.PENDING
    ).order_by("pk")
    db = router.db_for_write(Communication)
    with transaction.atomic(using=db):
        if connections[db].features.has_select_for_update_skip_locked:
            # Rows another task is claiming right now are skipped, not waited for.
            ids = list(
                candidates.select_for_update(skip_locked=True, of=("self",)).values_list(
                    "pk", flat=True
                )[:limit]
            )
            if not ids:
                return []
            Communication.objects.filter(pk__in=ids, status=CommunicationStatus.PENDING).update(
                **claim
            )
        else:
            # SQLite: one statement, and writers are serialised, so the second of two racing
            # tasks sees the first one's rows as no longer pending.
            Communication.objects.filter(
                pk__in=candidates.values("pk")[:limit], status=CommunicationStatus.PENDING
            ).update(**claim)
        return list(
            Communication.objects.filter(
                batch_id=batch_id,  # None: batch IS NULL
                status=CommunicationStatus.SENDING,
                claimed_by=worker,
                claimed_at=now,
            ).order_by("pk")
        )


def release_claimed(worker: str, ids: list[int]) -> int:
    """Put claimed rows that were never handed to the mail server back to pending."""
    if not ids:
        return 0
    return Communication.objects.filter(
        pk__in=ids, claimed_by=worker, status=CommunicationStatus.SENDING
    ).update(status=CommunicationStatus.PENDING, claimed_at=None, claimed_by="")


def write_outcomes(worker: str, outcomes: list[tuple[int, dict]]) -> int:
    """Write ``(pk, fields)`` outcomes of rows ``worker`` still holds, in one transaction,
    with the last notice of the assemblies the sent ones concern (``register.last_notice``).

    The same conditional UPDATE as ``filter(pk=pk, claimed_by=worker, status__in=[sending,
    unknown]).update(**fields)`` for each, run as one prepared statement per set of fields
    (``executemany``): building an ORM query per message cost more than sending it. Returns
    how many rows were updated.
    """
    db = router.db_for_write(Communication)
    connection = connections[db]
    quote = connection.ops.quote_name
    meta = Communication._meta
    groups: dict[tuple[str, ...], list[tuple[int, dict]]] = {}
    for pk, fields in outcomes:
        groups.setdefault(tuple(sorted(fields)), []).append((pk, fields))
    written = 0
    with transaction.atomic(using=db), connection.cursor() as cursor:
        for names, items in groups.items():
            columns = [meta.get_field(name) for name in names]
            assignments = ", ".join(f"{quote(field.column)} = %s" for field in columns)
            # Only column names from the model's own metadata are formatted into the SQL.
            sql = (
                f"UPDATE {quote(meta.db_table)} SET {assignments} "  # noqa: S608
                f"WHERE {quote('id')} = %s AND {quote('claimed_by')} = %s "
                f"AND {quote('status')} IN (%s, %s)"
            )
            params = [
                [field.get_db_prep_save(values[field.name], connection) for field in columns]
                + [pk, worker, CommunicationStatus.SENDING.value, CommunicationStatus.UNKNOWN.value]
                for pk, values in items
            ]
            cursor.executemany(sql, params)
            written += max(cursor.rowcount, 0)
        # The assemblies' "last notice", in the same transaction (one statement per flush;
        # touch ignores the rows this worker no longer held, which are not sent by it).
        sent = [pk for pk, fields in outcomes if fields["status"] == CommunicationStatus.SENT]
        if sent:
            touch(sent, using=db)
    return written
