""" "These assemblies are not new to the programme": new assemblies get no "added" date, so an
active "assembly added" Communication Type does not write to them. On by default for the first
import into an empty register (a register moving in), off once the register has assemblies."""

from __future__ import annotations

import factories
import pytest
from django.utils import timezone
from import_data import checked, row

from wagtail_batchcomms.imports import runs
from wagtail_batchcomms.models import Assembly, CommunicationType, Trigger
from wagtail_batchcomms.rules.selection import applying

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private(private_root):
    return private_root


@pytest.fixture
def welcome():
    return CommunicationType.objects.create(
        name="welcome",
        template=factories.notice_template(),
        trigger=Trigger.ASSEMBLY_ADDED,
        days=3,
        active=True,
    )


def _added(kind) -> set[str]:
    return set(applying(kind, today=timezone.localdate()).values_list("serial_number", flat=True))


def _import(serial: str, account: str, **options):
    run = checked([row(serial_number=serial, account_number=account)])
    runs.request_import(run, None, **options)
    run.refresh_from_db()
    assert run.status == "imported", run.error
    return run


def test_not_new_assemblies_are_not_welcomed(welcome):
    run = _import("SN-OLD", "100-001", not_new=True)
    assert run.not_new
    assert Assembly.objects.get(serial_number="SN-OLD").created_at is None
    assert _added(welcome) == set()
    _import("SN-NEW", "100-002", not_new=False)
    assert Assembly.objects.get(serial_number="SN-NEW").created_at is not None
    assert _added(welcome) == {"SN-NEW"}


def test_on_by_default_only_for_an_empty_register(welcome):
    first = _import("SN-1", "100-001")  # the register had no assemblies
    assert first.not_new and _added(welcome) == set()
    second = _import("SN-2", "100-002")
    assert not second.not_new and _added(welcome) == {"SN-2"}


def test_the_page_offers_it_ticked_for_an_empty_register(admin_client):
    run = checked([row()])
    page = admin_client.get(run.get_admin_url()).content.decode()
    assert 'name="not_new" checked data-import-not-new-choice' in page
    # Unticked in the form: the assemblies are new (and welcomed).
    admin_client.post(f"{run.get_admin_url()}import/", {})
    run.refresh_from_db()
    assert run.status == "imported" and not run.not_new
    assert Assembly.objects.get().created_at is not None
    factories.assembly()
    later = checked([row(account_number="100-009", serial_number="SN-9")])
    page = admin_client.get(later.get_admin_url()).content.decode()
    assert "checked data-import-not-new-choice" not in page
