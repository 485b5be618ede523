"""Permissions of every view of the batch admin, and the custom permissions in Wagtail's
group editor."""

from __future__ import annotations

import re

import factories
import pytest
from batch_admin_data import ADMIN, build_register, generate, make_batch, org_admin
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from wagtail_batchcomms.models import Batch, Communication

HOME = "/admin/"  # Wagtail's permission denied: a message and the dashboard


@pytest.fixture
def world(db):
    build_register()
    user = org_admin()
    template = factories.notice_template()
    generated = generate(make_batch(user, template, name="Generated"), user)
    opened = make_batch(user, template, name="Open one")
    return {"user": user, "generated": generated, "open": opened}


def batch_urls(world) -> list[tuple[str, str, bool]]:
    """(method, url, read_only) of every batch view; actions on a batch whose state allows
    them, so that only permissions can refuse them."""
    g, o = world["generated"], world["open"]
    communication = Communication.objects.filter(batch=g, channel="email").first()

    def u(name, batch):
        return reverse(f"wagtail_batchcomms_batch:{name}", args=[batch.pk])

    reads = [
        reverse("wagtail_batchcomms_batch:index"),
        u("detail", g),
        u("progress", g),
        u("skipped_csv", g),
        u("history", g),
        u("communications", g),
        u("assemblies", g),
        reverse("wagtail_batchcomms_batch:preview_email", args=[communication.pk]),
    ]
    writes = [
        ("get", reverse("wagtail_batchcomms_batch:start")),
        ("get", reverse("wagtail_batchcomms_batch:add") + "?hazard=health"),
        *[(m, u(name, o)) for name in ("generate", "edit", "delete") for m in ("get", "post")],
        *[
            (m, u(name, g))
            for name in (
                "regenerate",
                "send",
                "download_letters",
                "mark_mailed",
                "complete",
                "archive",
                "clone",
            )
            for m in ("get", "post")
        ],
    ]
    return [("get", url, True) for url in reads] + [(m, url, False) for m, url in writes]


LOG_URL = ("get", "/admin/batchcomms/communications/", True)


def state_of(world) -> dict[int, str]:
    return dict(Batch.objects.values_list("pk", "status"))


@pytest.mark.django_db
def test_anonymous_is_sent_to_the_login_page_everywhere(client, world):
    before = state_of(world)
    for method, url, _ in [*batch_urls(world), LOG_URL]:
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/"), url
    assert state_of(world) == before


@pytest.mark.django_db
def test_admin_access_alone_is_wagtails_permission_denied_everywhere(client, world):
    client.force_login(factories.user("nobody", perms=[ADMIN]))
    before = state_of(world)
    for method, url, _ in [*batch_urls(world), LOG_URL]:
        response = getattr(client, method)(url)
        assert (response.status_code, response["Location"]) == (302, HOME), (method, url)
    assert state_of(world) == before
    assert Batch.objects.count() == 2


@pytest.mark.django_db
def test_view_permission_sees_pages_but_no_buttons_and_is_refused_by_url(client, world):
    # The batch's communications are also the Communication Log's: a reader holds both
    # (test_access_matrix: view_batch alone sees the batch page but not its recipients).
    client.force_login(
        factories.user(
            "viewer",
            perms=[ADMIN, "wagtail_batchcomms.view_batch", "wagtail_batchcomms.view_communication"],
        )
    )
    g = world["generated"]
    page = client.get(reverse("wagtail_batchcomms_batch:detail", args=[g.pk]))
    assert page.status_code == 200
    assert re.findall(r"data-batch-action=", page.content.decode()) == []
    listing = client.get(reverse("wagtail_batchcomms_batch:index"))
    assert listing.status_code == 200
    assert reverse("wagtail_batchcomms_batch:start") not in listing.content.decode()
    assert client.get(reverse("wagtail_batchcomms_batch:history", args=[g.pk])).status_code == 200

    before = state_of(world)
    for method, url, read_only in batch_urls(world):
        response = getattr(client, method)(url)
        if read_only:
            assert response.status_code == 200, url
        else:
            assert (response.status_code, response["Location"]) == (302, HOME), (method, url)
    assert state_of(world) == before


