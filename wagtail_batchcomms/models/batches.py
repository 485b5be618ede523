"""Batch communications: the batch with its state machine, its working list and its notices."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from .assemblies import Assembly, Contact, Location, address_lines
from .choices import (
    BatchStatus,
    Channel,
    CommunicationStatus,
    ContactRole,
    DownloadStatus,
    SkipReason,
)

S = BatchStatus

#: The states in which notices are delivered: emails sent, letters printed and mailed.
DELIVERABLE_STATES = (S.GENERATED, S.PARTIALLY_SENT)


def policy_permission(action: str):
    """A transition's ``permission``: the batch policy's ``action`` (permissions.py), so the
    transitions ask the one policy every view asks, not a codename of their own."""

    def check(instance, user) -> bool:
        from ..permissions import user_can  # the policies exist once the apps are ready

        return user_can(user, action, type(instance))

    check.__name__ = f"can_{action}"
    return check


def _has_live_template(batch: Batch) -> bool:
    template = batch.template
    return bool(template and template.live and template.live_revision_id)


def _has_due_date(batch: Batch) -> bool:
    return batch.due_date is not None


def _has_assemblies(batch: Batch) -> bool:
    return batch.working_list.exists()


def _due_date_not_past(batch: Batch) -> bool:
    # A missing date is _has_due_date's to report; notices must not ask for a past date
    # (a clone keeps its source's date, which may have passed since).
    return batch.due_date is None or batch.due_date >= timezone.localdate()


def _due_date_not_past_for_regeneration(batch: Batch) -> bool:
    # The same rule; its own message, because a Generated batch cannot be edited.
    return _due_date_not_past(batch)


def _nothing_sent(batch: Batch) -> bool:
    # Failed notices never reached anyone, so they do not block a regeneration; a notice
    # being sent, sent, or of unknown delivery does.
    return not batch.communications.exclude(
        status__in=[CommunicationStatus.PENDING, CommunicationStatus.FAILED]
    ).exists()


# Human-readable reasons for the conditions above, shown when a transition is refused.
CONDITION_MESSAGES = {
    _has_live_template: _("Pick a published notice template."),
    _has_due_date: _("Set a due date."),
    _has_assemblies: _("The working list is empty: add assemblies first."),
    _due_date_not_past: _("The due date is in the past: change it before generating."),
    _due_date_not_past_for_regeneration: _(
        "The due date is in the past: clone the batch and give the clone a new due date."
    ),
    _nothing_sent: _("Some notices have already been sent or are being sent."),
}


class Batch(ConcurrentTransitionMixin, models.Model):
    """One batch communication.

    ``status`` is a protected FSM field: only the transition methods below change it, and
    ``ConcurrentTransitionMixin`` refuses a save if another process moved the batch first.
    Call transitions through ``batches.lifecycle``, which checks permissions with
    ``has_transition_perm`` and records the change in the batch's history.
    """

    name = models.CharField(_("name"), max_length=200)
    template = models.ForeignKey(
        "wagtail_batchcomms.NoticeTemplate",
        verbose_name=_("notice template"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="batches",
    )
    template_revision = models.ForeignKey(
        "wagtailcore.Revision",
        verbose_name=_("template revision"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The published revision the notices were generated from."),
    )
    due_date = models.DateField(_("due date"), null=True, blank=True)
    status = FSMField(
        _("status"),
        max_length=20,
        choices=BatchStatus.choices,
        default=S.OPEN,
        protected=True,
        db_index=True,
    )
    filter_query = models.TextField(
        _("filter"),
        blank=True,
        help_text=_("The Assemblies listing's query string this batch was made from."),
    )
    assembly_count = models.PositiveIntegerField(_("assemblies"), default=0)
    error = models.TextField(_("error"), blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    # The task that currently owns the batch's background work; a stale task that finds
    # another id here stops without touching the batch.
    task_token = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    generated_at = models.DateTimeField(_("generated at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    cloned_from = models.ForeignKey(
        "self",
        verbose_name=_("cloned from"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="clones",
    )

    assemblies = models.ManyToManyField(
        Assembly, through="BatchAssembly", related_name="batches", blank=True
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("batch communication")
        verbose_name_plural = _("batch communications")
        permissions = [
            ("generate_batch", _("Can generate batch communications")),
            ("send_batch", _("Can send batch emails and letters")),
            ("complete_batch", _("Can complete batch communications")),
            ("archive_batch", _("Can archive batch communications")),
            ("clone_batch", _("Can clone batch communications")),
        ]

    def __str__(self) -> str:
        return self.name

    def get_admin_url(self) -> str:
        return reverse("wagtail_batchcomms_batch:detail", args=[self.pk])

    @property
    def working_list(self):
        return self.batch_assemblies.all()

    # --- transitions -----------------------------------------------------------------------

    @transition(
        field=status,
        source=S.OPEN,
        target=S.GENERATING,
        conditions=[_has_live_template, _has_due_date, _due_date_not_past, _has_assemblies],
        permission=policy_permission("generate"),
    )
    def generate(self) -> None:
        """Open -> Generating. Pins the template's live revision; the task does the work."""
        self.template_revision_id = self.template.live_revision_id
        self.error = ""
        self.progress_done = 0
        self.progress_total = 0

    @transition(
        field=status,
        source=S.GENERATED,
        target=S.GENERATING,
        conditions=[
            _has_live_template,
            _has_due_date,
            _due_date_not_past_for_regeneration,
            _has_assemblies,
            _nothing_sent,
        ],
        permission=policy_permission("generate"),
    )
    def regenerate(self) -> None:
        """Generated -> Generating while nothing is sent; the task replaces the notices."""
        self.template_revision_id = self.template.live_revision_id
        self.error = ""
        self.progress_done = 0
        self.progress_total = 0

    @transition(field=status, source=S.GENERATING, target=S.GENERATED)
    def finish_generation(self) -> None:
        self.generated_at = timezone.now()
        self.error = ""

    @transition(field=status, source=S.GENERATING, target=S.OPEN)
    def fail_generation(self, error: str) -> None:
        self.error = error

    @transition(
        field=status,
        source=S.GENERATED,
        target=S.PARTIALLY_SENT,
        permission=policy_permission("send"),
    )
    def mark_partially_sent(self) -> None:
        """Generated -> Partially Sent, on the first email sent or letters marked mailed."""

    @transition(
        field=status,
        source=[S.GENERATED, S.PARTIALLY_SENT],
        target=S.COMPLETE,
        permission=policy_permission("complete"),
    )
    def complete(self) -> None:
        """Close the batch out; the service removes the notices never attempted in the same
        transaction (``batches.closing``)."""
        self.closed_at = timezone.now()

    @transition(
        field=status,
        source=[S.OPEN, S.GENERATED, S.PARTIALLY_SENT, S.COMPLETE],
        target=S.ARCHIVED,
        permission=policy_permission("archive"),
    )
    def archive(self) -> None:
        self.closed_at = self.closed_at or timezone.now()

    # --- state questions the views ask -----------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.status == S.OPEN

    @property
    def is_closed(self) -> bool:
        return self.status in (S.COMPLETE, S.ARCHIVED)

    @property
    def can_send(self) -> bool:
        return self.status in DELIVERABLE_STATES


