"""The daily run with real parts: a qcluster that runs it and sends through aiosmtpd, two
workers racing the same day (PostgreSQL), and a worker killed with SIGKILL mid-run."""

from __future__ import annotations

import datetime

import factories
import ops_data
import pytest
from concurrency import run_at_once
from django.db import connection
from workers import wait_until

from wagtail_batchcomms.models import (
    AutomaticNotice,
    Batch,
    BatchStatus,
    Communication,
    CommunicationStatus,
    CommunicationType,
    RuleRun,
    RuleRunStatus,
    RunMode,
    Trigger,
)
from wagtail_batchcomms.rules.runs import request_run, run_automatic_notices

pytestmark = pytest.mark.slow
RUN_TASK = "wagtail_batchcomms.tasks.run_automatic_notices"


def first_notice(mode=RunMode.AUTOMATIC, name="First notice") -> CommunicationType:
    """30 days before due: the bulk register's assemblies (due in 25 days) all apply."""
    return CommunicationType.objects.create(
        name=name,
        template=ops_data.notice_template(),
        trigger=Trigger.BEFORE_DUE,
        days=30,
        mode=mode,
        active=True,
    )


def test_automatic_type_sends_through_the_worker(qcluster, smtp_server):
    register = ops_data.bulk_register("auto", 12)
    kind = first_notice()
    cluster = qcluster(smtp_port=smtp_server.port)
    reviewer = factories.user("reviewer", perms=["wagtail_batchcomms.review_rulerun"])
    request_run(reviewer)  # "Run now": the task runs in the worker, then the send task
    wait_until(
        lambda: (
            Communication.objects.filter(status=CommunicationStatus.SENT).count() == register.emails
        ),
        clusters=[cluster],
        message="the automatic notices were not sent",
    )
    run = RuleRun.objects.get()
    assert run.started_by == reviewer and run.status == RuleRunStatus.FINISHED
    batch = Batch.objects.get(communication_type=kind)
    assert not batch.awaiting_review
    assert smtp_server.message_id_counts() and set(smtp_server.message_id_counts().values()) == {1}
    assert len(smtp_server.messages) == register.emails
    letters = Communication.objects.filter(batch=batch, channel="letter")
    assert letters.count() == register.letters  # pending, for "letters to print"
    assert set(letters.values_list("status", flat=True)) == {CommunicationStatus.PENDING}
    result = run.results.get()
    assert (result.assemblies, result.emails, result.letters) == (
        register.assemblies,
        register.emails,
        register.letters,
    )


def test_hold_for_review_leaves_emails_pending(qcluster, smtp_server):
    ops_data.bulk_register("held", 6)
    kind = first_notice(mode=RunMode.REVIEW)
    cluster = qcluster(smtp_port=smtp_server.port)
    cluster.async_task(RUN_TASK)  # the scheduled run (no user), in the worker
    wait_until(
        lambda: RuleRun.objects.filter(status=RuleRunStatus.FINISHED).exists(),
        clusters=[cluster],
        message="the run did not finish",
    )
    batch = Batch.objects.get(communication_type=kind)
    assert batch.awaiting_review and batch.status == BatchStatus.GENERATED
    emails = Communication.objects.filter(batch=batch, channel="email")
    assert emails.exists()
    assert set(emails.values_list("status", flat=True)) == {CommunicationStatus.PENDING}
    assert smtp_server.messages == []


@pytest.mark.postgres
def test_two_workers_racing_the_same_day(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("racing writers need PostgreSQL's row locks (SQLite serialises writers)")
    register = ops_data.bulk_register("race", 300)
    first_notice(mode=RunMode.REVIEW)
    runs = run_at_once(2, run_automatic_notices)
    assert runs[0].pk == runs[1].pk  # one scheduled run for the day
    assert RuleRun.objects.filter(started_by__isnull=True).count() == 1
    assert AutomaticNotice.objects.count() == register.assemblies
    assert Batch.objects.count() == 1

    # Two admins' "Run now" at once, each a run of its own, on a register with new work.
    more = ops_data.bulk_register("race2", 300)
    boss = factories.user("boss")
    runs = run_at_once(2, lambda: run_automatic_notices(user=boss))
    assert {run.status for run in runs} == {RuleRunStatus.FINISHED}
    assert AutomaticNotice.objects.count() == register.assemblies + more.assemblies
    per_assembly = AutomaticNotice.objects.values_list("assembly_id", flat=True)
    assert len(set(per_assembly)) == len(per_assembly)
    assert (
        sum(run.results.get().assemblies for run in runs) == more.assemblies
    )  # split between the two runs, each assembly once


def test_worker_killed_mid_run_then_rerun(qcluster, app_settings):
    stale = {"GENERATION_STALE_AFTER": 2, "RULE_RUN_STALE_AFTER": 2, "GENERATION_CHUNK_SIZE": 5}
    app_settings(**stale)
    register = ops_data.bulk_register("kill", 1500)
    kind = first_notice(mode=RunMode.REVIEW)
    cluster = qcluster(settings=stale)
    cluster.async_task(RUN_TASK)

    def part_way() -> bool:
        batch = Batch.objects.filter(communication_type=kind).first()
        return bool(batch and batch.status == BatchStatus.GENERATING and batch.progress_done)

    wait_until(part_way, clusters=[cluster], interval=0.02, message="generation did not start")
    cluster.kill()
    batch = Batch.objects.get(communication_type=kind)
    assert batch.status == BatchStatus.GENERATING, "the worker finished before it was killed"
    run = RuleRun.objects.get()
    assert run.status == RuleRunStatus.RUNNING

    # Once its heartbeat is stale, the next call takes the run over and finishes the batch.
    wait_until(
        lambda: run_automatic_notices().status == RuleRunStatus.FINISHED,
        interval=0.5,
        timeout=30,
        message="the killed run was not taken over",
    )
    batch.refresh_from_db()
    assert batch.status == BatchStatus.GENERATED
    assert RuleRun.objects.count() == 1 and Batch.objects.count() == 1
    assert AutomaticNotice.objects.count() == register.assemblies
    rows = Communication.objects.filter(batch=batch)
    assert rows.count() == register.emails + register.letters
    keys = list(rows.values_list("location_id", "contact_id", "channel"))
    assert len(keys) == len(set(keys))
    result = run.results.get()
    assert (result.emails, result.letters) == (register.emails, register.letters)
    assert datetime.date.today() - run.run_date <= datetime.timedelta(days=1)
