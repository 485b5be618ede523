"""What every transport shares: the outcome of one message (``Outcome``, ``Delivery``), a
message ready for the wire (``Prepared``) and the interface a transport implements
(``Transport``)."""

from __future__ import annotations

import contextlib
import enum
from dataclasses import dataclass, field

from django.core.mail import EmailMessage


class Outcome(enum.Enum):
    SENT = "sent"
    FAILED = "failed"  # refused with a code or a reason: the server did not take it
    UNKNOWN = "unknown"  # the server may have taken it: never re-send automatically
    RETRY = "retry"  # nothing can have been taken (connection failed, "try later")


@dataclass
class Delivery:
    """What happened to one message.

    ``provider_message_id`` is the provider's own id (API transports that report one); it is
    how tracking webhooks find the message later. ``recipients`` maps each address the
    provider answered for (the main recipient, copies) to its status ("queued", "sent",
    "rejected", ...), as the provider gave it.
    """

    outcome: Outcome
    code: str = ""
    text: str = ""
    provider_message_id: str = ""
    recipients: dict[str, str] = field(default_factory=dict)

    @property
    def connection_lost(self) -> bool:
        """The connection broke (rather than the server answering with a refusal)."""
        return self.outcome in (Outcome.RETRY, Outcome.UNKNOWN)


@dataclass(frozen=True)
class Prepared:
    """A message ready for the wire: ``envelope`` holds the SMTP envelope and bytes (built on
    the caller's thread) for the SMTP transport, None for the others."""

    message: EmailMessage
    envelope: tuple[str, list[str], list[str], bytes] | None = None


class Transport:
    """Hands messages to one Django email backend instance (``connection``).

    Subclasses implement ``send``; it classifies what happened and never raises for
    mail-server or provider trouble (an exception from it is a bug or an unexpected backend
    error, and the caller records the message as "delivery unknown").
    """

    def __init__(self, connection) -> None:
        self.connection = connection

    def open(self) -> None:
        """Open the connection if needed; raises OSError (or SMTPException) on failure."""
        self.connection.open()

    def close(self) -> None:
        # Closing a connection that already broke may raise; there is nothing left to do.
        with contextlib.suppress(Exception):
            self.connection.close()

    def prepare(self, message: EmailMessage) -> Prepared:
        """``message`` ready for ``send``; raises for a message that cannot be built (a bad
        header or address), which is then failed without being attempted. Here: as is (the
        backend builds it)."""
        return Prepared(message)

    def send(self, prepared: Prepared) -> Delivery:
        raise NotImplementedError
