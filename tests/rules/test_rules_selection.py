"""rules.selection.applying per trigger (window boundaries), scope reuse, escalation, and
rules.preview.preview_type."""

from __future__ import annotations

import datetime

import factories
import pytest
from django.utils import timezone

from wagtail_batchcomms.exceptions import RuleError
from wagtail_batchcomms.models import AutomaticNotice, CommunicationType, RuleRun, Trigger
from wagtail_batchcomms.models.rules import ONCE_CYCLE
from wagtail_batchcomms.rules.preview import preview_type
from wagtail_batchcomms.rules.selection import applying

TODAY = datetime.date(2026, 12, 7)
D = datetime.timedelta


def ctype(trigger=Trigger.BEFORE_DUE, days=30, **fields) -> CommunicationType:
    template = fields.pop("template", None) or factories.notice_template()
    return CommunicationType.objects.create(
        name=fields.pop("name", f"{trigger} {days} {CommunicationType.objects.count()}"),
        template=template,
        trigger=trigger,
        days=days,
        active=True,
        **fields,
    )


def due_in(days: int, **fields):
    return factories.assembly(
        last_tested_on=TODAY - D(days=300), next_test_due=TODAY + D(days=days), **fields
    )


def ids(queryset) -> set[int]:
    return set(queryset.values_list("pk", flat=True))


def claim(kind, assembly, cycle, created_at) -> AutomaticNotice:
    admin = factories.user(f"runner{RuleRun.objects.count()}")
    run = RuleRun.objects.create(run_date=created_at.date(), started_by=admin)
    return AutomaticNotice.objects.create(
        communication_type=kind,
        assembly=assembly,
        location=assembly.location,
        cycle=cycle,
        run=run,
        created_at=created_at,
    )


@pytest.mark.django_db
def test_before_due_window_boundaries():
    kind = ctype(Trigger.BEFORE_DUE, 30)
    outside = due_in(31)  # the day before the window opens
    first = due_in(30)  # first day of the window
    last = due_in(1)  # last day: due tomorrow
    due_today = due_in(0)  # past the window: no longer "before"
    got = ids(applying(kind, today=TODAY))
    assert first.pk in got and last.pk in got
    assert outside.pk not in got and due_today.pk not in got
    cycles = dict(applying(kind, today=TODAY).values_list("pk", "cycle"))
    assert cycles[first.pk] == first.next_test_due


@pytest.mark.django_db
def test_after_due_boundaries_and_claim():
    kind = ctype(Trigger.AFTER_DUE, 30)
    early = due_in(-29)
    first = due_in(-30)
    long_ago = due_in(-400)
    got = ids(applying(kind, today=TODAY))
    assert got == {first.pk, long_ago.pk}
    assert early.pk not in got
    claim(kind, first, first.next_test_due, timezone.now())
    assert ids(applying(kind, today=TODAY)) == {long_ago.pk}
    # A recorded test moves the due date: a new cycle, and by then not overdue.
    long_ago.last_tested_on = TODAY
    long_ago.next_test_due = TODAY + D(days=365)
    long_ago.save()
    assert ids(applying(kind, today=TODAY)) == set()


@pytest.mark.django_db
def test_failed_test_window():
    kind = ctype(Trigger.FAILED_TEST, 7)
    recent = factories.assembly(last_tested_on=TODAY - D(days=7), last_test_result="fail")
    old = factories.assembly(last_tested_on=TODAY - D(days=8), last_test_result="fail")
    passed = factories.assembly(last_tested_on=TODAY - D(days=1), last_test_result="pass")
    got = ids(applying(kind, today=TODAY))
    assert recent.pk in got and old.pk not in got and passed.pk not in got
    assert applying(kind, today=TODAY).get().cycle == recent.last_tested_on


@pytest.mark.django_db
def test_assembly_added_once():
    kind = ctype(Trigger.ASSEMBLY_ADDED, 3)
    now = timezone.now()
    new = factories.assembly()
    old = factories.assembly()
    type(old).objects.filter(pk=old.pk).update(created_at=now - D(days=10))
    got = applying(kind, today=timezone.localdate())
    assert ids(got) == {new.pk}
    assert str(got.get().cycle) == ONCE_CYCLE


@pytest.mark.django_db
def test_inactive_assembly_or_location_excluded():
    kind = ctype(Trigger.BEFORE_DUE, 30)
    due_in(10, status="removed")
    due_in(10, location=factories.location(is_active=False))
    assert ids(applying(kind, today=TODAY)) == set()


