"""Everything that knows django-q2: queueing work on commit, naming the task runs that take
it, how long a task may run, how often a run whose worker died is tried again, and the app's
schedules.

The scheduled tasks are django-q2 ``Schedule`` rows, created (or brought up to date) after
every ``migrate``: a host that runs ``migrate`` and a ``qcluster`` gets them with no extra
step, and running ``migrate`` again never duplicates them (matched by name). An admin may
change a schedule's timing in django-q2's admin; ``migrate`` keeps that timing and only
corrects the function and cluster. Missed runs are not caught up (Q_CLUSTER ``catch_up``:
False is recommended): both tasks look at the current state, so one run does it all.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.db import connections, transaction
from django.db.models import F, QuerySet
from django_q.conf import Conf

from .conf import batchcomms_settings

logger = logging.getLogger(__name__)

#: How many times a run whose worker stopped, or whose task was lost, is started again (queued
#: again by its housekeeping, or taken over by a task the broker delivered again) before the
#: housekeeping marks it failed instead: a task that kills its worker every time (a file too
#: big for its memory, Q_CLUSTER's "timeout") must not be run for ever. Imports and exports.
MAX_REQUEUES = 3


def restart_stopped(
    stopped: QuerySet,
    *,
    reason: Callable[[Any], str],
    restarted: dict[str, Any],
    on_restart: Callable[[Any, str], None],
    give_up: Callable[[Any, str], bool],
) -> dict[str, int]:
    """A housekeeping's pass over the runs whose worker stopped or whose task was lost.

    ``stopped`` is the queryset of them; each row is updated through it again, so a run a
    task claimed since it was read is left alone. A run is started again (``restarted``: the
    fields that put it back, ``requeues`` counted; then ``on_restart(run, reason(run))`` in
    the same transaction: its history entry, its task queued) or, once started again
    ``MAX_REQUEUES`` times, handed to ``give_up(run, reason(run))`` (whether it failed it).
    Returns how many were started again and how many failed.
    """
    done = {"requeued": 0, "failed": 0}
    for run in stopped:
        why = reason(run)
        if run.requeues >= MAX_REQUEUES:
            done["failed"] += give_up(run, why)
            continue
        with transaction.atomic():
            if not stopped.filter(pk=run.pk, status=run.status, requeues__lt=MAX_REQUEUES).update(
                requeues=F("requeues") + 1, **restarted
            ):
                continue
            on_restart(run, why)
        done["requeued"] += 1
    return done


#: name -> (function, minutes between runs)
SCHEDULES: dict[str, tuple[str, int]] = {
    # Re-queue letter chunks dead workers left behind; purge expired letter downloads.
    "wagtail_batchcomms: letter downloads housekeeping": (
        "wagtail_batchcomms.tasks.letters_housekeeping",
        10,
    ),
    # Remove expired listing export files (records kept); re-queue exports a dead worker left.
    "wagtail_batchcomms: exports housekeeping": (
        "wagtail_batchcomms.tasks.exports_housekeeping",
        10,
    ),
    # Emails a dead worker left in "sending" become "delivery unknown" (never re-sent).
    "wagtail_batchcomms: emails left sending by a dead worker": (
        "wagtail_batchcomms.tasks.reap_stale_sending",
        5,
    ),
    # The day's automatic notices, started by the first tick past AUTOMATIC_NOTICES_HOUR in
    # the site's time zone (a tick, not a daily schedule: after downtime it is one run).
    "wagtail_batchcomms: automatic notices": (
        "wagtail_batchcomms.tasks.automatic_notices_tick",
        5,
    ),
    # Re-queue register imports a lost task or a dead worker left checking or importing (an
    # "importing" one holds the one-import-at-a-time lock); remove imports' uploaded files
    # (names, addresses) once imported or abandoned. Named for its first job: the name is
    # how migrate finds it, and an existing one keeps its timing (it was hourly).
    "wagtail_batchcomms: register import files": (
        "wagtail_batchcomms.tasks.imports_housekeeping",
        10,
    ),
}


def enqueue(func: str, *args: Any, name: str = "", group: str = "batchcomms") -> None:
    """Queue ``func`` (a dotted path in ``wagtail_batchcomms.tasks``) once the transaction commits.

    On commit, so a worker never sees a task for rows it cannot read yet, and a rolled-back
    request queues nothing. Tasks must be idempotent: django-q2 may run one twice.
    """

    def _send() -> None:
        # django_q.tasks loads django-q2's models, which exist only where django_q is
        # installed; AppConfig.ready() imports this module either way (create_schedules).
        from django_q.tasks import async_task

        options: dict[str, Any] = {"group": group}
        if name:
            options["task_name"] = name[:100]
        cluster = batchcomms_settings.TASK_CLUSTER
        if cluster:
            options["cluster"] = cluster
        task_id = async_task(func, *args, **options)
        logger.info("queued %s%r as %s", func, args, task_id)

    transaction.on_commit(_send)


def worker_id() -> str:
    """A name unique to one task run (host, process, random part), for the ``claimed_by``
    columns: a run recognises its own claims, and an admin sees which machine held a row."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def task_time_budget() -> float | None:
    """Seconds a long task (sending) may run: half of django-q2's ``timeout`` (which kills
    the worker) and of its ``retry`` (after which the ORM broker hands the task out again)."""
    limits = [limit for limit in (Conf.TIMEOUT, Conf.RETRY) if limit]
    return min(limits) / 2 if limits else None


# --- schedules ------------------------------------------------------------------------------


def ensure_schedules(using: str = "default") -> int:
    """Create the app's django-q2 schedules that are missing; return how many were made."""
    # Only called once django_q is known to be installed (see create_schedules).
    from django_q.models import Schedule

    created_count = 0
    for name, (func, minutes) in SCHEDULES.items():
        schedule, created = Schedule.objects.using(using).get_or_create(
            name=name,
            defaults={
                "func": func,
                "schedule_type": Schedule.MINUTES,
                "minutes": minutes,
                "repeats": -1,
                "cluster": batchcomms_settings.TASK_CLUSTER,
            },
        )
        if created:
            created_count += 1
        elif schedule.func != func or schedule.cluster != batchcomms_settings.TASK_CLUSTER:
            schedule.func = func
            schedule.cluster = batchcomms_settings.TASK_CLUSTER
            schedule.save(using=using, update_fields=["func", "cluster"])
    return created_count


def create_schedules(sender, using: str = "default", **kwargs) -> None:
    """``post_migrate`` handler (connected in ``AppConfig.ready()``): the schedules, once
    django-q2's tables exist."""
    if sender.label != "wagtail_batchcomms" or not apps.is_installed("django_q"):
        return
    # Only now: django-q2's models cannot be imported where django_q is not installed.
    from django_q.models import Schedule

    # e.g. "migrate wagtail_batchcomms" on a database where django_q is not migrated yet
    if Schedule._meta.db_table not in connections[using].introspection.table_names():
        return
    if ensure_schedules(using):
        logger.info("created the wagtail_batchcomms task schedules")
