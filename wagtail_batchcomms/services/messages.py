"""Building the email message of one communication (headers, parts, copies, attachment)."""

from __future__ import annotations

import secrets
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.utils import DNS_NAME

from ..conf import batchcomms_settings
from ..models import Batch, Communication, NoticeTemplate

#: Header naming the batch and communication a message belongs to (for bounces, support).
COMMUNICATION_HEADER = "X-Batchcomms-Communication"


def one_line(value: str) -> str:
    """Headers cannot hold line breaks; a subject template might produce some."""
    return " ".join(value.split())


class MessageBuilder:
    """Builds ``EmailMultiAlternatives`` for communications; caches per-batch template facts.

    The copies (CC/BCC) and the attachment flag come from the batch's PINNED template
    revision, like the text, so editing the template after generation changes nothing.
    """

    def __init__(self) -> None:
        self.from_email = batchcomms_settings.FROM_EMAIL or settings.DEFAULT_FROM_EMAIL
        self.reply_to = batchcomms_settings.REPLY_TO
        self.domain = (
            batchcomms_settings.MESSAGE_ID_DOMAIN
            or parseaddr(self.from_email)[1].rpartition("@")[2]
            or DNS_NAME.get_fqdn()
        )
        self._templates: dict[int, NoticeTemplate | None] = {}

    def new_message_id(self, communication: Communication) -> str:
        """``<batchcomms.{batch}.{communication}.{random}@{domain}>``; fixed at the first claim.

        The random part keeps ids unique across databases that reuse primary keys.
        """
        return (
            f"<batchcomms.{communication.batch_id}.{communication.pk}."
            f"{secrets.token_hex(6)}@{self.domain}>"
        )

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
            cc=template.cc_list if template else [],
            bcc=template.bcc_list if template else [],
            reply_to=[self.reply_to] if self.reply_to else [],
            headers={
                "Message-ID": communication.message_id,
                COMMUNICATION_HEADER: f"{communication.batch_id}.{communication.pk}",
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
    return f"notice-{communication.batch_id}-{communication.pk}.pdf"
