"""The transport for django-anymail's backends (SES, Postmark, SendGrid, Mailgun, ...): the
generic one, plus what anymail tells after the send (``message.anymail_status``).

- the provider's message id is kept (``Delivery.provider_message_id``): tracking webhooks
  name the message by it;
- every recipient's status (the main one, CC and BCC) is kept (``Delivery.recipients``);
- the main recipient "rejected" or "invalid": ``FAILED`` with that reason; "queued", "sent",
  "scheduled" (or a status the provider did not give): ``SENT``; a refused copy is noted, as
  the SMTP transport does;
- ``AnymailRecipientsRefused`` (every recipient refused): ``FAILED``, a refusal rather than a
  lost connection, so it never counts towards stopping the send task;
- ``AnymailAPIError`` with a 4xx answer: ``FAILED`` with the provider's reason; 429, network
  errors and 5xx as the generic transport (``RETRY`` / ``UNKNOWN``);
- any other ``AnymailError`` (an invalid address, an unsupported feature) is raised before
  the request is made: ``FAILED``.

anymail is an optional dependency: this module imports it only when the host's backend is
one of its backends (``transports.transport_for``).
"""

from __future__ import annotations

from email.headerregistry import Address
from email.utils import parseaddr

from anymail.exceptions import AnymailAPIError, AnymailError, AnymailRecipientsRefused

from .backend import BackendTransport, classify, describe, http_status
from .base import Delivery, Outcome, Prepared

#: Recipient statuses that mean the provider did not take the message for that address.
REFUSED = frozenset({"rejected", "invalid"})


def main_address(message) -> str:
    """The notice's own recipient (its first To address), lower-cased."""
    if not message.to:
        return ""
    return parseaddr(str(message.to[0]))[1].lower()


def _lower(address: str) -> str:
    try:
        parsed = Address(addr_spec=address)
    except (ValueError, IndexError):
        return address.lower()
    return f"{parsed.username}@{parsed.domain}".lower()


class AnymailTransport(BackendTransport):
    """An anymail backend; reads ``message.anymail_status`` after every send."""

    def send(self, prepared: Prepared) -> Delivery:
        message = prepared.message
        try:
            sent = self.connection.send_messages([message])
        except AnymailRecipientsRefused:
            # anymail set the statuses before refusing: the reasons are there.
            return self.from_status(message)
        except AnymailAPIError as error:
            delivery = classify(error)
            if http_status(error) is None and delivery.outcome == Outcome.FAILED:
                # The API call went wrong without an answer from the provider (or with one
                # that could not be read): it may have taken the message.
                return Delivery(Outcome.UNKNOWN, text=delivery.text)
            return delivery
        except AnymailError as error:
            return Delivery(Outcome.FAILED, text=describe(error))
        except Exception as error:
            return classify(error)
        if not sent:
            return Delivery(
                Outcome.FAILED,
                text="The email backend did not send the message (a pre_send receiver "
                "cancelled it, or it had no recipients).",
            )
        return self.from_status(message)

    def from_status(self, message) -> Delivery:
        """The outcome ``message.anymail_status`` describes."""
        status = getattr(message, "anymail_status", None)
        per_recipient = dict(getattr(status, "recipients", None) or {})
        recipients = {
            _lower(address): str(answer.status or "") for address, answer in per_recipient.items()
        }
        main = main_address(message)
        main_answer = next(
            (answer for address, answer in per_recipient.items() if _lower(address) == main),
            None,
        )
        message_id = (
            main_answer.message_id
            if main_answer is not None
            else getattr(status, "message_id", None)
        )
        provider_id = "" if message_id is None or isinstance(message_id, set) else str(message_id)
        esp = getattr(self.connection, "esp_name", "The provider")
        main_status = recipients.get(main, "")
        if main_status in REFUSED:
            return Delivery(
                Outcome.FAILED,
                main_status,
                f"{esp} refused the address {main}: {main_status}.",
                provider_message_id=provider_id,
                recipients=recipients,
            )
        notes = [
            f"copy to {address} refused: {answer}"
            for address, answer in recipients.items()
            if address != main and answer in REFUSED
        ]
        if main_status in ("", "unknown"):
            notes.insert(0, f"{esp} accepted the request without saying the recipient's status")
        return Delivery(
            Outcome.SENT,
            text="; ".join(notes),
            provider_message_id=provider_id,
            recipients=recipients,
        )
