"""rules.runs.run_automatic_notices: claims, batches, modes, reruns, catch-up, resuming,
and the schedule's tick."""

from __future__ import annotations

import datetime

import factories
import pytest
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from wagtail.models import ModelLogEntry

from wagtail_batchcomms import history
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
from wagtail_batchcomms.rules.claims import claim_type
from wagtail_batchcomms.rules.runs import request_run, run_automatic_notices, tick

D = datetime.timedelta


def today() -> datetime.date:
    return timezone.localdate()


def ctype(trigger=Trigger.BEFORE_DUE, days=30, mode=RunMode.REVIEW, **fields):
    return CommunicationType.objects.create(
        name=fields.pop("name", f"Type {CommunicationType.objects.count() + 1}"),
        template=fields.pop("template", None) or factories.notice_template(),
        trigger=trigger,
        days=days,
        mode=mode,
        active=fields.pop("active", True),
        **fields,
    )


def reachable(due: datetime.date, **fields):
    """An assembly due on ``due`` at a location whose owner has an email address."""
    assembly = factories.assembly(last_tested_on=due - D(days=365), next_test_due=due, **fields)
    factories.role(assembly.location, factories.contact())
    return assembly


@pytest.mark.django_db
def test_review_mode_makes_a_batch_held_for_review():
    kind = ctype(mode=RunMode.REVIEW, response_days=21)
    a = reachable(today() + D(days=10))
    b = reachable(today() + D(days=20))
    reachable(today() + D(days=40))  # not yet
    run = run_automatic_notices()
    assert run.status == RuleRunStatus.FINISHED and run.started_by is None
    batch = Batch.objects.get(rule_run=run)
    assert batch.communication_type == kind and batch.awaiting_review
    assert batch.status == BatchStatus.GENERATED and batch.created_by is None
    assert batch.due_date == today() + D(days=21)
    assert set(batch.batch_assemblies.values_list("assembly_id", flat=True)) == {a.pk, b.pk}
    assert set(Communication.objects.filter(batch=batch).values_list("status", flat=True)) == {
        CommunicationStatus.PENDING
    }
    result = run.results.get()
    assert (result.assemblies, result.emails, result.letters) == (2, 2, 0)
    assert result.batch == batch
    assert AutomaticNotice.objects.filter(batch=batch).count() == 2
    actions = set(ModelLogEntry.objects.for_instance(batch).values_list("action", flat=True))
    assert history.AUTOMATIC_RUN in actions and history.SEND not in actions


@pytest.mark.django_db
def test_same_day_rerun_creates_nothing():
    ctype()
    reachable(today() + D(days=10))
    first = run_automatic_notices()
    again = run_automatic_notices()
    assert again.pk == first.pk  # the day's one scheduled run, finished: returned as it is
    admin_run = run_automatic_notices(user=factories.user("boss"))
    assert admin_run.pk != first.pk and admin_run.status == RuleRunStatus.FINISHED
    assert admin_run.results.get().batch is None and admin_run.results.get().assemblies == 0
    assert Batch.objects.count() == 1 and AutomaticNotice.objects.count() == 1
    assert RuleRun.objects.filter(started_by__isnull=True).count() == 1


@pytest.mark.django_db
def test_catch_up_after_ten_days_of_downtime_is_one_run():
    kind = ctype(Trigger.BEFORE_DUE, 30)
    day = today()
    # Due dates the daily runs of the last 10 days would each have caught on their day.
    assemblies = [reachable(day + D(days=30 - n)) for n in range(10)]
    run = run_automatic_notices(today=day)
    assert RuleRun.objects.count() == 1
    assert set(AutomaticNotice.objects.values_list("assembly_id", flat=True)) == {
        a.pk for a in assemblies
    }
    assert run.results.get(communication_type=kind).assemblies == 10


@pytest.mark.django_db
def test_compliant_assembly_gets_nothing_more():
    ctype(Trigger.AFTER_DUE, 0, name="overdue")
    a = reachable(today() - D(days=3))
    run_automatic_notices(today=today() - D(days=1))
    assert AutomaticNotice.objects.filter(assembly=a).count() == 1
    a.last_tested_on = today()
    a.next_test_due = today() + D(days=365)
    a.save()
    run_automatic_notices(today=today())
    assert AutomaticNotice.objects.filter(assembly=a).count() == 1


@pytest.mark.django_db
def test_escalation_ladder_over_days():
    # 30 days to respond: a due date not in the past for the run back-dated 20 days.
    second = ctype(Trigger.AFTER_DUE, 30, name="second", response_days=30)
    ctype(Trigger.AFTER_DUE, 60, name="final", requires_type=second, requires_days=14)
    due = today() - D(days=100)
    a = reachable(due)
    day0 = today() - D(days=20)
    run_automatic_notices(today=day0)  # second notice only: no earlier second notice yet
    AutomaticNotice.objects.update(created_at=timezone.now() - D(days=20))
    assert list(AutomaticNotice.objects.values_list("communication_type__name", flat=True)) == [
        "second"
    ]
    run_automatic_notices(today=today())
    names = sorted(AutomaticNotice.objects.values_list("communication_type__name", flat=True))
    assert names == ["final", "second"]
    assert set(AutomaticNotice.objects.values_list("cycle", flat=True)) == {a.next_test_due}


