"""The app's settings: one ``WAGTAIL_BATCHCOMMS`` dict in the host's settings.

Read values through ``batchcomms_settings``::

    from wagtail_batchcomms.conf import batchcomms_settings
    batchcomms_settings.LETTER_DOWNLOAD_EXPIRY_DAYS

The object is rebuilt whenever Django's ``setting_changed`` signal fires, so
``override_settings(WAGTAIL_BATCHCOMMS={...})`` works in tests. Unknown keys are
rejected with a message that names the key and the keys that exist.
"""

from __future__ import annotations

from os import PathLike
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

SETTING_NAME = "WAGTAIL_BATCHCOMMS"

#: Every key, its default and what it means (the README's settings table follows this).
DEFAULTS: dict[str, Any] = {
    # Letter PDFs and mailing lists are removed this many days after they were rendered.
    "LETTER_DOWNLOAD_EXPIRY_DAYS": 7,
    # A register import's uploaded file is removed once imported, or this many days after the
    # upload when it was never imported (the run and its history stay).
    "IMPORT_FILES_EXPIRY_DAYS": 7,
    # Storage alias (settings.STORAGES) for letter files. None: a private FileSystemStorage
    # under PRIVATE_ROOT, never served by the web server, only through the permission-checked view.
    "LETTER_STORAGE": None,
    # Folder of the default private storage; None means <BASE of MEDIA_ROOT>/../batchcomms-private.
    "PRIVATE_ROOT": None,
    # "letter" (US Letter, 8.5 x 11 in) or "a4".
    "PAGE_SIZE": "letter",
    # Letters rendered per WeasyPrint document; bounds a worker's memory.
    "LETTER_CHUNK_SIZE": 250,
    # A letter chunk (or the merge) claimed longer ago than this (seconds) is treated as left
    # by a dead worker and may be claimed again; keep it above Q_CLUSTER's "timeout".
    "LETTER_CLAIM_STALE_AFTER": 900,
    # Emails per second sent by one send task; 0 means as fast as the server accepts.
    "EMAIL_RATE_LIMIT": 0,
    # Sender address for notices; None uses DEFAULT_FROM_EMAIL.
    "FROM_EMAIL": None,
    # Reply-To header for notices; None sends none.
    "REPLY_TO": None,
    # Domain used in Message-ID headers; None uses the domain of the sender address.
    "MESSAGE_ID_DOMAIN": None,
    # Domains that a notice template's CC/BCC copies may go to (every email of a batch, with
    # the letter PDF when attached, is copied). None: only the sender address's own domain
    # (FROM_EMAIL, else DEFAULT_FROM_EMAIL); [] refuses every copy; "*" allows any domain
    # (system check W010 warns). Checked when a template is saved and again at sending.
    "COPY_ADDRESS_DOMAINS": None,
    # Emails claimed per round trip by the send task.
    "SEND_CLAIM_SIZE": 50,
    # A "sending" row older than this (seconds) is treated as left by a dead worker.
    "SENDING_STALE_AFTER": 900,
    # Locations per transaction when generating communications (progress is saved between).
    "GENERATION_CHUNK_SIZE": 5000,
    # A Generating batch that made no progress for this long (seconds) has lost its task (a
    # worker died, a broker lost it); the batch page then offers "Restart generation".
    "GENERATION_STALE_AFTER": 300,
    # django-q2 cluster name tasks are sent to; None uses the default cluster.
    "TASK_CLUSTER": None,
    # Upper bound on the size of one rendered notice, and of any value a template builds
    # (characters), against runaway templates.
    "MAX_RENDERED_LENGTH": 200_000,
    # Upper bound on loop iterations inside one template render.
    "MAX_LOOP_ITERATIONS": 10_000,
    # Largest image (bytes) accepted in the letterhead settings.
    "MAX_LETTERHEAD_IMAGE_BYTES": 2 * 1024 * 1024,
    # A listing export of more rows than this runs in the background (a django-q2 task) and
    # the admin gets a page with its progress and a download link; smaller ones are written
    # in the request.
    "EXPORT_BACKGROUND_ROWS": 10_000,
    # Exported files are removed this many days after they were written (the record stays).
    "EXPORT_EXPIRY_DAYS": 7,
    # Rows per page on the assembly and communication listings.
    "LISTING_PAGE_SIZE": 50,
    # The hour (0-23, in the site's TIME_ZONE) from which the day's run of automatic notices
    # starts; the schedule ticks every few minutes and starts it once on each local day.
    "AUTOMATIC_NOTICES_HOUR": 6,
    # A Running automatic run whose worker saved nothing for this long (seconds) lost its
    # worker; the next tick (or "Run now") takes it over and finishes it.
    "RULE_RUN_STALE_AFTER": 900,
}

