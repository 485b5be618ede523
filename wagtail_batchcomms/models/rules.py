"""Automatic notices: Communication Types (the rules), the daily runs that apply them and the
claims that make each notice happen at most once per assembly, type and due cycle.

A run turns each active type's newly applying assemblies into claims (``AutomaticNotice``)
and, for the type's claims of that run, one batch (``Batch.communication_type``/``rule_run``)
that goes through the batch's own generation, sending and letter paths.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import RuleRunStatus, RunMode, Trigger
from .register import Assembly, Location

#: The due cycle recorded for an "assembly added" notice: it happens once in an assembly's
#: life, so every such claim shares one cycle and the constraint allows one.
ONCE_CYCLE = "1970-01-01"


class CommunicationType(models.Model):
    """A rule of the automatic notices: which published template goes to which assemblies,
    when, and whether the day's notices go out by themselves or wait for an admin."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    description = models.TextField(_("description"), blank=True)
    template = models.ForeignKey(
        "wagtail_batchcomms.NoticeTemplate",
        verbose_name=_("notice template"),
        on_delete=models.PROTECT,
        related_name="communication_types",
        help_text=_(
            "The published notice template this type sends; its contact rules decide who "
            "receives it at each location."
        ),
    )
    trigger = models.CharField(
        _("trigger"), max_length=20, choices=Trigger.choices, default=Trigger.BEFORE_DUE
    )
    days = models.PositiveSmallIntegerField(
        _("days"),
        default=30,
        validators=[MaxValueValidator(3650)],
        help_text=_(
            "For a due-date trigger, how many days before or after the next test due date. "
            "For an event trigger, how far back an event still counts (catching up after "
            "downtime, or when the type is switched on)."
        ),
    )
    scope = models.TextField(
        _("scope"),
        blank=True,
        help_text=_(
            "The Assemblies listing's filters this type is limited to (its query string); "
            "empty for every active assembly."
        ),
    )
    requires_type = models.ForeignKey(
        "self",
        verbose_name=_("only after"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="escalations",
        help_text=_(
            "Escalation: only assemblies that got this earlier type in the same due cycle, at "
            "least the given number of days ago, and are still not compliant."
        ),
    )
    requires_days = models.PositiveSmallIntegerField(
        _("days after the earlier notice"), default=0, validators=[MaxValueValidator(3650)]
    )
    response_days = models.PositiveSmallIntegerField(
        _("days to respond"),
        default=14,
        validators=[MaxValueValidator(365)],
        help_text=_("The notices' due date is the day of the run plus this many days."),
    )
    mode = models.CharField(
        _("when generated"), max_length=10, choices=RunMode.choices, default=RunMode.REVIEW
    )
    active = models.BooleanField(
        _("active"),
        default=False,
        db_index=True,
        help_text=_("Paused types are skipped by the daily run."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("communication type")
        verbose_name_plural = _("communication types")

    def __str__(self) -> str:
        return self.name


class RuleRun(models.Model):
    """One run of the automatic notices (the daily schedule, or an admin's "run now")."""

    run_date = models.DateField(_("day"), db_index=True)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=RuleRunStatus.choices,
        default=RuleRunStatus.RUNNING,
        db_index=True,
    )
    started_at = models.DateTimeField(_("started at"), default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty for the daily schedule."),
    )
    # The task that owns the run now (``jobs.worker_id()``); a resumed run takes it over.
    worker = models.CharField(_("worker"), max_length=100, blank=True)
    # Saved after every step: a Running run that has not moved for a while lost its worker.
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name = _("automatic run")
        verbose_name_plural = _("automatic runs")
        permissions = [
            ("review_rulerun", _("Can review and release automatic notices")),
        ]
        constraints = [
            # One scheduled run a day (an admin's "run now" may add more): two workers that
            # pick up the same schedule, or a tick after a restart, find the day's run.
            models.UniqueConstraint(
                fields=["run_date"],
                condition=models.Q(started_by__isnull=True),
                name="batchcomms_rulerun_one_scheduled_per_day",
            )
        ]

    def __str__(self) -> str:
        return f"{self.run_date:%Y-%m-%d} #{self.pk}"

    def get_admin_url(self) -> str:
        return reverse("wagtail_batchcomms_rulerun:inspect", args=[self.pk])


class RuleRunType(models.Model):
    """What one run did for one type: the figures listed on the run's page."""

    run = models.ForeignKey(RuleRun, on_delete=models.CASCADE, related_name="results")
    communication_type = models.ForeignKey(
        CommunicationType,
        verbose_name=_("communication type"),
        on_delete=models.CASCADE,
        related_name="run_results",
    )
    batch = models.OneToOneField(
        "wagtail_batchcomms.Batch",
        verbose_name=_("notices"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="run_result",
    )
    assemblies = models.PositiveIntegerField(_("assemblies"), default=0)
    emails = models.PositiveIntegerField(_("emails"), default=0)
    letters = models.PositiveIntegerField(_("letters"), default=0)
    skipped = models.JSONField(_("skipped"), default=dict, blank=True)  # SkipReason -> n
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["run", "communication_type__name"]
        verbose_name = _("automatic run result")
        verbose_name_plural = _("automatic run results")
        constraints = [
            models.UniqueConstraint(
                fields=["run", "communication_type"], name="batchcomms_runtype_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.run}: {self.communication_type}"


class AutomaticNotice(models.Model):
    """The claim that a type applies to an assembly in one due cycle.

    Inserted before anything is generated, ``ON CONFLICT DO NOTHING`` against the unique
    constraint: whatever reruns, racing workers or a killed worker do, an assembly gets each
    type at most once per cycle. ``cycle`` is the next-test-due date the notice is about (the
    failed test's date for a failed-test type; ``ONCE_CYCLE`` for "assembly added").
    """

    communication_type = models.ForeignKey(
        CommunicationType,
        verbose_name=_("communication type"),
        on_delete=models.PROTECT,
        related_name="claims",
    )
    assembly = models.ForeignKey(
        Assembly, verbose_name=_("assembly"), on_delete=models.CASCADE, related_name="claims"
    )
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    cycle = models.DateField(_("due cycle"))
    run = models.ForeignKey(RuleRun, on_delete=models.CASCADE, related_name="claims")
    batch = models.ForeignKey(
        "wagtail_batchcomms.Batch",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="claims",
    )
    created_at = models.DateTimeField(_("claimed at"), default=timezone.now)

    class Meta:
        verbose_name = _("automatic notice")
        verbose_name_plural = _("automatic notices")
        constraints = [
            models.UniqueConstraint(
                fields=["communication_type", "assembly", "cycle"],
                name="batchcomms_autonotice_once_per_cycle",
            )
        ]
        indexes = [
            models.Index(fields=["assembly", "communication_type"], name="batchcomms_auto_asm"),
            models.Index(fields=["run", "communication_type"], name="batchcomms_auto_run"),
        ]

    def __str__(self) -> str:
        return f"{self.communication_type_id}: {self.assembly_id} ({self.cycle})"
