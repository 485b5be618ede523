# Table names come from the models' Meta (quoted); every value is a query parameter.
# ruff: noqa: S608
"""One type's step of a run: claim the applying assemblies and make the type's batch.

``claim_type`` is ONE transaction: the claims (``INSERT ... SELECT ... ON CONFLICT DO
NOTHING`` against ``AutomaticNotice``'s unique constraint), the batch with its working list
copied from the claims (set-based), the batch moved Open -> Generating with its task token,
and the type's ``RuleRunType`` row. So a worker killed at any point leaves either nothing
of this step or all of it; claims never exist without their batch, and the ``RuleRunType``
row is the mark that the step is done (a resumed run skips the type).
"""

from __future__ import annotations

import datetime
import uuid

from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django_fsm import can_proceed
from wagtail.log_actions import log

from .. import history
from ..exceptions import RuleError
from ..models import (
    AutomaticNotice,
    Batch,
    BatchAssembly,
    CommunicationType,
    RuleRun,
    RuleRunType,
    RunMode,
)
from ..models.batches import CONDITION_MESSAGES
from .selection import applying


def insert_claims(
    ctype: CommunicationType, run: RuleRun, today: datetime.date, batch: Batch
) -> int:
    """Claim every assembly ``ctype`` newly applies to for ``run`` and its ``batch``;
    returns how many rows this statement inserted (an assembly another run claimed first
    is not counted)."""
    source = applying(ctype, today=today).values_list("pk", "location_id", "cycle")
    try:
        sub_sql, sub_params = source.query.sql_with_params()
    except EmptyResultSet:
        return 0
    table = connection.ops.quote_name(AutomaticNotice._meta.db_table)
    # "WHERE 1 = 1" keeps SQLite from reading ON CONFLICT as part of the FROM clause. In
    # assembly order: two runs racing (an admin's "Run now" beside the schedule) take the
    # unique index's row locks in the same order, so one waits for the other instead of
    # deadlocking, and then skips what the other claimed.
    sql = (
        f"INSERT INTO {table} "
        "(communication_type_id, assembly_id, location_id, cycle, run_id, batch_id, created_at) "
        f"SELECT %s, s.*, %s, %s, %s FROM ({sub_sql}) s WHERE 1 = 1 ORDER BY 2 "
        "ON CONFLICT DO NOTHING"
    )
    now = AutomaticNotice._meta.get_field("created_at").get_db_prep_save(timezone.now(), connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, [ctype.pk, run.pk, batch.pk, now, *sub_params])
        return max(cursor.rowcount, 0)


def snapshot_claims(batch: Batch) -> int:
    """The batch's working list: its claims' assemblies and locations, one ``INSERT ...
    SELECT`` over the claims' batch index. Returns the number added."""
    claims = connection.ops.quote_name(AutomaticNotice._meta.db_table)
    working = connection.ops.quote_name(BatchAssembly._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {working} (batch_id, assembly_id, location_id) "
            f"SELECT batch_id, assembly_id, location_id FROM {claims} WHERE batch_id = %s",
            [batch.pk],
        )
        return max(cursor.rowcount, 0)


def batch_name(ctype: CommunicationType, today: datetime.date) -> str:
    """ "First notice · 7 Dec 2026" (at most the batch name's length)."""
    limit = Batch._meta.get_field("name").max_length
    day = f"{today.day} {formats.date_format(today, 'M Y')}"
    suffix = f" · {day}"
    return f"{ctype.name[: limit - len(suffix)]}{suffix}"


def _unmet(batch: Batch) -> list[str]:
    """The messages of the Open -> Generating conditions ``batch`` does not meet."""
    transition = batch.generate._django_fsm.get_transition(batch.status)
    return [str(CONDITION_MESSAGES[c]) for c in transition.conditions if not c(batch)]


def claim_type(ctype: CommunicationType, run: RuleRun, today: datetime.date) -> RuleRunType:
    """Claims, batch and ``RuleRunType`` of ``ctype`` in ``run``. Call inside a transaction
    (a savepoint of its own: on ``RuleError`` the caller rolls it back) that holds the run's
    row locked. No batch when nothing was claimed. The batch is left
    Generating with a fresh task token: the caller generates it after commit."""
    result = RuleRunType(run=run, communication_type=ctype)
    # The batch first, so the claims carry it from their insert; without claims it is rolled
    # back (never seen by anyone) and the type's row says 0.
    before_batch = transaction.savepoint()
    batch = Batch.objects.create(
        name=batch_name(ctype, today),
        template_id=ctype.template_id,
        due_date=today + datetime.timedelta(days=ctype.response_days),
        communication_type=ctype,
        rule_run=run,
        created_by=None,
        awaiting_review=ctype.mode == RunMode.REVIEW,
    )
    claimed = insert_claims(ctype, run, today, batch)
    if not claimed:
        transaction.savepoint_rollback(before_batch)
    else:
        transaction.savepoint_commit(before_batch)
        batch.assembly_count = snapshot_claims(batch)
        if not can_proceed(batch.generate):  # e.g. a back-dated run's due date is past
            raise RuleError(
                _("The batch of '%(type)s' could not be generated: %(reasons)s")
                % {"type": ctype, "reasons": " ".join(_unmet(batch))}
            )
        batch.generate()  # Open -> Generating: pins the live revision (no user: the run)
        batch.task_token = uuid.uuid4().hex
        batch.save()
        log(
            instance=batch,
            action=history.AUTOMATIC_RUN,
            data={
                "run_id": run.pk,
                "run_date": formats.date_format(today, "DATE_FORMAT"),
                "type": ctype.name,
                "type_id": ctype.pk,
                "assemblies": batch.assembly_count,
                "awaiting_review": batch.awaiting_review,
            },
        )
        log(
            instance=batch,
            action=history.GENERATE,
            data={"revision_id": batch.template_revision_id},
        )
        result.batch = batch
        result.assemblies = batch.assembly_count
    result.save()
    return result


def rule_error(ctype: CommunicationType, run: RuleRun, message: str) -> RuleRunType:
    """Record that ``ctype`` could not run in ``run`` (its scope, its template)."""
    return RuleRunType.objects.create(
        run=run, communication_type=ctype, error=message or _("Unknown error")
    )