@pytest.mark.parametrize(
    ("permission", "action", "batch_key"),
    [
        ("generate", "generate", "open"),
        ("generate", "regenerate", "generated"),
        ("complete", "complete", "generated"),
        ("archive", "archive", "generated"),
        ("clone", "clone", "generated"),
        ("send", "send", "generated"),
        ("send", "mark_mailed", "generated"),
        ("send", "download_letters", "generated"),
        ("change", "edit", "open"),
        ("delete", "delete", "open"),
    ],
)
@pytest.mark.django_db
def test_each_action_needs_its_own_permission(client, world, permission, action, batch_key):
    batch = world[batch_key]
    url = reverse(f"wagtail_batchcomms_batch:{action}", args=[batch.pk])
    detail = reverse("wagtail_batchcomms_batch:detail", args=[batch.pk])
    others = [
        f"wagtail_batchcomms.{p}_batch"
        for p in ("view", "generate", "send", "complete", "archive", "clone", "change", "delete")
        if p != permission
    ]
    client.force_login(factories.user("without", perms=[ADMIN, *others]))
    assert f'data-batch-action="{action}"' not in client.get(detail).content.decode()
    for method in ("get", "post"):
        response = getattr(client, method)(url)
        assert (response.status_code, response["Location"]) == (302, HOME), method

    client.force_login(
        factories.user(
            "with",
            perms=[
                ADMIN,
                "wagtail_batchcomms.view_batch",
                f"wagtail_batchcomms.{permission}_batch",
            ],
        )
    )
    assert f'data-batch-action="{action}"' in client.get(detail).content.decode()
    assert client.get(url).status_code == 200


@pytest.mark.django_db
def test_communication_log_needs_its_view_permission(client, world):
    client.force_login(factories.user("batcher", perms=[ADMIN, "wagtail_batchcomms.view_batch"]))
    assert client.get(reverse("wagtail_batchcomms_communication:index"))["Location"] == HOME
    client.force_login(
        factories.user("reader", perms=[ADMIN, "wagtail_batchcomms.view_communication"])
    )
    assert client.get(reverse("wagtail_batchcomms_communication:index")).status_code == 200


@pytest.mark.django_db
def test_sidebar_communications_group(client, world):
    client.force_login(world["user"])
    html = client.get("/admin/").content.decode()
    for label in ("Communications", "Batch Communications", "Communication Log"):
        assert label in html, label
    client.force_login(factories.user("plain", perms=[ADMIN]))
    html = client.get("/admin/").content.decode()
    assert "Batch Communications" not in html and "Communication Log" not in html


@pytest.mark.django_db
def test_group_editor_lists_the_custom_batch_permissions(admin_client, world):
    group = Group.objects.create(name="Org admins")
    response = admin_client.get(reverse("wagtailusers_groups:edit", args=[group.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    for codename in (
        "generate_batch",
        "send_batch",
        "complete_batch",
        "archive_batch",
        "clone_batch",
    ):
        permission = Permission.objects.get(codename=codename)
        assert f'value="{permission.pk}"' in html, codename
        assert permission.name in html, codename
    view_communication = Permission.objects.get(codename="view_communication")
    assert f'value="{view_communication.pk}"' in html
    # Communications are read-only: no add/change/delete to hand out.
    assert f'value="{Permission.objects.get(codename="change_communication").pk}"' not in html

    # Ticking one in the editor grants it.
    generate_perm = Permission.objects.get(codename="generate_batch")
    data = {"name": "Org admins", "permissions": [generate_perm.pk]}
    for prefix in (
        "page_permissions",
        "collection_permissions",
        "document_permissions",
        "image_permissions",
    ):
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": 0,
                f"{prefix}-INITIAL_FORMS": 0,
                f"{prefix}-MAX_NUM_FORMS": 1000,
            }
        )
    response = admin_client.post(reverse("wagtailusers_groups:edit", args=[group.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert list(group.permissions.values_list("codename", flat=True)) == ["generate_batch"]


@pytest.mark.django_db
def test_permission_is_checked_before_the_state(client, world):
    """Editing a Generated batch without the change permission: permission denied, not
    "only an Open batch can be edited" (which would tell the state)."""
    client.force_login(factories.user("looker", perms=[ADMIN, "wagtail_batchcomms.view_batch"]))
    g = world["generated"]
    for name in ("edit", "delete"):
        url = reverse(f"wagtail_batchcomms_batch:{name}", args=[g.pk])
        assert client.get(url)["Location"] == HOME, name
    client.force_login(world["user"])
    url = reverse("wagtail_batchcomms_batch:edit", args=[g.pk])
    assert client.get(url)["Location"] == reverse("wagtail_batchcomms_batch:detail", args=[g.pk])
