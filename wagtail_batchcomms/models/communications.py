"""Communications: one notice to one contact, by email or letter, and the questions asked of
many of them (never attempted, counts by channel and status)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .batches import Batch
from .choices import Channel, CommunicationStatus, ContactRole, DeliveryStatus, LogKind
from .register import Assembly, Contact, Location, address_lines


class CommunicationQuerySet(models.QuerySet):
    def never_attempted(self):
        """Notices nothing was ever tried with: pending and never claimed by a send task.

        The only ones closing a batch may remove (see ``batches.closing``). An email is
        attempted when a send task claims it (``attempts`` counts the claims), so a failed or
        delivery-unknown email put back in the queue stays attempted; a letter is attempted
        when it is marked as mailed (sent).
        """
        return self.filter(status=CommunicationStatus.PENDING, attempts=0)

    def counts(self) -> dict[str, dict[str, int]]:
        """``{channel: {status: n}}`` with every channel and status (0 when none), in one
        grouped query."""
        counts = {
            channel: dict.fromkeys(CommunicationStatus.values, 0) for channel in Channel.values
        }
        rows = self.order_by().values_list("channel", "status").annotate(n=models.Count("pk"))
        for channel, status, n in rows:
            counts.setdefault(channel, dict.fromkeys(CommunicationStatus.values, 0))[status] = n
        return counts


class Communication(models.Model):
    """One notice to one contact, by email or letter.

    The recipient's name and address are copied at generation so the record shows where it
    went even if the contact changes later. ``subject``/``body_html``/``body_text`` are filled
    when it is delivered, as the record of what was sent.
    """

    # Empty for a one-time communication recorded with Create Log (``kind`` set).
    batch = models.ForeignKey(
        Batch,
        on_delete=models.CASCADE,
        related_name="communications",
        null=True,
        blank=True,
        db_index=False,  # batchcomms_comm_state leads with it
    )
    location = models.ForeignKey(
        Location,
        on_delete=models.PROTECT,
        related_name="communications",
        verbose_name=_("location"),
        db_index=False,  # batchcomms_comm_location leads with it
    )
    assembly = models.ForeignKey(
        Assembly,
        on_delete=models.PROTECT,
        related_name="communications",
        null=True,
        blank=True,
        verbose_name=_("assembly"),
        help_text=_("Set when the template sends one notice per assembly."),
        db_index=False,  # batchcomms_comm_assembly (partial)
    )
    contact = models.ForeignKey(
        Contact,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="communications",
        verbose_name=_("contact"),
        db_index=False,  # batchcomms_comm_contact leads with it
    )
    role = models.CharField(_("role"), max_length=20, choices=ContactRole.choices, blank=True)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, blank=True)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=CommunicationStatus.choices,
        default=CommunicationStatus.PENDING,
    )

    recipient_name = models.CharField(_("recipient"), max_length=200)
    recipient_organisation = models.CharField(max_length=200, blank=True)
    email = models.EmailField(_("email"), blank=True)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=50, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)

    subject = models.CharField(_("subject"), max_length=500, blank=True)
    body_html = models.TextField(blank=True)
    body_text = models.TextField(blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=255, blank=True)

    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=100, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("For letters: who marked them as mailed."),
        db_index=False,  # partial index below
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    error_code = models.CharField(_("error code"), max_length=20, blank=True)
    error = models.TextField(_("error"), blank=True)

    # Create Log: a one-time communication an admin records (a call, a visit, an email or a
    # letter sent now, a note). ``channel`` is email or letter only for those two kinds.
    kind = models.CharField(_("kind"), max_length=12, choices=LogKind.choices, blank=True)
    occurred_at = models.DateTimeField(_("when"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    outcome = models.CharField(_("outcome"), max_length=200, blank=True)
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("logged by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # partial index below
    )

    # Returned mail: the letter came back undelivered.
    returned_at = models.DateTimeField(_("returned at"), null=True, blank=True)
    returned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("returned marked by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # partial index below
    )

    # What an email provider said (anymail transports and tracking webhooks): its own id for
    # the message, each recipient's status when it took it, and the latest tracking event.
    provider_message_id = models.CharField(_("provider message id"), max_length=255, blank=True)
    # {address: status} for the main recipient and every copy. A JSON field, not a table: it
    # is written once, in the same UPDATE as the send's outcome (``emails.claims``), and only
    # read with its communication; a row per recipient would be an INSERT per message in the
    # send loop for data nobody queries across communications.
    recipient_statuses = models.JSONField(_("recipient statuses"), null=True, blank=True)
    delivery_status = models.CharField(
        _("delivery"), max_length=20, choices=DeliveryStatus.choices, blank=True
    )
    delivery_status_at = models.DateTimeField(_("delivery reported at"), null=True, blank=True)

    objects = CommunicationQuerySet.as_manager()

    class Meta:
        ordering = ["batch", "location", "pk"]
        verbose_name = _("communication")
        verbose_name_plural = _("communications")
        permissions = [
            ("log_communication", _("Can record one-time communications (Create Log)")),
            ("mark_returned_communication", _("Can mark letters as returned mail")),
        ]
        constraints = [
            # Generation is idempotent: re-running it cannot add a second notice. Role is not
            # part of the key: a contact holding two of the template's roles at a location
            # gets one notice per channel, not one per role.
            models.UniqueConstraint(
                fields=["batch", "location", "contact", "channel"],
                condition=Q(assembly__isnull=True),
                name="batchcomms_comm_unique_per_location",
            ),
            models.UniqueConstraint(
                fields=["batch", "assembly", "contact", "channel"],
                condition=Q(assembly__isnull=False),
                name="batchcomms_comm_unique_per_assembly",
            ),
        ]
        # Every index is paid for by every notice generation inserts (100,000 at a time), so
        # each one serves queries no other index serves; those that only concern a few rows
        # (set later, or in a rare status) are partial, and a generated row never enters
        # them. The test tests/batches/test_indexes.py EXPLAINs the queries they serve.
        indexes = [
            # A batch's notices: counts, claims, letters to print, retries, the batch page.
            models.Index(fields=["batch", "channel", "status"], name="batchcomms_comm_state"),
            # A contact's / a location's notices, newest first (their pages, the ladder).
            models.Index(fields=["contact", "-created_at"], name="batchcomms_comm_contact"),
            models.Index(fields=["location", "-created_at"], name="batchcomms_comm_location"),
            # Tracking webhooks look messages up by the provider's id; partial, so that
            # generation's inserts (no id yet) and SMTP sends never touch it.
            models.Index(
                fields=["provider_message_id"],
                condition=~Q(provider_message_id=""),
                name="batchcomms_comm_provider_id",
            ),
            # An assembly's notices (per-assembly grouping and Create Log only).
            models.Index(
                fields=["assembly"],
                condition=Q(assembly__isnull=False),
                name="batchcomms_comm_assembly",
            ),
            # The Communication Log's "Sent" dates.
            models.Index(
                fields=["sent_at"],
                condition=Q(sent_at__isnull=False),
                name="batchcomms_comm_sent_at",
            ),
            # Emails a send task holds: its heartbeat, and the reaper of dead workers' rows.
            models.Index(
                fields=["claimed_by", "claimed_at"],
                condition=Q(status=CommunicationStatus.SENDING),
                name="batchcomms_comm_sending",
            ),
            # Emails needing attention (the dashboard panel, the Log's status filter).
            models.Index(
                fields=["channel", "status"],
                condition=Q(status__in=[CommunicationStatus.FAILED, CommunicationStatus.UNKNOWN]),
                name="batchcomms_comm_problems",
            ),
            # Deleting a user sets these to NULL.
            models.Index(
                fields=["sent_by"],
                condition=Q(sent_by__isnull=False),
                name="batchcomms_comm_sent_by",
            ),
            models.Index(
                fields=["logged_by"],
                condition=Q(logged_by__isnull=False),
                name="batchcomms_comm_logged_by",
            ),
            models.Index(
                fields=["returned_by"],
                condition=Q(returned_by__isnull=False),
                name="batchcomms_comm_returned_by",
            ),
        ]

    def __str__(self) -> str:
        if not self.channel:  # a call, visit or note recorded with Create Log
            return f"{self.get_kind_display()} with {self.recipient_name}"
        return f"{self.get_channel_display()} to {self.recipient_name}"

    @property
    def address_lines(self) -> list[str]:
        return address_lines(
            self.address_line1, self.address_line2, self.city, self.state, self.postal_code
        )

    @property
    def needs_attention(self) -> bool:
        """Failed, or delivery unknown: an admin has to look at it."""
        return self.status in (CommunicationStatus.FAILED, CommunicationStatus.UNKNOWN)

    @property
    def answer_is_previous(self) -> bool:
        """The ``error``/``error_code`` shown belong to an earlier attempt: the email was put
        back in the queue (or is being sent again), and the next outcome overwrites them."""
        return bool(self.error or self.error_code) and self.status in (
            CommunicationStatus.PENDING,
            CommunicationStatus.SENDING,
        )

    def answer_text(self) -> str:
        """``error`` as exports show it: marked as the last attempt's while requeued."""
        if self.answer_is_previous:
            return _("Last attempt: %(answer)s") % {"answer": self.error}
        return self.error

    @property
    def status_classname(self) -> str:
        """The status tag's class: Wagtail's primary (stand-out) tag for ``needs_attention``."""
        return "w-status--primary" if self.needs_attention else ""


