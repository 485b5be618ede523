"""The Batch Communications listing, the batch page and its action views.

Batches move through the real services (generation runs in-process); the views are driven
with the Django test client as an org admin (not a superuser) would use them.
"""

from __future__ import annotations

import csv
import datetime
import io
import re

import factories
import pytest
from batch_admin_data import (
    count_queries,
    due_date,
    generate,
    make_batch,
    messages_of,
)
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from wagtail.models import ModelLogEntry

from wagtail_batchcomms.batches import actions as batch_actions
from wagtail_batchcomms.batches import lifecycle
from wagtail_batchcomms.models import (
    Assembly,
    Batch,
    BatchStatus,
    Channel,
    Communication,
    CommunicationStatus,
    LocationContact,
    SkippedRecipient,
)

INDEX = "wagtail_batchcomms_batch:index"


def url(name: str, batch) -> str:
    return reverse(f"wagtail_batchcomms_batch:{name}", args=[batch.pk])


def detail(batch) -> str:
    return url("detail", batch)


def offered_actions(html: str) -> set[str]:
    return set(re.findall(r'data-batch-action="([a-z_]+)"', html))


@pytest.fixture
def open_batch(register, template, admin):
    return make_batch(admin, template, filter_query="hazard=health")


@pytest.fixture
def generated_batch(open_batch, admin):
    return generate(open_batch, admin)


def expected_channels() -> tuple[int, int, int]:
    """Emails, letters and skipped locations for the default template, from the register
    (owners: email if they have one and do not prefer paper, else a letter)."""
    emails = letters = 0
    for loc_contact in LocationContact.objects.select_related("contact").filter(role="owner"):
        if loc_contact.contact.email and not loc_contact.contact.prefers_paper:
            emails += 1
        else:
            letters += 1
    locations_with_owner = LocationContact.objects.filter(role="owner").values("location")
    skipped = (
        Assembly.objects.exclude(location__in=locations_with_owner)
        .values("location")
        .distinct()
        .count()
    )
    return emails, letters, skipped


# --- the listing ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_listing_shows_state_template_and_counts(web, generated_batch, admin):
    emails, letters, _ = expected_channels()
    response = web.get(reverse(INDEX))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Spring notices" in html and "Annual test reminder" in html
    assert "w-status--primary" in html and "Generated" in html
    batch = response.context["object_list"][0]
    assert (batch.assembly_total, batch.email_total, batch.letter_total, batch.sent_total) == (
        Assembly.objects.count(),
        emails,
        letters,
        0,
    )
    assert detail(generated_batch) in html


@pytest.mark.django_db
def test_listing_hides_archived_unless_asked_and_searches_by_name(web, register, template, admin):
    kept = make_batch(admin, template, name="Zone N rule change")
    archived = make_batch(admin, template, name="Old reminder")
    lifecycle.archive_batch(archived.pk, user=admin)

    names = lambda response: {b.name for b in response.context["object_list"]}  # noqa: E731
    assert names(web.get(reverse(INDEX))) == {kept.name}
    assert names(web.get(reverse(INDEX), {"status": "archived"})) == {archived.name}
    assert names(web.get(reverse(INDEX), {"status": ["archived", "open"]})) == {
        kept.name,
        archived.name,
    }
    assert names(web.get(reverse(INDEX), {"q": "zone n"})) == {kept.name}


@pytest.mark.django_db
def test_listing_is_newest_first(web, register, template, admin):
    first = make_batch(admin, template, name="First")
    second = make_batch(admin, template, name="Second")
    listed = list(web.get(reverse(INDEX)).context["object_list"])
    assert listed[:2] == [second, first]


@pytest.mark.django_db
def test_listing_query_count_does_not_grow_with_rows(web, register, template, admin):
    make_batch(admin, template, name="One")
    web.get(reverse(INDEX))  # warm-up: per-process caches
    few, response = count_queries(lambda: web.get(reverse(INDEX)))
    assert response.status_code == 200
    for i in range(12):
        batch = make_batch(admin, template, name=f"Batch {i}")
        if i % 4 == 0:
            generate(batch, admin)
    many, response = count_queries(lambda: web.get(reverse(INDEX)))
    assert len(response.context["object_list"]) == 13
    assert many == few, (few, many)


