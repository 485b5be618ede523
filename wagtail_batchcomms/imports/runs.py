"""The import's use cases: upload, map, check (the dry run), import, and the errors file.

The uploaded file is kept in private storage (``storage.letter_storage``, under
``imports/``): it holds names and addresses. Checking and importing run in the request for a
small file and in a django-q2 task for a bigger one (``INLINE_MAX_BYTES``); either way the
same functions do the work and the page shows the progress. Both are safe to run twice:
the dry run writes only the run's own record, and the import re-reads the register and
upserts by natural keys, so a second delivery or a resumed run writes only what is left.

The task claims the run first and saves a heartbeat with its progress; a run whose task was
lost or whose worker stopped is queued again by the scheduled housekeeping, and failed once it
was started again ``jobs.MAX_REQUEUES`` times (``recovery``).
"""

from __future__ import annotations

import csv
import io
import logging
import uuid
from collections.abc import Callable, Iterator

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from wagtail.log_actions import log

from .. import history, jobs
from ..exceptions import ImportFileError
from ..models import Assembly, ImportRun, ImportStatus
from ..spreadsheets import csv_cell
from ..storage import letter_storage
from . import existing, stored
from .applying import Writes, apply_writes
from .columns import guess_mapping, mapping_problems
from .planning import Plan, build_plan, register_digest
from .reading import file_kind, read_headers, read_rows
from .recovery import Superseded, claim, heartbeat, queue

logger = logging.getLogger(__name__)

#: Files up to this size are checked and imported in the request (a few thousand rows:
#: seconds); bigger ones in a task, with the progress on the page.
INLINE_MAX_BYTES = 256 * 1024
#: The most an upload may weigh (a 100,000-row export is ~20 MB as CSV).
MAX_BYTES = 100 * 1024 * 1024


