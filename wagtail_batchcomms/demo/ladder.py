"""The demo's notice ladder: four Communication Types with their own published templates, and
a past run's claims and notices so the Assemblies listing's "Last notice" column and filters
show data from the start.

The history is made through the real models and the real generation SQL (one set-based
insert per type): claims (``AutomaticNotice``) of one finished run three weeks ago, each
type's batch with its working list, and its notices recorded as delivered on the run's day
(the demo cannot send mail in the past). ``register.last_notice.backfill`` then sets the
assemblies' last notice from them, as the send loop would have.
"""

from __future__ import annotations

import datetime

from django.db.models import Count, Q
from django.utils import timezone

from ..batches.contact_rules import ContactRules
from ..batches.generation_sql import insert_chunk, insert_skipped
from ..models import (
    Assembly,
    AssemblyStatus,
    AutomaticNotice,
    Batch,
    BatchAssembly,
    BatchStatus,
    Channel,
    Communication,
    CommunicationStatus,
    CommunicationType,
    NoticeTemplate,
    RuleRun,
    RuleRunStatus,
    RuleRunType,
    RunMode,
    SkippedRecipient,
    TestResult,
    Trigger,
)
from ..register.last_notice import backfill
from .accounts import COLUMNS, SIGNATURE, _paragraph, _table

#: How long ago the demo's past run was, and the most claims it made per type (seeding time).
PAST_RUN_DAYS = 21
MAX_CLAIMS_PER_TYPE = 400

_GREETING = _paragraph("<p>Dear {{ contact.name }},</p>")
_ACCOUNT = "{{ location.address }} (account {{ location.account_number }})"

#: (template spec, type spec) per rung, bottom to top. ``requires`` names an earlier rung.
LADDER = [
    (
        {
            "name": "First notice: test due in 30 days",
            "description": "Sent automatically 30 days before an assembly's test is due.",
            "subject": "Backflow test due soon (account {{ location.account_number }})",
            "contact_roles": ["owner", "property_manager"],
            "contact_methods": "both",
            "first_available_only": True,
            "grouping": "location",
            "body": [
                _GREETING,
                _paragraph(
                    f"<p>The backflow prevention assemblies listed below at {_ACCOUNT} are due "
                    "for their annual test within the next 30 days. State law and the city's "
                    "cross-connection control ordinance require each assembly to be tested "
                    "by a certified backflow tester every year.</p>"
                ),
                _table("Assemblies due for testing", COLUMNS),
                _paragraph(
                    "<p>Please book a certified tester now and have the report sent to us by "
                    "<b>{{ batch.due_date }}</b>. If you have already arranged the test, thank "
                    "you; no further action is needed.</p>"
                ),
                SIGNATURE,
            ],
        },
        {
            "name": "First notice",
            "trigger": Trigger.BEFORE_DUE,
            "days": 30,
            "mode": RunMode.AUTOMATIC,
            "response_days": 30,
        },
    ),
    (
        {
            "name": "Second notice: test overdue",
            "description": "Sent automatically 30 days after the due date, if still not tested.",
            "subject": "OVERDUE: backflow test for account {{ location.account_number }}",
            "contact_roles": ["owner", "property_manager"],
            "contact_methods": "both",
            "first_available_only": False,
            "grouping": "location",
            "body": [
                _GREETING,
                _paragraph(
                    f"<p>We have not received a passing test report for the assemblies below "
                    f"at {_ACCOUNT}. Their annual test is now more than 30 days overdue.</p>"
                ),
                _table("Overdue assemblies", COLUMNS),
                _paragraph(
                    "<p>Please have them tested and the report submitted within "
                    "<b>14 days, by {{ batch.due_date }}</b>. If you have questions or need "
                    "more time, call us before that date.</p>"
                ),
                SIGNATURE,
            ],
        },
        {
            "name": "Second notice",
            "trigger": Trigger.AFTER_DUE,
            "days": 30,
            "mode": RunMode.AUTOMATIC,
            "response_days": 14,
        },
    ),
    (
        {
            "name": "Final notice before shut-off",
            "description": "Held for review: 60 days overdue and the second notice ignored.",
            "subject": "FINAL NOTICE: water service at account {{ location.account_number }}",
            "contact_roles": ["owner", "property_manager", "billing"],
            "contact_methods": "both",
            "first_available_only": False,
            "grouping": "location",
            "body": [
                _GREETING,
                _paragraph(
                    f"<p><b>This is the final notice</b> for the backflow prevention "
                    f"assemblies at {_ACCOUNT}. Their annual test is more than 60 days "
                    "overdue and we have had no response to our second notice.</p>"
                ),
                _table("Assemblies without a current test", COLUMNS),
                _paragraph(
                    "<p>If we do not receive a passing test report by "
                    "<b>{{ batch.due_date }}</b>, water service to the premises may be "
                    "discontinued to protect the public water supply, as the ordinance "
                    "requires. Please call us today if you cannot meet this date.</p>"
                ),
                SIGNATURE,
            ],
        },
        {
            "name": "Final notice before shut-off",
            "trigger": Trigger.AFTER_DUE,
            "days": 60,
            "requires": "Second notice",
            "requires_days": 14,
            "mode": RunMode.REVIEW,
            "response_days": 10,
        },
    ),
    (
        {
            "name": "Failed test notice",
            "description": "Sent automatically when a failed test is recorded.",
            "subject": "Backflow assembly failed its test (account {{ location.account_number }})",
            "contact_roles": ["owner", "property_manager", "site_contact"],
            "contact_methods": "both",
            "first_available_only": False,
            "grouping": "assembly",
            "body": [
                _GREETING,
                _paragraph(
                    f"<p>A backflow prevention assembly at {_ACCOUNT} failed its most recent "
                    "test. Until it is repaired and passes a retest, it may not protect the "
                    "public water supply.</p>"
                ),
                _table("Assembly that failed", COLUMNS),
                _paragraph(
                    "<p>Please have it repaired or replaced and retested by "
                    "<b>{{ batch.due_date }}</b>, and have the tester send us the passing "
                    "report.</p>"
                ),
                SIGNATURE,
            ],
        },
        {
            "name": "Failed test notice",
            "trigger": Trigger.FAILED_TEST,
            "days": 7,
            "mode": RunMode.AUTOMATIC,
            "response_days": 30,
        },
    ),
]


