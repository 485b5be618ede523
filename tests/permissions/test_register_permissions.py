"""Who may see and change the register: anonymous, no permission, editor, org admin."""

from __future__ import annotations

import factories
import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from wagtail_batchcomms.demo.accounts import ensure_demo_accounts

pytestmark = pytest.mark.django_db

MODELS = ("assembly", "location", "contact", "servicearea")


def url(model: str, view: str, *args) -> str:
    return reverse(f"wagtailsnippets_wagtail_batchcomms_{model}:{view}", args=args)


@pytest.fixture
def objects():
    area = factories.service_area()
    location = factories.location(service_area=area)
    contact = factories.contact()
    factories.role(location, contact, "owner", primary=True)
    asm = factories.assembly(location)
    return {"assembly": asm, "location": location, "contact": contact, "servicearea": area}


def pages(objects, model: str) -> dict[str, str]:
    pk = objects[model].pk
    found = {
        "list": url(model, "list"),
        "export": url(model, "list") + "?export=csv",
        "add": url(model, "add"),
        "edit": url(model, "edit", pk),
        "delete": url(model, "delete", pk),
    }
    if model != "servicearea":
        found["inspect"] = url(model, "inspect", pk)
    return found


def is_refused(response) -> bool:
    """Wagtail answers a refused admin request with a redirect (to login or the dashboard)."""
    return response.status_code == 302 and not response["Location"].startswith("/admin/snippets/")


def login(client, username: str) -> None:
    client.force_login(get_user_model().objects.get(username=username))


@pytest.mark.parametrize("model", MODELS)
def test_anonymous_is_sent_to_the_login(client, objects, model):
    for name, page in pages(objects, model).items():
        response = client.get(page)
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("wagtailadmin_login")), name


@pytest.mark.parametrize("model", MODELS)
def test_a_user_without_admin_access_is_refused(client, objects, model):
    client.force_login(factories.user("nobody"))
    for name, page in pages(objects, model).items():
        assert is_refused(client.get(page)), name


@pytest.mark.parametrize("model", MODELS)
def test_admin_access_alone_is_not_enough(client, objects, model):
    client.force_login(factories.user("reader", perms=[factories.ADMIN_ACCESS]))
    for name, page in pages(objects, model).items():
        assert is_refused(client.get(page)), name


def test_an_editor_of_notice_templates_without_register_permissions_is_refused(client, objects):
    client.force_login(
        factories.user(
            "writer",
            perms=[
                factories.ADMIN_ACCESS,
                "wagtail_batchcomms.add_noticetemplate",
                "wagtail_batchcomms.change_noticetemplate",
                "wagtail_batchcomms.publish_noticetemplate",
            ],
        )
    )
    assert (
        client.get(reverse("wagtailsnippets_wagtail_batchcomms_noticetemplate:list")).status_code
        == 200
    )
    for model in MODELS:
        for name, page in pages(objects, model).items():
            assert is_refused(client.get(page)), (model, name)


def test_the_demo_editor_may_look_at_assemblies_and_locations_only(client, objects):
    ensure_demo_accounts()
    login(client, "editor")
    for model in ("assembly", "location"):
        found = pages(objects, model)
        for name in ("list", "export", "inspect"):
            assert client.get(found[name]).status_code == 200, (model, name)
        for name in ("add", "edit", "delete"):
            assert is_refused(client.get(found[name])), (model, name)
    for model in ("contact", "servicearea"):
        for name, page in pages(objects, model).items():
            assert is_refused(client.get(page)), (model, name)
    # Looking is not changing: a POST to the edit view is refused as well.
    asm = objects["assembly"]
    response = client.post(url("assembly", "edit", asm.pk), {"serial_number": "CHANGED"})
    assert is_refused(response)
    asm.refresh_from_db()
    assert asm.serial_number != "CHANGED"


@pytest.mark.parametrize("model", MODELS)
def test_the_org_admin_may_do_everything(client, objects, model):
    ensure_demo_accounts()
    login(client, "orgadmin")
    for name, page in pages(objects, model).items():
        assert client.get(page).status_code == 200, name


def test_the_org_admin_can_change_and_delete(client, objects):
    ensure_demo_accounts()
    login(client, "orgadmin")
    area = objects["servicearea"]
    response = client.post(url("servicearea", "edit", area.pk), {"name": "Renamed", "code": "RN"})
    assert response.status_code == 302
    area.refresh_from_db()
    assert (area.name, area.code) == ("Renamed", "RN")
    spare = factories.service_area()
    response = client.post(url("servicearea", "delete", spare.pk))
    assert response.status_code == 302
    assert not type(spare).objects.filter(pk=spare.pk).exists()