def start_import(upload, user) -> ImportRun:
    """Keep an uploaded file and read its headers; the mapping starts from the user's last
    import's (where this file has those headers) and the headers that match ours by name.
    ``ImportFileError`` for a file that cannot be read (nothing is kept then)."""
    kind = file_kind(upload.name)
    if upload.size > MAX_BYTES:
        raise ImportFileError(
            _("The file is larger than %(mb)s MB; split it.") % {"mb": MAX_BYTES // 2**20}
        )
    upload.seek(0)
    headers = read_headers(upload, kind)
    upload.seek(0)
    storage = letter_storage()
    name = storage.save(f"imports/{uuid.uuid4().hex}.{kind}", ContentFile(upload.read()))
    last = (
        ImportRun.objects.filter(created_by=user).exclude(mapping={}).order_by("-pk").first()
        if user is not None
        else None
    )
    run = ImportRun.objects.create(
        file=name,
        original_name=upload.name[:255],
        headers=headers,
        mapping=guess_mapping(headers, last.mapping if last else None),
        created_by=user,
    )
    log(run, history.IMPORT_UPLOADED, user=user, data={"file": run.original_name})
    return run


def set_mapping(run: ImportRun, mapping: dict[str, str]) -> None:
    """Keep the admin's mapping (our column -> the file's header); ``ImportFileError`` when
    it cannot be used. A new mapping needs a new dry run."""
    mapping = {ours: theirs for ours, theirs in mapping.items() if theirs}
    problems = mapping_problems(mapping, run.headers)
    if problems:
        raise ImportFileError(" ".join(problems))
    run.mapping = mapping
    run.status = ImportStatus.UPLOADED
    run.fingerprint = ""
    run.save(update_fields=["mapping", "status", "fingerprint"])


def _rows(run: ImportRun) -> tuple[list[str], Iterator]:
    try:
        handle = letter_storage().open(run.file, "rb")
    except OSError as error:
        raise ImportFileError(
            _("The uploaded file is no longer there; upload it again.")
        ) from error
    kind = file_kind(run.file)
    headers, rows = read_rows(handle, kind)
    if headers != run.headers:
        raise ImportFileError(_("The stored file's headers changed; upload it again."))
    return headers, rows


def _plan(run: ImportRun, progress: Callable[[int], None]) -> Plan:
    headers, rows = _rows(run)
    return build_plan(headers, rows, run.mapping, progress)


def _is_inline(run: ImportRun) -> bool:
    try:
        return letter_storage().size(run.file) <= INLINE_MAX_BYTES
    except OSError:
        return True  # the task would fail the same way; say it now


def request_check(run: ImportRun, user) -> None:
    """Start the dry run: here for a small file, else in a task."""
    problems = mapping_problems(run.mapping, run.headers)
    if problems:
        raise ImportFileError(" ".join(problems))
    if run.is_busy:
        raise ImportFileError(_("This import is already being checked or imported."))
    if run.file_removed_at:
        raise ImportFileError(
            _("The uploaded file was removed on %(date)s; upload it again.")
            % {"date": timezone.localdate(run.file_removed_at)}
        )
    run.status = ImportStatus.CHECKING
    run.progress_done, run.progress_total = 0, 0
    run.requested_at, run.claimed_by, run.claimed_at = timezone.now(), "", None
    run.requeues = 0
    run.save(
        update_fields=[
            "status",
            "progress_done",
            "progress_total",
            "requested_at",
            "claimed_by",
            "claimed_at",
            "requeues",
        ]
    )
    if _is_inline(run):
        check_import(run.pk)
    else:
        queue(run)


def check_import(run_id: int) -> str:
    """The dry run (the task's body): counts, errors and changes on the run, nothing else
    written. Does nothing unless the run is waiting to be checked (``claim``)."""
    worker = jobs.worker_id()
    if not claim(run_id, ImportStatus.CHECKING, worker):
        return "not claimed (being checked elsewhere, or not waiting to be checked)"
    run = ImportRun.objects.get(pk=run_id)
    try:
        plan = _plan(run, heartbeat(run, worker))
    except Superseded:
        return "superseded"
    except ImportFileError as error:
        return _fail(run, worker, str(error), status=ImportStatus.UPLOADED)
    stored.save(run.file, Writes.from_plan(plan), plan.keys)
    with transaction.atomic():
        if not ImportRun.objects.filter(
            pk=run.pk, status=ImportStatus.CHECKING, claimed_by=worker
        ).update(
            status=ImportStatus.CHECKED,
            row_count=plan.row_count,
            results=plan.counts(),
            errors=[error.as_dict() for error in plan.errors],
            changes=plan.changes(),
            fingerprint=plan.register,
            checked_at=timezone.now(),
            progress_done=plan.row_count,
            progress_total=plan.row_count,
            error="",
        ):
            return "superseded"
        run.refresh_from_db()
        log(run, history.IMPORT_CHECKED, user=run.created_by, data=run.results)
    return "checked"


def request_import(run: ImportRun, user, not_new: bool | None = None) -> None:
    """Import what the dry run showed: here for a small file, else in a task. ``not_new``
    (default: whether the register has no assemblies yet, i.e. the first import of a
    register moving in) leaves new assemblies without an "added" date. One import writes at a
    time: ``ImportFileError`` while another one is importing (the database refuses it)."""
    if run.status != ImportStatus.CHECKED or not run.fingerprint:
        raise ImportFileError(_("Run the dry run first; import after checking its results."))
    if not_new is None:
        not_new = register_is_empty()
    run.status = ImportStatus.IMPORTING
    run.imported_by = user
    run.not_new = not_new
    run.progress_done, run.progress_total = 0, 0
    try:
        with transaction.atomic():
            updated = ImportRun.objects.filter(pk=run.pk, status=ImportStatus.CHECKED).update(
                status=run.status,
                imported_by=user,
                not_new=not_new,
                progress_done=0,
                progress_total=0,
                requested_at=timezone.now(),
                claimed_by="",
                claimed_at=None,
                requeues=0,
            )
    except IntegrityError:
        run.refresh_from_db()
        busy = ImportRun.objects.filter(status=ImportStatus.IMPORTING).first()
        raise ImportFileError(
            _("Another import (%(name)s) is being written; import this one when it is done.")
            % {"name": busy or _("another file")}
        ) from None
    if not updated:
        run.refresh_from_db()
        raise ImportFileError(_("This import is already being imported."))
    if _is_inline(run):
        apply_import(run.pk)
    else:
        queue(run)


def register_is_empty() -> bool:
    """No assemblies yet: the first import of a register moving in, whose assemblies are
    not new to the programme (``request_import``'s default for ``not_new``)."""
    return not Assembly.objects.exists()


def apply_import(run_id: int) -> str:
    """The import (the task's body). The register's records the file names are read again;
    if they differ from the dry run's (the register changed since), nothing is written and
    the admin is asked to check again; else the dry run's stored plan is written. A run
    already writing (a task delivered twice, or resumed after its worker died) plans again
    from the register and goes on: the upserts write only what is left. Does nothing unless
    the run is waiting to be imported (``claim``)."""
    worker = jobs.worker_id()
    if not claim(run_id, ImportStatus.IMPORTING, worker):
        return "not claimed (being imported elsewhere, or not waiting to be imported)"
    run = ImportRun.objects.get(pk=run_id)
    mine = ImportRun.objects.filter(pk=run.pk, claimed_by=worker)
    progress = heartbeat(run, worker)
    resumed = bool(run.results.get("writing"))
    try:
        if resumed:
            # Only the heartbeat while planning: the progress stays what the last try wrote
            # until this one writes (``recovery.written`` reads it if this try stops too).
            beat = heartbeat(run, worker, saves_progress=False)
            writes = Writes.from_plan(_plan(run, beat))
        else:
            checked_on = timezone.localdate(run.checked_at) if run.checked_at else None
            if checked_on is not None and checked_on != timezone.localdate():
                # The dry run's dates ("in the future", next test due) were today's then.
                return _fail(
                    run,
                    worker,
                    _(
                        "The dry run was made on %(day)s; dates in the file are checked against "
                        "the day of the import. Nothing was written; run the dry run again."
                    )
                    % {"day": date_format(checked_on)},
                    status=ImportStatus.UPLOADED,
                )
            writes, keys = stored.load(run.file)
            if register_digest(existing.read(keys)) != run.fingerprint:
                return _fail(
                    run,
                    worker,
                    _(
                        "The register changed since the dry run, so the import would not do "
                        "what it showed. Nothing was written; run the dry run again."
                    ),
                    status=ImportStatus.UPLOADED,
                )
    except Superseded:
        return "superseded"
    except ImportFileError as error:
        return _fail(run, worker, str(error), status=ImportStatus.UPLOADED)
    total = writes.total
    if total and not mine.update(
        results={**run.results, "writing": True},
        progress_done=0,
        progress_total=total,
        claimed_at=timezone.now(),
    ):
        return "superseded"
    try:
        apply_writes(writes, progress, not_new=run.not_new)
    except Superseded:
        return "superseded"
    except Exception as error:
        logger.exception("import %s failed", run.pk)
        return _fail(run, worker, str(error))
    with transaction.atomic():
        if not mine.filter(status=ImportStatus.IMPORTING).update(
            status=ImportStatus.IMPORTED,
            results={key: value for key, value in run.results.items() if key != "writing"},
            imported_at=timezone.now(),
            progress_done=F("progress_total"),
        ):
            return "superseded"
        run.refresh_from_db()
        log(run, history.IMPORT_DONE, user=run.imported_by, data=run.results)
    # Its file goes with the next scheduled purge (``stored.purge_files``), not here: a
    # delivery of this task that resumes the run plans again from the file.
    return "imported"


def _fail(run: ImportRun, worker: str, message: str, status: str = ImportStatus.FAILED) -> str:
    with transaction.atomic():
        if not ImportRun.objects.filter(pk=run.pk, claimed_by=worker).update(
            status=status, error=message
        ):
            return "superseded"
        run.refresh_from_db()
        user = run.imported_by or run.created_by
        log(run, history.IMPORT_FAILED, user=user, data={"error": message})
    return message


def errors_csv(run: ImportRun) -> str:
    """The dry run's errors as CSV (row, column, value, message), every cell guarded against
    formulas: the values are what the file held, typed by anyone."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("Row"), _("Column"), _("Value"), _("Problem")])
    for error in run.errors:
        writer.writerow(
            [error["row"], *(csv_cell(error[k]) for k in ("column", "value", "message"))]
        )
    return out.getvalue()
