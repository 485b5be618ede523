"""Handing one email to the mail server (or provider) and saying exactly what happened to it.

One transport per kind of Django email backend, chosen from the host's ``EMAIL_BACKEND``
(``mailer.transport_for``):

- ``smtp``: Django's SMTP backend, with the SMTP transaction run here to tell "try again"
  from "delivery unknown" (the send-once promise);
- ``esp``: django-anymail's backends (an optional dependency): the provider's message id
  and every recipient's status, a provider's refusal failed with its reason;
- ``backend``: any other backend (``send_messages``, its exceptions classified).

``Mailer`` (``mailer``) wraps the chosen transport with one open connection, reconnection
and a rate limit; ``base`` holds what they share. Every transport answers with a
``Delivery``: ``SENT``, ``FAILED`` (refused: not taken), ``UNKNOWN`` (may have been taken:
never re-sent automatically) or ``RETRY`` (cannot have been taken).
"""

from .base import Delivery, Outcome, Prepared, Transport
from .mailer import Mailer, transport_for
from .smtp import message_bytes

__all__ = [
    "Delivery",
    "Mailer",
    "Outcome",
    "Prepared",
    "Transport",
    "message_bytes",
    "transport_for",
]
