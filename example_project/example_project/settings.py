"""Settings of the example project: a small Wagtail site that uses wagtail-batchcomms.

SQLite by default; set DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/batchcomms) for
PostgreSQL. django-q2 uses the database as its broker unless REDIS_URL is set.
"""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("BATCHCOMMS_VAR_DIR", BASE_DIR / "var"))

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-project-not-for-production")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")

INSTALLED_APPS = [
    "wagtail_batchcomms",
    # Optional: the demo data and its seed_demo command (remove it on a real site).
    "wagtail_batchcomms.demo",
    "wagtail.contrib.settings",
    "wagtail.contrib.forms",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_q",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.security.SecurityMiddleware",
]

ROOT_URLCONF = "example_project.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "wagtail.contrib.settings.context_processors.settings",
            ]
        },
    }
]

WSGI_APPLICATION = "example_project.wsgi.application"


def _database() -> dict:
    url = os.environ.get("DATABASE_URL")
    if url:
        import dj_database_url

        return dj_database_url.parse(url, conn_max_age=60)
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": VAR_DIR / "db.sqlite3",
        # WAL lets the web server read while the worker writes; the timeout rides out
        # the short write locks the two processes take.
        "OPTIONS": {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = []

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "America/Chicago")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = VAR_DIR / "media"

WAGTAIL_SITE_NAME = "Riverbend Water backflow programme"
WAGTAILADMIN_BASE_URL = os.environ.get("WAGTAILADMIN_BASE_URL", "http://127.0.0.1:8000")
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}

# Background work: the database is the broker unless REDIS_URL is set. "retry" stays well
# above "timeout" so the broker never hands a running task to a second worker.
Q_CLUSTER = {
    "name": "batchcomms",
    "workers": int(os.environ.get("Q_WORKERS", "2")),
    "timeout": 600,
    "retry": 1800,
    "max_attempts": 3,
    "queue_limit": 4,
    "catch_up": False,
    "ack_failures": True,
    "save_limit": 500,
    "poll": 0.5,
}
if os.environ.get("REDIS_URL"):
    import urllib.parse

    _redis = urllib.parse.urlparse(os.environ["REDIS_URL"])
    Q_CLUSTER["redis"] = {
        "host": _redis.hostname or "127.0.0.1",
        "port": _redis.port or 6379,
        "db": int((_redis.path or "/0").lstrip("/") or 0),
        "password": _redis.password,
    }
else:
    Q_CLUSTER["orm"] = "default"

# Email: the demo writes every message to var/sent-mail/ as .eml files you can open;
# set EMAIL_HOST to send through a real SMTP server instead.
if os.environ.get("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = os.environ["EMAIL_HOST"]
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = os.environ.get("EMAIL_USE_TLS", "0") == "1"
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "sent-mail"
if os.environ.get("POSTMARK_SERVER_TOKEN"):
    # An email provider's API through django-anymail (README: "Email providers"): provider
    # message ids, per-recipient statuses, and bounces from /anymail/postmark/tracking/.
    EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    ANYMAIL = {
        "POSTMARK_SERVER_TOKEN": os.environ["POSTMARK_SERVER_TOKEN"],
        "WEBHOOK_SECRET": os.environ.get("ANYMAIL_WEBHOOK_SECRET", ""),
    }
EMAIL_TIMEOUT = 30
DEFAULT_FROM_EMAIL = "Riverbend Water Backflow Program <backflow@riverbend-water.example>"

WAGTAIL_BATCHCOMMS = {
    "LETTER_DOWNLOAD_EXPIRY_DAYS": int(os.environ.get("LETTER_DOWNLOAD_EXPIRY_DAYS", "7")),
    "PRIVATE_ROOT": str(VAR_DIR / "private"),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"wagtail_batchcomms": {"handlers": ["console"], "level": "INFO"}},
}