@pytest.mark.django_db
def test_add_button_leads_to_the_assemblies_listing_with_a_hint(web):
    response = web.get(reverse(INDEX))
    start = reverse("wagtail_batchcomms_batch:start")
    assert f'href="{start}"' in response.content.decode()
    response = web.get(start)
    assert response["Location"] == reverse("wagtailsnippets_wagtail_batchcomms_assembly:list")
    assert "Add To Batch Communication" in messages_of(response)[-1]


# --- the batch page ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_batch_page_of_a_generated_batch(web, generated_batch):
    emails, letters, skipped = expected_channels()
    response = web.get(detail(generated_batch))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Generated" in html and "Annual test reminder" in html
    assert "data-revision-link" in html  # the pinned revision, linked
    assert f"revision {generated_batch.template_revision_id}" in html

    table = response.context["counts_table"]
    by_channel = {row["label"]: row["total"] for row in table["rows"]}
    assert by_channel == {"Email": emails, "Letter": letters}
    assert table["total"] == emails + letters
    assert response.context["skipped"]["total"] == skipped == 1
    assert "No contact with the template" in html
    assert url("skipped_csv", generated_batch) in html
    assert len(response.context["communications"]) == min(10, emails + letters)
    assert url("communications", generated_batch) in html
    assert url("history", generated_batch) in html
    assert "data-batch-progress" not in html


@pytest.mark.django_db
def test_batch_page_query_count_is_bounded(web, register, template, admin):
    small = generate(
        make_batch(admin, template, Assembly.objects.filter(location__account_number="AC-0001")),
        admin,
    )
    web.get(detail(small))  # warm-up: per-process caches
    small_count, _ = count_queries(lambda: web.get(detail(small)))
    large = generate(make_batch(admin, template, name="All"), admin)
    large_count, response = count_queries(lambda: web.get(detail(large)))
    assert response.context["communication_total"] > 10
    assert large_count == small_count, (small_count, large_count)
    assert large_count <= 30, large_count


@pytest.mark.django_db
def test_skipped_csv_lists_location_reason_account_and_address(web, generated_batch):
    response = web.get(url("skipped_csv", generated_batch))
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    skipped = SkippedRecipient.objects.get(batch=generated_batch)
    assert rows[0][:3] == ["Reason", "Reason code", "Account number"]
    assert rows[1][1:3] == ["no_contact", skipped.location.account_number]
    assert rows[1][4] == skipped.location.address
    assert len(rows) == 2

    # Text typed by people never becomes a spreadsheet formula.
    skipped.location.name = '=HYPERLINK("http://evil.example")'
    skipped.location.save()
    rows = list(
        csv.reader(io.StringIO(web.get(url("skipped_csv", generated_batch)).content.decode()))
    )
    assert rows[1][3] == "'" + skipped.location.name


@pytest.mark.django_db
def test_progress_while_generating(web, open_batch, admin):
    batch = lifecycle.start_generation(open_batch.pk, user=admin)
    html = web.get(detail(batch)).content.decode()
    assert "data-batch-progress" in html
    assert url("progress", batch) in html
    assert "batch-progress.js" in html
    data = web.get(url("progress", batch)).json()
    assert data["status"] == "generating" and data["generating"] is True
    assert offered_actions(html) == {"clone"}  # nothing else while it runs


@pytest.mark.django_db
def test_failed_generation_shows_its_error(web, open_batch, admin):
    batch = lifecycle.start_generation(open_batch.pk, user=admin)
    batch.fail_generation("The template could not render: loop too long")
    batch.save()
    html = web.get(detail(batch)).content.decode()
    assert "Generation failed" in html
    assert "loop too long" in html
    assert "generate" in offered_actions(html)


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("open", {"edit", "generate", "clone", "archive", "delete"}),
        (
            "generated",
            {
                "regenerate",
                "send",
                "download_letters",
                "mark_mailed",
                "complete",
                "archive",
                "clone",
            },
        ),
        ("complete", {"archive", "clone"}),
        ("archived", {"clone"}),
    ],
)
@pytest.mark.django_db
def test_buttons_are_the_allowed_actions_of_each_state(web, open_batch, admin, state, expected):
    batch = open_batch
    if state != "open":
        batch = generate(batch, admin)
    if state == "complete":
        batch = lifecycle.complete_batch(batch.pk, user=admin)
    if state == "archived":
        batch = lifecycle.archive_batch(batch.pk, user=admin)
    html = web.get(detail(batch)).content.decode()
    assert offered_actions(html) == expected
    assert set(batch_actions.allowed_actions(batch, admin)) == expected


