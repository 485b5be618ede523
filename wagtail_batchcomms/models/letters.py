"""Letter downloads: a requested PDF bundle of a batch's letters, and the chunks workers render."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .batches import Batch
from .choices import DownloadStatus


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
