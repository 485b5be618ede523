"""Building the email message of one communication (headers, parts, copies, attachment)."""

from __future__ import annotations

import logging
import secrets
from email.utils import formataddr, parseaddr

from django.core.mail import EmailMultiAlternatives
from django.core.mail.utils import DNS_NAME
from django.db.models import Case, CharField, F, Value, When
from django.db.models.functions import Cast, Coalesce, Concat

from ..conf import batchcomms_settings, from_email
from ..models import Batch, Communication, NoticeTemplate
from ..notices.copies import Copies, copies_of

logger = logging.getLogger(__name__)

#: Header naming the batch and communication a message belongs to (for bounces, support).
COMMUNICATION_HEADER = "X-Batchcomms-Communication"


def message_id_domain() -> str:
    """MESSAGE_ID_DOMAIN, else the sender address's domain, else this host's name."""
    return (
        batchcomms_settings.MESSAGE_ID_DOMAIN
        or parseaddr(from_email())[1].rpartition("@")[2]
        or DNS_NAME.get_fqdn()
    )


def message_id_expression() -> Case:
    """SQL for a row's stable Message-ID, ``<batchcomms.{batch}.{id}.{random}@{domain}>``
    (``log`` for the batch of a one-time communication), keeping the one a row already has:
    it is fixed at the first claim and reused on retry.

    The batch and row ids make it unique within a database; the random part (one per claim)
    keeps it unique across databases that reuse primary keys.
    """
    tail = f".{secrets.token_hex(6)}@{message_id_domain()}>"
    return Case(
        When(
            message_id="",
            then=Concat(
                Value("<batchcomms."),
                Coalesce(Cast("batch_id", CharField()), Value("log")),
                Value("."),
                Cast("id", CharField()),
                Value(tail),
                output_field=CharField(),
            ),
        ),
        default=F("message_id"),
    )


def one_line(value: str) -> str:
    """Headers cannot hold line breaks; a subject template might produce some."""
    return " ".join(value.split())


class MessageBuilder:
    """Builds ``EmailMultiAlternatives`` for communications; caches per-batch template facts.

    The copies (CC/BCC) and the attachment flag come from the batch's PINNED template
    revision, like the text, so editing the template after generation changes nothing.
    """

    def __init__(self) -> None:
        self.from_email = from_email()
        self.reply_to = batchcomms_settings.REPLY_TO
        self._templates: dict[int, NoticeTemplate | None] = {}
        self._copies: dict[int, Copies] = {}

    def copies_for(self, template: NoticeTemplate | None) -> Copies:
        """The revision's copies that the setting allows now (cached per revision): a
        revision published before COPY_ADDRESS_DOMAINS changed does not copy elsewhere."""
        key = id(template)  # the revisions are held in self._templates for the builder's life
        if key not in self._copies:
            copies = copies_of(template)
            if copies.refused:
                logger.warning(
                    "Not copying notices of template %r to %s: outside COPY_ADDRESS_DOMAINS.",
                    getattr(template, "name", ""),
                    ", ".join(copies.refused),
                )
            self._copies[key] = copies
        return self._copies[key]

    def template_for(self, batch: Batch) -> NoticeTemplate | None:
        """The batch's pinned template revision as a ``NoticeTemplate`` (cached)."""
        revision_id = batch.template_revision_id
        if revision_id not in self._templates:
            revision = batch.template_revision if revision_id else None
            self._templates[revision_id] = revision.as_object() if revision else None
        return self._templates[revision_id]

    def build(
        self,
        communication: Communication,
        *,
        subject: str,
        text: str,
        html: str,
        template: NoticeTemplate | None,
        attachment: bytes | None = None,
        connection=None,
    ) -> EmailMultiAlternatives:
        message = EmailMultiAlternatives(
            subject=one_line(subject),
            body=text,
            from_email=self.from_email,
            to=[formataddr((one_line(communication.recipient_name), communication.email))],
            cc=self.copies_for(template).cc,
            bcc=self.copies_for(template).bcc,
            reply_to=[self.reply_to] if self.reply_to else [],
            headers={
                "Message-ID": communication.message_id,
                COMMUNICATION_HEADER: f"{batch_part(communication)}.{communication.pk}",
                # RFC 3834: an automated notice; out-of-office robots should not answer it.
                "Auto-Submitted": "auto-generated",
            },
            connection=connection,
        )
        message.attach_alternative(html, "text/html")
        if attachment is not None:
            message.attach(attachment_name(communication), attachment, "application/pdf")
        return message


def attachment_name(communication: Communication) -> str:
    """The file name of the letter PDF attached to an email notice."""
    return f"notice-{batch_part(communication)}-{communication.pk}.pdf"


def batch_part(communication: Communication) -> str:
    """The batch's id in names and headers; ``log`` for a one-time communication."""
    return str(communication.batch_id) if communication.batch_id is not None else "log"
