"""Who is offered "My exports" (the sidebar's Assemblies group) and its page: superusers, whoever
may see a listing that exports (that listing's own permission, asked of its policy), whoever
has exports of their own. Anyone else has no menu item and is refused the page the way every
admin page refuses (Wagtail's redirect to the dashboard)."""

from __future__ import annotations

import factories
import pytest
from django.test import RequestFactory
from django.urls import reverse
from wagtail.admin.menu import SubmenuMenuItem, admin_menu

from wagtail_batchcomms import exports
from wagtail_batchcomms.models import ExportRun

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_root")]

INDEX = reverse("wagtail_batchcomms_export:index")
RESULTS = reverse("wagtail_batchcomms_export:index_results")
HOME = reverse("wagtailadmin_home")
ASSEMBLIES = reverse("wagtailsnippets_wagtail_batchcomms_assembly:list")


def menu(client, user) -> dict[str, str]:
    """The sidebar's items (groups and their items) shown to ``user``, by name: their URLs;
    and the dashboard's sidebar must agree about "My exports"."""
    request = RequestFactory().get(HOME)
    request.user = user
    found: dict[str, str] = {}
    pending = list(admin_menu.menu_items_for_request(request))
    while pending:
        item = pending.pop()
        found[item.name] = item.url
        if isinstance(item, SubmenuMenuItem):
            pending += item.menu.menu_items_for_request(request)
    html = client.get(HOME).content.decode()
    assert ('"My exports"' in html) == ("exports" in found)
    return found


def assert_offered(client, user):
    items = menu(client, user)
    assert items.get("exports") == INDEX, items
    assert "batchcomms-register" in items  # the Assemblies group holding it
    assert client.get(INDEX).status_code == 200
    assert client.get(RESULTS).status_code == 200


def assert_refused(client, user):
    items = menu(client, user)
    assert "exports" not in items, items
    # Nothing else in the Assemblies group for this user: the group is not shown at all.
    assert "batchcomms-register" not in items, items
    for url in (INDEX, RESULTS):
        response = client.get(url)
        assert (response.status_code, response["Location"]) == (302, HOME), url


@pytest.mark.parametrize(
    "perms",
    [
        ["wagtail_batchcomms.view_assembly"],
        ["wagtail_batchcomms.change_servicearea"],
        ["wagtail_batchcomms.view_communication"],
        ["wagtail_batchcomms.view_batch"],
        # The batch listing's "view" (BatchPermissionPolicy): also an action on batches.
        ["wagtail_batchcomms.send_batch"],
    ],
    ids=["register viewer", "service areas editor", "log viewer", "batch viewer", "sender"],
)
def test_whoever_may_see_a_listing_that_exports_is_offered_my_exports(client, perms):
    user = factories.user("clerk", perms=[factories.ADMIN_ACCESS, *perms])
    client.force_login(user)
    assert_offered(client, user)


def test_a_superuser_is_offered_my_exports_without_any_export(client):
    user = factories.user("root", superuser=True)
    client.force_login(user)
    assert not ExportRun.objects.exists()
    assert_offered(client, user)


@pytest.mark.parametrize(
    "perms",
    [
        [],
        # Starting batches is not seeing the batch listing; templates and imports do not export.
        ["wagtail_batchcomms.add_batch"],
        ["wagtail_batchcomms.view_noticetemplate"],
    ],
    ids=["admin access only", "batch starter", "template viewer"],
)
def test_a_user_who_may_export_nothing_and_has_no_exports_is_refused(client, perms):
    user = factories.user("plain", perms=[factories.ADMIN_ACCESS, *perms])
    client.force_login(user)
    assert_refused(client, user)


def test_old_exports_stay_listed_after_the_permission_goes_and_downloads_ask_again(
    client, app_settings
):
    app_settings(EXPORT_BACKGROUND_ROWS=1)
    for i in range(3):
        factories.assembly(factories.location(account_number=f"MX-{i}"))
    alice = factories.user(
        "alice", perms=[factories.ADMIN_ACCESS, "wagtail_batchcomms.view_assembly"]
    )
    client.force_login(alice)
    response = client.get(ASSEMBLIES, {"export": "csv"})
    assert response.status_code == 302
    run = ExportRun.objects.get(requested_by=alice)
    assert exports.run_export(run.pk).startswith("ready")

    group = alice.groups.get()
    group.permissions.remove(*group.permissions.filter(codename="view_assembly"))
    alice = type(alice).objects.get(pk=alice.pk)  # no cached permissions
    client.force_login(alice)
    assert client.get(ASSEMBLIES).status_code == 302  # the listing itself is gone for her
    items = menu(client, alice)
    assert items.get("exports") == INDEX, items
    listing = client.get(INDEX)
    assert listing.status_code == 200 and run.get_admin_url().encode() in listing.content
    assert client.get(run.get_admin_url()).status_code == 200
    download = client.get(reverse("wagtail_batchcomms_export:download", args=[run.pk]))
    assert download.status_code == 403 and b"no longer see this listing" in download.content

    # Someone else's export does not count: another plain admin is still refused.
    bob = factories.user("bob", perms=[factories.ADMIN_ACCESS])
    client.force_login(bob)
    assert_refused(client, bob)
