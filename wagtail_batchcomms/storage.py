"""Private storage for letter PDFs and mailing lists.

These files hold names and addresses, so they never live under a public URL: by default a
``FileSystemStorage`` at ``WAGTAIL_BATCHCOMMS["PRIVATE_ROOT"]`` (outside ``MEDIA_ROOT`` and
``STATIC_ROOT``, refused when inside either) that has no URL at all; or the storage alias
named by ``WAGTAIL_BATCHCOMMS["LETTER_STORAGE"]`` (e.g. a private S3 bucket configured in
``settings.STORAGES``). Either way the files are served only by ``views.downloads``, after
its permission checks.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.core.signals import setting_changed

from .conf import SETTING_NAME, batchcomms_settings


class PrivateFileSystemStorage(FileSystemStorage):
    """A ``FileSystemStorage`` without URLs: nothing may link to these files directly."""

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
            _storage = PrivateFileSystemStorage(location=root, base_url=None)
    return _storage


def _reset(*, setting: str, **kwargs) -> None:
    global _storage
    if setting in (SETTING_NAME, "STORAGES", "MEDIA_ROOT", "STATIC_ROOT"):
        _storage = None


setting_changed.connect(_reset)
