"""What providers report after taking an email (django-anymail's ``tracking`` signal, fed by
its webhook views): delivered, deferred, bounced, complained, rejected.

``record_tracking_event`` finds the communication by the provider's message id (kept by the
anymail transport when it sent it) and:

- appends a ``DeliveryEvent`` (never changes the send record: status, sent_at, the answer at
  send time stay as they were); a repeated webhook adds nothing (``fingerprint``);
- keeps the latest delivery event on the communication (``delivery_status``), for the
  Communication Log's tag and filter; an event older than the one shown does not replace it;
- a hard bounce of the main recipient (``bounced`` for good, or ``rejected`` as an invalid or
  bounced address) flags the contact's email (``Contact.email_bounced_since``) when the
  contact still has that address: generation then sends a letter where the template allows
  one, else skips the contact ("Email address bounced"). Editing the email, or "Clear flag",
  clears it (``clear_email_flag``).

An event for a message id we never sent (another app's email, a test from the provider's
dashboard) is ignored. ``connect_tracking`` (from ``apps.ready``) connects the receiver when
anymail is installed.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.log_actions import log

from .. import history
from ..exceptions import SendingError
from ..models import Channel, Communication, Contact, DeliveryEvent, DeliveryStatus
from ..permissions import user_can
from ..register.contact_flags import EMAIL, clear_flag

logger = logging.getLogger(__name__)

#: Reasons that make a "rejected" event permanent: the address itself is bad.
PERMANENT_REASONS = frozenset({"invalid", "bounced"})
#: Events that go in the communication's history (the rest are only listed on its page).
LOGGED_EVENTS = frozenset({"bounced", "complained", "rejected", "failed"})


@dataclass(frozen=True)
class TrackedEvent:
    """The parts of an anymail ``AnymailTrackingEvent`` we keep (plain data, so that callers
    and tests need not build anymail's class)."""

    event_type: str
    message_id: str
    recipient: str = ""
    timestamp: datetime | None = None
    event_id: str = ""
    reject_reason: str = ""
    description: str = ""
    mta_response: str = ""
    raw_event_type: str = ""
    esp_name: str = ""

    @classmethod
    def from_anymail(cls, event, esp_name: str = "") -> TrackedEvent:
        return cls(
            event_type=str(event.event_type or ""),
            message_id=str(event.message_id or ""),
            recipient=str(event.recipient or ""),
            timestamp=event.timestamp,
            event_id=str(event.event_id or ""),
            reject_reason=str(event.reject_reason or ""),
            description=str(event.description or ""),
            mta_response=str(event.mta_response or ""),
            raw_event_type=raw_event_type(event.esp_event),
            esp_name=esp_name or "",
        )

    @property
    def fingerprint(self) -> str:
        if self.event_id:
            key = f"{self.esp_name}|id|{self.event_id}|{self.event_type}"
        else:
            when = self.timestamp.isoformat() if self.timestamp else ""
            key = "|".join(
                [self.esp_name, self.event_type, self.raw_event_type, self.recipient.lower(), when]
            )
        return hashlib.sha256(key.encode()).hexdigest()

    @property
    def hard_bounce(self) -> bool:
        """The address is unusable for good (not a soft bounce, a block or a complaint)."""
        if "soft" in self.raw_event_type.lower() or "transient" in self.raw_event_type.lower():
            return False  # providers that map soft bounces to "bounced" (Postmark)
        if self.event_type == "bounced":
            return self.reject_reason in ("", *PERMANENT_REASONS)
        return self.event_type == "rejected" and self.reject_reason in PERMANENT_REASONS


def raw_event_type(esp_event) -> str:
    """The provider's own name for the event (and its sub-type), e.g. "Bounce/HardBounce"."""
    if not isinstance(esp_event, dict):
        return ""
    data = esp_event.get("event-data", esp_event)  # Mailgun nests it
    if not isinstance(data, dict):
        return ""
    names = [
        str(data[key])
        for key in ("RecordType", "eventType", "notificationType", "event", "Type", "type")
        if isinstance(data.get(key), str | int)
    ]
    bounce = data.get("bounce")
    if isinstance(bounce, dict) and bounce.get("bounceType"):  # SES
        names.append(str(bounce["bounceType"]))
    return "/".join(dict.fromkeys(names))[:100]


def record_tracking_event(event: TrackedEvent) -> DeliveryEvent | None:
    """Record one provider event; returns the new ``DeliveryEvent``, or None when it was
    already recorded or names no email of ours. Safe to call again with the same event."""
    if not event.message_id or not event.event_type:
        return None
    communication = (
        Communication.objects.filter(provider_message_id=event.message_id, channel=Channel.EMAIL)
        .select_related("contact")
        .order_by("pk")
        .first()
    )
    if communication is None:
        logger.info("tracking event %s for unknown message %s", event.event_type, event.message_id)
        return None
    when = event.timestamp or timezone.now()
    main = bool(event.recipient) and event.recipient.lower() == communication.email.lower()
    with transaction.atomic():
        try:
            with transaction.atomic():  # a savepoint: the duplicate's error stays inside
                recorded = DeliveryEvent.objects.create(
                    communication=communication,
                    event_type=event.event_type[:20],
                    raw_event_type=event.raw_event_type,
                    recipient=event.recipient[:254],
                    occurred_at=event.timestamp,
                    reject_reason=event.reject_reason[:20],
                    description=event.description,
                    mta_response=event.mta_response,
                    event_id=event.event_id[:255],
                    esp_name=event.esp_name[:50],
                    fingerprint=event.fingerprint,
                )
        except IntegrityError:
            return None  # the provider sent it again
        if event.event_type in DeliveryStatus.values and (main or not event.recipient):
            Communication.objects.filter(pk=communication.pk).filter(
                Q(delivery_status_at__isnull=True) | Q(delivery_status_at__lte=when)
            ).update(delivery_status=event.event_type, delivery_status_at=when)
        if event.event_type in LOGGED_EVENTS:
            log(communication, history.DELIVERY_EVENT, data=_log_data(event))
        if main and event.hard_bounce and communication.contact_id:
            _flag_contact(communication, event, when)
    return recorded


def _log_data(event: TrackedEvent) -> dict:
    return {
        "event": event.event_type,
        "recipient": event.recipient,
        "reason": event.reject_reason,
        "description": (event.description or event.mta_response)[:500],
    }


def _flag_contact(communication: Communication, event: TrackedEvent, when: datetime) -> None:
    """Flag the contact's email, if it is still the address that bounced (an admin may have
    corrected it since) and not flagged yet (the first bounce's date stays)."""
    flagged = Contact.objects.filter(
        pk=communication.contact_id,
        email__iexact=event.recipient,
        email_bounced_since__isnull=True,
    ).update(email_bounced_since=when)
    if flagged:
        contact = Contact.objects.get(pk=communication.contact_id)
        log(
            contact,
            history.EMAIL_FLAGGED,
            data={**_log_data(event), "communication": communication.pk},
        )


def clear_email_flag(contact_id: int, *, user, by: str = "admin") -> bool:
    """Clear a contact's bounced-email flag; returns whether it was set. Needs "change" on
    contacts. ``by="email edited"`` when an edit of the email cleared it."""
    if not user_can(user, "change", Contact):
        raise SendingError(_("You do not have permission to change contacts."))
    return clear_flag(EMAIL, contact_id, user=user, by=by)


def _on_tracking(sender, event, esp_name="", **kwargs) -> None:
    record_tracking_event(TrackedEvent.from_anymail(event, esp_name))


def connect_tracking() -> bool:
    """Connect the receiver to anymail's ``tracking`` signal; False when anymail is absent."""
    try:
        from anymail.signals import tracking
    except ImportError:
        return False
    tracking.connect(_on_tracking, dispatch_uid="wagtail_batchcomms_tracking")
    return True
