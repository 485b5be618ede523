"""The dashboard panels of the automatic notices, per user kind."""

from __future__ import annotations

import factories
import pytest
from rules_admin_data import communication_type, due_locations

from wagtail_batchcomms.models import Batch, Communication, RunMode
from wagtail_batchcomms.rules.runs import run_automatic_notices

pytestmark = pytest.mark.django_db

PANELS = {
    "batches": 'data-dashboard-panel="batchcomms-batches-in-progress"',
    "automatic": 'data-dashboard-panel="batchcomms-automatic-notices"',
    "letters": 'data-dashboard-panel="batchcomms-letters-to-print"',
    "failed": 'data-dashboard-panel="batchcomms-failed-emails"',
}


@pytest.fixture
def day():
    ctype = communication_type(name="First notice", mode=RunMode.REVIEW, active=True)
    due_locations(2, due_in=10)
    due_locations(1, due_in=10, email=False)
    run_automatic_notices(user=factories.user("runner"))
    batch = Batch.objects.get(communication_type=ctype)
    email = Communication.objects.filter(batch=batch, channel="email").first()
    email.status = "failed"
    email.save(update_fields=["status"])
    return batch


def shown(client, user) -> set[str]:
    client.force_login(user)
    response = client.get("/admin/")
    assert response.status_code == 200
    html = response.content.decode()
    return {name for name, marker in PANELS.items() if marker in html}


def test_org_admin_sees_every_panel(client, day):
    from wagtail_batchcomms.demo.accounts import ORG_ADMINS, ensure_demo_groups

    groups = ensure_demo_groups()
    admin = factories.user("olivia")
    admin.groups.add(groups[ORG_ADMINS])
    assert shown(client, admin) == set(PANELS)
    html = client.get("/admin/").content.decode()
    assert "Awaiting review" in html and day.name in html


def test_each_panel_needs_its_permission(client, day):
    editor = factories.user(
        "editor", perms=[factories.ADMIN_ACCESS, "wagtail_batchcomms.change_noticetemplate"]
    )
    assert shown(client, editor) == set()
    viewer = factories.user(
        "viewer",
        perms=[factories.ADMIN_ACCESS, "wagtail_batchcomms.view_batch"],
    )
    assert shown(client, viewer) == {"batches"}
    log_reader = factories.user(
        "reader", perms=[factories.ADMIN_ACCESS, "wagtail_batchcomms.view_communication"]
    )
    assert shown(client, log_reader) == {"failed"}
    runs = factories.user("runs", perms=[factories.ADMIN_ACCESS, "wagtail_batchcomms.view_rulerun"])
    assert shown(client, runs) == {"automatic"}


def test_panels_stay_within_two_queries_each(client, day, django_assert_max_num_queries):
    from wagtail_batchcomms.views.rules.dashboard import (
        AutomaticNoticesPanel,
        BatchesInProgressPanel,
        FailedEmailsPanel,
        LettersToPrintPanel,
    )

    admin = factories.user("boss", superuser=True)
    request = type("Request", (), {"user": admin})()
    for panel in (BatchesInProgressPanel, LettersToPrintPanel, FailedEmailsPanel):
        with django_assert_max_num_queries(2):
            assert panel(request).rows()
    with django_assert_max_num_queries(2):
        assert AutomaticNoticesPanel(request).rows()
