"""Every system check id fires when it should and stays quiet when it should not.

The checks read settings when they run, so ``override_settings`` is enough (django-q2's own
import-time copy of Q_CLUSTER is irrelevant here).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from django.conf import settings
from django.core.checks import run_checks
from django.test import override_settings

from wagtail_batchcomms.checks import (
    check_copy_domains,
    check_private_root,
    check_q_cluster,
    check_settings,
    check_wagtail_version,
    check_weasyprint,
    check_webhook_secret,
)
from wagtail_batchcomms.compat import SUPPORTED_WAGTAIL, wagtail_requirement

ROOT = Path(__file__).resolve().parents[2]

GOOD_CLUSTER = {
    "name": "t",
    "orm": "default",
    "timeout": 600,
    "retry": 1800,
    "catch_up": False,
}


def ids(messages) -> list[str]:
    return sorted(message.id for message in messages)


def cluster(**changes):
    values = {**GOOD_CLUSTER, **changes}
    return {key: value for key, value in values.items() if value is not ...}


def test_the_test_project_passes_every_check():
    assert ids(check_wagtail_version()) == []
    assert ids(check_settings()) == []
    assert ids(check_q_cluster()) == []
    assert ids(check_weasyprint()) == []
    assert ids(check_private_root()) == []
    assert ids(check_copy_domains()) == []
    assert ids(check_webhook_secret()) == []


def test_the_checks_are_registered_with_django():
    with override_settings(Q_CLUSTER=cluster(orm=..., catch_up=True)):
        found = {message.id for message in run_checks()}
    assert {"batchcomms.E004", "batchcomms.W007"} <= found


# --- E001: WAGTAIL_BATCHCOMMS -----------------------------------------------------------


def test_e001_unknown_key():
    with override_settings(WAGTAIL_BATCHCOMMS={"LETTER_EXPIRY": 3}):
        messages = check_settings()
    assert ids(messages) == ["batchcomms.E001"]
    assert "'LETTER_EXPIRY'" in messages[0].msg
    assert messages[0].hint


def test_e001_bad_value():
    with override_settings(WAGTAIL_BATCHCOMMS={"PAGE_SIZE": "legal", "LISTING_PAGE_SIZE": 0}):
        messages = check_settings()
    assert ids(messages) == ["batchcomms.E001", "batchcomms.E001"]


@pytest.mark.parametrize(
    "values",
    [
        {"EXPORT_BACKGROUND_ROWS": 0},
        {"EXPORT_BACKGROUND_ROWS": "10000"},
        {"EXPORT_EXPIRY_DAYS": -1},
    ],
)
def test_e001_export_settings(values):
    with override_settings(WAGTAIL_BATCHCOMMS=values):
        messages = check_settings()
    assert ids(messages) == ["batchcomms.E001"]
    assert repr(next(iter(values))) in messages[0].msg


def test_e001_not_a_dict():
    with override_settings(WAGTAIL_BATCHCOMMS="a4"):
        assert ids(check_settings()) == ["batchcomms.E001"]


def test_e001_quiet_for_good_settings():
    with override_settings(WAGTAIL_BATCHCOMMS={"PAGE_SIZE": "a4", "EMAIL_RATE_LIMIT": 0}):
        assert check_settings() == []


# --- E002-E004, W005-W007: Q_CLUSTER ----------------------------------------------------


def test_e002_q_cluster_missing():
    with override_settings():
        del settings.Q_CLUSTER
        messages = check_q_cluster()
    assert ids(messages) == ["batchcomms.E002"]
    assert "Q_CLUSTER" in messages[0].hint


def test_e003_q_cluster_not_a_dict():
    with override_settings(Q_CLUSTER="redis://127.0.0.1:6379/0"):
        assert ids(check_q_cluster()) == ["batchcomms.E003"]


@pytest.mark.parametrize("broker", ["orm", "redis", "django_redis", "sqs", "broker_class"])
def test_e004_quiet_when_a_broker_is_named(broker):
    q_cluster = cluster(orm=...)
    q_cluster[broker] = "default" if broker in ("orm", "django_redis") else {"host": "x"}
    with override_settings(Q_CLUSTER=q_cluster):
        assert check_q_cluster() == []


@pytest.mark.parametrize("not_a_broker", [None, "disque"])
def test_e004_no_broker(not_a_broker):
    q_cluster = cluster(orm=...)
    if not_a_broker:
        q_cluster[not_a_broker] = {"host": "127.0.0.1"}  # django-q2 has no disque broker
    with override_settings(Q_CLUSTER=q_cluster):
        assert ids(check_q_cluster()) == ["batchcomms.E004"]


def test_w005_no_timeout():
    with override_settings(Q_CLUSTER=cluster(timeout=...)):
        assert ids(check_q_cluster()) == ["batchcomms.W005"]


@pytest.mark.parametrize("retry", [600, 929, ...])  # equal, just under 1.5x + 30, default 60
def test_w006_retry_not_well_above_timeout(retry):
    with override_settings(Q_CLUSTER=cluster(retry=retry)):
        messages = check_q_cluster()
    assert ids(messages) == ["batchcomms.W006"]
    assert "930" in messages[0].hint  # the smallest retry that would do


def test_w006_quiet_when_retry_is_well_above():
    with override_settings(Q_CLUSTER=cluster(retry=930)):
        assert check_q_cluster() == []


@pytest.mark.parametrize("catch_up", [True, ...])  # on, or left at django-q2's default (on)
def test_w007_catch_up(catch_up):
    with override_settings(Q_CLUSTER=cluster(catch_up=catch_up)):
        assert ids(check_q_cluster()) == ["batchcomms.W007"]


def test_several_q_cluster_problems_are_reported_together():
    with override_settings(Q_CLUSTER=cluster(orm=..., timeout=..., catch_up=...)):
        assert ids(check_q_cluster()) == ["batchcomms.E004", "batchcomms.W005", "batchcomms.W007"]


# --- E008: WeasyPrint ------------------------------------------------------------------


class _PangoMissing:
    """A meta path finder that fails ``import weasyprint`` the way a missing Pango does."""

    def find_spec(self, name, path=None, target=None):
        if name == "weasyprint":
            raise OSError("cannot load library 'libpango-1.0-0': libpango-1.0-0: not found")
        return None


def test_e008_system_libraries_missing(monkeypatch):
    monkeypatch.delitem(sys.modules, "weasyprint", raising=False)
    monkeypatch.setattr(sys, "meta_path", [_PangoMissing(), *sys.meta_path])
    messages = check_weasyprint()
    assert ids(messages) == ["batchcomms.E008"]
    assert "libpango-1.0-0" in messages[0].msg
    assert "apt-get install" in messages[0].hint


def test_e008_weasyprint_not_installed(monkeypatch):
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # makes `import weasyprint` fail
    messages = check_weasyprint()
    assert ids(messages) == ["batchcomms.E008"]
    assert "not installed" in messages[0].msg


def test_e008_quiet_when_weasyprint_loads():
    import weasyprint  # noqa: F401  (really loads here)

    assert check_weasyprint() == []


# --- E009: the letters' private folder ----------------------------------------------------


@pytest.mark.parametrize("where", ["MEDIA_ROOT", "STATIC_ROOT"])
def test_e009_private_root_inside_a_public_folder(tmp_path, where):
    public = tmp_path / "public"
    values = {**settings.WAGTAIL_BATCHCOMMS, "PRIVATE_ROOT": str(public / "letters")}
    with override_settings(WAGTAIL_BATCHCOMMS=values, **{where: str(public)}):
        messages = check_private_root()
        assert ids(messages) == ["batchcomms.E009"]
        assert where in messages[0].msg and "publish letters" in messages[0].msg
        assert "PRIVATE_ROOT" in messages[0].hint
        assert "batchcomms.E009" in {message.id for message in run_checks()}


def test_e009_private_root_equal_to_media_root(tmp_path):
    values = {**settings.WAGTAIL_BATCHCOMMS, "PRIVATE_ROOT": str(tmp_path)}
    with override_settings(WAGTAIL_BATCHCOMMS=values, MEDIA_ROOT=str(tmp_path)):
        assert ids(check_private_root()) == ["batchcomms.E009"]


def test_e009_quiet_beside_media_root_and_for_a_storage_alias(tmp_path):
    beside = {**settings.WAGTAIL_BATCHCOMMS, "PRIVATE_ROOT": str(tmp_path / "private")}
    with override_settings(WAGTAIL_BATCHCOMMS=beside, MEDIA_ROOT=str(tmp_path / "media")):
        assert check_private_root() == []
    alias = {
        **settings.WAGTAIL_BATCHCOMMS,
        "PRIVATE_ROOT": str(tmp_path / "media" / "letters"),
        "LETTER_STORAGE": "default",
    }
    with override_settings(WAGTAIL_BATCHCOMMS=alias, MEDIA_ROOT=str(tmp_path / "media")):
        assert check_private_root() == []


# --- E010: a Wagtail outside the supported range ---------------------------------------------

PIP_HINT = 'pip install "wagtail>=7.4,<9"'


@pytest.mark.parametrize(
    ("version", "found", "newer"),
    [
        ((6, 4, 2, "final", 1), "6.4.2", False),
        ((7, 0, 10, "final", 1), "7.0.10", False),
        ((7, 3, 1, "final", 1), "7.3.1", False),
        ((9, 0, 0, "alpha", 0), "9.0.0", True),
        ((10, 1, 0, "final", 1), "10.1.0", True),
    ],
)
def test_e010_wagtail_outside_the_range(version, found, newer):
    messages = check_wagtail_version(version)
    assert ids(messages) == ["batchcomms.E010"]
    assert f"Wagtail {found}, {'newer' if newer else 'older'} than that" in messages[0].msg
    assert PIP_HINT in messages[0].hint


@pytest.mark.parametrize("version", [(7, 4, 0), (7, 4, 4, "final", 1), (8, 0, 0), (8, 9, 3)])
def test_e010_quiet_inside_the_range(version):
    assert check_wagtail_version(version) == []


@pytest.mark.parametrize("version", ["(7, 0, 10, 'final', 1)", "(9, 0, 0, 'final', 1)"])
@pytest.mark.parametrize("command", ["check", "migrate"])
def test_e010_stops_manage_py_before_anything_imports_our_views(version, command):
    """On an unsupported Wagtail the site's commands end with E010's message and its pip
    command, not an ImportError from deep inside a view module (the AppConfig raises it while
    Django creates the app configs). ``wagtail.VERSION`` is changed before Django starts."""
    code = (
        f"import wagtail; wagtail.VERSION = {version}; "
        "from django.core.management import execute_from_command_line; "
        f"execute_from_command_line(['manage.py', '{command}'])"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "testproject.settings"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT / "tests",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("django.core.exceptions.ImproperlyConfigured: (batchcomms.E010)")
    assert PIP_HINT in last
    assert "ImportError" not in result.stderr


def test_pyproject_readme_and_ci_claim_exactly_the_range_that_is_checked():
    """pyproject.toml's dependency and classifiers and the README's table say what E010 lets
    through, and CI runs the suite on its lowest end (and on the latest, its main legs)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert wagtail_requirement() == "wagtail>=7.4,<9"
    assert wagtail_requirement() in project["dependencies"]
    (low_major, low_minor), (high_major, _) = SUPPORTED_WAGTAIL
    wagtail_classifiers = {
        c.removeprefix("Framework :: Wagtail :: ")
        for c in project["classifiers"]
        if c.startswith("Framework :: Wagtail :: ")
    }
    assert wagtail_classifiers == {str(major) for major in range(low_major, high_major)}
    readme = (ROOT / "README.md").read_text().splitlines()
    readme_row = next(line for line in readme if line.startswith("| Wagtail |"))
    assert f"{low_major}.{low_minor} LTS" in readme_row and f"{high_major - 1}.x" in readme_row
    ci = (ROOT / ".ci" / "run").read_text()
    assert f'BATCHCOMMS_WAGTAIL="wagtail~={low_major}.{low_minor}.0"' in ci


