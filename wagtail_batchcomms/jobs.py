"""Putting background work on django-q2's queue, and naming the task runs that take it."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from typing import Any

from django.db import transaction

from .conf import batchcomms_settings

logger = logging.getLogger(__name__)


def enqueue(func: str, *args: Any, name: str = "", group: str = "batchcomms") -> None:
    """Queue ``func`` (a dotted path in ``wagtail_batchcomms.tasks``) once the transaction commits.

    On commit, so a worker never sees a task for rows it cannot read yet, and a rolled-back
    request queues nothing. Tasks must be idempotent: django-q2 may run one twice.
    """

    def _send() -> None:
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
