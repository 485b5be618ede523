"""A refused batch action says the real reason (nothing to do, a failed condition, the
permission), not just the batch's state; and a refusal changes and logs nothing."""

from __future__ import annotations

import pytest
from batch_admin_data import build_register, generate, make_batch, org_admin
from django.urls import reverse
from wagtail.models import ModelLogEntry

from wagtail_batchcomms.batches import actions as batch_actions
from wagtail_batchcomms.emails import sending
from wagtail_batchcomms.exceptions import SendingError
from wagtail_batchcomms.jobs import worker_id
from wagtail_batchcomms.letters import downloads
from wagtail_batchcomms.models import BatchStatus, Channel, Communication, CommunicationStatus

pytestmark = pytest.mark.django_db
NS = "wagtail_batchcomms_batch"


@pytest.fixture
def admin(db):
    build_register()
    return org_admin()


@pytest.fixture
def web(client, admin):
    client.force_login(admin)
    return client


def refusal(web, batch, action: str, method: str) -> str:
    """The one error message a refused GET or POST shows, back on the batch page."""
    response = getattr(web, method)(reverse(f"{NS}:{action}", args=[batch.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse(f"{NS}:detail", args=[batch.pk])
    [message] = list(response.context["messages"])
    assert message.level_tag == "error"
    return str(message).strip()


def history(batch) -> list[tuple[str, object]]:
    return list(ModelLogEntry.objects.for_instance(batch).values_list("action", "timestamp"))


def test_nothing_left_to_deliver_is_the_reason_given(web, admin):
    """A Partially sent batch whose emails all went and whose letters were mailed: retry,
    send, download letters and mark mailed are each refused with what is missing."""
    batch = generate(make_batch(admin), admin)
    emails = Communication.objects.filter(batch=batch, channel=Channel.EMAIL)
    assert emails.exists() and Communication.objects.filter(channel=Channel.LETTER).exists()
    result = sending.send_pending_emails(batch.pk, worker_id())  # locmem backend
    assert result.sent == emails.count() and not result.failed
    assert downloads.mark_letters_mailed(batch.pk, user=admin)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.PARTIALLY_SENT
    before = history(batch)

    expected = {
        "retry": "No emails failed, so there is nothing to retry.",
        "send": "No emails are waiting to be sent.",
        "download_letters": "No letters are waiting to be printed.",
        "mark_mailed": "No letters are waiting to be printed.",
    }
    for action, reason in expected.items():
        assert action not in batch_actions.allowed_actions(batch, admin)
        assert batch_actions.refusal_reason(batch, admin, action) == reason
        for method in ("get", "post"):
            message = refusal(web, batch, action, method)
            assert message.endswith(reason), (action, method, message)
            assert "Partially sent" not in message, (action, method, message)
    assert history(batch) == before  # nothing logged
    assert (
        not Communication.objects.filter(batch=batch)
        .exclude(status=CommunicationStatus.SENT)
        .exists()
    )

    # The service refuses too (a request that got past the page), logging nothing.
    with pytest.raises(SendingError, match="No emails are waiting to be sent"):
        sending.start_sending(batch.pk, user=admin)
    with pytest.raises(SendingError, match="nothing to retry"):
        sending.start_sending(batch.pk, user=admin, retry_failed=True)
    assert history(batch) == before


def test_retry_is_offered_once_an_email_failed(web, admin):
    batch = generate(make_batch(admin), admin)
    assert "retry" not in batch_actions.allowed_actions(batch, admin)
    failed = Communication.objects.filter(batch=batch, channel=Channel.EMAIL).first()
    Communication.objects.filter(pk=failed.pk).update(status=CommunicationStatus.FAILED)
    assert "retry" in batch_actions.allowed_actions(batch, admin)
    assert batch_actions.refusal_reason(batch, admin, "retry") is None
    Communication.objects.filter(pk=failed.pk).update(status=CommunicationStatus.UNKNOWN)
    assert "retry" in batch_actions.allowed_actions(batch, admin)


def test_a_failed_condition_and_a_missing_permission_are_the_reasons_given(web, admin):
    import factories

    batch = make_batch(admin)
    batch.due_date = None
    batch.save()
    message = refusal(web, batch, "generate", "post")
    assert message.endswith("Set a due date."), message
    viewer = factories.user("viewer", perms=["wagtail_batchcomms.view_batch"])
    assert (
        batch_actions.refusal_reason(batch, viewer, "clone")
        == "You do not have permission to clone batches."
    )
