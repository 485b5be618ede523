"""The letter PDF of a one-time communication ("letter now"): made once through the same
letter pipeline as a batch's letters (``letters.rendering.render_letters``: the letterhead,
the print stylesheet, the URL fetcher), kept in the private letter storage, read back only
through the permission-checked download view."""

from __future__ import annotations

import io
import logging

from django.core.files.base import ContentFile
from wagtail.log_actions import log

from .. import history
from ..exceptions import RenderError
from ..jobs import enqueue
from ..letters.downloads import user_can_send_letters
from ..letters.rendering import render_letters
from ..models import Channel, Communication, CommunicationStatus
from ..permissions import user_can
from ..storage import letter_storage

logger = logging.getLogger(__name__)


LETTER_TASK = "wagtail_batchcomms.tasks.make_one_time_letter"


def queue_log_letter(communication_id: int) -> None:
    """Queue the making of the letter's PDF once the transaction commits.

    A task, not the request: the first letter a process renders pays WeasyPrint's import
    (about 2 s measured; a warm process renders one letter in about 0.13 s), too slow for a
    form's response. The log's page shows "being prepared" until the file exists.
    """
    enqueue(
        LETTER_TASK, communication_id, name=f"Letter of one-time communication {communication_id}"
    )


def run_letter_task(communication_id: int) -> str:
    """The task's body: make the PDF; a letter that cannot render is marked failed with the
    reason (shown on its page), since no worker would ever get further with it."""
    try:
        pages = make_log_letter(communication_id)
    except RenderError as error:
        Communication.objects.filter(
            pk=communication_id, status=CommunicationStatus.PENDING
        ).update(status=CommunicationStatus.FAILED, error=str(error))
        return f"failed: {error}"
    return f"{pages} pages" if pages else "already made"


def letter_file_name(communication_id: int) -> str:
    """Where the PDF of one-time letter ``communication_id`` is kept in the letter storage."""
    return f"one-time/letter-{communication_id}.pdf"


def user_can_download_log_letter(user) -> bool:
    """Who may download a one-time letter: whoever may download a batch's letters
    (``send_batch`` + ``view_batch``), and whoever may record one-time communications
    (they made it)."""
    return bool(user and user.is_active) and (
        user_can_send_letters(user) or user_can(user, "log", Communication)
    )


def make_log_letter(communication_id: int, *, user=None) -> int:
    """Render the one-time letter's PDF into the letter storage; return its pages.

    Idempotent: a letter whose file exists is not rendered again (0). Raises ``RenderError``
    when the letter cannot render (the row then has no file and its page says so).
    """
    communication = Communication.objects.select_related("batch", "location").get(
        pk=communication_id, batch__isnull=True, channel=Channel.LETTER
    )
    storage = letter_storage()
    name = letter_file_name(communication.pk)
    if storage.exists(name):
        return 0
    buffer = io.BytesIO()
    pages = render_letters([communication], buffer)
    saved = storage.save(name, ContentFile(buffer.getvalue()))
    if saved != name:  # a concurrent render got there first: keep one file
        storage.delete(saved)
    log(communication, history.LOG_LETTER_MADE, user=user, data={"pages": pages})
    return pages


def has_log_letter(communication: Communication) -> bool:
    return communication.kind == "letter" and letter_storage().exists(
        letter_file_name(communication.pk)
    )
