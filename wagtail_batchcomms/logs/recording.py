"""Recording a one-time communication (Create Log), and what follows on its page.

``record_log`` creates ONE Communication without a batch, with ``kind`` set, and:

- phone call, site visit, note, or an email/letter sent outside this app: it happened, so it
  is ``sent`` at its ``occurred_at``;
- "email now": its message is rendered once, now (a published template's live revision for
  this contact/location/assemblies, or free text in the letterhead's layout), kept on the row,
  and the row stays ``pending`` for the one-time send task (``emails.sending``), queued on
  commit: the request never talks to the mail server, and the claim sends it once;
- "letter now": the letter is rendered once and kept the same way; its PDF is made by
  a task (``logs.letters``, queued on commit) and the row is ``pending`` until someone marks
  it mailed.

A double submit of the same form (same ``token``) returns the first one's Communication.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from wagtail.log_actions import log
from wagtail.models import ModelLogEntry

from .. import history
from ..emails.sending import release_one_time_email
from ..exceptions import RenderError
from ..models import (
    Assembly,
    Channel,
    Communication,
    CommunicationStatus,
    Contact,
    Location,
    LocationContact,
    LogKind,
    NoticeTemplate,
)
from ..notices.merge_data import build_merge_data_many, letterhead_data
from ..notices.rendering import render_free_text, render_notice
from ..permissions import user_can
from ..register.last_notice import touch
from .letters import queue_log_letter
from .recipients import mailing_address, recipient_fields

#: The kinds that are a channel of their own (and may be sent now).
CHANNEL_OF_KIND = {LogKind.EMAIL: Channel.EMAIL, LogKind.LETTER: Channel.LETTER}


class LogError(Exception):
    """A one-time communication that cannot be recorded as asked; the message says why
    (``field`` names the form field it belongs to, if any)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class LogRequest:
    """What an admin asks to record (the Create Log form's cleaned data)."""

    kind: str
    contact: Contact
    location: Location
    occurred_at: datetime.datetime
    token: str
    assembly: Assembly | None = None
    subject: str = ""
    notes: str = ""
    outcome: str = ""
    send_now: bool = False  # kinds email and letter only
    template: NoticeTemplate | None = None  # else the free text below
    body: str = ""


def user_can_log(user) -> bool:
    return user_can(user, "log", Communication)


def problem_with(request: LogRequest) -> LogError | None:
    """Why ``request`` cannot be recorded (a ``LogError`` naming the field), or None."""
    if request.assembly is not None and request.assembly.location_id != request.location.pk:
        return LogError(_("This assembly is not at the chosen location."), "assembly")
    if not LocationContact.objects.filter(
        location=request.location, contact=request.contact
    ).exists():
        return LogError(_("This contact has no role at the chosen location."), "contact")
    if not request.send_now:
        return None
    if request.kind == LogKind.EMAIL and not request.contact.email:
        return LogError(
            _("%(name)s has no email address: record the email without sending it, or add one.")
            % {"name": request.contact.name},
            "contact",
        )
    if request.kind == LogKind.EMAIL and request.contact.email_bounced_since:
        return LogError(
            _(
                "%(name)s's email address bounced on %(date)s (the provider reported it as "
                "undeliverable): correct the address or clear the flag on the contact's page, "
                "or record the email without sending it."
            )
            % {
                "name": request.contact.name,
                "date": date_format(timezone.localtime(request.contact.email_bounced_since)),
            },
            "contact",
        )
    if (
        request.kind == LogKind.LETTER
        and mailing_address(request.contact, request.location) is None
    ):
        return LogError(
            _(
                "%(name)s has no usable mailing address (none, or flagged as bad after returned "
                "mail) and the location has no address: a letter cannot be made."
            )
            % {"name": request.contact.name},
            "contact",
        )
    if request.template is None and not request.body.strip():
        return LogError(_("Choose a notice template or write the message."), "body")
    if request.template is None and not request.subject.strip():
        return LogError(_("A message written here needs a subject."), "subject")
    if request.template is not None and not (
        request.template.live and request.template.live_revision_id
    ):
        return LogError(_("This notice template is not published."), "template")
    return None


