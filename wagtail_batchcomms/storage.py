"""Private storage for letter PDFs and mailing lists.

These files hold names and addresses, so they never live under a public URL: by default a
``FileSystemStorage`` at ``WAGTAIL_BATCHCOMMS["PRIVATE_ROOT"]`` (outside ``MEDIA_ROOT`` and
``STATIC_ROOT``, refused when inside either) that has no URL at all; or the storage alias
named by ``WAGTAIL_BATCHCOMMS["LETTER_STORAGE"]`` (e.g. a private S3 bucket configured in
``settings.STORAGES``). Either way the files are served only by ``views.batches.downloads``, after
its permission checks.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.core.signals import setting_changed

from .conf import SETTING_NAME, batchcomms_settings

logger = logging.getLogger(__name__)


#: Letter files and their folders: readable by the app's user only, whatever the process
#: umask (Django's default is the umask's, typically 0644 files in 0755 folders).
PRIVATE_FILE_MODE = 0o600
PRIVATE_DIRECTORY_MODE = 0o700


class PrivateFileSystemStorage(FileSystemStorage):
    """A ``FileSystemStorage`` without URLs: nothing may link to these files directly. Its
    files are 0600 and the folders it makes 0700 (its root too, see ``make_private``)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("file_permissions_mode", PRIVATE_FILE_MODE)
        kwargs.setdefault("directory_permissions_mode", PRIVATE_DIRECTORY_MODE)
        super().__init__(*args, **kwargs)

    def make_private(self) -> None:
        """Make the root folder 0700: a root made by hand (or by an earlier version) would
        otherwise let every local user list the batches' letter files."""
        root = Path(self.location)
        try:
            root.mkdir(parents=True, exist_ok=True)
            if root.stat().st_mode & 0o777 != PRIVATE_DIRECTORY_MODE:
                os.chmod(root, PRIVATE_DIRECTORY_MODE)
        except OSError as error:  # not ours to change (a mount set up by the host): say so
            logger.warning("Could not make %s private (0700): %s", root, error)

    def url(self, name: str | None) -> str:
        raise ValueError(
            "Letter files have no public URL; link to the download view instead "
            "(wagtail_batchcomms_letters:download)."
        )


def private_root() -> Path:
    """Where the default private storage keeps its files."""
    configured = batchcomms_settings.PRIVATE_ROOT
    if configured:
        return Path(configured)
    media_root = getattr(settings, "MEDIA_ROOT", "") or os.getcwd()
    return Path(media_root).resolve().parent / "batchcomms-private"


def private_root_problem(root: Path | None = None) -> str | None:
    """Why the default private storage's folder is unsafe (inside MEDIA_ROOT or STATIC_ROOT,
    where the web server would publish it), or None. Used by system check E009 and before the
    storage is first used."""
    root = private_root() if root is None else root
    real = Path(os.path.realpath(root))
    for setting in ("MEDIA_ROOT", "STATIC_ROOT"):
        public = getattr(settings, setting, None)
        if not public:
            continue
        public_real = Path(os.path.realpath(public))
        if real == public_real or public_real in real.parents:
            return (
                f"{SETTING_NAME}['PRIVATE_ROOT'] ({root}) is inside {setting} ({public}), "
                "where the web server would publish letters with names and addresses."
            )
    return None


def _check_private_root(root: Path) -> None:
    problem = private_root_problem(root)
    if problem:
        raise ImproperlyConfigured(
            f"{problem} Set {SETTING_NAME}['PRIVATE_ROOT'] to a folder outside it."
        )


_storage: Storage | None = None


def letter_storage() -> Storage:
    """The storage letter files are written to and read from (cached; reset when settings
    change)."""
    global _storage
    if _storage is None:
        alias = batchcomms_settings.LETTER_STORAGE
        if alias:
            try:
                _storage = storages[alias]
            except Exception as error:
                raise ImproperlyConfigured(
                    f"{SETTING_NAME}['LETTER_STORAGE'] is {alias!r}, which is not an alias "
                    "in settings.STORAGES."
                ) from error
        else:
            root = private_root()
            _check_private_root(root)
            storage = PrivateFileSystemStorage(location=root, base_url=None)
            storage.make_private()
            _storage = storage
    return _storage


def _reset(*, setting: str, **kwargs) -> None:
    global _storage
    if setting in (SETTING_NAME, "STORAGES", "MEDIA_ROOT", "STATIC_ROOT"):
        _storage = None


setting_changed.connect(_reset)