def ensure_communication_types(user=None) -> int:
    """Create the four demo types and their published templates when there are no types.
    Returns how many types were created."""
    if CommunicationType.objects.exists():
        return 0
    by_name: dict[str, CommunicationType] = {}
    for template_spec, type_spec in LADDER:
        template = NoticeTemplate.objects.filter(name=template_spec["name"]).first()
        if template is None:
            template = NoticeTemplate(**template_spec)
            template.live = False
            template.save()
            template.save_revision(user=user).publish(user=user)
            template.refresh_from_db()
        spec = dict(type_spec)
        requires = spec.pop("requires", None)
        by_name[spec["name"]] = CommunicationType.objects.create(
            template=template,
            description=template_spec["description"],
            requires_type=by_name.get(requires),
            active=True,
            **spec,
        )
    return len(by_name)


def _applying(ctype: CommunicationType, run_date: datetime.date):
    """The active assemblies the type newly applied to on ``run_date``, and their cycle."""
    active = Assembly.objects.filter(status=AssemblyStatus.ACTIVE, location__is_active=True)
    if ctype.trigger == Trigger.BEFORE_DUE:
        until = run_date + datetime.timedelta(days=ctype.days)
        return active.filter(next_test_due__gt=run_date, next_test_due__lte=until), "next_test_due"
    if ctype.trigger == Trigger.AFTER_DUE:
        due_by = run_date - datetime.timedelta(days=ctype.days)
        window = due_by - datetime.timedelta(days=30)
        return (
            active.filter(next_test_due__lte=due_by, next_test_due__gt=window).exclude(
                Q(last_test_result=TestResult.PASS) & Q(next_test_due__gt=run_date)
            ),
            "next_test_due",
        )
    since = run_date - datetime.timedelta(days=ctype.days)
    return (
        active.filter(
            last_test_result=TestResult.FAIL,
            last_tested_on__gt=since,
            last_tested_on__lte=run_date,
        ),
        "last_tested_on",
    )


def ensure_ladder_history(today: datetime.date) -> int:
    """One finished run ``PAST_RUN_DAYS`` ago with each automatic type's claims and notices
    (when there are no runs yet). Returns how many notices were recorded."""
    if RuleRun.objects.exists():
        return 0
    run_date = today - datetime.timedelta(days=PAST_RUN_DAYS)
    moment = timezone.make_aware(datetime.datetime.combine(run_date, datetime.time(6, 0)))
    run = RuleRun.objects.create(
        run_date=run_date,
        status=RuleRunStatus.FINISHED,
        started_at=moment,
        finished_at=moment + datetime.timedelta(minutes=1),
    )
    delivered = 0
    for ctype in CommunicationType.objects.filter(mode=RunMode.AUTOMATIC).select_related(
        "template"
    ):
        queryset, cycle_field = _applying(ctype, run_date)
        rows = list(queryset.order_by("pk").values_list("pk", "location_id", cycle_field))
        rows = rows[:MAX_CLAIMS_PER_TYPE]
        if not rows:
            continue
        template = ctype.template
        batch = Batch.objects.create(
            name=f"{ctype.name}, {run_date:%Y-%m-%d}",
            template=template,
            template_revision_id=template.live_revision_id,
            due_date=run_date + datetime.timedelta(days=ctype.response_days),
            # Its notices went out on the run's day (recorded below): the batch is done.
            status=BatchStatus.COMPLETE,
            communication_type=ctype,
            rule_run=run,
            assembly_count=len(rows),
            created_at=moment,
            generated_at=moment,
            closed_at=moment,
        )
        BatchAssembly.objects.bulk_create(
            BatchAssembly(batch=batch, assembly_id=pk, location_id=loc) for pk, loc, _c in rows
        )
        AutomaticNotice.objects.bulk_create(
            AutomaticNotice(
                communication_type=ctype,
                assembly_id=pk,
                location_id=loc,
                cycle=cycle,
                run=run,
                batch=batch,
                created_at=moment,
            )
            for pk, loc, cycle in rows
        )
        rules = ContactRules.from_template(template)
        insert_chunk(batch.pk, rules, None, None)
        skipped = insert_skipped(batch.pk, rules)
        notices = Communication.objects.filter(batch=batch)
        emails = notices.filter(channel=Channel.EMAIL).count()
        letters = notices.filter(channel=Channel.LETTER).count()
        delivered += notices.update(
            status=CommunicationStatus.SENT, sent_at=moment, created_at=moment
        )
        RuleRunType.objects.create(
            run=run,
            communication_type=ctype,
            batch=batch,
            assemblies=len(rows),
            emails=emails,
            letters=letters,
            skipped=dict(
                SkippedRecipient.objects.filter(batch=batch)
                .values_list("reason")
                .annotate(n=Count("pk"))
                .order_by()
            )
            if skipped
            else {},
        )
    backfill()
    return delivered