class DeliveryEvent(models.Model):
    """One event a provider reported about a sent email (anymail's tracking signal): appended,
    never changed, so the send record and every later report stay side by side.

    ``fingerprint`` makes a repeated webhook (providers retry) a no-op: the provider's event
    id when it gives one, else the event's type, recipient and time.
    """

    communication = models.ForeignKey(
        Communication, on_delete=models.CASCADE, related_name="delivery_events"
    )
    event_type = models.CharField(_("event"), max_length=20)
    raw_event_type = models.CharField(_("provider's event type"), max_length=100, blank=True)
    recipient = models.CharField(_("recipient"), max_length=254, blank=True)
    occurred_at = models.DateTimeField(_("when"), null=True, blank=True)
    reject_reason = models.CharField(_("reason"), max_length=20, blank=True)
    description = models.TextField(_("description"), blank=True)
    mta_response = models.TextField(_("mail server's answer"), blank=True)
    event_id = models.CharField(_("provider's event id"), max_length=255, blank=True)
    esp_name = models.CharField(_("provider"), max_length=50, blank=True)
    fingerprint = models.CharField(max_length=64)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)

    class Meta:
        ordering = ["communication", "occurred_at", "pk"]
        verbose_name = _("delivery event")
        verbose_name_plural = _("delivery events")
        constraints = [
            models.UniqueConstraint(
                fields=["communication", "fingerprint"], name="batchcomms_delivery_event_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.recipient}"

    @property
    def label(self) -> str:
        try:
            return DeliveryStatus(self.event_type).label
        except ValueError:
            return self.event_type.capitalize()
