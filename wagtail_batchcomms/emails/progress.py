"""How far a batch's emails have got, and whether sending is alive.

The batch page shows a "Sending the emails…" bar only while that is true as far as the
database can tell (``sending_state``); once a worker died or a send task crashed it shows the
pending emails with the Send emails button, and when rows are still "sending" under a dead
worker, since when.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Count, Max
from django.utils import timezone
from wagtail.models import ModelLogEntry

from .. import history
from ..conf import batchcomms_settings
from ..models import Batch, Channel, Communication, CommunicationStatus


def _email_rows(batch: Batch) -> dict[str, tuple[int, datetime.datetime | None]]:
    """{status: (emails, latest claimed_at)} of the batch's emails, in one grouped query."""
    rows = (
        Communication.objects.filter(batch=batch, channel=Channel.EMAIL)
        .values_list("status")
        .annotate(n=Count("pk"), last=Max("claimed_at"))
        .order_by()
    )
    return {status: (n, last) for status, n, last in rows}


def _progress(rows: dict[str, tuple[int, datetime.datetime | None]]) -> dict[str, int]:
    progress = {
        status.value: rows.get(status.value, (0, None))[0] for status in CommunicationStatus
    }
    progress["total"] = sum(n for n, _last in rows.values())
    return progress


def sending_progress(batch: Batch) -> dict[str, int]:
    """Counts of the batch's emails by status (every status present), plus ``total``."""
    return _progress(_email_rows(batch))


#: After "Send emails", how long the batch shows as sending before a worker has claimed
#: anything (a worker normally picks the task up within seconds).
START_WINDOW = datetime.timedelta(minutes=2)


@dataclass(frozen=True)
class SendingState:
    """Whether the batch's emails are being sent now, as far as the database can tell.

    ``active``: a send task is working (its rows in "sending" were refreshed recently: a
    live task refreshes their ``claimed_at`` every ``SENDING_STALE_AFTER / 4``), or one was
    started or claimed emails moments ago and emails are still pending; and no "Sending
    stopped" (a task giving up or crashing) was recorded since. ``stopped_at``: rows are
    still "sending" but nothing is sending them: when their task crashed, or when its worker
    last refreshed them (it died); they become "delivery unknown" once
    ``SENDING_STALE_AFTER`` has passed. ``requested_at``: "Send emails" was used then,
    emails are pending and no worker has claimed any since (is a worker running?).
    """

    progress: dict[str, int]
    active: bool = False
    stopped_at: datetime.datetime | None = None
    requested_at: datetime.datetime | None = None


def sending_state(batch: Batch, *, now: datetime.datetime | None = None) -> SendingState:
    """The batch's email counts and whether sending is alive (see ``SendingState``).

    Two queries at most: the counts with the latest claims, and (only with emails pending or
    sending) the latest "Send emails" and "Sending stopped" entries of the batch's history.
    """
    now = now or timezone.now()
    rows = _email_rows(batch)
    progress = _progress(rows)
    if not (progress[CommunicationStatus.SENDING] or progress[CommunicationStatus.PENDING]):
        return SendingState(progress)
    fresh = now - datetime.timedelta(seconds=batchcomms_settings.SENDING_STALE_AFTER / 2)
    last_claim = max((last for _n, last in rows.values() if last is not None), default=None)
    sending_last = rows.get(CommunicationStatus.SENDING, (0, None))[1]
    started, stopped = _latest_send_events(batch)
    latest = max((t for t in (started, last_claim) if t is not None), default=None)
    # "Sending stopped" recorded after the last sign of life: the task gave up or crashed.
    gave_up = stopped is not None and (latest is None or stopped >= latest)
    stopped_at = None
    if progress[CommunicationStatus.SENDING]:
        if not gave_up and sending_last is not None and sending_last >= fresh:
            return SendingState(progress, active=True)
        stopped_at = stopped if gave_up else sending_last
    if gave_up or latest is None or not progress[CommunicationStatus.PENDING]:
        return SendingState(progress, stopped_at=stopped_at)
    if not batch.can_send:
        return SendingState(progress, stopped_at=stopped_at)
    if last_claim is not None and (started is None or last_claim >= started):
        # A worker took the start up: its claims say whether it is alive (between two
        # chunks nothing is "sending", but the last claim is fresh).
        recent = last_claim >= fresh
    else:
        # Not picked up yet: a worker normally takes the task within seconds.
        recent = started is not None and started >= now - START_WINDOW
    if recent:
        return SendingState(progress, active=True, stopped_at=stopped_at)
    waiting = started is not None and (last_claim is None or last_claim < started)
    return SendingState(progress, stopped_at=stopped_at, requested_at=started if waiting else None)


def _latest_send_events(batch: Batch) -> tuple[datetime.datetime | None, datetime.datetime | None]:
    """When sending was last started, and last recorded as stopped, in the batch's history."""
    latest = dict(
        ModelLogEntry.objects.for_instance(batch)
        .filter(action__in=[history.SEND, history.SEND_STOPPED])
        .values_list("action")
        .annotate(last=Max("timestamp"))
        .order_by()
    )
    return latest.get(history.SEND), latest.get(history.SEND_STOPPED)