CHOICES: dict[str, tuple[str, ...]] = {"PAGE_SIZE": ("letter", "a4")}

#: Whole-number keys for which 0 means something ("no limit"); every other one must be >= 1
#: (a page size, chunk size or expiry of 0 would break the listing or the tasks).
ZERO_ALLOWED = frozenset({"EMAIL_RATE_LIMIT", "AUTOMATIC_NOTICES_HOUR"})

#: Whole-number keys with an upper bound: key -> (maximum, what the number is).
MAXIMUMS: dict[str, tuple[int, str]] = {
    "AUTOMATIC_NOTICES_HOUR": (23, "an hour of the day in TIME_ZONE")
}

#: Keys whose value is None or a list of domain names ("example.org", or "*" for any).
DOMAIN_LIST_KEYS = frozenset({"COPY_ADDRESS_DOMAINS"})


def domain_list_problem(key: str, value: Any) -> str | None:
    """What is wrong with a domain list setting, or None."""
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, list | tuple):
        return (
            f"{SETTING_NAME}[{key!r}] must be a list of domain names (or None), not {value!r}; "
            f"e.g. ['example.org']."
        )
    for entry in value:
        if not isinstance(entry, str) or not entry.strip() or "@" in entry or " " in entry.strip():
            return (
                f"{SETTING_NAME}[{key!r}] holds {entry!r}, which is not a domain name; write "
                f"domains without the user part, e.g. 'example.org', or '*' for any domain."
            )
    return None


class BatchcommsSettings:
    """Attribute access to ``WAGTAIL_BATCHCOMMS`` with defaults filled in."""

    def __init__(self, user_settings: dict[str, Any] | None = None) -> None:
        self._user_settings = user_settings

    @property
    def user_settings(self) -> dict[str, Any]:
        if self._user_settings is None:
            value = getattr(settings, SETTING_NAME, {}) or {}
            if not isinstance(value, dict):
                raise ImproperlyConfigured(
                    f"{SETTING_NAME} must be a dict, not {type(value).__name__}."
                )
            self._user_settings = value
        return self._user_settings

    def validate(self) -> list[str]:
        """Return a list of problems with the configured values (empty when all is well)."""
        problems = []
        unknown = sorted(set(self.user_settings) - set(DEFAULTS))
        for key in unknown:
            problems.append(
                f"{SETTING_NAME}[{key!r}] is not a setting of wagtail-batchcomms; "
                f"known keys: {', '.join(sorted(DEFAULTS))}."
            )
        for key, allowed in CHOICES.items():
            value = self.user_settings.get(key, DEFAULTS[key])
            if value not in allowed:
                problems.append(
                    f"{SETTING_NAME}[{key!r}] is {value!r}; use one of {', '.join(allowed)}."
                )
        for key, default in DEFAULTS.items():
            if key not in self.user_settings:
                continue
            value = self.user_settings[key]
            if key in DOMAIN_LIST_KEYS:
                problem = domain_list_problem(key, value)
                if problem:
                    problems.append(problem)
            elif isinstance(default, int):
                minimum = 0 if key in ZERO_ALLOWED else 1
                if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
                    problems.append(
                        f"{SETTING_NAME}[{key!r}] must be a whole number of {minimum} or more, "
                        f"not {value!r}."
                    )
                elif key in MAXIMUMS and value > MAXIMUMS[key][0]:
                    maximum, meaning = MAXIMUMS[key]
                    problems.append(
                        f"{SETTING_NAME}[{key!r}] must be from {minimum} to {maximum} "
                        f"({meaning}), not {value!r}."
                    )
            elif default is None and value is not None and not isinstance(value, str | PathLike):
                problems.append(f"{SETTING_NAME}[{key!r}] must be a string or None, not {value!r}.")
        return problems

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"wagtail-batchcomms has no setting {name!r}")
        problems = self.validate()
        if problems:
            raise ImproperlyConfigured(" ".join(problems))
        value = self.user_settings.get(name, DEFAULTS[name])
        # Cache on the instance; reload() throws the instance's cache away.
        self.__dict__[name] = value
        return value

    def reload(self) -> None:
        for key in DEFAULTS:
            self.__dict__.pop(key, None)
        self._user_settings = None


batchcomms_settings = BatchcommsSettings()


def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting == SETTING_NAME:
        batchcomms_settings.reload()


setting_changed.connect(_reload)


def from_email() -> str:
    """The notices' sender: ``FROM_EMAIL``, else ``DEFAULT_FROM_EMAIL``."""
    return batchcomms_settings.FROM_EMAIL or settings.DEFAULT_FROM_EMAIL