# --- W010, W011 and E001: COPY_ADDRESS_DOMAINS (where CC/BCC copies may go) ----------------


def copy_domains(value, **other):
    return override_settings(
        WAGTAIL_BATCHCOMMS={**settings.WAGTAIL_BATCHCOMMS, "COPY_ADDRESS_DOMAINS": value},
        **other,
    )


@pytest.mark.parametrize("value", [["*"], ["example.org", "*"]])
def test_w010_copies_to_any_domain(value):
    with copy_domains(value):
        [message] = check_copy_domains()
    assert message.id == "batchcomms.W010"
    assert "any domain" in message.msg and "COPY_ADDRESS_DOMAINS" in message.msg
    assert "Can set CC/BCC copies of notice templates" in message.hint


@pytest.mark.parametrize("sender", ["webmaster@localhost", ""])
def test_w011_default_domain_from_an_unset_sender(sender):
    with copy_domains(None, DEFAULT_FROM_EMAIL=sender):
        [message] = check_copy_domains()
    assert message.id == "batchcomms.W011"
    assert "every CC/BCC copy will be refused" in message.msg
    assert "DEFAULT_FROM_EMAIL" in message.hint and "[]" in message.hint


@pytest.mark.parametrize(
    ("value", "sender"),
    [
        (None, "Utility <backflow@utility.example>"),
        ([], "webmaster@localhost"),  # copies turned off on purpose
        (["utility.example", "archive.utility.example"], "webmaster@localhost"),
    ],
)
def test_w010_w011_quiet(value, sender):
    with copy_domains(value, DEFAULT_FROM_EMAIL=sender):
        assert ids(check_copy_domains()) == []


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("example.org", "must be a list of domain names"),
        ({"example.org"}, "must be a list of domain names"),
        (["archive@example.org"], "not a domain name"),
        (["exa mple.org"], "not a domain name"),
        ([""], "not a domain name"),
        ([3], "not a domain name"),
    ],
)
def test_e001_copy_domains_not_a_list_of_domains(value, words):
    with copy_domains(value):
        messages = check_settings()
        copies = check_copy_domains()
    assert ids(messages) == ["batchcomms.E001"]
    assert words in messages[0].msg and "COPY_ADDRESS_DOMAINS" in messages[0].msg
    assert copies == []  # E001 says it; the copy check does not fail on it


# --- W012: anymail's tracking webhooks without a secret -----------------------------------

ANYMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"EMAIL_BACKEND": ANYMAIL_BACKEND, "ANYMAIL": {"POSTMARK_SERVER_TOKEN": "t"}}, True),
        ({"EMAIL_BACKEND": ANYMAIL_BACKEND, "ANYMAIL": {"WEBHOOK_SECRET": ""}}, True),
        ({"EMAIL_BACKEND": ANYMAIL_BACKEND}, True),
        ({"EMAIL_BACKEND": ANYMAIL_BACKEND, "ANYMAIL": {"WEBHOOK_SECRET": "u:p"}}, False),
        ({"EMAIL_BACKEND": ANYMAIL_BACKEND, "ANYMAIL_WEBHOOK_SECRET": "u:p"}, False),
        ({"EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend"}, False),
    ],
)
def test_w012_anymail_without_a_webhook_secret(overrides, expected):
    with override_settings(**overrides):
        found = ids(check_webhook_secret())
        registered = {message.id for message in run_checks(tags=["security"])}
    assert found == (["batchcomms.W012"] if expected else [])
    assert ("batchcomms.W012" in registered) is expected
