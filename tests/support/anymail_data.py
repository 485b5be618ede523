"""Sending through django-anymail in the tests: its test backend (which records the messages
in ``mail.outbox`` and answers with the status a test chooses) and signed tracking webhooks
posted to anymail's real views (``/anymail/<esp>/tracking/`` in testproject.urls)."""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import uuid

from anymail.message import AnymailRecipientStatus
from anymail.signals import pre_send

TEST_BACKEND = "anymail.backends.test.EmailBackend"
WEBHOOK_SECRET = "hooks:s3cret-for-tests"


def use_anymail(settings, backend: str = TEST_BACKEND, **anymail) -> None:
    settings.EMAIL_BACKEND = backend
    settings.ANYMAIL = {"WEBHOOK_SECRET": WEBHOOK_SECRET, **anymail}


@contextlib.contextmanager
def provider_answers(answer):
    """While open, the test backend answers each message with ``answer(message)``: a dict
    ``{address: status}`` (each recipient gets a fresh message id shared by the message), an
    exception to raise (an ``AnymailAPIError``), or None for its default ("sent")."""

    def receiver(sender, message, **kwargs):
        response = answer(message)
        if response is None:
            return
        if isinstance(response, Exception):
            message.anymail_test_response = response
            return
        message_id = f"pm-{uuid.uuid4()}"
        message.anymail_test_response = {
            "recipient_status": {
                address: AnymailRecipientStatus(
                    message_id=None if status in ("rejected", "invalid") else message_id,
                    status=status,
                )
                for address, status in response.items()
            }
        }

    pre_send.connect(receiver, dispatch_uid="batchcomms-tests-provider-answers")
    try:
        yield
    finally:
        pre_send.disconnect(dispatch_uid="batchcomms-tests-provider-answers")


def addresses(message) -> list[str]:
    """The bare addresses of a message's recipients (To, CC, BCC), as anymail keys them."""
    from email.utils import getaddresses

    return [address for _name, address in getaddresses(message.recipients())]


def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def auth_header() -> dict:
    token = base64.b64encode(WEBHOOK_SECRET.encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


def postmark_event(message_id: str, recipient: str, record_type: str = "Bounce", **fields) -> dict:
    """A Postmark tracking webhook payload (their documented shape)."""
    if record_type == "Bounce":
        payload = {
            "RecordType": "Bounce",
            "ID": fields.pop("ID", 4323372036854775807),
            "Type": fields.pop("Type", "HardBounce"),
            "TypeCode": 1,
            "Name": "Hard bounce",
            "Tag": "",
            "MessageID": message_id,
            "Description": "The server was unable to deliver your message (ex: unknown user, "
            "mailbox not found).",
            "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
            "Email": recipient,
            "From": "backflow@utility.example",
            "BouncedAt": fields.pop("BouncedAt", "2026-12-07T09:15:00Z"),
            "Inactive": True,
            "CanActivate": True,
            "Subject": "Backflow test due",
            "ServerID": 23,
            "MessageStream": "outbound",
        }
    elif record_type == "Delivery":
        payload = {
            "RecordType": "Delivery",
            "ServerID": 23,
            "MessageStream": "outbound",
            "MessageID": message_id,
            "Recipient": recipient,
            "Tag": "",
            "DeliveredAt": fields.pop("DeliveredAt", "2026-12-07T09:10:00Z"),
            "Details": "Test delivery webhook details",
            "Metadata": {},
        }
    else:  # SpamComplaint
        payload = {
            "RecordType": "SpamComplaint",
            "ID": fields.pop("ID", 42),
            "Type": "SpamComplaint",
            "MessageID": message_id,
            "Email": recipient,
            "Description": "The subscriber explicitly marked this message as spam.",
            "BouncedAt": fields.pop("BouncedAt", "2026-12-07T10:00:00Z"),
        }
    payload.update(fields)
    return payload


def post_postmark(client, payload: dict, *, signed: bool = True):
    headers = auth_header() if signed else {}
    return client.post(
        "/anymail/postmark/tracking/",
        data=json.dumps(payload),
        content_type="application/json",
        **headers,
    )


MAILGUN_SIGNING_KEY = "mailgun-signing-key-for-tests"


def mailgun_event(message_id: str, recipient: str, event: str = "failed", **fields) -> dict:
    """A Mailgun tracking webhook's JSON body (``event-data`` + its HMAC ``signature`` block,
    signed with ``MAILGUN_SIGNING_KEY``). Mailgun's message-id header has no angle brackets;
    anymail adds them, as in the id its backend records at send time."""
    import hashlib
    import hmac
    import time

    timestamp, token = str(int(time.time())), uuid.uuid4().hex
    signature = hmac.new(
        MAILGUN_SIGNING_KEY.encode(), f"{timestamp}{token}".encode(), hashlib.sha256
    ).hexdigest()
    data = {
        "event": event,
        "id": uuid.uuid4().hex,
        "timestamp": time.time(),
        "recipient": recipient,
        "message": {"headers": {"message-id": message_id.strip("<>")}},
        **fields,
    }
    return {
        "signature": {"timestamp": timestamp, "token": token, "signature": signature},
        "event-data": data,
    }


def post_mailgun(client, payload: dict):
    return client.post(
        "/anymail/mailgun/tracking/",
        data=json.dumps(payload),
        content_type="application/json",
        **auth_header(),
    )
