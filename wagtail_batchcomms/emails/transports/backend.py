"""The transport for any other Django email backend (locmem, console, file, an API backend
without anymail): ``send_messages([message])``, the answer classified from what it raised.

- returns 0: the backend chose not to send it (``FAILED``);
- an SMTP refusal with a code, or an HTTP error response 4xx from a provider's API
  (``requests``' ``HTTPError``, whose ``response`` says it): ``FAILED`` with the code and
  the reason; ``429`` ("too many requests"): ``RETRY``, nothing was taken;
- a connection that could not be made (refused, name not resolved: found anywhere in the
  exception's chain): ``RETRY``, nothing can have left;
- any other network error (``OSError``: reset, timeout, a 5xx answer): ``UNKNOWN``, the
  request may have arrived;
- anything else (``ValueError``, ``TypeError``, ``ImproperlyConfigured``...): raised while
  the backend built the request, before any network I/O: ``FAILED`` with the reason.
"""

from __future__ import annotations

import smtplib
import socket

from .base import Delivery, Outcome, Prepared, Transport

#: Exceptions that mean the connection was never made: nothing can have been sent.
_NOT_CONNECTED: tuple[type[BaseException], ...] = (ConnectionRefusedError, socket.gaierror)
try:  # requests (and so anymail) raise this when the connection cannot even start.
    from requests.exceptions import ConnectTimeout

    _NOT_CONNECTED += (ConnectTimeout,)
except ImportError:  # pragma: no cover - requests is not a dependency of ours
    pass


def _text(response: bytes | str) -> str:
    if isinstance(response, bytes):
        return response.decode("utf-8", "replace")
    return str(response)


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def http_status(error: BaseException) -> int | None:
    """The HTTP status of the provider's answer carried by ``error``, if it has one."""
    status = getattr(error, "status_code", None)
    if status is None:
        status = getattr(getattr(error, "response", None), "status_code", None)
    return status if isinstance(status, int) else None


def never_connected(error: BaseException) -> bool:
    """Whether ``error`` (or any exception it was raised from) says no connection was made."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, _NOT_CONNECTED):
            return True
        pending.extend([current.__cause__, current.__context__])
        # requests and urllib3 keep the underlying error in args / ``reason``.
        pending.extend(arg for arg in current.args if isinstance(arg, BaseException))
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            pending.append(reason)
    return False


def classify(error: Exception, text: str | None = None) -> Delivery:
    """What an exception raised by ``send_messages`` says about the message."""
    text = text if text is not None else describe(error)
    if isinstance(error, smtplib.SMTPResponseException):
        return Delivery(Outcome.FAILED, str(error.smtp_code), _text(error.smtp_error))
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, response = next(iter(error.recipients.values()))
        return Delivery(Outcome.FAILED, str(code), _text(response))
    status = http_status(error)
    if status is not None:
        if status == 429:
            return Delivery(Outcome.RETRY, str(status), f"The provider asked to slow down: {text}")
        if 400 <= status < 500:
            return Delivery(Outcome.FAILED, str(status), text)
        # 5xx (or a success answer that could not be read): the provider may have taken it.
        return Delivery(Outcome.UNKNOWN, str(status), text)
    if isinstance(error, smtplib.SMTPException) and not isinstance(
        error, smtplib.SMTPServerDisconnected
    ):
        return Delivery(Outcome.FAILED, text=text)
    if never_connected(error):
        return Delivery(Outcome.RETRY, text=f"Cannot connect to the mail provider: {text}")
    if isinstance(error, OSError):
        return Delivery(Outcome.UNKNOWN, text=text)
    return Delivery(Outcome.FAILED, text=text)


class BackendTransport(Transport):
    """Any Django email backend, one message per ``send_messages`` call."""

    def send(self, prepared: Prepared) -> Delivery:
        try:
            sent = self.connection.send_messages([prepared.message])
        except Exception as error:
            return classify(error)
        if not sent:
            return Delivery(Outcome.FAILED, text="The email backend did not send the message.")
        return Delivery(Outcome.SENT)
