"""Signal handlers, connected when the app is ready.

The app's scheduled tasks are django-q2 ``Schedule`` rows, created (or brought up to date)
after every ``migrate``: a host that runs ``migrate`` and a ``qcluster`` gets them with no
extra step, and running ``migrate`` again never duplicates them (matched by name). An admin
may change a schedule's timing in django-q2's admin; ``migrate`` keeps that timing and only
corrects the function and cluster. Missed runs are not caught up (Q_CLUSTER ``catch_up``:
False is recommended): both tasks look at the current state, so one run does it all.
"""

from __future__ import annotations

import logging

from django.apps import apps
from django.db.models.signals import post_migrate

logger = logging.getLogger(__name__)

#: name -> (function, minutes between runs)
SCHEDULES: dict[str, tuple[str, int]] = {
    # Re-queue letter chunks dead workers left behind; purge expired letter downloads.
    "wagtail_batchcomms: letter downloads housekeeping": (
        "wagtail_batchcomms.tasks.letters_housekeeping",
        10,
    ),
    # Emails a dead worker left in "sending" become "delivery unknown" (never re-sent).
    "wagtail_batchcomms: emails left sending by a dead worker": (
        "wagtail_batchcomms.tasks.reap_stale_sending",
        5,
    ),
}


def ensure_schedules(using: str = "default") -> int:
    """Create the app's django-q2 schedules that are missing; return how many were made."""
    from django_q.models import Schedule

    from .conf import batchcomms_settings

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


def _create_schedules(sender, using: str = "default", **kwargs) -> None:
    if sender.label != "wagtail_batchcomms" or not apps.is_installed("django_q"):
        return
    from django.db import connections
    from django_q.models import Schedule

    # e.g. "migrate wagtail_batchcomms" on a database where django_q is not migrated yet
    if Schedule._meta.db_table not in connections[using].introspection.table_names():
        return
    if ensure_schedules(using):
        logger.info("created the wagtail_batchcomms task schedules")


post_migrate.connect(_create_schedules, dispatch_uid="wagtail_batchcomms_schedules")
