"""Sending through django-anymail: its test backend (the real anymail backend machinery, with
the provider's answer chosen per message) and its real Postmark backend against a closed
port. The provider's message id and every recipient's status are kept; a refusal fails that
message with its reason and never stops the task; network trouble is RETRY / UNKNOWN."""

from __future__ import annotations

import pytest
import requests
from anymail.exceptions import AnymailAPIError, AnymailRequestsAPIError
from anymail_data import addresses, closed_port, provider_answers, use_anymail
from django.core import mail
from sending_data import email_batch, email_template, emails

from wagtail_batchcomms.emails.sending import send_pending_emails
from wagtail_batchcomms.emails.transports import Mailer, Outcome
from wagtail_batchcomms.emails.transports.esp import AnymailTransport
from wagtail_batchcomms.jobs import worker_id
from wagtail_batchcomms.models import CommunicationStatus

pytestmark = pytest.mark.django_db


def send(batch):
    return send_pending_emails(batch.pk, worker_id())


def http_error(status: int, body: bytes, reason: str) -> AnymailRequestsAPIError:
    """What anymail raises for a provider's error answer (a real ``requests.Response``)."""
    response = requests.Response()
    response.status_code = status
    response.reason = reason
    response._content = body
    return AnymailRequestsAPIError("Postmark API response error", response=response)


def test_the_anymail_backend_gets_the_anymail_transport(settings):
    use_anymail(settings)
    with Mailer() as mailer:
        assert isinstance(mailer.transport, AnymailTransport)


def test_sent_keeps_the_providers_id_and_every_recipients_status(settings):
    use_anymail(settings)
    template = email_template(cc="office@utility.example", bcc="archive@utility.example")
    batch = email_batch(3, template=template)

    def answer(message):
        to, *copies = addresses(message)
        # The provider queues the notice and refuses one copy: the notice is sent, noted.
        return {to: "queued", copies[0]: "sent", copies[1]: "rejected"}

    with provider_answers(answer):
        result = send(batch)

    assert (result.sent, result.failed, result.stopped) == (3, 0, "done")
    for row in emails(batch):
        assert row.status == CommunicationStatus.SENT
        assert row.provider_message_id.startswith("pm-")
        assert row.recipient_statuses == {
            row.email: "queued",
            "office@utility.example": "sent",
            "archive@utility.example": "rejected",
        }
        assert "copy to archive@utility.example refused: rejected" in row.error
    ids = {row.provider_message_id for row in emails(batch)}
    assert len(ids) == 3
    assert len(mail.outbox) == 3


def test_the_test_backends_default_answer_is_sent_with_its_id(settings):
    use_anymail(settings)
    batch = email_batch(2)
    send(batch)
    rows = list(emails(batch))
    assert [r.status for r in rows] == [CommunicationStatus.SENT] * 2
    assert sorted(r.provider_message_id for r in rows) == ["0", "1"]
    assert rows[0].recipient_statuses == {rows[0].email: "sent"}


def test_rejected_or_invalid_main_recipient_fails_with_the_reason_and_does_not_stop(settings):
    use_anymail(settings)
    batch = email_batch(6)
    refused = {"1@customers.example": "rejected", "2@customers.example": "invalid"}
    refused |= {f"{n}@customers.example": "rejected" for n in (3, 4, 5)}

    def answer(message):
        (to,) = addresses(message)
        return {to: refused.get(to, "sent")}

    with provider_answers(answer):
        result = send(batch)

    # Five refusals in a row are answers, not lost connections: the sixth is still sent.
    assert (result.sent, result.failed, result.unknown, result.stopped) == (1, 5, 0, "done")
    by_email = {row.email: row for row in emails(batch)}
    first = by_email["1@customers.example"]
    assert first.status == CommunicationStatus.FAILED
    assert first.error_code == "rejected"
    assert first.error == "Test refused the address 1@customers.example: rejected."
    assert by_email["2@customers.example"].error_code == "invalid"
    assert by_email["6@customers.example"].status == CommunicationStatus.SENT
    # Nothing sent twice, nothing left claimed.
    assert len(mail.outbox) == 6


def test_api_4xx_fails_with_the_providers_reason_and_does_not_stop(settings):
    use_anymail(settings)
    batch = email_batch(4)
    body = (
        b'{"ErrorCode": 406, "Message": "You tried to send to a recipient that has been '
        b'marked as inactive."}'
    )

    with provider_answers(lambda message: http_error(422, body, "Unprocessable Entity")):
        result = send(batch)

    assert (result.failed, result.unknown, result.stopped) == (4, 0, "done")
    row = emails(batch).first()
    assert row.status == CommunicationStatus.FAILED
    assert row.error_code == "422"
    assert "marked as inactive" in row.error
    assert "API response 422" in row.error