class BatchAssembly(models.Model):
    """The batch's working list: the assemblies snapshotted when the batch was made.

    ``location`` is copied from the assembly at snapshot time so that generation can group by
    location without a join, and so that moving an assembly later does not change the batch.
    """

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="batch_assemblies")
    assembly = models.ForeignKey(
        Assembly, on_delete=models.CASCADE, related_name="batch_memberships"
    )
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = _("batch assembly")
        verbose_name_plural = _("batch assemblies")
        constraints = [
            models.UniqueConstraint(fields=["batch", "assembly"], name="batchcomms_batchasm_unique")
        ]
        indexes = [
            models.Index(fields=["batch", "location"], name="batchcomms_batchasm_location"),
        ]

    def __str__(self) -> str:
        return f"{self.batch_id}: {self.assembly_id}"


class SkippedRecipient(models.Model):
    """A location (or one assembly of it) in the working list that got no notice, and why."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="skipped")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    assembly = models.ForeignKey(
        Assembly, on_delete=models.CASCADE, related_name="+", null=True, blank=True
    )
    reason = models.CharField(_("reason"), max_length=20, choices=SkipReason.choices)

    class Meta:
        verbose_name = _("skipped recipient")
        verbose_name_plural = _("skipped recipients")
        indexes = [models.Index(fields=["batch", "reason"], name="batchcomms_skip_reason")]

    def __str__(self) -> str:
        return f"{self.location_id}: {self.get_reason_display()}"


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

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="communications")
    location = models.ForeignKey(
        Location,
        on_delete=models.PROTECT,
        related_name="communications",
        verbose_name=_("location"),
    )
    assembly = models.ForeignKey(
        Assembly,
        on_delete=models.PROTECT,
        related_name="communications",
        null=True,
        blank=True,
        verbose_name=_("assembly"),
        help_text=_("Set when the template sends one notice per assembly."),
    )
    contact = models.ForeignKey(
        Contact,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="communications",
        verbose_name=_("contact"),
    )
    role = models.CharField(_("role"), max_length=20, choices=ContactRole.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, db_index=True)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=CommunicationStatus.choices,
        default=CommunicationStatus.PENDING,
        db_index=True,
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
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True, db_index=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("For letters: who marked them as mailed."),
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    error_code = models.CharField(_("error code"), max_length=20, blank=True)
    error = models.TextField(_("error"), blank=True)

    objects = CommunicationQuerySet.as_manager()

    class Meta:
        ordering = ["batch", "location", "pk"]
        verbose_name = _("communication")
        verbose_name_plural = _("communications")
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
        indexes = [
            models.Index(fields=["batch", "channel", "status"], name="batchcomms_comm_state"),
            models.Index(fields=["contact", "-created_at"], name="batchcomms_comm_contact"),
            models.Index(fields=["location", "-created_at"], name="batchcomms_comm_location"),
        ]

    def __str__(self) -> str:
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


class LetterDownload(models.Model):
    """One requested PDF bundle of a batch's unsent letters, with its CSV mailing list."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="letter_downloads")
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=DownloadStatus.choices,
        default=DownloadStatus.QUEUED,
        db_index=True,
    )
    file = models.CharField(_("PDF file"), max_length=300, blank=True)
    mailing_list = models.CharField(_("mailing list file"), max_length=300, blank=True)
    letter_count = models.PositiveIntegerField(_("letters"), default=0)
    page_count = models.PositiveIntegerField(_("pages"), default=0)
    size = models.PositiveBigIntegerField(_("size (bytes)"), default=0)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    error = models.TextField(_("error"), blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    ready_at = models.DateTimeField(_("ready at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True, db_index=True)
    purged_at = models.DateTimeField(null=True, blank=True)
    # The worker merging the finished chunks into the one PDF; a stale claim can be taken over.
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        verbose_name = _("letter download")
        verbose_name_plural = _("letter downloads")
        constraints = [
            # A double click (or two admins) cannot queue a second render of the same letters.
            models.UniqueConstraint(
                fields=["batch"],
                condition=Q(status__in=[DownloadStatus.QUEUED, DownloadStatus.RENDERING]),
                name="batchcomms_one_active_download",
            )
        ]

    def __str__(self) -> str:
        return f"Letters for {self.batch} ({self.requested_at:%Y-%m-%d %H:%M})"

    @property
    def is_expired(self) -> bool:
        return self.status == DownloadStatus.EXPIRED or bool(
            self.expires_at and self.expires_at <= timezone.now()
        )


class LetterChunk(models.Model):
    """One slice of a download's letters, rendered by whichever worker claims it."""

    download = models.ForeignKey(LetterDownload, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    first_id = models.PositiveBigIntegerField(help_text="First communication id in the chunk.")
    last_id = models.PositiveBigIntegerField(help_text="Last communication id in the chunk.")
    # The chunk's letters in print (mailing) order. Explicit because that order (postal code,
    # name) is not id order, and because the download is a snapshot of the letters unsent
    # when it was requested.
    communication_ids = models.JSONField(default=list)
    letter_count = models.PositiveIntegerField(default=0)
    # Letters laid out so far by the run holding the claim (reset by each claim), so the
    # progress bar moves inside a chunk instead of jumping by a whole chunk at its end.
    letters_done = models.PositiveIntegerField(default=0)
    status = models.CharField(
        max_length=10, choices=DownloadStatus.choices, default=DownloadStatus.QUEUED
    )
    file = models.CharField(max_length=300, blank=True)
    page_count = models.PositiveIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=100, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["download", "index"]
        constraints = [
            models.UniqueConstraint(fields=["download", "index"], name="batchcomms_chunk_unique")
        ]

    def __str__(self) -> str:
        return f"{self.download_id}#{self.index}"
