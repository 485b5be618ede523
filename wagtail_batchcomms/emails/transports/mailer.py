"""``Mailer``: the host's email backend behind the transport that suits it, one open
connection, one message at a time, with an optional rate limit."""

from __future__ import annotations

import smtplib
import time

from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend

from .backend import BackendTransport
from .base import Delivery, Outcome, Prepared, Transport
from .smtp import SMTPTransport


def _is_anymail(connection) -> bool:
    # Looked up by module name so that anymail stays optional (and unimported without it).
    return any(
        cls.__module__.startswith("anymail.backends.") and cls.__name__ == "AnymailBaseBackend"
        for cls in type(connection).__mro__
    )


def transport_for(connection) -> Transport:
    """The transport for a Django email backend instance: SMTP (our own transaction),
    anymail (provider ids and statuses) or any other backend."""
    if isinstance(connection, SMTPBackend):
        return SMTPTransport(connection)
    if _is_anymail(connection):
        from .esp import AnymailTransport

        return AnymailTransport(connection)
    return BackendTransport(connection)


class Mailer:
    """One open connection, one message at a time, with an optional rate limit.

    Sending a message one at a time means a refused recipient fails that message alone
    (Django's SMTP backend would abort a whole ``send_messages()`` call). ``rate`` is
    messages per second (0: no limit). Use as a context manager, or call ``close()``.
    """

    def __init__(self, rate: float = 0) -> None:
        self.connection = get_connection()
        self.transport = transport_for(self.connection)
        self.interval = 1.0 / rate if rate else 0.0
        self._next_at = 0.0
        self.reconnects = 0

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- connection --------------------------------------------------------------------

    def open(self) -> None:
        """Open the connection if it is not open; raises OSError/SMTPException on failure."""
        self.transport.open()

    def reset(self) -> None:
        """Forget a broken connection; the next ``send`` opens a new one."""
        self.close()
        self.reconnects += 1

    def close(self) -> None:
        self.transport.close()

    # --- sending -----------------------------------------------------------------------

    def wait_for_rate(self) -> None:
        if not self.interval:
            return
        now = time.monotonic()
        if self._next_at > now:
            time.sleep(self._next_at - now)
            now = self._next_at
        self._next_at = now + self.interval

    def prepare(self, message: EmailMessage) -> Prepared:
        """``message`` ready for the wire (for SMTP its envelope and bytes, built now, on the
        caller's thread). Raises for a message that cannot be built (bad header, address)."""
        return self.transport.prepare(message)

    def send(self, message: EmailMessage | Prepared) -> Delivery:
        """Send ``message`` and classify the result; never raises for mail-server trouble."""
        if isinstance(message, Prepared):
            prepared = message
        else:
            try:
                prepared = self.prepare(message)
            except Exception as error:
                # Bad headers or addresses: nothing was sent, and retrying will not help.
                return Delivery(Outcome.FAILED, text=f"Cannot build the message: {error}")
        self.wait_for_rate()
        try:
            self.open()
        except (OSError, smtplib.SMTPException) as error:
            self.reset()
            return Delivery(Outcome.RETRY, text=f"Cannot connect to the mail server: {error}")
        delivery = self.transport.send(prepared)
        if delivery.connection_lost:
            self.reset()
        return delivery
