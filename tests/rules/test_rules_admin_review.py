"""Automatic runs in the admin (listing, run page, Run now) and the review of a batch held
for review: Release emails (permission, double click, state), Send refused while it waits."""

from __future__ import annotations

import factories
import pytest
from django.urls import reverse
from django_q.models import OrmQ
from rules_admin_data import communication_type, due_locations
from wagtail.models import ModelLogEntry

from wagtail_batchcomms import history
from wagtail_batchcomms.batches.actions import allowed_actions, refusal_reason
from wagtail_batchcomms.batches.review import release_reviewed
from wagtail_batchcomms.emails.sending import start_sending
from wagtail_batchcomms.exceptions import BatchActionError, SendingError
from wagtail_batchcomms.models import Batch, BatchStatus, RuleRun, RunMode
from wagtail_batchcomms.rules.preview import preview_type
from wagtail_batchcomms.rules.runs import run_automatic_notices

pytestmark = pytest.mark.django_db

REVIEW = "wagtail_batchcomms.review_rulerun"
VIEW_RUNS = "wagtail_batchcomms.view_rulerun"


def held_batch(n: int = 2, letters: int = 1) -> Batch:
    """A real run's batch of a hold-for-review type: ``n`` emails and ``letters`` letters."""
    ctype = communication_type(name="First notice", mode=RunMode.REVIEW, active=True)
    due_locations(n, due_in=10)
    due_locations(letters, due_in=10, email=False)
    run_automatic_notices(user=factories.user("runner"))
    return Batch.objects.get(communication_type=ctype)


def reviewer(name: str = "reviewer", *extra: str):
    return factories.user(name, perms=[factories.ADMIN_ACCESS, REVIEW, *extra])


def test_preview_counts_equal_a_real_runs():
    ctype = communication_type(name="First notice", mode=RunMode.REVIEW, active=True)
    due_locations(3, due_in=10)
    due_locations(2, due_in=12, email=False)
    due_locations(1, due_in=90)
    preview = preview_type(ctype)
    run = run_automatic_notices(user=factories.user("runner"))
    result = run.results.get(communication_type=ctype)
    assert (result.assemblies, result.emails, result.letters) == (
        preview.assemblies,
        preview.emails,
        preview.letters,
    )
    assert result.skipped == preview.skipped
    assert preview.assemblies == 5


def test_runs_listing_and_run_page(admin_client):
    batch = held_batch()
    run = batch.rule_run
    listing = admin_client.get(reverse("wagtail_batchcomms_rulerun:index"))
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "Finished" in html and "runner" in html
    assert "3 assemblies: 2 emails, 1 letter" in html
    assert "Run now" in html

    page = admin_client.get(run.get_admin_url())
    assert page.status_code == 200
    html = page.content.decode()
    assert "First notice" in html and batch.name in html
    assert "Awaiting review" in html
    assert page.context["results"][0]["emails_sent"] == 0

    # "Emails sent" is counted live: the send task goes on after the run has finished.
    sent = batch.communications.filter(channel="email").first()
    batch.communications.filter(pk=sent.pk).update(status="sent")
    page = admin_client.get(run.get_admin_url())
    assert page.context["results"][0]["emails_sent"] == 1


def test_run_now_needs_the_review_permission_and_queues_a_run(
    client, django_capture_on_commit_callbacks
):
    looker = factories.user("looker", perms=[factories.ADMIN_ACCESS, VIEW_RUNS])
    client.force_login(looker)
    listing = client.get(reverse("wagtail_batchcomms_rulerun:index"))
    assert listing.status_code == 200 and "Run now" not in listing.content.decode()
    refused = client.post(reverse("wagtail_batchcomms_rulerun:run_now"))
    assert refused.status_code == 302 and refused.url == "/admin/"
    assert not OrmQ.objects.exists()

    client.force_login(reviewer())
    page = client.get(reverse("wagtail_batchcomms_rulerun:run_now"))
    assert page.status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("wagtail_batchcomms_rulerun:run_now"))
    assert response.status_code == 302
    assert OrmQ.objects.count() == 1


def test_release_sends_held_emails_once(client, django_capture_on_commit_callbacks):
    batch = held_batch()
    assert batch.awaiting_review and batch.status == BatchStatus.GENERATED
    user = reviewer()
    client.force_login(user)
    page = client.get(reverse("wagtail_batchcomms_batch:detail", args=[batch.pk]))
    html = page.content.decode()
    assert "data-awaiting-review" in html and "Release emails" in html
    assert "First notice" in html and "run of" in html

    url = reverse("wagtail_batchcomms_batch:release", args=[batch.pk])
    assert client.get(url).status_code == 200
    queued_before = OrmQ.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url)
    assert response.status_code == 302
    batch.refresh_from_db()
    assert not batch.awaiting_review and batch.reviewed_by == user and batch.reviewed_at
    assert OrmQ.objects.count() == queued_before + 1
    assert ModelLogEntry.objects.filter(action=history.RELEASE, object_id=str(batch.pk)).exists()

    # A double click: the second POST is refused with the reason, nothing queued again.
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(url, follow=True)
    text = " ".join(str(m) for m in again.context["messages"])
    assert "not awaiting review" in text
    assert OrmQ.objects.count() == queued_before + 1
    with pytest.raises(BatchActionError, match="not awaiting review"):
        release_reviewed(batch.pk, user=user)


def test_release_refused_without_permission():
    batch = held_batch()
    sender = factories.user(
        "sender", perms=[factories.ADMIN_ACCESS, "wagtail_batchcomms.send_batch"]
    )
    assert "release" not in allowed_actions(batch, sender)
    assert "permission" in refusal_reason(batch, sender, "release")
    with pytest.raises(BatchActionError, match="permission"):
        release_reviewed(batch.pk, user=sender)
    batch.refresh_from_db()
    assert batch.awaiting_review


def test_release_refused_when_not_awaiting_review():
    batch = held_batch()
    Batch.objects.filter(pk=batch.pk).update(awaiting_review=False)
    batch.refresh_from_db()
    user = reviewer()
    assert "not awaiting review" in refusal_reason(batch, user, "release")


def test_send_is_refused_while_awaiting_review(admin_client):
    batch = held_batch()
    admin = factories.user("boss", superuser=True)
    reason = refusal_reason(batch, admin, "send")
    assert reason and "awaiting review" in reason
    assert "send" not in allowed_actions(batch, admin)
    with pytest.raises(SendingError, match="awaiting review"):
        start_sending(batch.pk, user=admin)
    response = admin_client.post(
        reverse("wagtail_batchcomms_batch:send", args=[batch.pk]), follow=True
    )
    assert "awaiting review" in " ".join(str(m) for m in response.context["messages"])


def test_archive_rejects_the_days_list_and_keeps_it():
    batch = held_batch()
    admin = factories.user("boss", superuser=True)
    assert "archive" in allowed_actions(batch, admin)
    notices = batch.communications.count()
    from wagtail_batchcomms.batches.lifecycle import archive_batch

    archive_batch(batch.pk, user=admin)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.ARCHIVED
    assert RuleRun.objects.filter(pk=batch.rule_run_id).exists()
    # Nothing attempted is deleted (the unsent notices are removed by archiving, as for any
    # batch; the claims stay so the assemblies are not notified again this cycle).
    assert batch.claims.count() == 3
    assert notices >= 3
