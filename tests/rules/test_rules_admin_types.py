"""Communication Types in the admin: listing, form, validation, the scope as the Assemblies
listing's filters (round trip), deletion refused while a type made notices."""

from __future__ import annotations

import datetime

import factories
import pytest
from django.http import QueryDict
from rules_admin_data import communication_type, type_form, type_url
from wagtail.models import ModelLogEntry

from wagtail_batchcomms.models import (
    AutomaticNotice,
    CommunicationType,
    NoticeTemplate,
    RuleRun,
    RunMode,
    Trigger,
)

pytestmark = pytest.mark.django_db


def test_listing_reads_like_the_rule(admin_client):
    area = factories.service_area(name="North", code="N")
    communication_type(name="First notice", days=30, scope=f"service_area={area.pk}")
    communication_type(
        name="Failed test",
        trigger=Trigger.FAILED_TEST,
        days=7,
        active=True,
        mode=RunMode.AUTOMATIC,
    )
    response = admin_client.get(type_url("list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "First notice" in html and "30 days before due" in html
    assert "Service area: N" in html or "Service area: North" in html
    assert "looking back 7 days" in html
    assert "Paused" in html and "Active" in html and "w-status--primary" in html
    assert "Preview next run" in html

    filtered = admin_client.get(type_url("list"), {"active": "true"})
    assert "Failed test" in filtered.content.decode()
    assert "First notice" not in filtered.content.decode()


def test_create_logs_history_and_stores_the_scope(admin_client):
    template = factories.notice_template(name="Reminder")
    area = factories.service_area(name="North", code="N")
    data = type_form(
        template,
        **{"scope-service_area": str(area.pk), "scope-hazard": "health", "active": "on"},
    )
    response = admin_client.post(type_url("add"), data)
    assert response.status_code == 302, response.context["form"].errors
    ctype = CommunicationType.objects.get(name="First notice")
    assert QueryDict(ctype.scope) == QueryDict(f"hazard=health&service_area={area.pk}")
    assert ModelLogEntry.objects.filter(action="wagtail.create", object_id=str(ctype.pk)).exists()

    edit = admin_client.get(type_url("edit", ctype.pk)).content.decode()
    assert "See these assemblies" in edit
    assert f"service_area={area.pk}" in edit


SCOPE_VALUES = {
    "service_area": None,  # filled with a real area's id
    "property_type": ["commercial", "industrial"],
    "assembly_type": ["RP", "DC"],
    "hazard": ["health"],
    "service_type": ["fire", "irrigation"],
    "status": ["active"],
    "compliance": ["overdue"],
    "next_test_due_from": ["2026-01-01"],
    "next_test_due_to": ["2026-12-31"],
    "last_test_result": ["fail"],
    "location_active": ["true"],
    "city": ["Springfield"],
    "postal_code": ["6270"],
    "last_notice": ["90"],
    "notified_by": None,  # filled with a real type's id
}


def test_every_listing_filter_survives_save_and_reload(admin_client):
    from wagtail_batchcomms.register.filters import AssemblyFilterSet

    area = factories.service_area(name="North", code="N")
    earlier = communication_type(name="Earlier")
    values = {**SCOPE_VALUES, "service_area": [str(area.pk)], "notified_by": [str(earlier.pk)]}
    # Every filter of the listing is in this test: a new filter must be added here.
    filters = set(AssemblyFilterSet.base_filters)
    assert filters == {key.removesuffix("_from").removesuffix("_to") for key in values}

    template = factories.notice_template()
    data = QueryDict(mutable=True)
    for key, value in type_form(template).items():
        data[key] = value
    for key, value in values.items():
        data.setlist(f"scope-{key}", value)
    response = admin_client.post(type_url("add"), lists(data))
    assert response.status_code == 302, response.context["form"].errors
    ctype = CommunicationType.objects.get(name="First notice")
    stored = QueryDict(ctype.scope)
    assert {key: stored.getlist(key) for key in stored} == values

    # Saving the edit form unchanged keeps every value (the form shows what is stored).
    form = admin_client.get(type_url("edit", ctype.pk)).context["form"]
    scope_form = form.scope_form
    for key, value in values.items():
        name = f"scope-{key}"
        widget_value = scope_form.data.getlist(name)
        assert widget_value == value, key
    response = admin_client.post(type_url("edit", ctype.pk), lists(data))
    assert response.status_code == 302
    ctype.refresh_from_db()
    assert QueryDict(ctype.scope) == stored

    # The stored scope is the Assemblies listing's own query string.
    listing = admin_client.get(form.assemblies_url)
    assert listing.status_code == 200
    assert listing.context["filters"].form.is_valid()


def lists(data: QueryDict) -> dict:
    """The test client posts a QueryDict's last values only: every value, as lists."""
    return {key: data.getlist(key) for key in data}


def test_bad_scope_values_are_field_errors(admin_client):
    template = factories.notice_template()
    data = type_form(template, **{"scope-hazard": "lava", "scope-next_test_due_from": "soon"})
    response = admin_client.post(type_url("add"), data)
    assert response.status_code == 200
    errors = " ".join(response.context["form"].non_field_errors())
    assert "Scope, Hazard" in errors and "lava" in errors
    assert "Scope, Next test due" in errors
    assert not CommunicationType.objects.exists()


def test_template_must_be_published(admin_client):
    draft = factories.notice_template(name="Draft", publish=False)
    response = admin_client.post(type_url("add"), type_form(draft))
    assert response.status_code == 200
    assert "template" in response.context["form"].errors
    page = admin_client.get(type_url("add")).content.decode()
    assert "Draft" not in page


@pytest.mark.parametrize(
    ("fields", "field", "text"),
    [
        ({"trigger": Trigger.FAILED_TEST, "days": "0"}, "days", "how far back"),
        ({"trigger": Trigger.ASSEMBLY_ADDED, "days": "400"}, "days", "between 1 and 365"),
        ({"days": "5000"}, "days", "3650"),
        ({"response_days": "400"}, "response_days", "365"),
        ({"requires_days": "30"}, "requires_days", "earlier type"),
    ],
)
def test_days_are_bounded(admin_client, fields, field, text):
    template = factories.notice_template()
    response = admin_client.post(type_url("add"), type_form(template, **fields))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors and text in " ".join(errors[field]), errors


def test_escalation_cannot_point_to_itself_or_go_round(admin_client):
    first = communication_type(name="First")
    second = communication_type(name="Second", requires_type=first, requires_days=30)
    third = communication_type(name="Third", requires_type=second, requires_days=30)

    data = type_form(first.template, name="First", requires_type=str(first.pk))
    response = admin_client.post(type_url("edit", first.pk), data)
    assert response.status_code == 200
    assert "requires_type" in response.context["form"].errors

    data = type_form(first.template, name="First", requires_type=str(third.pk), requires_days="10")
    response = admin_client.post(type_url("edit", first.pk), data)
    assert response.status_code == 200
    assert "circle" in " ".join(response.context["form"].errors["requires_type"])
    first.refresh_from_db()
    assert first.requires_type is None

    # A chain that does not come back is fine.
    fourth = type_form(
        first.template, name="Fourth", requires_type=str(third.pk), requires_days="10"
    )
    assert admin_client.post(type_url("add"), fourth).status_code == 302


def test_deleting_a_type_that_made_notices_is_refused(admin_client):
    ctype = communication_type(name="First notice")
    asm = factories.assembly()
    run = RuleRun.objects.create(run_date=datetime.date(2026, 1, 5))
    AutomaticNotice.objects.create(
        communication_type=ctype,
        assembly=asm,
        location=asm.location,
        cycle=datetime.date(2026, 2, 1),
        run=run,
    )
    response = admin_client.post(type_url("delete", ctype.pk), follow=True)
    assert CommunicationType.objects.filter(pk=ctype.pk).exists()
    text = " ".join(str(m) for m in response.context["messages"])
    assert "cannot be deleted" in text and "Pause the type" in text

    unused = communication_type(name="Unused")
    response = admin_client.post(type_url("delete", unused.pk))
    assert response.status_code == 302
    assert not CommunicationType.objects.filter(pk=unused.pk).exists()


def test_a_template_a_type_sends_is_not_deleted(admin_client):
    ctype = communication_type(name="First notice")
    template: NoticeTemplate = ctype.template
    url = f"/admin/snippets/wagtail_batchcomms/noticetemplate/delete/{template.pk}/"
    response = admin_client.post(url, follow=True)
    assert NoticeTemplate.objects.filter(pk=template.pk).exists()
    text = " ".join(str(m) for m in response.context["messages"])
    assert "First notice" in text


@pytest.mark.parametrize("earlier", list(Trigger))
@pytest.mark.parametrize("trigger", list(Trigger))
def test_escalation_must_count_the_same_kind_of_cycle(admin_client, earlier, trigger):
    """A due-date type after a failed-test type (or any other mix of cycle kinds) would never
    match: the form refuses it; same-kind escalations save."""
    first = communication_type(name="Earlier", trigger=earlier, days=7)
    data = type_form(
        first.template,
        name="Later",
        trigger=trigger,
        days="7",
        requires_type=str(first.pk),
        requires_days="14",
    )
    response = admin_client.post(type_url("add"), data)
    due = {Trigger.BEFORE_DUE, Trigger.AFTER_DUE}
    same_kind = earlier == trigger or {earlier, trigger} <= due
    if same_kind:
        assert response.status_code == 302, response.context["form"].errors
        assert CommunicationType.objects.get(name="Later").requires_type == first
    else:
        assert response.status_code == 200
        errors = " ".join(response.context["form"].errors["requires_type"])
        assert "different cycles" in errors and str(Trigger(earlier).label) in errors
        assert not CommunicationType.objects.filter(name="Later").exists()
