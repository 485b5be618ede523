"""A Communication Type's "Preview next run" page and the confirmation when a type that
sends automatically is switched on."""

from __future__ import annotations

import factories
import pytest
from django.contrib.auth.models import Permission
from rules_admin_data import communication_type, due_locations, type_form, type_url

from wagtail_batchcomms.models import CommunicationType, RunMode

pytestmark = pytest.mark.django_db


def test_preview_counts_and_lists_the_first_assemblies(admin_client):
    ctype = communication_type(name="First notice", days=30)
    due = due_locations(3, due_in=20)
    due_locations(1, due_in=20, email=False)  # a letter
    due_locations(2, due_in=60)  # outside the window
    response = admin_client.get(type_url("preview_run", ctype.pk))
    assert response.status_code == 200
    preview = response.context["preview"]
    assert (preview.assemblies, preview.locations) == (4, 4)
    assert preview.emails >= 3 and preview.letters >= 1
    html = response.content.decode()
    assert 'data-count="assemblies">4<' in html
    for assembly in due:
        assert assembly.serial_number in html
    assert "holds its notices for review" in html


def test_preview_says_why_a_type_cannot_run(admin_client):
    ctype = communication_type(name="Broken", scope="service_area=999999")
    response = admin_client.get(type_url("preview_run", ctype.pk))
    assert response.status_code == 200
    assert "data-preview-error" in response.content.decode()


def test_preview_needs_permission_to_see_types_and_assemblies(client):
    ctype = communication_type()
    user = factories.user(
        "viewer", perms=[factories.ADMIN_ACCESS, "wagtail_batchcomms.view_communicationtype"]
    )
    client.force_login(user)
    # Wagtail answers a refusal with a redirect to the dashboard and a message.
    refused = client.get(type_url("preview_run", ctype.pk))
    assert refused.status_code == 302 and refused.url == "/admin/"
    user.groups.first().permissions.add(Permission.objects.get(codename="view_assembly"))
    assert client.get(type_url("preview_run", ctype.pk)).status_code == 200


def test_switching_on_an_automatic_type_asks_to_confirm_with_the_figures(admin_client):
    ctype = communication_type(name="First notice", mode=RunMode.AUTOMATIC)
    due_locations(2, due_in=10)
    data = type_form(ctype.template, mode=RunMode.AUTOMATIC, active="on")
    response = admin_client.post(type_url("edit", ctype.pk), data)
    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors["confirm_activation"])
    assert "Activating sends 2 emails and 0 letters on the next run" in errors
    ctype.refresh_from_db()
    assert ctype.active is False

    response = admin_client.post(type_url("edit", ctype.pk), {**data, "confirm_activation": "on"})
    assert response.status_code == 302
    ctype.refresh_from_db()
    assert ctype.active is True

    # Already active: saving again asks nothing.
    assert admin_client.post(type_url("edit", ctype.pk), data).status_code == 302


def test_switching_on_a_held_type_asks_nothing(admin_client):
    ctype = communication_type(name="Held", mode=RunMode.REVIEW)
    due_locations(1, due_in=10)
    data = type_form(ctype.template, name="Held", mode=RunMode.REVIEW, active="on")
    assert admin_client.post(type_url("edit", ctype.pk), data).status_code == 302
    assert CommunicationType.objects.get(pk=ctype.pk).active
