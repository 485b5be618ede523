"""Generation: rows per contact rule against an independent Python computation, the skipped
report, idempotency, crash and rerun, failures, stale tasks and the dry run."""

from __future__ import annotations

import factories
import generation_data as data
import pytest
from db_faults import fail_writes
from django.db import connection
from django.test.utils import CaptureQueriesContext
from wagtail.models import ModelLogEntry

from wagtail_batchcomms.batches import contact_rules, generation, generation_sql
from wagtail_batchcomms.batches.generation import preview_generation
from wagtail_batchcomms.batches.lifecycle import (
    create_batch,
    start_generation,
)
from wagtail_batchcomms.models import BatchStatus, Communication, SkippedRecipient

pytestmark = pytest.mark.django_db

RULES = {
    "owner_first_available": {"contact_roles": ["owner"]},
    "several_roles_both": {
        "contact_roles": ["owner", "tenant", "property_manager"],
        "first_available_only": False,
    },
    "primary_only": {"contact_roles": ["owner", "property_manager"], "primary_only": True},
    "email_only": {
        "contact_roles": ["owner", "tenant"],
        "contact_methods": "email",
        "first_available_only": False,
    },
    "letter_only": {
        "contact_roles": ["owner", "tenant"],
        "contact_methods": "letter",
        "first_available_only": False,
    },
    "per_assembly": {"contact_roles": ["owner", "tenant"], "grouping": "assembly"},
    "per_assembly_primary_letters": {
        "contact_roles": ["owner", "billing"],
        "grouping": "assembly",
        "primary_only": True,
        "contact_methods": "letter",
        "first_available_only": False,
    },
    "rare_role": {"contact_roles": ["billing"]},
}


@pytest.fixture
def register():
    return data.build_register()


@pytest.fixture
def chunked(settings):
    """Small chunks so that every test crosses several chunk boundaries."""
    settings.WAGTAIL_BATCHCOMMS = {**settings.WAGTAIL_BATCHCOMMS, "GENERATION_CHUNK_SIZE": 7}


def make_batch(user, template, assemblies=None):
    return create_batch(
        user=user,
        name="Spring notices",
        template=template,
        due_date=data.due_date(),
        assemblies=assemblies if assemblies is not None else data.all_assemblies(),
    )


def run(batch, user):
    batch = start_generation(batch.pk, user=user)
    result = generation.generate(batch.pk, batch.task_token)
    batch.refresh_from_db()
    return batch, result


@pytest.mark.parametrize("rules", list(RULES))
def test_each_contact_rule_gives_exactly_the_expected_rows(register, chunked, superuser, rules):
    template = factories.notice_template(**RULES[rules])
    batch = make_batch(superuser, template)
    want_rows, want_skipped = data.expected(batch, template)
    preview = preview_generation(batch)

    batch, result = run(batch, superuser)

    rows, skipped = data.actual(batch)
    assert batch.status == BatchStatus.GENERATED
    assert rows == want_rows
    assert skipped == want_skipped
    assert want_rows, "the data set must give this rule something to send"
    counts = data.count_channels(want_rows)
    assert f"generated {counts['email']} emails and {counts['letter']} letters" in result
    # The dry run said the same before anything was inserted.
    assert (preview.emails, preview.letters) == (counts["email"], counts["letter"])
    assert preview.skipped == data.count_reasons(want_skipped)
    assert batch.progress_done == batch.progress_total == preview.locations
    entry = ModelLogEntry.objects.get(action="wagtail_batchcomms.generated", object_id=batch.pk)
    assert entry.data["emails"] == counts["email"]
    assert entry.data["skipped"] == len(want_skipped)
    assert f"{len(want_skipped)} skipped" in entry.message


def test_rule_edge_cases_by_name(register, superuser):
    """The named edge cases land where DESIGN.md says, read off the rows directly."""
    template = factories.notice_template(contact_roles=["owner"])
    batch, _ = run(make_batch(superuser, template), superuser)
    comms = Communication.objects.filter(batch=batch)
    skipped = dict(SkippedRecipient.objects.filter(batch=batch).values_list("location", "reason"))

    # prefers paper, though it has an email address: a letter, never an email.
    paper = comms.get(location=register["paper"])
    assert (paper.channel, paper.email) == ("letter", register["paper_contact"].email)
    # no email: a letter to the location's address.
    assert comms.get(location=register["no_email"]).channel == "letter"
    # no email and no address anywhere: skipped, no_address.
    assert skipped[register["no_address"].pk] == "no_address"
    # the contact's complete mailing address wins over the location's (incomplete) one.
    letter = comms.get(location=register["mailing_address"])
    assert letter.address_lines == ["PO Box 12", "Suite 4", "Springfield, IL 62799"]
    # inactive locations get nothing, whatever their contacts.
    assert not comms.filter(location=register["inactive"]).exists()
    assert skipped[register["inactive"].pk] == "inactive_location"
    assert skipped[register["nobody"].pk] == "no_contact"
    # not primary still counts when the template does not ask for primary only.
    assert comms.filter(location=register["not_primary"]).count() == 1