@pytest.mark.django_db
def test_a_types_error_is_recorded_and_the_run_goes_on():
    bad = ctype(name="bad scope", scope="service_area=999999")
    unpublished = ctype(name="unpublished", template=factories.notice_template(publish=False))
    good = ctype(name="good")
    reachable(today() + D(days=5))
    run = run_automatic_notices()
    assert run.status == RuleRunStatus.FINISHED
    assert "not valid" in run.results.get(communication_type=bad).error
    assert "not published" in run.results.get(communication_type=unpublished).error
    assert run.results.get(communication_type=good).assemblies == 1


@pytest.mark.django_db
def test_a_back_dated_run_past_the_due_date_records_why_and_claims_nothing():
    kind = ctype(response_days=1)
    reachable(today() - D(days=5) + D(days=10))
    run = run_automatic_notices(today=today() - D(days=5), user=factories.user("boss"))
    assert "due date is in the past" in run.results.get(communication_type=kind).error
    assert not AutomaticNotice.objects.exists() and not Batch.objects.exists()


@pytest.mark.django_db
def test_paused_type_does_nothing():
    ctype(active=False)
    reachable(today() + D(days=5))
    run = run_automatic_notices()
    assert not run.results.exists() and not AutomaticNotice.objects.exists()


@pytest.mark.django_db
def test_tick_waits_for_the_hour(app_settings):
    app_settings(AUTOMATIC_NOTICES_HOUR=6)
    ctype()
    reachable(today() + D(days=5))
    early = timezone.make_aware(datetime.datetime.combine(today(), datetime.time(5, 59)))
    assert tick(now=early) is None and not RuleRun.objects.exists()
    later = early + D(minutes=1)
    run = tick(now=later)
    assert run.run_date == today() and run.status == RuleRunStatus.FINISHED
    assert tick(now=later + D(minutes=5)).pk == run.pk
    assert RuleRun.objects.count() == 1


@pytest.mark.django_db
def test_a_live_worker_keeps_its_run_and_a_silent_one_loses_it(app_settings):
    app_settings(RULE_RUN_STALE_AFTER=60)
    ctype()
    reachable(today() + D(days=5))
    held = RuleRun.objects.create(run_date=today(), worker="elsewhere:1:abc")
    assert run_automatic_notices().pk == held.pk
    assert not AutomaticNotice.objects.exists()  # a live worker holds it: nothing done
    RuleRun.objects.filter(pk=held.pk).update(updated_at=timezone.now() - D(seconds=61))
    run = run_automatic_notices()
    assert run.pk == held.pk and run.status == RuleRunStatus.FINISHED
    assert run.worker != "elsewhere:1:abc" and AutomaticNotice.objects.count() == 1


@pytest.mark.django_db
def test_a_failed_scheduled_run_is_retried_by_the_next_call():
    ctype()
    reachable(today() + D(days=5))
    failed = RuleRun.objects.create(
        run_date=today(), worker="w:1:x", status=RuleRunStatus.FAILED, error="database gone"
    )
    run = run_automatic_notices()
    assert run.pk == failed.pk and run.status == RuleRunStatus.FINISHED and run.error == ""
    assert AutomaticNotice.objects.count() == 1 and run.results.get().assemblies == 1


@pytest.mark.django_db
def test_resume_generates_a_stalled_batch_and_releases_an_automatic_one(
    app_settings, django_capture_on_commit_callbacks
):
    """A worker killed after the claim step left the batch Generating: the next call finishes
    it (same token) and releases its emails."""
    app_settings(GENERATION_STALE_AFTER=30)
    kind = ctype(mode=RunMode.AUTOMATIC)
    reachable(today() + D(days=5))
    run = RuleRun.objects.create(run_date=today(), worker="dead:1:x")
    with transaction.atomic():
        claim_type(kind, run, today())
    batch = Batch.objects.get()
    assert batch.status == BatchStatus.GENERATING
    Batch.objects.filter(pk=batch.pk).update(updated_at=timezone.now() - D(seconds=31))
    RuleRun.objects.filter(pk=run.pk).update(status=RuleRunStatus.FAILED)
    with django_capture_on_commit_callbacks() as queued:
        run_automatic_notices(user=factories.user("boss"))
    batch.refresh_from_db()
    assert batch.status == BatchStatus.GENERATED
    assert run.results.get().emails == 1
    assert ModelLogEntry.objects.for_instance(batch).filter(action=history.SEND).count() == 1
    assert queued  # the send task was queued on commit
    assert AutomaticNotice.objects.count() == 1


@pytest.mark.django_db
def test_request_run_needs_the_review_permission(django_capture_on_commit_callbacks):
    with pytest.raises(PermissionDenied):
        request_run(factories.user("clerk"))
    reviewer = factories.user("reviewer", perms=["wagtail_batchcomms.review_rulerun"])
    with django_capture_on_commit_callbacks() as queued:
        request_run(reviewer)
    assert len(queued) == 1
