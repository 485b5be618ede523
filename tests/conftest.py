"""Shared fixtures. The database comes from DATABASE_URL (SQLite when unset)."""

from __future__ import annotations

import os

import factories
import pytest

# The qcluster fixture (real worker processes) and the hook that shows their logs on failure;
# the Playwright fixtures (browser, page, shots) of the browser tests; the org admin's
# fixtures of the admin view tests (admin, web, register, template).
pytest_plugins = ["workers", "browser", "batch_admin_data"]


def pytest_report_header(config):
    import django
    import wagtail

    import wagtail_batchcomms

    return (
        f"wagtail-batchcomms from {os.path.dirname(wagtail_batchcomms.__file__)}; "
        f"Django {django.get_version()}, Wagtail {wagtail.__version__}; "
        f"database {os.environ.get('DATABASE_URL', 'sqlite (default)')}"
    )


def pytest_sessionstart(session):
    # CI installs the built wheel and sets this: the tests must then exercise the wheel, not
    # the source tree, so that a template or migration missing from the package fails here.
    if os.environ.get("BATCHCOMMS_EXPECT_INSTALLED") == "1":
        import wagtail_batchcomms

        if "site-packages" not in wagtail_batchcomms.__file__:
            raise pytest.UsageError(
                f"wagtail_batchcomms was imported from {wagtail_batchcomms.__file__}, "
                "not from the installed wheel"
            )
    # tests/run.py with BATCHCOMMS_WAGTAIL (CI's leg on the lowest supported Wagtail): a leg
    # that quietly ran on another Wagtail would prove nothing about the one it names.
    wanted = os.environ.get("BATCHCOMMS_WAGTAIL", "").strip()
    if wanted:
        import wagtail
        from packaging.requirements import Requirement

        if not Requirement(wanted).specifier.contains(wagtail.__version__, prereleases=True):
            raise pytest.UsageError(f"Wagtail {wagtail.__version__} does not satisfy {wanted}")


@pytest.fixture
def superuser(db):
    return factories.user("admin", superuser=True)


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def app_settings(settings):
    """Set WAGTAIL_BATCHCOMMS keys for one test: ``app_settings(SEND_CLAIM_SIZE=5)``."""

    def apply(**values):
        settings.WAGTAIL_BATCHCOMMS = {**settings.WAGTAIL_BATCHCOMMS, **values}

    return apply


@pytest.fixture
def private_root(tmp_path, app_settings):
    """Letter files in this test's own folder (ids, and so file names, repeat across tests)."""
    root = tmp_path / "private"
    app_settings(PRIVATE_ROOT=str(root))
    return root


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on 127.0.0.1 (tests/support/smtp.py) that Django's email is sent to.

    Stops at teardown. Pass options with ``smtp_server.configure(refuse=..., delay=...)``.
    """
    from smtp import SMTPTestServer

    with SMTPTestServer() as server:
        for name, value in server.django_settings().items():
            setattr(settings, name, value)
        yield server
