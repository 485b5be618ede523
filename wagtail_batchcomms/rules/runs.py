"""The daily run of automatic notices: ``run_automatic_notices`` and its schedule's ``tick``.

A run takes each active Communication Type in turn (escalation prerequisites first) and, for
each, does ``claims.claim_type`` in one transaction, then generates the type's batch inline
through ``batches.generation.generate`` (the batches' own path), then, for a type that sends
automatically, ``emails.sending.release_emails`` (the one sender). Letters stay pending in
the batch, printed and marked mailed as in any batch.

Exactly once: the claims are unique per (type, assembly, cycle) in the database, so reruns,
racing workers and resumed runs claim each assembly once. The scheduled run is unique per
local day (``RuleRun``'s partial unique constraint): the worker that creates or takes over
the day's run owns it (``RuleRun.worker``) and saves it after every step (``updated_at``, a
heartbeat); another worker finding it Running with a recent heartbeat leaves it alone, and
takes it over once it has been silent for ``RULE_RUN_STALE_AFTER`` seconds. What a killed
worker left half way is finished by ``resume.resume_unfinished``, which every call runs first.
"""

from __future__ import annotations

import datetime
import logging
import time

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..batches.generation import describe, generate
from ..conf import batchcomms_settings
from ..exceptions import RuleError
from ..jobs import enqueue, worker_id
from ..models import (
    Batch,
    BatchStatus,
    CommunicationType,
    RuleRun,
    RuleRunStatus,
    RuleRunType,
)
from ..permissions import user_can
from .claims import claim_type, rule_error
from .preview import live_rules
from .resume import record_figures, release_if_due, resume_unfinished

logger = logging.getLogger(__name__)

RUN_TASK = "wagtail_batchcomms.tasks.run_automatic_notices"


class RunTakenOver(Exception):
    """This worker no longer owns the run (another took it over): stop quietly."""


def ordered_types() -> list[CommunicationType]:
    """The active types, each after the type it escalates from (then by name)."""
    types = list(CommunicationType.objects.filter(active=True).order_by("name", "pk"))
    parents = dict(CommunicationType.objects.values_list("pk", "requires_type_id"))

    def depth(pk: int) -> int:
        seen: set[int] = set()
        level = 0
        while parents.get(pk) and pk not in seen:  # a loop of requirements ends the walk
            seen.add(pk)
            pk = parents[pk]
            level += 1
        return level

    return sorted(types, key=lambda ctype: (depth(ctype.pk), ctype.name, ctype.pk))


def _take_scheduled(today: datetime.date, worker: str) -> tuple[RuleRun, bool]:
    """The day's scheduled run and whether this worker now owns it (module doc)."""
    stale_before = timezone.now() - datetime.timedelta(
        seconds=batchcomms_settings.RULE_RUN_STALE_AFTER
    )
    with transaction.atomic():
        scheduled = RuleRun.objects.select_for_update().filter(
            run_date=today, started_by__isnull=True
        )
        run = scheduled.first()
        if run is None:
            try:
                with transaction.atomic():  # a savepoint: the racing worker's insert wins
                    return RuleRun.objects.create(run_date=today, worker=worker), True
            except IntegrityError:
                run = scheduled.get()
        if run.status == RuleRunStatus.FINISHED:
            return run, False
        # Live: the run saved lately, or one of its batches is generating (the run's worker
        # generates inline; generation saves its batch after every chunk).
        live = (
            run.updated_at >= stale_before
            or Batch.objects.filter(
                rule_run=run, status=BatchStatus.GENERATING, updated_at__gte=stale_before
            ).exists()
        )
        if run.status == RuleRunStatus.RUNNING and run.worker and run.worker != worker and live:
            return run, False
        # Silent, or Failed (an unexpected error, e.g. the database went away): the next tick
        # tries again; every step is idempotent, so a retry finishes what the last one began.
        logger.warning("taking over automatic run %s (%s) from %r", run.pk, run.status, run.worker)
        run.worker = worker
        run.status = RuleRunStatus.RUNNING
        run.finished_at = None
        run.save(update_fields=["worker", "status", "finished_at", "updated_at"])
        return run, True


def _lock_owned(run_id: int, worker: str) -> RuleRun:
    """The run, locked, with a fresh heartbeat; ``RunTakenOver`` if another worker owns it."""
    run = RuleRun.objects.select_for_update().get(pk=run_id)
    if run.worker != worker or run.status != RuleRunStatus.RUNNING:
        raise RunTakenOver
    run.save(update_fields=["updated_at"])
    return run


