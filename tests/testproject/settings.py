"""The one settings module of the test suite.

DATABASE_URL picks the database (SQLite in a file under the temp dir by default, so that a
``qcluster`` subprocess started by a test sees the same data); the rest mirrors what a host
project would set.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

SECRET_KEY = "tests-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]

# One folder per test run, inherited by the worker processes the tests start.
TEST_VAR_DIR = Path(
    os.environ.setdefault("BATCHCOMMS_TEST_DIR", tempfile.mkdtemp(prefix="batchcomms-tests-"))
)

INSTALLED_APPS = [
    "wagtail_batchcomms",
    # The optional demo app: seed_demo for the tests that need a realistic register.
    "wagtail_batchcomms.demo",
    "wagtail.contrib.settings",
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
]

ROOT_URLCONF = "testproject.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]


def _database() -> dict:
    url = os.environ.get("DATABASE_URL")
    if url:
        import dj_database_url

        config = dj_database_url.parse(url)
    else:
        TEST_VAR_DIR.mkdir(parents=True, exist_ok=True)
        config = {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(TEST_VAR_DIR / "db.sqlite3"),
            "OPTIONS": {"timeout": 30, "transaction_mode": "IMMEDIATE"},
            # A file, not :memory:, so a qcluster subprocess can open the same test database.
            "TEST": {"NAME": str(TEST_VAR_DIR / "test-db.sqlite3")},
        }
    # Worker processes started by the tests point straight at the test database.
    if os.environ.get("BATCHCOMMS_TEST_DB_NAME"):
        config["NAME"] = os.environ["BATCHCOMMS_TEST_DB_NAME"]
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

USE_TZ = True
TIME_ZONE = "America/Chicago"
LANGUAGE_CODE = "en-us"

STATIC_URL = "/static/"
STATIC_ROOT = str(TEST_VAR_DIR / "static")
MEDIA_URL = "/media/"
MEDIA_ROOT = str(TEST_VAR_DIR / "media")

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

WAGTAIL_SITE_NAME = "Test utility"
WAGTAILADMIN_BASE_URL = "http://testserver"
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}

# The broker is the test database; tests that need another broker start their own processes
# with their own settings (django-q2 reads Q_CLUSTER once, at import).
Q_CLUSTER = {
    "name": os.environ.get("BATCHCOMMS_Q_NAME", "batchcomms-tests"),
    "orm": "default",
    "workers": 2,
    "timeout": 120,
    "retry": 400,
    "max_attempts": 2,
    "queue_limit": 4,
    "catch_up": False,
    "poll": 0.2,
    "ack_failures": True,
}
if os.environ.get("BATCHCOMMS_Q_REDIS"):
    del Q_CLUSTER["orm"]
    Q_CLUSTER["redis"] = os.environ["BATCHCOMMS_Q_REDIS"]
# The fault tests (tests/jobs/test_faults.py) shorten these so that the ORM broker hands a dead
# worker's task out again after seconds rather than minutes ("retry" is counted from when a
# worker took the task, with that worker's setting).
for _key in ("timeout", "retry"):
    if os.environ.get(f"BATCHCOMMS_Q_{_key.upper()}"):
        Q_CLUSTER[_key] = int(os.environ[f"BATCHCOMMS_Q_{_key.upper()}"])

EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = "Test Utility <backflow@utility.example>"
# Worker processes started by a test send to that test's SMTP server (tests/support/smtp.py), which
# always listens on 127.0.0.1; only its port is passed.
if os.environ.get("BATCHCOMMS_TEST_SMTP_PORT"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = "127.0.0.1"
    EMAIL_PORT = int(os.environ["BATCHCOMMS_TEST_SMTP_PORT"])

WAGTAIL_BATCHCOMMS = {"PRIVATE_ROOT": str(TEST_VAR_DIR / "private")}
# Worker processes get the starting test's overrides as a JSON object (override_settings
# does not reach another process).
WAGTAIL_BATCHCOMMS.update(json.loads(os.environ.get("BATCHCOMMS_TEST_SETTINGS") or "{}"))