def test_one_notice_per_contact_even_with_two_roles(register, superuser):
    template = factories.notice_template(contact_roles=["owner", "tenant"])
    batch, _ = run(make_batch(superuser, template), superuser)
    rows = Communication.objects.filter(batch=batch, location=register["two_roles"])
    assert [(r.contact_id, r.role, r.channel) for r in rows] == [
        (register["two_roles_contact"].pk, "owner", "email")
    ]


def test_primary_only_and_email_only_skip_reasons(register, superuser):
    template = factories.notice_template(
        contact_roles=["owner"],
        primary_only=True,
        contact_methods="email",
        first_available_only=False,
    )
    batch, _ = run(make_batch(superuser, template), superuser)
    skipped = dict(SkippedRecipient.objects.filter(batch=batch).values_list("location", "reason"))
    assert skipped[register["not_primary"].pk] == "no_contact"
    assert skipped[register["paper"].pk] == "no_email"
    assert skipped[register["no_email"].pk] == "no_email"


def test_only_the_working_list_is_generated(register, superuser):
    template = factories.notice_template(contact_roles=["owner", "tenant"])
    some = data.all_assemblies().filter(location__in=[register["paper"], register["two_roles"]])
    batch, _ = run(make_batch(superuser, template, some), superuser)
    assert set(Communication.objects.filter(batch=batch).values_list("location", flat=True)) == {
        register["paper"].pk,
        register["two_roles"].pk,
    }


def _queries_to_generate(user, template, locations: int) -> int:
    for _ in range(locations):
        loc = factories.location()
        factories.assembly(loc)
        factories.assembly(loc)
        factories.role(loc, factories.contact(), "owner")
    assemblies = data.all_assemblies().filter(batch_memberships__isnull=True)
    batch = start_generation(make_batch(user, template, assemblies).pk, user=user)
    with CaptureQueriesContext(connection) as queries:
        generation.generate(batch.pk, batch.task_token)
    assert Communication.objects.filter(batch=batch).count() == locations
    return len(queries)


def test_a_handful_of_queries_whatever_the_size(superuser):
    """The same statements for 10 and for 120 locations (one chunk each): nothing per row."""
    template = factories.notice_template(contact_roles=["owner"])
    small = _queries_to_generate(superuser, template, 10)
    large = _queries_to_generate(superuser, template, 120)
    assert small == large
    # lock, bounds, progress, insert, progress, skipped, counts, finish, log (+ savepoints)
    assert large <= 30


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner statistics")
def test_generation_refreshes_the_planner_s_statistics_of_the_columns_it_queries(
    register, superuser
):
    """After the bulk insert the planner knows the new rows: the row count (written in place,
    so any earlier run's figure is replaced) and the key columns' statistics."""
    table = Communication._meta.db_table
    batch, _ = run(
        make_batch(superuser, factories.notice_template(**RULES["several_roles_both"])), superuser
    )
    made = Communication.objects.filter(batch=batch).count()
    assert made > 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
        assert cursor.fetchone()[0] == made
        cursor.execute("SELECT attname FROM pg_stats WHERE tablename = %s", [table])
        analysed = {row[0] for row in cursor.fetchall()}
    assert set(generation.STATISTICS_COLUMNS) <= analysed


