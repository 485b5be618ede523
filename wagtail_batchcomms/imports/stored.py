"""The files kept with an import run: the uploaded file and the dry run's plan, kept for the
import (so that the import does not plan (so that the import does not plan
again: reading and checking 100,000 rows a second time was most of its time).

The dry run saves, next to the uploaded file in private storage, what the plan writes
(``applying.Writes``) and the natural keys the file names; the run keeps the digest of the
register's records those keys found (``planning.register_digest``). The import reads those
records again (a few indexed queries per thousand keys) and writes the stored plan only if
their digest is unchanged: else the register changed in between and it refuses. The plan is
pickled, and read back by an unpickler that builds only the plain types a plan holds.

Both files go once the run is imported (at the next scheduled purge, hourly), and after
``IMPORT_FILES_EXPIRY_DAYS`` for a run never imported or failed (``purge_files``): they hold
names and addresses. The run and its history stay (nothing attempted is deleted);
``file_removed_at`` says when its file went.
"""

from __future__ import annotations

import io
import pickle
import zlib
from datetime import timedelta

from django.core.files.base import ContentFile
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..conf import batchcomms_settings
from ..exceptions import ImportFileError
from ..models import ImportRun, ImportStatus
from ..storage import letter_storage
from .applying import Writes

ALLOWED = {
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("datetime", "date"),
    ("datetime", "datetime"),
    ("decimal", "Decimal"),
    (Writes.__module__, "Writes"),
}


_NO_PLAN = _("The dry run's results are no longer there; run the dry run again.")


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not part of a stored plan")
        return super().find_class(module, name)


def plan_name(file_name: str) -> str:
    return f"{file_name}.plan"


def save(file_name: str, writes: Writes, keys: tuple) -> None:
    """Keep ``writes`` and ``keys`` for the run whose upload is ``file_name`` (replacing an
    earlier dry run's)."""
    storage = letter_storage()
    name = plan_name(file_name)
    if storage.exists(name):
        storage.delete(name)
    data = zlib.compress(pickle.dumps((writes, keys), protocol=pickle.HIGHEST_PROTOCOL), 1)
    storage.save(name, ContentFile(data))


def load(file_name: str) -> tuple[Writes, tuple]:
    """The stored ``(writes, keys)``; ``ImportFileError`` when there is none (an older dry
    run, or the files were removed)."""
    try:
        with letter_storage().open(plan_name(file_name), "rb") as handle:
            data = zlib.decompress(handle.read())
    except (OSError, zlib.error) as error:
        raise ImportFileError(_NO_PLAN) from error
    try:
        writes, keys = _Unpickler(io.BytesIO(data)).load()
    except (pickle.UnpicklingError, ValueError, TypeError, EOFError) as error:
        raise ImportFileError(_NO_PLAN) from error
    if not isinstance(writes, Writes):
        raise ImportFileError(_NO_PLAN)
    return writes, keys


def remove(file_name: str) -> None:
    """Delete the uploaded file and its stored plan (those that are there)."""
    storage = letter_storage()
    for name in (file_name, plan_name(file_name)):
        if name and storage.exists(name):
            storage.delete(name)


def remove_files(run: ImportRun) -> None:
    """Delete ``run``'s uploaded file and stored plan; the run keeps when (and everything
    else: its counts, errors, history)."""
    remove(run.file)
    ImportRun.objects.filter(pk=run.pk, file_removed_at__isnull=True).update(
        file_removed_at=timezone.now()
    )


def purge_files(days: int | None = None) -> int:
    """Remove the files of imported runs, and of runs uploaded more than ``days`` (default
    ``IMPORT_FILES_EXPIRY_DAYS``) ago and not being checked or imported (abandoned dry runs,
    failed imports). Returns how many runs lost their files."""
    days = batchcomms_settings.IMPORT_FILES_EXPIRY_DAYS if days is None else days
    cutoff = timezone.now() - timedelta(days=days)
    due = ImportRun.objects.filter(file_removed_at__isnull=True).exclude(
        status__in=[ImportStatus.CHECKING, ImportStatus.IMPORTING]
    )
    due = due.filter(status=ImportStatus.IMPORTED) | due.filter(created_at__lt=cutoff)
    count = 0
    for run in due.only("pk", "file"):
        remove_files(run)
        count += 1
    return count
