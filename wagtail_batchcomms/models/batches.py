"""Batch communications: the batch with its state machine, its working list (the assemblies
snapshotted when it was made) and the locations it skipped. Its notices are
``communications.py``, its letter downloads ``letters.py``."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from ..compat import registered_permission_policy
from .choices import BatchStatus, CommunicationStatus, SkipReason
from .register import Assembly, Location

#: The states in which notices are delivered: emails sent, letters printed and mailed.
DELIVERABLE_STATES = (BatchStatus.GENERATED, BatchStatus.PARTIALLY_SENT)


def policy_permission(action: str):
    """A transition's ``permission``: the batch policy's ``action``, so the transitions ask
    the one policy every view asks (``permissions.user_can(user, action, Batch)``), not a
    codename of their own. The policy is the one ``permissions.register_policies`` registered
    when the app got ready, looked up through ``compat``: ``permissions`` sits above the models
    (it imports Wagtail's admin views), so the models do not import it."""

    def check(instance, user) -> bool:
        policy = registered_permission_policy(type(instance))
        return policy.user_has_permission(user, action)

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
        default=BatchStatus.OPEN,
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

    # Set on the batches the daily run of automatic notices makes: one per run and type.
    communication_type = models.ForeignKey(
        "wagtail_batchcomms.CommunicationType",
        verbose_name=_("communication type"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="batches",
    )
    rule_run = models.ForeignKey(
        "wagtail_batchcomms.RuleRun",
        verbose_name=_("automatic run"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="batches",
    )
    # A batch of a type held for review: its emails wait until an admin releases them.
    awaiting_review = models.BooleanField(_("awaiting review"), default=False, db_index=True)
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
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
        source=BatchStatus.OPEN,
        target=BatchStatus.GENERATING,
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
        source=BatchStatus.GENERATED,
        target=BatchStatus.GENERATING,
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

    @transition(field=status, source=BatchStatus.GENERATING, target=BatchStatus.GENERATED)
    def finish_generation(self) -> None:
        self.generated_at = timezone.now()
        self.error = ""

    @transition(field=status, source=BatchStatus.GENERATING, target=BatchStatus.OPEN)
    def fail_generation(self, error: str) -> None:
        self.error = error

    @transition(
        field=status,
        source=BatchStatus.GENERATED,
        target=BatchStatus.PARTIALLY_SENT,
        permission=policy_permission("send"),
    )
    def mark_partially_sent(self) -> None:
        """Generated -> Partially Sent, on the first email sent or letters marked mailed."""

    @transition(
        field=status,
        source=[BatchStatus.GENERATED, BatchStatus.PARTIALLY_SENT],
        target=BatchStatus.COMPLETE,
        permission=policy_permission("complete"),
    )
    def complete(self) -> None:
        """Close the batch out; the service removes the notices never attempted in the same
        transaction (``batches.closing``)."""
        self.closed_at = timezone.now()

    @transition(
        field=status,
        source=[
            BatchStatus.OPEN,
            BatchStatus.GENERATED,
            BatchStatus.PARTIALLY_SENT,
            BatchStatus.COMPLETE,
        ],
        target=BatchStatus.ARCHIVED,
        permission=policy_permission("archive"),
    )
    def archive(self) -> None:
        self.closed_at = self.closed_at or timezone.now()

    # --- state questions the views ask -----------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.status == BatchStatus.OPEN

    @property
    def is_closed(self) -> bool:
        return self.status in (BatchStatus.COMPLETE, BatchStatus.ARCHIVED)

    @property
    def is_automatic(self) -> bool:
        """Made by the daily run of automatic notices, not by an admin."""
        return self.communication_type_id is not None

    @property
    def can_send(self) -> bool:
        return self.status in DELIVERABLE_STATES


class BatchAssembly(models.Model):
    """The batch's working list: the assemblies snapshotted when the batch was made.

    ``location`` is copied from the assembly at snapshot time so that generation can group by
    location without a join, and so that moving an assembly later does not change the batch.

    The working list is a copy taken in one statement, not the record: its ``batch`` and
    ``location`` keys carry no database constraint (``db_constraint=False``), because
    PostgreSQL checks a constraint once per inserted row at commit, which was two thirds of a
    100,000-assembly snapshot, and neither check can fail there: the batch is new in the
    snapshot's transaction or locked by it, and the location is read from the assembly in the
    same statement. Deleting a batch or a location still removes its rows (Django cascades
    them, as it does for every key). The ``assembly`` key keeps its constraint: it is what
    refuses a snapshot of an assembly deleted while it was being taken.
    """

    # Both indexes below lead with the batch.
    batch = models.ForeignKey(
        Batch,
        on_delete=models.CASCADE,
        related_name="batch_assemblies",
        db_index=False,
        db_constraint=False,
    )
    assembly = models.ForeignKey(
        Assembly, on_delete=models.CASCADE, related_name="batch_memberships"
    )
    # Indexed for the cascade when a location is deleted (an assembly moved away from it).
    location = models.ForeignKey(
        Location, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )

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

    batch = models.ForeignKey(
        Batch, on_delete=models.CASCADE, related_name="skipped", db_index=False
    )  # batchcomms_skip_reason leads with it
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