def test_an_unauthorised_api_key_fails_every_message_with_the_reason(settings):
    use_anymail(settings)
    batch = email_batch(2)
    body = b'{"ErrorCode": 10, "Message": "The Server Token you provided was invalid."}'
    with provider_answers(lambda message: http_error(401, body, "Unauthorized")):
        result = send(batch)
    assert (result.failed, result.stopped) == (2, "done")
    assert all("Server Token you provided was invalid" in r.error for r in emails(batch))


def test_api_5xx_is_delivery_unknown_and_three_stop_the_task(settings):
    use_anymail(settings)
    batch = email_batch(5)
    with provider_answers(lambda message: http_error(503, b"upstream down", "Unavailable")):
        result = send(batch)
    assert result.stopped == "connection"
    assert result.unknown == 3
    counts = {s: emails(batch).filter(status=s).count() for s in ("unknown", "pending")}
    assert counts == {"unknown": 3, "pending": 2}  # the rest were never attempted
    assert emails(batch).filter(status="unknown").first().error_code == "503"


def test_api_error_without_an_answer_is_delivery_unknown(settings):
    use_anymail(settings)
    batch = email_batch(1)
    # What anymail raises when the request fails on the way (no status from the provider).
    with provider_answers(lambda message: AnymailAPIError("Error posting to the API: timeout")):
        result = send(batch)
    assert result.unknown == 1
    assert emails(batch).get().status == CommunicationStatus.UNKNOWN


def test_429_goes_back_to_the_queue(settings):
    use_anymail(settings)
    batch = email_batch(1)
    too_many = http_error(429, b"{}", "Too Many Requests")
    with provider_answers(lambda message: too_many), Mailer() as mailer:
        delivery = mailer.send(mail.EmailMessage("s", "b", to=["a@customers.example"]))
    assert delivery.outcome == Outcome.RETRY
    assert delivery.code == "429"
    assert emails(batch).get().status == CommunicationStatus.PENDING


def test_provider_unreachable_is_retry_and_stops_after_three(settings):
    # anymail's real Postmark backend, its API on a port where nothing listens.
    use_anymail(
        settings,
        "anymail.backends.postmark.EmailBackend",
        POSTMARK_SERVER_TOKEN="test-token",
        POSTMARK_API_URL=f"http://127.0.0.1:{closed_port()}/",
    )
    batch = email_batch(4)
    result = send(batch)
    assert result.stopped == "connection"
    assert result.sent == result.failed == result.unknown == 0
    # Nothing can have left: every row is back in the queue, with the reason.
    assert list(emails(batch).values_list("status", flat=True)) == ["pending"] * 4
    assert "Cannot connect to the mail provider" in emails(batch).first().error


def test_invalid_address_is_failed_before_any_request(settings):
    use_anymail(settings)
    with Mailer() as mailer:
        delivery = mailer.send(mail.EmailMessage("s", "b", to=["not an address@@"]))
    assert delivery.outcome == Outcome.FAILED
    assert "Invalid" in delivery.text or "invalid" in delivery.text
    assert mail.outbox == []


# --- any other Django backend: what its exceptions say -----------------------------------


def _refused() -> requests.ConnectionError:
    """What requests raises when nothing listens (the real chain, from a real attempt)."""
    try:
        requests.post(f"http://127.0.0.1:{closed_port()}/", timeout=5)
    except requests.ConnectionError as error:
        return error
    raise AssertionError("the port answered")


def _http_error(status: int) -> requests.HTTPError:
    response = requests.Response()
    response.status_code = status
    response.reason = "Reason"
    response._content = b"provider says no"
    return requests.HTTPError(f"{status} Client Error", response=response)


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (ValueError("bad header"), Outcome.FAILED),  # raised building the request
        (TypeError("not serialisable"), Outcome.FAILED),
        (_http_error(400), Outcome.FAILED),
        (_http_error(401), Outcome.FAILED),
        (_http_error(429), Outcome.RETRY),
        (_http_error(502), Outcome.UNKNOWN),
        (ConnectionResetError("reset by peer"), Outcome.UNKNOWN),
        (TimeoutError("read timed out"), Outcome.UNKNOWN),
    ],
)
def test_generic_backend_exceptions(error, outcome):
    from wagtail_batchcomms.emails.transports.backend import classify

    assert classify(error).outcome == outcome


def test_generic_backend_connection_refused_is_retry():
    from wagtail_batchcomms.emails.transports.backend import classify

    delivery = classify(_refused())
    assert delivery.outcome == Outcome.RETRY
    assert "Cannot connect" in delivery.text
