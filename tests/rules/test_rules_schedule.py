"""The daily run's wiring: its schedule (kept by migrate), its tasks, its settings."""

from __future__ import annotations

import datetime

import factories
import pytest
from django.test import override_settings
from django.utils import timezone
from django_q.models import Schedule
from wagtail.models import ModelLogEntry

from wagtail_batchcomms import history, jobs, tasks
from wagtail_batchcomms.checks import check_settings
from wagtail_batchcomms.models import Batch, CommunicationType, RuleRun, RuleRunStatus, Trigger

TICK = "wagtail_batchcomms.tasks.automatic_notices_tick"


@pytest.mark.django_db
def test_migrate_keeps_the_tick_schedule():
    schedule = Schedule.objects.get(func=TICK)  # created by migrate (post_migrate)
    assert (schedule.schedule_type, schedule.repeats) == (Schedule.MINUTES, -1)
    assert schedule.minutes <= 10
    assert jobs.ensure_schedules() == 0
    schedule.delete()
    assert jobs.ensure_schedules() == 1
    assert Schedule.objects.filter(func=TICK).count() == 1


@pytest.mark.parametrize("hour", [-1, 24, "6", 6.5])
def test_automatic_notices_hour_is_validated(hour):
    with override_settings(WAGTAIL_BATCHCOMMS={"AUTOMATIC_NOTICES_HOUR": hour}):
        messages = check_settings()
    assert [m.id for m in messages] == ["batchcomms.E001"]
    assert "AUTOMATIC_NOTICES_HOUR" in messages[0].msg


@pytest.mark.parametrize("hour", [0, 23])
def test_automatic_notices_hour_bounds_accepted(hour):
    with override_settings(WAGTAIL_BATCHCOMMS={"AUTOMATIC_NOTICES_HOUR": hour}):
        assert check_settings() == []


@pytest.mark.django_db
def test_tasks_run_and_tick(app_settings):
    app_settings(AUTOMATIC_NOTICES_HOUR=0)  # past the hour all day
    CommunicationType.objects.create(
        name="First",
        template=factories.notice_template(),
        trigger=Trigger.BEFORE_DUE,
        days=30,
        active=True,
    )
    assembly = factories.assembly(next_test_due=timezone.localdate() + datetime.timedelta(days=9))
    factories.role(assembly.location, factories.contact())
    assert "finished" in tasks.automatic_notices_tick()
    run = RuleRun.objects.get()
    assert run.status == RuleRunStatus.FINISHED and run.started_by is None
    batch = Batch.objects.get(rule_run=run)
    assert ModelLogEntry.objects.for_instance(batch).filter(action=history.AUTOMATIC_RUN).exists()
    boss = factories.user("boss")
    assert "finished" in tasks.run_automatic_notices(boss.pk)
    assert RuleRun.objects.filter(started_by=boss).count() == 1
    assert "no longer exists" in tasks.run_automatic_notices(999_999)


@pytest.mark.django_db
def test_history_message_reads_well():
    from wagtail_batchcomms.history.rules import AutomaticRunFormatter

    entry = ModelLogEntry(
        action=history.AUTOMATIC_RUN,
        data={
            "run_date": "Dec. 7, 2026",
            "type": "First notice",
            "assemblies": 3,
            "awaiting_review": True,
        },
    )
    message = str(AutomaticRunFormatter().format_message(entry))
    assert message == (
        "Made by the automatic run of Dec. 7, 2026 for First notice, 3 assemblies; held for review"
    )
    assert str(AutomaticRunFormatter().format_message(ModelLogEntry(data={}))) == (
        "Made by an automatic run"
    )
