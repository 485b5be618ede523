"""Listing exports too big for the request: queued, written by a task with progress, kept in
private storage for a few days, downloaded through a permission-checked view.

The task replays the listing the admin had (``replay``): the same URL, filters, search and
ordering, as the same user, so the file holds exactly the rows and columns the listing's own
export writes, and the listing's own permission checks run again in the worker.

Use cases: ``request_export`` (from the listing's export button), ``run_export`` (the task),
``download_problem`` / ``open_export`` (the download view), ``exports_housekeeping``
(schedule: expire old files, re-queue runs a dead worker or a lost task left, fail those
started again ``jobs.MAX_REQUEUES`` times).
"""

from __future__ import annotations

from .replay import ExportTarget, listing_allows
from .runs import (
    download_problem,
    exports_housekeeping,
    open_export,
    record_download,
    request_export,
    run_export,
)

__all__ = [
    "ExportTarget",
    "download_problem",
    "exports_housekeeping",
    "listing_allows",
    "open_export",
    "record_download",
    "request_export",
    "run_export",
]
