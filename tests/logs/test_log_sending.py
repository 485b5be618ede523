"""Create Log's "email now" through real django-q2 workers and a real SMTP server: queued on
commit by the request, sent exactly once by the batch sender's claim and send loop however
often the task runs, a refused recipient recorded as failed with the server's answer, shown
on the page with a retry that sends it once."""

from __future__ import annotations

import logs_data
import pytest
from batch_admin_data import org_admin
from django.urls import reverse
from django_q.models import Success
from wagtail.models import ModelLogEntry
from workers import wait_until

from wagtail_batchcomms import history
from wagtail_batchcomms.emails.sending import send_one_time_email
from wagtail_batchcomms.models import Communication, CommunicationStatus

SEND_ONE = "wagtail_batchcomms.tasks.send_one_time_email"

pytestmark = pytest.mark.slow


def log_email(client, site, **values) -> Communication:
    response = client.post(
        reverse("wagtail_batchcomms_logs:create", args=["assembly", site.assembly.pk]),
        logs_data.form_data(
            site,
            kind="email",
            send_now="on",
            subject="About your test",
            body="Please call.",
            **values,
        ),
    )
    assert response.status_code == 302, response.context and response.context["form"].errors
    return Communication.objects.latest("pk")


def settled(pk: int) -> bool:
    return Communication.objects.filter(
        pk=pk, status__in=[CommunicationStatus.SENT, CommunicationStatus.FAILED]
    ).exists()


def test_email_now_is_sent_once_by_a_worker_even_when_the_task_runs_again(
    qcluster, smtp_server, client
):
    site = logs_data.site()
    client.force_login(org_admin("logger", extra=["wagtail_batchcomms.log_communication"]))
    cluster = qcluster(smtp_port=smtp_server.port)

    email = log_email(client, site)
    wait_until(lambda: settled(email.pk), clusters=[cluster], message="not sent")
    email.refresh_from_db()
    assert email.status == CommunicationStatus.SENT, email.error
    assert email.attempts == 1 and email.sent_at is not None

    # The task delivered twice more (a broker's redelivery, a second worker): nothing new.
    cluster.async_task(SEND_ONE, email.pk)
    cluster.async_task(SEND_ONE, email.pk)
    # Each finished task is a Success row: the first and the two repeats.
    wait_until(
        lambda: Success.objects.filter(func=SEND_ONE).count() == 3,
        clusters=[cluster],
        message="the repeated tasks did not finish",
    )
    messages = smtp_server.by_recipient(site.owner.email)
    assert len(messages) == 1
    message = messages[0].message
    assert message["Subject"] == "About your test"
    assert message["Message-ID"] == email.message_id
    assert email.message_id.startswith(f"<batchcomms.log.{email.pk}.")
    assert message["X-Batchcomms-Communication"] == f"log.{email.pk}"
    assert "Please call." in message.get_body(("plain",)).get_content()
    email.refresh_from_db()
    assert email.attempts == 1
    outcomes = ModelLogEntry.objects.filter(
        action=history.ONE_TIME_OUTCOME, object_id=str(email.pk)
    )
    assert [entry.data["status"] for entry in outcomes] == ["sent"]


def test_a_refused_recipient_is_failed_with_the_answer_and_retried_once(
    qcluster, smtp_server, client
):
    site = logs_data.site()
    client.force_login(org_admin("logger", extra=["wagtail_batchcomms.log_communication"]))
    smtp_server.configure(refuse={site.owner.email: (550, "5.1.1 No such user here")})
    cluster = qcluster(smtp_port=smtp_server.port)

    email = log_email(client, site)
    wait_until(lambda: settled(email.pk), clusters=[cluster], message="no outcome")
    email.refresh_from_db()
    assert email.status == CommunicationStatus.FAILED
    assert email.error_code.startswith("550") or "550" in email.error
    assert "No such user here" in email.error
    assert smtp_server.by_recipient(site.owner.email) == []

    page = client.get(reverse("wagtail_batchcomms_communication:inspect", args=[email.pk]))
    text = page.content.decode()
    assert "No such user here" in text and "data-retry-form" in text

    smtp_server.configure(refuse={})
    response = client.post(reverse("wagtail_batchcomms_logs:retry", args=[email.pk]))
    assert response.status_code == 302
    wait_until(
        lambda: Communication.objects.filter(pk=email.pk, status=CommunicationStatus.SENT).exists(),
        clusters=[cluster],
        message="the retry was not sent",
    )
    assert len(smtp_server.by_recipient(site.owner.email)) == 1
    email.refresh_from_db()
    assert email.attempts == 2 and email.error == ""
    # A sent email cannot be retried.
    client.post(reverse("wagtail_batchcomms_logs:retry", args=[email.pk]))
    email.refresh_from_db()
    assert email.status == CommunicationStatus.SENT


@pytest.mark.django_db
def test_the_mail_server_down_is_a_failure_with_its_reason_not_a_stuck_email(settings, client):
    """No worker here: the task's body, run in this process, against a closed port."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    site = logs_data.site()
    client.force_login(org_admin("logger", extra=["wagtail_batchcomms.log_communication"]))
    email = log_email(client, site)
    send_one_time_email(email.pk, "test-worker")
    email.refresh_from_db()
    assert email.status == CommunicationStatus.FAILED
    assert email.error
    # Run again: nothing is claimed, nothing changes.
    result = send_one_time_email(email.pk, "test-worker-2")
    assert result.claimed == 0
