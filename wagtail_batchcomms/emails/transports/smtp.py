"""The SMTP transport: Django's SMTP backend, with the SMTP transaction run here, on the
backend's open ``smtplib`` connection, to know how far it got:

- before the message body was handed over (connect, MAIL, RCPT, DATA command) a lost
  connection means the server cannot have accepted the message: ``Outcome.RETRY``;
- after the body and its final dot were sent, while waiting for the reply, a lost connection
  means the server may have queued it: ``Outcome.UNKNOWN`` (never re-sent automatically);
- a refusal with a code (5xx/4xx on MAIL, RCPT of the main recipient, DATA): ``Outcome.FAILED``
  with the code and text. A refused CC/BCC address does not stop the message; it is noted.
  ``421`` ("closing the channel") on a command is treated as a lost connection.

That distinction is the send-once promise: only RETRY goes back to the queue by itself.
"""

from __future__ import annotations

import contextlib
import io
import re
import secrets
import smtplib
from email.generator import BytesGenerator
from email.policy import compat32

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.message import sanitize_address

from .base import Delivery, Outcome, Prepared, Transport

#: Used when the host leaves EMAIL_TIMEOUT unset: a hung server must not hang a worker.
DEFAULT_TIMEOUT = 30
_LEADING_DOT = re.compile(rb"(?m)^\.")
_CRLF = b"\r\n"


class _FastCompat32(type(compat32)):
    """Django's messages use the ``compat32`` policy, whose folding wraps every header in an
    ``email.header.Header`` to encode it; a short ASCII header encodes to itself, so it is
    written as is (the same bytes in a quarter of the time, for a dozen headers a message)."""

    def _fold(self, name: str, value, sanitize: bool) -> str:
        if (
            isinstance(value, str)
            and value.isascii()
            and "\r" not in value
            and "\n" not in value
            and len(name) + 2 + len(value) <= (self.max_line_length or 78)
        ):
            return f"{name}: {value}{self.linesep}"
        return super()._fold(name, value, sanitize)


_FAST_COMPAT32 = _FastCompat32()


def message_bytes(mime) -> bytes:
    """``mime.as_bytes(linesep="\\r\\n")`` (what Django's SMTP backend sends) for the
    ``message()`` of a Django ``EmailMessage``, faster."""
    for part in mime.walk():
        if part.is_multipart() and part.get_boundary() is None:
            # The generator would draw one and compile a regular expression to check the
            # body does not contain it; 128 random bits cannot collide with a notice.
            part.set_boundary(f"==============={secrets.token_hex(16)}==")
    buffer = io.BytesIO()
    BytesGenerator(buffer, mangle_from_=False, policy=_FAST_COMPAT32).flatten(mime, linesep="\r\n")
    return buffer.getvalue()


