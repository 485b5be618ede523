"""Files in and out of the register: imports (an uploaded CSV or XLSX file, its column
mapping, the dry run's results and the import's progress; ``wagtail_batchcomms.imports`` does
the work) and listing exports written in the background (``wagtail_batchcomms.exports``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import ExportStatus, ImportStatus


class ImportRun(models.Model):
    """One uploaded file and what became of it.

    ``mapping`` maps our column names (``imports.columns.COLUMNS``) to the file's headers.
    ``results`` holds the counts of the latest dry run or import (rows and each kind of
    record, by outcome), ``errors`` every row error ``{"row", "column", "value",
    "message"}``, ``changes`` the first rows' outcomes for the page, and ``fingerprint`` the
    digest of the register's records the dry run read (its plan is stored next to the file):
    the import refuses to write when they changed since. ``file_removed_at``: when the
    uploaded file went (``imports.stored``); the run itself is never deleted.

    While it is checked or imported: ``requested_at`` is when that was asked for (or queued
    again), ``claimed_by`` the task working on it and ``claimed_at`` its heartbeat (empty
    while no task has started it); ``imports.recovery.requeue_stopped`` queues again a run
    whose task was lost or whose worker stopped. ``requeues`` counts the times it was started
    again so since the admin asked (``jobs.MAX_REQUEUES``: then it is failed instead).
    """

    file = models.CharField(_("file"), max_length=300)
    original_name = models.CharField(_("file name"), max_length=255)
    headers = models.JSONField(_("headers"), default=list)
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=ImportStatus.choices,
        default=ImportStatus.UPLOADED,
        db_index=True,
    )
    row_count = models.PositiveIntegerField(_("rows"), default=0)
    results = models.JSONField(_("results"), default=dict, blank=True)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    changes = models.JSONField(default=list, blank=True)
    fingerprint = models.CharField(max_length=64, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    error = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    checked_at = models.DateTimeField(_("checked at"), null=True, blank=True)
    imported_at = models.DateTimeField(_("imported at"), null=True, blank=True)
    not_new = models.BooleanField(
        _("these assemblies are not new to the programme"),
        default=False,
        help_text=_(
            'New assemblies get no "added" date, so an "assembly added" Communication '
            "Type does not write to them (for a register moving in from another system)."
        ),
    )
    file_removed_at = models.DateTimeField(_("file removed at"), null=True, blank=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("imported by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("requested at"), null=True, blank=True)
    claimed_by = models.CharField(max_length=120, blank=True)
    #: The checking or importing task's heartbeat: a busy run without one for long lost its worker.
    claimed_at = models.DateTimeField(null=True, blank=True)
    #: Times the check or import asked for last was started again after its worker stopped
    #: or its task was lost.
    requeues = models.PositiveSmallIntegerField(_("times queued again"), default=0)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("register import")
        verbose_name_plural = _("register imports")
        # One permission ("import", asked through permissions.user_can): whoever may import
        # may upload, check, import and see the imports. The register's own permissions are
        # not asked: importing is a right of its own, given on purpose.
        # One import writes at a time: the database refuses a second run in "importing".
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=models.Q(status=ImportStatus.IMPORTING),
                name="batchcomms_one_import_at_a_time",
            )
        ]
        default_permissions = ()
        permissions = [("import_importrun", _("Can import the register"))]

    def __str__(self) -> str:
        return self.original_name

    @property
    def is_busy(self) -> bool:
        return self.status in (ImportStatus.CHECKING, ImportStatus.IMPORTING)

    def get_admin_url(self) -> str:
        return reverse("wagtail_batchcomms_import:detail", args=[self.pk])


class ExportRun(models.Model):
    """One listing export too big to write in the request: who asked for it, which listing
    with exactly the filters, search and ordering they had (``listing_path`` and
    ``query_string``: the task replays that listing as them), the format, and the file once
    written (in private storage, ``storage.letter_storage``) until ``expires_at``. The record
    is kept after the file expires. ``requeues`` counts the times it was started again after
    its worker stopped or its task was lost, the last of them at ``requeued_at``
    (``jobs.MAX_REQUEUES``: then it is failed instead)."""

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    listing_title = models.CharField(_("listing"), max_length=200)
    listing_path = models.CharField(max_length=300)
    query_string = models.TextField(blank=True)
    export_format = models.CharField(_("format"), max_length=4)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=ExportStatus.choices,
        default=ExportStatus.QUEUED,
        db_index=True,
    )
    row_count = models.PositiveIntegerField(_("rows"), default=0)
    progress_done = models.PositiveIntegerField(default=0)
    file = models.CharField(max_length=300, blank=True)
    file_name = models.CharField(_("file name"), max_length=255)
    error = models.TextField(_("error"), blank=True)
    claimed_by = models.CharField(max_length=120, blank=True)
    #: The writing task's heartbeat: a run left "running" without one for long lost its worker.
    claimed_at = models.DateTimeField(null=True, blank=True)
    requeues = models.PositiveSmallIntegerField(_("times queued again"), default=0)
    requeued_at = models.DateTimeField(_("queued again at"), null=True, blank=True)
    created_at = models.DateTimeField(_("requested at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        # No permission of its own: a requester sees their exports, and downloading one
        # also asks the listing's own permission (``exports.download_problem``).
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.listing_title} ({self.export_format.upper()})"

    @property
    def is_busy(self) -> bool:
        return self.status in (ExportStatus.QUEUED, ExportStatus.RUNNING)

    @property
    def listing_url(self) -> str:
        return self.listing_path + (f"?{self.query_string}" if self.query_string else "")

    def get_admin_url(self) -> str:
        return reverse("wagtail_batchcomms_export:detail", args=[self.pk])
