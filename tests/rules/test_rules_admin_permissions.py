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


def test_users_with_permission_agree_with_user_has_permission():
    """The batch policy's two answers agree for every kind of user: a reviewer of automatic
    notices may view (and release) batches, so "who may view batches" lists them too."""
    from wagtail_batchcomms.models import Batch
    from wagtail_batchcomms.permissions import policy_for

    users = {
        "viewer": factories.user("viewer", perms=["wagtail_batchcomms.view_batch"]),
        "sender": factories.user("sender", perms=["wagtail_batchcomms.send_batch"]),
        "starter": factories.user("starter", perms=["wagtail_batchcomms.add_batch"]),
        "reviewer": factories.user("reviewer", perms=["wagtail_batchcomms.review_rulerun"]),
        "runs": factories.user("runs", perms=["wagtail_batchcomms.view_rulerun"]),
        "nobody": factories.user("nobody", perms=[]),
    }
    policy = policy_for(Batch)
    for actions in (["view"], ["review"], ["view", "review"], ["send"], ["add", "review"]):
        listed = set(policy.users_with_any_permission(actions).values_list("username", flat=True))
        expected = {
            name
            for name, user in users.items()
            if any(policy.user_has_permission(user, action) for action in actions)
        }
        assert listed == expected, actions
    assert "reviewer" in set(
        policy.users_with_any_permission(["view"]).values_list("username", flat=True)
    )