class _Lost(Exception):
    """The connection dropped; ``accepted_possible`` says whether the body had been sent."""

    def __init__(self, error: BaseException, accepted_possible: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.accepted_possible = accepted_possible


def _text(response: bytes | str) -> str:
    if isinstance(response, bytes):
        return response.decode("utf-8", "replace")
    return str(response)


class SMTPTransport(Transport):
    """Django's SMTP backend, one SMTP transaction per message on its open connection."""

    def __init__(self, connection) -> None:
        super().__init__(connection)
        if self.connection.timeout is None:
            self.connection.timeout = DEFAULT_TIMEOUT
        self._sanitized: dict[tuple[str, str], str] = {}

    def open(self) -> None:
        if self.connection.connection is None:
            self.connection.open()

    def close(self) -> None:
        super().close()
        self.connection.connection = None

    def prepare(self, message: EmailMessage) -> Prepared:
        """The message with its envelope and bytes, built now (on the caller's thread)."""
        return Prepared(message, self._envelope(message))

    def send(self, prepared: Prepared) -> Delivery:
        envelope = prepared.envelope
        if envelope is None:
            envelope = self._envelope(prepared.message)
        try:
            note = self._smtp_transaction(*envelope)
        except _Lost as lost:
            if lost.accepted_possible:
                return Delivery(
                    Outcome.UNKNOWN,
                    text=f"The connection was lost after the message was handed over: {lost.error}",
                )
            return Delivery(Outcome.RETRY, text=f"The connection was lost: {lost.error}")
        except smtplib.SMTPResponseException as error:
            return Delivery(Outcome.FAILED, str(error.smtp_code), _text(error.smtp_error))
        except smtplib.SMTPRecipientsRefused as error:
            code, response = next(iter(error.recipients.values()))
            return Delivery(Outcome.FAILED, str(code), _text(response))
        return Delivery(Outcome.SENT, text=note)

    def _envelope(self, message: EmailMessage) -> tuple[str, list[str], list[str], bytes]:
        """Sender, main recipients, copies and the message bytes, as Django's SMTP backend
        makes them."""
        encoding = message.encoding or settings.DEFAULT_CHARSET
        main = [sanitize_address(address, encoding) for address in message.to]
        copies = [self._sanitize(address, encoding) for address in [*message.cc, *message.bcc]]
        sender = self._sanitize(message.from_email, encoding)
        return sender, main, copies, message_bytes(message.message())

    def _sanitize(self, address: str, encoding: str) -> str:
        """``sanitize_address`` for addresses every message repeats (sender, fixed copies)."""
        key = (address, encoding)
        if key not in self._sanitized:
            self._sanitized[key] = sanitize_address(address, encoding)
        return self._sanitized[key]

    def _smtp_transaction(
        self, sender: str, main: list[str], copies: list[str], data: bytes
    ) -> str:
        """One SMTP transaction on the open connection, as ``smtplib.SMTP.sendmail`` does it
        but knowing whether the body was handed over when the connection fails.

        Returns a note about refused CC/BCC addresses ("" when none).
        """
        smtp = self.connection.connection
        try:
            smtp.ehlo_or_helo_if_needed()
            options = [f"size={len(data)}"] if smtp.does_esmtp and smtp.has_extn("size") else []
            code, response = smtp.mail(sender, options)
            self._check(smtp, code, response, 250)
            refused_copies = {}
            for address in main + copies:
                code, response = smtp.rcpt(address)
                if code == 421:
                    raise smtplib.SMTPServerDisconnected(_text(response))
                if code not in (250, 251):
                    if address in main:
                        # The notice's own recipient: nobody gets a copy of a notice that
                        # did not reach its addressee.
                        self._rset(smtp)
                        raise smtplib.SMTPRecipientsRefused({address: (code, response)})
                    refused_copies[address] = (code, _text(response))
            code, response = smtp.docmd("data")
            self._check(smtp, code, response, 354)
            body = _LEADING_DOT.sub(b"..", data)
            if not body.endswith(_CRLF):
                body += _CRLF
            smtp.send(body + b"." + _CRLF)
        except smtplib.SMTPServerDisconnected as error:
            raise _Lost(error, accepted_possible=False) from error
        except smtplib.SMTPException:
            raise  # an answer from the server (SMTPException is an OSError too)
        except OSError as error:
            raise _Lost(error, accepted_possible=False) from error
        try:
            # From here on the server has the whole message and may have queued it.
            code, response = smtp.getreply()
        except smtplib.SMTPServerDisconnected as error:
            raise _Lost(error, accepted_possible=True) from error
        except smtplib.SMTPException:
            raise
        except OSError as error:
            raise _Lost(error, accepted_possible=True) from error
        if code == 421:
            # "Closing the channel" in answer to the data: not accepted; try again later.
            raise _Lost(smtplib.SMTPServerDisconnected(_text(response)), accepted_possible=False)
        if code != 250:
            self._rset(smtp)
            raise smtplib.SMTPDataError(code, response)
        return "; ".join(
            f"copy to {address} refused: {code} {text}"
            for address, (code, text) in refused_copies.items()
        )

    def _check(self, smtp: smtplib.SMTP, code: int, response: bytes, expected: int) -> None:
        if code == expected:
            return
        if code == 421 or code == -1:
            raise smtplib.SMTPServerDisconnected(_text(response))
        self._rset(smtp)
        raise smtplib.SMTPResponseException(code, response)

    @staticmethod
    def _rset(smtp: smtplib.SMTP) -> None:
        with contextlib.suppress(smtplib.SMTPServerDisconnected):
            smtp.rset()
