"""System checks. Every check has a stable id and a hint that says what to change."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import wagtail
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from . import __version__
from .compat import SUPPORTED_WAGTAIL, wagtail_requirement
from .conf import SETTING_NAME, batchcomms_settings
from .storage import private_root_problem

#: django-q2 (1.x) broker keys; without one of these django-q2 silently falls back to Redis
#: on localhost. ("disque" was a django-q broker that django-q2 no longer has.)
BROKER_KEYS = ("orm", "redis", "django_redis", "sqs", "iron_mq", "mongo", "broker_class")

Q_CLUSTER_EXAMPLE = (
    "Q_CLUSTER = {'name': 'batchcomms', 'orm': 'default', 'workers': 2, "
    "'timeout': 600, 'retry': 1800, 'queue_limit': 4, 'catch_up': False}"
)


def check_wagtail_version(version: Sequence[Any] | None = None) -> list:
    """batchcomms.E010: the installed Wagtail is outside the range this release supports.

    Run by ``WagtailBatchcommsConfig`` while Django creates the app configs, which raises
    ImproperlyConfigured with its text, rather than registered with Django's check framework:
    on such a Wagtail our models or views may not import (Wagtail 7.0 lacks names our views
    import), and Django imports them (app loading, the URL checks, Wagtail's hooks) before it
    lists any check's result, so a registered check would be buried under an ImportError.
    ``version`` is ``wagtail.VERSION`` unless given.
    """
    version = tuple(wagtail.VERSION if version is None else version)
    low, first_unsupported = SUPPORTED_WAGTAIL
    if low <= tuple(version[:2]) < first_unsupported:
        return []
    found = ".".join(str(part) for part in version[:3])
    requirement = wagtail_requirement()
    newer = tuple(version[:2]) >= first_unsupported
    return [
        Error(
            f"wagtail-batchcomms {__version__} supports Wagtail {low[0]}.{low[1]} up to "
            f"(not including) {first_unsupported[0]}.{first_unsupported[1]}; this site has "
            f"Wagtail {found}, {'newer' if newer else 'older'} than that.",
            hint=f'Install a supported Wagtail: pip install "{requirement}"'
            + (", or a wagtail-batchcomms release that supports your Wagtail." if newer else "."),
            id="batchcomms.E010",
        )
    ]


@register(Tags.compatibility)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list:
    """batchcomms.E001: WAGTAIL_BATCHCOMMS has unknown keys or bad values."""
    batchcomms_settings.reload()
    try:
        problems = batchcomms_settings.validate()
    except Exception as error:  # a non-dict value
        problems = [str(error)]
    return [
        Error(
            problem,
            hint=f"Fix {SETTING_NAME} in your settings; the README lists every key.",
            id="batchcomms.E001",
        )
        for problem in problems
    ]


@register(Tags.compatibility)
def check_q_cluster(app_configs: Any = None, **kwargs: Any) -> list:
    """batchcomms.E002-E004, W005: the django-q2 cluster the background work runs on."""
    q_cluster = getattr(settings, "Q_CLUSTER", None)
    if q_cluster is None:
        return [
            Error(
                "Q_CLUSTER is not set: generation, sending and letters run as django-q2 tasks.",
                hint=f"Add to your settings, e.g. {Q_CLUSTER_EXAMPLE}",
                id="batchcomms.E002",
            )
        ]
    if not isinstance(q_cluster, dict):
        return [
            Error(
                f"Q_CLUSTER must be a dict, not {type(q_cluster).__name__}.",
                hint=f"For example: {Q_CLUSTER_EXAMPLE}",
                id="batchcomms.E003",
            )
        ]
    errors: list = []
    if not any(key in q_cluster for key in BROKER_KEYS):
        errors.append(
            Error(
                "Q_CLUSTER names no broker, so django-q2 would quietly try Redis on localhost.",
                hint="Add 'orm': 'default' to use your database as the broker, or 'redis': "
                "{...} / 'django_redis': '<cache alias>' for Redis.",
                id="batchcomms.E004",
            )
        )
    timeout = q_cluster.get("timeout")
    retry = q_cluster.get("retry", 60)
    if timeout is None:
        errors.append(
            Warning(
                "Q_CLUSTER has no 'timeout': a hung task (an SMTP server that never answers, "
                "a huge PDF) would hold a worker for ever.",
                hint="Set 'timeout' (seconds), e.g. 600, and 'retry' well above it, e.g. 1800.",
                id="batchcomms.W005",
            )
        )
    elif retry is None or retry < timeout * 1.5 + 30:
        errors.append(
            Warning(
                f"Q_CLUSTER 'retry' ({retry}) is not well above 'timeout' ({timeout}): the "
                "broker would hand a task that is still running to a second worker.",
                hint=f"Set 'retry' to at least {int(timeout * 1.5 + 30)}, e.g. {int(timeout * 3)}.",
                id="batchcomms.W006",
            )
        )
    if q_cluster.get("catch_up", True):
        errors.append(
            Warning(
                "Q_CLUSTER 'catch_up' is on: after downtime every missed run of the scheduled "
                "purge of expired letter downloads would run at once.",
                hint="Set 'catch_up': False.",
                id="batchcomms.W007",
            )
        )
    return errors


def weasyprint_problem() -> str | None:
    """Why WeasyPrint cannot run here, or None when it can."""
    try:
        import weasyprint  # noqa: F401
    except OSError as error:  # Pango or its friends missing
        return str(error).splitlines()[0]
    except ImportError as error:
        return f"weasyprint is not installed ({error})"
    return None


@register(Tags.compatibility)
def check_weasyprint(app_configs: Any = None, **kwargs: Any) -> list:
    """batchcomms.E008: WeasyPrint's system libraries (Pango) are missing."""
    problem = weasyprint_problem()
    if problem is None:
        return []
    return [
        Error(
            f"WeasyPrint cannot load its system libraries, so letters cannot be rendered: "
            f"{problem}",
            hint="Install Pango and HarfBuzz, e.g. on Debian/Ubuntu: apt-get install "
            "libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0; see "
            "https://doc.courtbouillon.org/weasyprint/stable/first_steps.html",
            id="batchcomms.E008",
        )
    ]


@register(Tags.security)
def check_private_root(app_configs: Any = None, **kwargs: Any) -> list:
    """batchcomms.E009: the letters' private folder is inside MEDIA_ROOT or STATIC_ROOT."""
    try:
        if batchcomms_settings.LETTER_STORAGE:  # the host's own storage alias: not ours to judge
            return []
        problem = private_root_problem()
    except Exception:  # unreadable settings: E001 reports them
        return []
    if problem is None:
        return []
    return [
        Error(
            problem,
            hint=f"Set {SETTING_NAME}['PRIVATE_ROOT'] to a folder the web server does not "
            "serve, outside MEDIA_ROOT and STATIC_ROOT (by default it is a "
            "'batchcomms-private' folder beside MEDIA_ROOT).",
            id="batchcomms.E009",
        )
    ]


@register(Tags.security)
def check_copy_domains(app_configs: Any = None, **kwargs: Any) -> list:
    """batchcomms.W010, W011: where notice templates' CC/BCC copies may go.

    Every email of every batch using a template is copied to its CC/BCC addresses, with the
    letter PDF when attached; COPY_ADDRESS_DOMAINS limits them (``notices.copies``).
    """
    # AppConfig.__init__ imports this module, before the models notices.copies imports exist.
    from .notices.copies import ANY_DOMAIN, allowed_domains

    try:
        domains = allowed_domains()
        configured = batchcomms_settings.COPY_ADDRESS_DOMAINS
    except Exception:  # unreadable settings: E001 reports them
        return []
    setting = f"{SETTING_NAME}['COPY_ADDRESS_DOMAINS']"
    if ANY_DOMAIN in domains:
        return [
            Warning(
                f"{setting} contains '*': a notice template's CC/BCC copies may go to any "
                "domain, so whoever may set copies can receive every recipient's notice "
                "(and letter PDF) at an outside address.",
                hint=f"List your organisation's own domains instead, e.g. {setting} = "
                "['example.org']; only users with the 'Can set CC/BCC copies of notice "
                "templates' permission may set copies.",
                id="batchcomms.W010",
            )
        ]
    if configured is None and domains in ((), ("localhost",)):
        return [
            Warning(
                f"{setting} is not set, so copies may only go to the sender address's domain, "
                f"which is {domains[0] if domains else 'missing'!r} (DEFAULT_FROM_EMAIL is not "
                "set): every CC/BCC copy will be refused.",
                hint="Set DEFAULT_FROM_EMAIL (or WAGTAIL_BATCHCOMMS['FROM_EMAIL']) to your "
                f"organisation's sender address, or list the domains copies may go to in "
                f"{setting}; set it to [] to turn copies off and silence this warning.",
                id="batchcomms.W011",
            )
        ]
    return []


@register(Tags.security)
def check_webhook_secret(app_configs: Any = None, **kwargs: Any) -> list:
    """batchcomms.W012: an email provider through django-anymail without a webhook secret.

    anymail's tracking webhooks then accept unauthenticated posts (it only warns), and a
    forged "bounced" event would flag a contact's email as undeliverable
    (``emails.tracking``)."""
    backend = str(getattr(settings, "EMAIL_BACKEND", ""))
    if not backend.startswith("anymail."):
        return []
    anymail = getattr(settings, "ANYMAIL", None) or {}
    secret = anymail.get("WEBHOOK_SECRET") if isinstance(anymail, dict) else None
    if secret or getattr(settings, "ANYMAIL_WEBHOOK_SECRET", None):
        return []
    return [
        Warning(
            "EMAIL_BACKEND is an anymail backend but ANYMAIL['WEBHOOK_SECRET'] is not set: the "
            "provider's tracking webhooks accept unauthenticated posts, so anyone could report "
            "an email as bounced and flag the contact's address.",
            hint="Set ANYMAIL['WEBHOOK_SECRET'] = 'user:long-random-password' and give the "
            "provider https://user:long-random-password@<host>/anymail/<esp>/tracking/ "
            "(README: Email providers).",
            id="batchcomms.W012",
        )
    ]