@pytest.mark.django_db
def test_scope_reuses_listing_filters():
    north = factories.service_area("North")
    south = factories.service_area("South")
    inside = due_in(10, location=factories.location(service_area=north), hazard="health")
    due_in(10, location=factories.location(service_area=south), hazard="health")
    due_in(10, location=factories.location(service_area=north), hazard="nonhealth")
    kind = ctype(scope=f"service_area={north.pk}&hazard=health")
    assert ids(applying(kind, today=TODAY)) == {inside.pk}


@pytest.mark.django_db
def test_invalid_scope_has_a_clear_message():
    kind = ctype(scope="service_area=999999")
    with pytest.raises(RuleError, match=r"scope of .* is not valid"):
        applying(kind, today=TODAY)
    preview = preview_type(kind, today=TODAY)
    assert "not valid" in preview.error and preview.assemblies == 0


@pytest.mark.django_db
def test_escalation_needs_earlier_notice_n_days_ago_same_cycle():
    second = ctype(Trigger.AFTER_DUE, 30, name="second")
    final = ctype(Trigger.AFTER_DUE, 60, name="final", requires_type=second, requires_days=14)
    a = due_in(-60)
    without = due_in(-60)
    assert ids(applying(final, today=TODAY)) == set()  # no earlier notice
    noon = timezone.make_aware(datetime.datetime.combine(TODAY, datetime.time(12)))
    notice = claim(second, a, a.next_test_due, noon - D(days=13))
    assert ids(applying(final, today=TODAY)) == set()  # 13 days ago: not yet
    AutomaticNotice.objects.filter(pk=notice.pk).update(created_at=noon - D(days=14))
    assert ids(applying(final, today=TODAY)) == {a.pk}
    assert without.pk not in ids(applying(final, today=TODAY))
    # Compliant since (tested: a new due date, a new cycle): nothing more.
    a.last_tested_on = TODAY - D(days=1)
    a.next_test_due = TODAY + D(days=364)
    a.save()
    assert ids(applying(final, today=TODAY)) == set()


@pytest.mark.django_db
def test_preview_counts_and_sample():
    kind = ctype(Trigger.BEFORE_DUE, 30)
    with_email = due_in(5)
    factories.role(with_email.location, factories.contact())
    no_contact = due_in(6)
    due_in(6, location=with_email.location)
    preview = preview_type(kind, today=TODAY)
    assert preview.error == ""
    assert preview.assemblies == 3 and preview.locations == 2
    assert preview.emails == 1 and preview.letters == 0
    assert preview.skipped == {"no_contact": 1}
    assert preview.sample[0].pk == with_email.pk
    assert no_contact.pk in {a.pk for a in preview.sample}
    per_assembly = ctype(template=factories.notice_template(grouping="assembly"))
    by_assembly = preview_type(per_assembly, today=TODAY)
    assert (by_assembly.emails, by_assembly.skipped) == (2, {"no_contact": 1})
    assert AutomaticNotice.objects.count() == 0


@pytest.mark.django_db
def test_preview_unpublished_template():
    kind = ctype(template=factories.notice_template(publish=False))
    due_in(5)
    assert "not published" in preview_type(kind, today=TODAY).error


@pytest.mark.django_db
def test_escalation_of_an_event_type_needs_the_assembly_not_compliant():
    """ASSEMBLY_ADDED has no date window, so "still not compliant" is the explicit failed,
    overdue or never-tested condition."""
    today = timezone.localdate()
    welcome = ctype(Trigger.ASSEMBLY_ADDED, 30, name="welcome")
    reminder = ctype(
        Trigger.ASSEMBLY_ADDED, 30, name="reminder", requires_type=welcome, requires_days=0
    )
    never_tested = factories.assembly(
        last_tested_on=None, last_test_result="none", next_test_due=None
    )
    compliant = factories.assembly(
        last_tested_on=today - D(days=10), next_test_due=today + D(days=355)
    )
    failed = factories.assembly(last_tested_on=today - D(days=10), last_test_result="fail")
    for assembly in (never_tested, compliant, failed):
        claim(welcome, assembly, datetime.date.fromisoformat(ONCE_CYCLE), timezone.now())
    assert ids(applying(reminder, today=today)) == {never_tested.pk, failed.pk}
