"""The automatic notices' permissions in Wagtail's group editor, the demo org admins', and
the sidebar entries per user kind."""

from __future__ import annotations

import factories
import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from wagtail_batchcomms.demo.accounts import ORG_ADMINS, ensure_demo_groups

pytestmark = pytest.mark.django_db

CODENAMES = (
    "add_communicationtype",
    "change_communicationtype",
    "delete_communicationtype",
    "view_communicationtype",
    "view_rulerun",
    "review_rulerun",
)


def test_group_editor_lists_the_automatic_notices_permissions(admin_client):
    group = Group.objects.create(name="Reviewers")
    html = admin_client.get(reverse("wagtailusers_groups:edit", args=[group.pk])).content.decode()
    for codename in CODENAMES:
        permission = Permission.objects.get(codename=codename)
        assert f'value="{permission.pk}"' in html, codename
    assert "Can review and release automatic notices" in html
    # Runs are made by the schedule or Run now: no add/change/delete to hand out.
    for codename in ("add_rulerun", "change_rulerun", "delete_rulerun"):
        assert f'value="{Permission.objects.get(codename=codename).pk}"' not in html, codename


def test_demo_org_admins_manage_types_and_review_runs(client):
    groups = ensure_demo_groups()
    granted = set(groups[ORG_ADMINS].permissions.values_list("codename", flat=True))
    assert set(CODENAMES) <= granted
    user = factories.user("olivia")
    user.groups.add(groups[ORG_ADMINS])
    client.force_login(user)
    html = client.get("/admin/").content.decode()
    for label in ("Communication Types", "Automatic runs", "Awaiting review", "Letters to print"):
        assert label in html, label


def test_sidebar_hides_what_a_user_may_not_open(client):
    client.force_login(
        factories.user("plain", perms=[factories.ADMIN_ACCESS, "wagtail_batchcomms.view_batch"])
    )
    html = client.get("/admin/").content.decode()
    for label in ("Communication Types", "Automatic runs", "Awaiting review", "Letters to print"):
        assert label not in html, label
