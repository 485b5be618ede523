"""Imports of the register: an uploaded CSV or XLSX file, its column mapping, the dry run's
results and the import's progress (``wagtail_batchcomms.imports`` does the work)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import ImportStatus


class ImportRun(models.Model):
    """One uploaded file and what became of it.

    ``mapping`` maps our column names (``imports.columns.COLUMNS``) to the file's headers.
    ``results`` holds the counts of the latest dry run or import (rows and each kind of
    record, by outcome), ``errors`` every row error ``{"row", "column", "value",
    "message"}``, ``changes`` the first rows' outcomes for the page, and ``fingerprint`` the
    digest of the register's records the dry run read (its plan is stored next to the file):
    the import refuses to write when they changed since. ``file_removed_at``: when the
    uploaded file went (``imports.stored``); the run itself is never deleted.
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