def test_running_twice_and_regenerating_give_the_same_rows(register, chunked, superuser):
    template = factories.notice_template(contact_roles=["owner", "tenant"], grouping="assembly")
    batch, _ = run(make_batch(superuser, template), superuser)
    first = data.actual(batch)
    token = batch.task_token

    # django-q2 delivering the same task again: the batch is Generated, nothing happens.
    assert "nothing done" in generation.generate(batch.pk, token)
    assert data.actual(batch) == first

    # Every chunk's insert again: the unique constraints and ON CONFLICT add nothing.
    rules = contact_rules.ContactRules.for_batch(batch)
    bounds, _total = generation_sql.chunk_bounds(batch.pk, 7)
    for index, lo in enumerate(bounds):
        hi = bounds[index + 1] if index + 1 < len(bounds) else None
        assert generation_sql.insert_chunk(batch.pk, rules, lo, hi) == 0

    # Regenerate (nothing sent): the same rows again, the log says what was removed.
    batch, _ = run(batch, superuser)
    assert data.actual(batch) == first
    entry = ModelLogEntry.objects.get(action="wagtail_batchcomms.regenerate", object_id=batch.pk)
    assert entry.data["removed"] == len(first[0])


def test_crash_after_some_chunks_then_rerun_gives_exact_rows(register, chunked, superuser):
    """A worker dying after two chunks committed: the rerun completes without duplicates."""
    template = factories.notice_template(contact_roles=["owner", "tenant", "property_manager"])
    batch = start_generation(make_batch(superuser, template).pk, user=superuser)
    want = data.expected(batch, template)

    rules = contact_rules.ContactRules.for_batch(batch)
    bounds, _total = generation_sql.chunk_bounds(batch.pk, 7)
    assert len(bounds) > 3
    generation_sql.insert_chunk(batch.pk, rules, bounds[0], bounds[1])
    generation_sql.insert_chunk(batch.pk, rules, bounds[1], bounds[2])
    partial = Communication.objects.filter(batch=batch).count()
    assert 0 < partial < len(want[0])

    generation.generate(batch.pk, batch.task_token)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.GENERATED
    assert data.actual(batch) == want


def test_a_failure_half_way_goes_back_to_open_and_removes_partial_rows(chunked, superuser):
    template = factories.notice_template(contact_roles=["owner"])
    locations = []
    for _ in range(30):
        loc = factories.location()
        factories.assembly(loc)
        factories.role(loc, factories.contact(), "owner")
        locations.append(loc)
    batch = start_generation(make_batch(superuser, template).pk, user=superuser)
    # In the third chunk of seven locations:
    fail_writes(Communication, "INSERT", f"NEW.location_id = {locations[20].pk}")

    with pytest.raises(Exception, match="injected fault"):
        generation.generate(batch.pk, batch.task_token)

    batch.refresh_from_db()
    assert batch.status == BatchStatus.OPEN
    assert "injected fault" in batch.error
    assert not Communication.objects.filter(batch=batch).exists()
    assert not SkippedRecipient.objects.filter(batch=batch).exists()
    entry = ModelLogEntry.objects.get(
        action="wagtail_batchcomms.generation_failed", object_id=batch.pk
    )
    assert "injected fault" in entry.message


def test_a_stale_task_touches_nothing(register, superuser):
    template = factories.notice_template()
    batch = start_generation(make_batch(superuser, template).pk, user=superuser)
    assert "nothing done" in generation.generate(batch.pk, "not-the-token")
    batch.refresh_from_db()
    assert batch.status == BatchStatus.GENERATING
    assert (batch.progress_total, Communication.objects.filter(batch=batch).count()) == (0, 0)
    assert "nothing done" in generation.generate(batch.pk + 1000, batch.task_token)


def test_the_pinned_revision_is_used_not_the_latest(register, superuser):
    template = factories.notice_template(contact_roles=["owner"], contact_methods="both")
    batch = start_generation(make_batch(superuser, template).pk, user=superuser)
    # The editor publishes a letters-only version while the batch is generating.
    template.contact_methods = "letter"
    template.first_available_only = False
    template.save_revision().publish()

    generation.generate(batch.pk, batch.task_token)
    assert Communication.objects.filter(batch=batch, channel="email").exists()


def test_preview_uses_the_current_live_revision(register, superuser):
    template = factories.notice_template(contact_roles=["owner"])
    batch = make_batch(superuser, template)
    template.contact_methods = "letter"
    template.first_available_only = False
    template.save_revision().publish()
    preview = preview_generation(batch)
    assert preview.emails == 0 and preview.letters > 0
    assert preview.assemblies == batch.assembly_count


def test_preview_without_a_published_template_counts_the_working_list(register, superuser):
    batch = make_batch(superuser, None)
    preview = preview_generation(batch)
    assert preview.assemblies == batch.assembly_count > 0
    assert (preview.emails, preview.letters, preview.skipped) == (0, 0, {})