@pytest.mark.django_db
def test_buttons_follow_the_users_permissions(client, generated_batch):
    sender = factories.user(
        "sender",
        perms=[
            "wagtailadmin.access_admin",
            "wagtail_batchcomms.view_batch",
            "wagtail_batchcomms.send_batch",
        ],
    )
    viewer = factories.user(
        "viewer", perms=["wagtailadmin.access_admin", "wagtail_batchcomms.view_batch"]
    )
    client.force_login(sender)
    assert offered_actions(client.get(detail(generated_batch)).content.decode()) == {
        "send",
        "download_letters",
        "mark_mailed",
    }
    client.force_login(viewer)
    html = client.get(detail(generated_batch)).content.decode()
    assert offered_actions(html) == set()
    assert "History" in html


@pytest.mark.django_db
def test_batch_sub_listings_filter_by_channel_and_status(web, generated_batch):
    emails, letters, _ = expected_channels()
    listing = url("communications", generated_batch)
    response = web.get(listing, {"channel": "letter"})
    assert response.status_code == 200
    rows = list(response.context["object_list"])
    assert len(rows) == letters and {c.channel for c in rows} == {Channel.LETTER}
    response = web.get(listing, {"channel": "email", "status": "pending"})
    assert len(response.context["object_list"]) == emails
    response = web.get(listing, {"status": "sent"})
    assert len(response.context["object_list"]) == 0
    results = reverse("wagtail_batchcomms_batch:communications_results", args=[generated_batch.pk])
    fragment = web.get(results, {"channel": "letter", "_w_filter_fragment": "1"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.content.decode()

    working = web.get(url("assemblies", generated_batch))
    assert working.context["paginator"].count == Assembly.objects.count()
    working = web.get(url("assemblies", generated_batch), {"q": "SN-0003"})
    assert working.context["paginator"].count == 2


@pytest.mark.django_db
def test_the_communications_list_shows_errors_and_finds_the_problem_rows(web, generated_batch):
    """An Error column (code and text, cut short, the whole text in the title attribute) and a
    header button that lists the failed and delivery-unknown notices only."""
    import html as html_module

    emails = list(Communication.objects.filter(batch=generated_batch, channel=Channel.EMAIL))
    refusal = "5.1.1 The email account that you tried to reach does not exist. " * 4
    Communication.objects.filter(pk=emails[0].pk).update(
        status=CommunicationStatus.FAILED, error_code="550", error=refusal
    )
    Communication.objects.filter(pk=emails[1].pk).update(
        status=CommunicationStatus.UNKNOWN, error="The worker stopped before it recorded it."
    )
    Communication.objects.filter(pk=emails[2].pk).update(status=CommunicationStatus.SENT)
    listing = url("communications", generated_batch)

    response = web.get(listing)
    page = response.content.decode()
    assert ">Error<" in page.replace("\n", "").replace(" ", "")
    cell = re.search(r'<span title="([^"]*)"><code>550</code> ([^<]*)</span>', page)
    assert cell, "no error cell with its code"
    assert html_module.unescape(cell[1]) == refusal  # the whole text
    assert len(html_module.unescape(cell[2])) <= 80 and cell[2].endswith("…")
    assert "The worker stopped before it recorded it." in page

    problems = re.search(r'href="([^"]*status=failed[^"]*)"', page)
    assert problems, "no button for the failed and unknown rows"
    response = web.get(html_module.unescape(problems[1]))
    rows = list(response.context["object_list"])
    assert {row.pk for row in rows} == {emails[0].pk, emails[1].pk}

    # The batch page links them too, with their number.
    page = web.get(detail(generated_batch)).content.decode()
    assert "Failed or delivery unknown" in page and 'data-problems-total="2"' in page
    assert "data-problems-link" in page
    assert "<code>550</code>" in page


# --- actions: generate ------------------------------------------------------------------------


@pytest.mark.django_db
def test_generate_confirm_shows_the_dry_run_then_generates(
    web, open_batch, django_capture_on_commit_callbacks
):
    emails, letters, skipped = expected_channels()
    response = web.get(url("generate", open_batch))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-count="emails">{emails}<' in html
    assert f'data-count="letters">{letters}<' in html
    assert f'data-count="skipped">{skipped}<' in html
    assert "No contact with the template" in html
    assert 'name="csrfmiddlewaretoken"' in html

    with django_capture_on_commit_callbacks() as callbacks:
        response = web.post(url("generate", open_batch))
    assert response["Location"] == detail(open_batch)
    assert "Generating" in messages_of(response)[-1]
    open_batch.refresh_from_db()
    assert open_batch.status == BatchStatus.GENERATING
    assert len(callbacks) == 1  # the task, queued on commit

    # A double click: the second POST is refused with a message, nothing queued again.
    with django_capture_on_commit_callbacks() as callbacks:
        response = web.post(url("generate", open_batch))
    assert response.status_code == 302
    assert "already being generated" in messages_of(response)[-1]
    assert callbacks == []


@pytest.mark.django_db
def test_generate_refused_by_condition_with_the_reason(web, register, template, admin):
    batch = make_batch(admin, template, due_date=None)
    response = web.get(url("generate", batch))
    assert response["Location"] == detail(batch)
    assert "Set a due date" in messages_of(response)[-1]
    response = web.post(url("generate", batch))
    assert "Set a due date" in messages_of(response)[-1]
    batch.refresh_from_db()
    assert batch.status == BatchStatus.OPEN


@pytest.mark.django_db
def test_generate_without_the_permission_is_wagtails_permission_denied(client, open_batch):
    clerk = factories.user(
        "clerk",
        perms=[
            "wagtailadmin.access_admin",
            *[f"wagtail_batchcomms.{p}_batch" for p in ("view", "change", "send")],
        ],
    )
    client.force_login(clerk)
    for method in (client.get, client.post):
        response = method(url("generate", open_batch))
        assert response.status_code == 302
        assert response["Location"] == reverse("wagtailadmin_home")
    open_batch.refresh_from_db()
    assert open_batch.status == BatchStatus.OPEN


# --- actions: every URL with a batch in the wrong state ----------------------------------------

ACTION_URLS = [
    "generate",
    "regenerate",
    "complete",
    "archive",
    "send",
    "retry",
    "download_letters",
    "mark_mailed",
    "edit",
    "delete",
]


@pytest.mark.parametrize("action", ACTION_URLS)
@pytest.mark.django_db
def test_wrong_state_in_any_action_url_is_a_message_not_a_500(web, generated_batch, admin, action):
    batch = lifecycle.archive_batch(generated_batch.pk, user=admin)
    before = list(Communication.objects.filter(batch=batch).values_list("pk", "status"))
    for method in (web.get, web.post):
        response = method(url(action, batch))
        assert response.status_code == 302, (action, method)
        assert response["Location"] == detail(batch)
        assert messages_of(response), action
    batch.refresh_from_db()
    assert batch.status == BatchStatus.ARCHIVED
    assert list(Communication.objects.filter(batch=batch).values_list("pk", "status")) == before


@pytest.mark.django_db
def test_unknown_batch_id_is_a_404(web):
    assert web.get(reverse("wagtail_batchcomms_batch:generate", args=[999999])).status_code == 404
    assert web.post(reverse("wagtail_batchcomms_batch:complete", args=[999999])).status_code == 404


# --- actions: closing out, cloning, editing, deleting ------------------------------------------


@pytest.mark.django_db
def test_complete_removes_unsent_and_says_so(web, generated_batch):
    # Nothing was sent yet: every notice was never attempted (the page's wording changed
    # when closing started keeping failed notices; tests/batches/test_record.py has the rest).
    total = Communication.objects.filter(batch=generated_batch).count()
    response = web.get(url("complete", generated_batch))
    assert f"{total} notices that were never attempted will be removed" in (
        response.content.decode()
    )
    response = web.post(url("complete", generated_batch))
    assert response["Location"] == detail(generated_batch)
    assert "complete" in messages_of(response)[-1]
    generated_batch.refresh_from_db()
    assert generated_batch.status == BatchStatus.COMPLETE
    assert not Communication.objects.filter(batch=generated_batch).exists()
    # Double click: refused with the state in the message.
    response = web.post(url("complete", generated_batch))
    assert "Complete" in messages_of(response)[-1]


@pytest.mark.django_db
def test_archive_an_open_batch(web, open_batch):
    response = web.post(url("archive", open_batch))
    assert "archived" in messages_of(response)[-1]
    open_batch.refresh_from_db()
    assert open_batch.status == BatchStatus.ARCHIVED


@pytest.mark.django_db
def test_clone_copies_the_working_list_or_reapplies_the_saved_filter(
    web, register, template, admin
):
    source = make_batch(
        admin,
        template,
        Assembly.objects.filter(hazard="health"),
        name="Health hazards",
        filter_query="hazard=health",
    )
    newcomer = factories.assembly(register["locations"][1], serial_number="NEW-1", hazard="health")

    page = web.get(url("clone", source))
    assert page.status_code == 200
    assert page.context["form"].initial["name"] == "Health hazards (copy)"

    response = web.post(url("clone", source), {"name": "Copied"})
    copied = Batch.objects.get(name="Copied")
    assert response["Location"] == detail(copied)
    assert newcomer.pk not in set(copied.batch_assemblies.values_list("assembly_id", flat=True))

    web.post(url("clone", source), {"name": "Today's", "reapply_filter": "on"})
    today = Batch.objects.get(name="Today's")
    assert set(today.batch_assemblies.values_list("assembly_id", flat=True)) == set(
        Assembly.objects.filter(hazard="health").values_list("pk", flat=True)
    )
    assert today.cloned_from == source and today.status == BatchStatus.OPEN


@pytest.mark.django_db
def test_clone_keeps_a_past_due_date_and_warns(web, register, template, admin):
    """The clone keeps the source's due date; when it has passed, the admin is told at once
    (and the new batch's page says so), since generating refuses a past date."""
    source = make_batch(admin, template, Assembly.objects.all()[:2], name="Last spring")
    past = timezone.localdate() - datetime.timedelta(days=90)
    Batch.objects.filter(pk=source.pk).update(due_date=past)

    response = web.post(url("clone", source), {"name": "This spring"})
    clone = Batch.objects.get(name="This spring")
    assert clone.due_date == past and clone.status == BatchStatus.OPEN
    shown = [(m.level_tag, str(m).strip()) for m in response.wsgi_request._messages]
    assert shown[0][0] == "success"
    assert shown[1] == (
        "warning",
        f"The due date ({date_format(past)}) is in the past: edit the new batch and change it "
        "before generating.",
    )
    page = web.get(detail(clone)).content.decode()
    assert "data-due-date-past" in page and "generate" not in offered_actions(page)

    # A clone of a batch whose date is still ahead gets no warning.
    Batch.objects.filter(pk=source.pk).update(due_date=timezone.localdate())
    response = web.post(url("clone", source), {"name": "Today"})
    assert [m.level_tag for m in response.wsgi_request._messages] == ["success"]
    assert (
        "data-due-date-past"
        not in web.get(detail(Batch.objects.get(name="Today"))).content.decode()
    )


@pytest.mark.django_db
def test_clone_without_a_saved_filter_offers_no_reapply(web, register, template, admin):
    picked = make_batch(admin, template, Assembly.objects.all()[:2], filter_query="")
    page = web.get(url("clone", picked))
    assert "reapply_filter" not in page.context["form"].fields
    assert "its working list is copied" in page.content.decode()
    # Forcing it through the form anyway is refused by the service, not a 500.
    assert (
        "reapply_filter"
        in web.get(url("clone", make_batch(admin, template, filter_query="q=AC")))
        .context["form"]
        .fields
    )


@pytest.mark.django_db
def test_edit_only_while_open(web, open_batch, admin, template):
    page = web.get(url("edit", open_batch))
    assert page.status_code == 200
    draft = factories.notice_template(name="Unpublished draft", publish=False)
    form_html = page.content.decode()
    assert "Unpublished draft" not in form_html
    response = web.post(
        url("edit", open_batch),
        {"name": "Renamed", "template": template.pk, "due_date": due_date(10).isoformat()},
    )
    assert response["Location"] == detail(open_batch)
    open_batch.refresh_from_db()
    assert open_batch.name == "Renamed"
    response = web.post(
        url("edit", open_batch),
        {"name": "Renamed", "template": draft.pk, "due_date": "2001-01-01"},
    )
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"template", "due_date"}

    generate(open_batch, admin)
    response = web.get(url("edit", open_batch))
    assert response["Location"] == detail(open_batch)
    assert "Only an Open batch can be edited" in messages_of(response)[-1]


@pytest.mark.django_db
def test_delete_only_while_open(web, open_batch, admin):
    generated = generate(make_batch(admin, name="Kept"), admin)
    response = web.post(url("delete", generated))
    assert response["Location"] == detail(generated)
    assert Batch.objects.filter(pk=generated.pk).exists()

    assert web.get(url("delete", open_batch)).status_code == 200
    response = web.post(url("delete", open_batch))
    assert response["Location"] == reverse(INDEX)
    assert not Batch.objects.filter(pk=open_batch.pk).exists()


@pytest.mark.django_db
def test_history_lists_what_happened(web, generated_batch, admin):
    lifecycle.complete_batch(generated_batch.pk, user=admin)
    response = web.get(url("history", generated_batch))
    assert response.status_code == 200
    html = response.content.decode()
    for label in ("Created with", "Started generating", "Completed"):
        assert label in html, label
    actions = set(
        ModelLogEntry.objects.for_instance(generated_batch).values_list("action", flat=True)
    )
    assert {"wagtail_batchcomms.create", "wagtail_batchcomms.generate"} <= actions


# --- actions: delivery -------------------------------------------------------------------------


@pytest.mark.django_db
def test_send_confirm_then_queue(web, generated_batch, django_capture_on_commit_callbacks):
    emails, _, _ = expected_channels()
    page = web.get(url("send", generated_batch))
    assert f"{emails} emails will be sent" in page.content.decode()
    with django_capture_on_commit_callbacks() as callbacks:
        response = web.post(url("send", generated_batch))
    assert response["Location"] == detail(generated_batch)
    assert f"{emails} emails" in messages_of(response)[-1]
    assert len(callbacks) == 1
    # The page now shows sending as queued (no worker has claimed anything yet).
    data = web.get(url("progress", generated_batch)).json()
    assert data["sending"] is True and data["emails"]["pending"] == emails


@pytest.mark.django_db
def test_retry_offered_only_for_failed_emails(web, generated_batch, smtp_server):
    from wagtail_batchcomms.emails.sending import send_pending_emails
    from wagtail_batchcomms.jobs import worker_id

    refused = Communication.objects.filter(batch=generated_batch, channel=Channel.EMAIL).first()
    smtp_server.configure(refuse={refused.email: (550, "No such mailbox")})
    assert "retry" not in offered_actions(web.get(detail(generated_batch)).content.decode())

    send_pending_emails(generated_batch.pk, worker_id())
    refused.refresh_from_db()
    assert refused.status == CommunicationStatus.FAILED
    html = web.get(detail(generated_batch)).content.decode()
    assert "retry" in offered_actions(html)

    page = web.get(url("retry", generated_batch))
    assert "Failed emails: 1" in page.content.decode()
    response = web.post(url("retry", generated_batch), {"retry_failed": "on"})
    assert response["Location"] == detail(generated_batch)
    refused.refresh_from_db()
    assert refused.status == CommunicationStatus.PENDING


@pytest.mark.django_db
def test_mark_letters_mailed(web, generated_batch):
    _, letters, _ = expected_channels()
    page = web.get(url("mark_mailed", generated_batch))
    assert f"{letters} unsent letters" in page.content.decode()
    response = web.post(url("mark_mailed", generated_batch))
    assert f"{letters} letters recorded as mailed" in messages_of(response)[-1]
    generated_batch.refresh_from_db()
    assert generated_batch.status == BatchStatus.PARTIALLY_SENT
    assert (
        Communication.objects.filter(
            batch=generated_batch, channel=Channel.LETTER, status=CommunicationStatus.SENT
        ).count()
        == letters
    )
    assert "mark_mailed" not in offered_actions(web.get(detail(generated_batch)).content.decode())
    response = web.post(url("mark_mailed", generated_batch))  # a second click
    assert messages_of(response)[-1].strip().endswith("No letters are waiting to be printed.")
    mailed = ModelLogEntry.objects.for_instance(generated_batch).filter(
        action="wagtail_batchcomms.letters_mailed"
    )
    assert mailed.count() == 1  # the second click logged nothing


@pytest.mark.django_db
def test_request_letters_then_a_second_click_returns_the_same_download(web, generated_batch):
    _, letters, _ = expected_channels()
    page = web.get(url("download_letters", generated_batch))
    assert f"{letters} unsent letters" in page.content.decode()
    web.post(url("download_letters", generated_batch))
    web.post(url("download_letters", generated_batch))
    downloads = list(generated_batch.letter_downloads.all())
    assert len(downloads) == 1 and downloads[0].letter_count == letters
    html = web.get(detail(generated_batch)).content.decode()
    assert "data-letter-downloads" in html
    assert "data-batch-progress" in html  # rendering is under way
    data = web.get(url("progress", generated_batch)).json()
    assert data["downloads"][0]["total"] == letters


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["queued", "rendering"])
def test_download_letters_is_not_offered_while_a_download_is_under_way(
    web, generated_batch, status
):
    """Asking again would only hand back the same download: the header shows its progress,
    not "Download letters"; once it is ready (or failed), the action is back."""
    from wagtail_batchcomms.models import DownloadStatus

    assert "download_letters" in offered_actions(web.get(detail(generated_batch)).content.decode())
    web.post(url("download_letters", generated_batch))
    download = generated_batch.letter_downloads.get()
    generated_batch.letter_downloads.update(status=status)
    html = web.get(detail(generated_batch)).content.decode()
    assert "download_letters" not in offered_actions(html)
    assert "mark_mailed" in offered_actions(html)  # the other letter action is unaffected
    assert "data-batch-progress" in html and f"{download.pk}:{status}" in html
    # Asked for anyway (an old tab): the refusal says why, and no second download is made.
    response = web.post(url("download_letters", generated_batch), follow=True)
    assert any("already being prepared" in m for m in messages_of(response))
    assert generated_batch.letter_downloads.count() == 1
    generated_batch.letter_downloads.update(status=DownloadStatus.FAILED)
    html = web.get(detail(generated_batch)).content.decode()
    assert "download_letters" in offered_actions(html)