def record_log(request: LogRequest, *, user) -> tuple[Communication, bool]:
    """Record ``request`` as one Communication; return it and whether this call created it.

    Needs ``log_communication`` (else ``PermissionError``). Raises ``LogError`` for a request
    ``problem_with`` refuses, or whose message cannot render (nothing is then recorded). A
    second call with the same ``token`` (a double submit) creates nothing and returns the
    first Communication: the contact's row is locked while the token is looked up, so two
    concurrent submits are serialised.
    """
    if not user_can_log(user):
        raise PermissionError(_("You do not have permission to record communications."))
    problem = problem_with(request)
    if problem is not None:
        raise problem
    with transaction.atomic():
        Contact.objects.select_for_update().filter(pk=request.contact.pk).first()
        earlier = logged_with_token(request.token)
        if earlier is not None:
            return earlier, False
        communication = _create(request, user)
        log(
            communication,
            history.LOG_RECORDED,
            user=user,
            data={
                "token": request.token,
                "kind": request.kind,
                "kind_label": str(LogKind(request.kind).label),
                "recipient": communication.recipient_name,
                "send_now": communication.channel if request.send_now else "",
            },
        )
        # A call, visit or note (or an email/letter sent elsewhere) is delivered as it is
        # recorded; one sent now counts once the send loop or "mark as mailed" says so.
        touch([communication.pk])
        if request.send_now and request.kind == LogKind.EMAIL:
            release_one_time_email(communication, user=user)
        if request.send_now and request.kind == LogKind.LETTER:
            queue_log_letter(communication.pk)
    return communication, True


def logged_with_token(token: str) -> Communication | None:
    """The Communication an earlier submit of the same form recorded, if any."""
    object_id = (
        ModelLogEntry.objects.filter(
            action=history.LOG_RECORDED,
            content_type=ContentType.objects.get_for_model(Communication),
            data__token=token,
        )
        .values_list("object_id", flat=True)
        .first()
    )
    if object_id is None:
        return None
    return Communication.objects.filter(pk=int(object_id)).first()


def _create(request: LogRequest, user) -> Communication:
    channel = CHANNEL_OF_KIND.get(request.kind, "")
    role = (
        LocationContact.objects.filter(location=request.location, contact=request.contact)
        .order_by("-is_primary", "pk")
        .values_list("role", flat=True)
        .first()
    )
    sent_now = request.send_now and bool(channel)
    communication = Communication.objects.create(
        batch=None,
        kind=request.kind,
        channel=channel,
        location=request.location,
        assembly=request.assembly,
        contact=request.contact,
        role=role or "",
        occurred_at=request.occurred_at,
        subject=request.subject.strip()[:500],
        notes=request.notes,
        outcome=request.outcome,
        logged_by=user,
        status=CommunicationStatus.PENDING if sent_now else CommunicationStatus.SENT,
        sent_at=None if sent_now else request.occurred_at,
        **recipient_fields(request.contact, request.location),
    )
    if sent_now:
        _compose(communication, request)
    return communication


def _compose(communication: Communication, request: LogRequest) -> None:
    """Render the message once and keep it on the row (``notices.rendering.stored_notice``
    reads it back for the sender and the letter pipeline)."""
    letter = communication.channel == Channel.LETTER
    letterhead = letterhead_data()
    data = build_merge_data_many([communication], letterhead=letterhead)[0]
    try:
        if request.template is not None:
            template = request.template.live_revision.as_object()
            notice = render_notice(
                template,
                data,
                letterhead=letterhead,
                letter_id=communication.pk,
                email=not letter,
                letter=letter,
            )
        else:
            notice = render_free_text(
                request.subject,
                request.body,
                data,
                letterhead=letterhead,
                letter_id=communication.pk,
                email=not letter,
                letter=letter,
            )
    except RenderError as error:
        raise LogError(str(error), "template" if request.template else "body") from error
    communication.subject = notice.subject[:500]
    communication.body_html = notice.letter_html_fragment if letter else notice.html
    communication.body_text = notice.text
    communication.save(update_fields=["subject", "body_html", "body_text"])


def mark_log_letter_mailed(communication_id: int, *, user) -> bool:
    """A one-time letter was put in the post: pending -> sent; return whether this call
    moved it. The caller checks the same permission as a batch's "mark as mailed"."""
    with transaction.atomic():
        moved = Communication.objects.filter(
            pk=communication_id,
            batch__isnull=True,
            channel=Channel.LETTER,
            status=CommunicationStatus.PENDING,
        ).update(status=CommunicationStatus.SENT, sent_at=timezone.now(), sent_by=user)
        if moved:
            touch([communication_id])
            log(
                Communication.objects.get(pk=communication_id), history.LOG_LETTER_MAILED, user=user
            )
    return bool(moved)


def retry_log_email(communication_id: int, *, user) -> bool:
    """Queue a failed (or delivery-unknown) one-time email again; return whether queued.

    Needs ``log_communication`` (whoever may send it may retry it)."""
    if not user_can_log(user):
        raise PermissionError(_("You do not have permission to record communications."))
    with transaction.atomic():
        communication = (
            Communication.objects.select_for_update(of=("self",))
            .filter(pk=communication_id, batch__isnull=True, channel=Channel.EMAIL)
            .order_by()  # the model's ordering joins the batch: no FOR UPDATE over it
            .first()
        )
        if communication is None or not communication.needs_attention:
            return False
        return release_one_time_email(communication, user=user, retry=True)