def _run_type(run_id: int, ctype: CommunicationType, today: datetime.date, worker: str) -> None:
    """One type's step: claims + batch (one transaction), generation, release. A type done
    before this worker took the run over has its batch finished (generated, released)."""
    started = time.perf_counter()
    with transaction.atomic():
        run = _lock_owned(run_id, worker)
        result = RuleRunType.objects.filter(run=run, communication_type=ctype).first()
        if result is None:
            try:
                live_rules(ctype)  # refuses a template with no published version
                with transaction.atomic():  # a RuleError undoes the claims made so far
                    result = claim_type(ctype, run, today)
            except RuleError as error:
                rule_error(ctype, run, str(error))
                return
    if result.batch_id is None:
        return
    claimed = time.perf_counter()
    batch = Batch.objects.get(pk=result.batch_id)
    if batch.status == BatchStatus.GENERATING:
        # Ours, or left by the worker this run was taken from (silent for the stale period:
        # see _take_scheduled). Generation is idempotent for one token.
        try:
            generate(batch.pk, batch.task_token)
        except Exception as error:  # the batch is back to Open with the error shown on it
            RuleRunType.objects.filter(pk=result.pk).update(error=describe(error))
            return
    with transaction.atomic():
        _lock_owned(run_id, worker)
        batch = Batch.objects.select_for_update().get(pk=batch.pk)
        record_figures(batch)
        if batch.status == BatchStatus.GENERATED:  # awaiting review: not released
            release_if_due(batch)
    logger.info(
        "automatic run %s, %s: %s assemblies claimed in %.2f s, generated in %.2f s",
        run_id,
        ctype,
        batch.assembly_count,
        claimed - started,
        time.perf_counter() - claimed,
    )


def run_automatic_notices(*, today: datetime.date | None = None, user=None) -> RuleRun:
    """Run the automatic notices for ``today`` (default: the local date in ``TIME_ZONE``).

    ``user`` None is the schedule: the day's one scheduled run is created, taken over (when
    its worker fell silent, or it Failed: retried), or (Finished, or owned by a live worker)
    returned untouched. With a user ("Run now") a new run is made each time. A type's own
    problem is recorded on its ``RuleRunType`` and the run goes on; the run ends Finished,
    or Failed with the error for an unexpected one (which is re-raised, so the task is
    recorded as failed too).
    """
    today = today or timezone.localdate()
    worker = worker_id()
    resume_unfinished()
    if user is None:
        run, owned = _take_scheduled(today, worker)
        if not owned:
            return run
    else:
        run = RuleRun.objects.create(run_date=today, started_by=user, worker=worker)
    try:
        for ctype in ordered_types():
            _run_type(run.pk, ctype, today, worker)
        with transaction.atomic():
            run = _lock_owned(run.pk, worker)
            run.status = RuleRunStatus.FINISHED
            run.finished_at = timezone.now()
            run.error = ""  # an earlier attempt's error (it is in the log), now overcome
            run.save()
    except RunTakenOver:
        logger.warning("automatic run %s was taken over by another worker", run.pk)
        run.refresh_from_db()
    except Exception as error:
        logger.exception("automatic run %s failed", run.pk)
        RuleRun.objects.filter(pk=run.pk, worker=worker).update(
            status=RuleRunStatus.FAILED,
            finished_at=timezone.now(),
            error=describe(error),
            updated_at=timezone.now(),
        )
        raise
    return run


def tick(*, now: datetime.datetime | None = None) -> RuleRun | None:
    """The schedule's every-few-minutes call: finish what killed runs left and, once the
    local time (``TIME_ZONE``) is past ``AUTOMATIC_NOTICES_HOUR``, start (or find) the day's
    run. After downtime this makes ONE run for today, which catches up the missed days (the
    selection's windows still hold them); DST needs nothing, the hour is local."""
    local = timezone.localtime(now)
    if local.hour < batchcomms_settings.AUTOMATIC_NOTICES_HOUR:
        resume_unfinished()
        return None
    return run_automatic_notices(today=local.date())


def request_run(user) -> None:
    """An admin's "Run now": queue a run by ``user`` when the transaction commits.

    Needs the review permission of automatic runs (``review_rulerun``).
    """
    if not user_can(user, "review", RuleRun):
        raise PermissionDenied(_("You do not have permission to run the automatic notices."))
    enqueue(RUN_TASK, user.pk, name="Automatic notices (run now)")