@pytest.mark.django_db
def test_letter_downloads_list_ready_then_expired_with_rerequest(web, generated_batch):
    from datetime import timedelta

    from django.utils import timezone

    from wagtail_batchcomms.letters import chunks
    from wagtail_batchcomms.letters import downloads as letters
    from wagtail_batchcomms.models import DownloadStatus

    _, letter_total, _ = expected_channels()
    web.post(url("download_letters", generated_batch))
    download = generated_batch.letter_downloads.get()
    chunks.run_download_here(download.pk)  # the chunk and merge tasks, in-process
    download.refresh_from_db()
    assert download.status == DownloadStatus.READY

    html = web.get(detail(generated_batch)).content.decode()
    row = html.split(f'data-download="{download.pk}"', 1)[1].split("</tr>", 1)[0]
    assert reverse("wagtail_batchcomms_letters:download", args=[download.pk]) in row
    assert f"<td>{letter_total}</td>" in row and f"<td>{download.page_count}</td>" in row
    assert "data-rerequest" not in row
    assert "data-batch-progress" not in html  # nothing rendering any more

    letters.purge_expired_downloads(now=timezone.now() + timedelta(days=30))
    html = web.get(detail(generated_batch)).content.decode()
    row = html.split(f'data-download="{download.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "Expired" in row and "data-download-link" not in row
    rerequest = reverse("wagtail_batchcomms_letters:rerequest", args=[download.pk])
    assert f'action="{rerequest}"' in row

    response = web.post(rerequest)
    assert response["Location"] == detail(generated_batch)
    assert generated_batch.letter_downloads.count() == 2
