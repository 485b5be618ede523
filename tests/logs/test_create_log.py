"""Create Log's form and use case: every kind from every register page, the errors an admin
can meet, permission refusals, a double submit, and the page a one-time communication gets."""

from __future__ import annotations

import datetime

import factories
import logs_data
import pytest
from batch_admin_data import org_admin
from concurrency import run_at_once
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ
from wagtail.models import ModelLogEntry

from wagtail_batchcomms import history
from wagtail_batchcomms.logs.recording import LogRequest, record_log
from wagtail_batchcomms.models import Channel, Communication, CommunicationStatus, LogKind

APP = "wagtail_batchcomms"
LOG_PERM = f"{APP}.log_communication"
KINDS = [kind for kind, _label in LogKind.choices]


@pytest.fixture
def site(db):
    return logs_data.site()


@pytest.fixture
def logger_(db):
    return org_admin("logger", extra=[LOG_PERM])


@pytest.fixture
def web(client, logger_):
    client.force_login(logger_)
    return client


def origin_of(site, origin: str):
    return {"assembly": site.assembly, "location": site.location, "contact": site.owner}[origin]


def create_url(instance) -> str:
    return reverse("wagtail_batchcomms_logs:create", args=[instance._meta.model_name, instance.pk])


def post(web, site, origin="assembly", **values):
    return web.post(create_url(origin_of(site, origin)), logs_data.form_data(site, **values))


def denied(response) -> bool:
    """Wagtail's "permission denied": a redirect to the dashboard (or 403)."""
    return response.status_code == 403 or (
        response.status_code == 302 and response["Location"] == reverse("wagtailadmin_home")
    )


def queued() -> list[tuple[str, tuple]]:
    return [(row.func(), tuple(row.args())) for row in OrmQ.objects.order_by("pk")]


# --- every kind, from every page -------------------------------------------------------------


@pytest.mark.parametrize("origin", ["assembly", "location", "contact"])
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_from_every_page_records_one_communication(web, site, logger_, kind, origin):
    page = web.get(create_url(origin_of(site, origin)))
    assert page.status_code == 200
    form = page.context["form"]
    # The contact choices: the location's contacts, or only the contact itself.
    contacts = set(form.fields["contact"].queryset)
    if origin == "contact":
        assert contacts == {site.owner}
        assert set(form.fields["location"].queryset) == {site.location, site.other_location}
    else:
        assert contacts == {site.owner, site.tenant}
        assert set(form.fields["location"].queryset) == {site.location}
    assert site.stranger not in contacts

    when = timezone.localtime().replace(second=0, microsecond=0) - datetime.timedelta(hours=2)
    response = post(web, site, origin, kind=kind, occurred_at=when.strftime("%Y-%m-%d %H:%M"))
    assert response.status_code == 302, response.context["form"].errors
    assert response["Location"] == origin_of(site, origin).get_admin_url().replace(
        "/edit/", "/inspect/"
    )
    log = Communication.objects.get()
    assert log.batch is None
    assert log.kind == kind
    assert log.channel == {"email": Channel.EMAIL, "letter": Channel.LETTER}.get(kind, "")
    assert log.status == CommunicationStatus.SENT  # recorded only: it happened
    assert log.occurred_at == when
    assert log.sent_at == when
    assert log.logged_by == logger_
    assert (log.recipient_name, log.email) == ("Olive Owner", site.owner.email)
    assert (log.address_line1, log.city) == ("1 Owner Way", "Lakeside")
    assert log.role == "owner"
    assert log.subject == "Called about the annual test"
    assert (log.notes, log.outcome) == ("Left a message.", "Will book a tester")
    entry = ModelLogEntry.objects.get(action=history.LOG_RECORDED)
    assert entry.object_id == str(log.pk) and entry.user_id == logger_.pk
    assert "Olive Owner" in entry.formatter.format_message(entry)
    assert queued() == []  # nothing to send


@pytest.mark.parametrize("with_assembly", [True, False])
def test_a_recorded_log_is_the_last_notice_of_the_assemblies_it_concerns(web, site, with_assembly):
    """A log about one assembly moves that assembly's last notice; one about the whole
    location moves every active assembly's there. A later notice is never moved back."""
    response = post(web, site, "location", assembly=site.assembly.pk if with_assembly else "")
    assert response.status_code == 302, response.context["form"].errors
    log = Communication.objects.get()
    site.assembly.refresh_from_db()
    assert site.assembly.last_notice_id == log.pk
    assert site.assembly.last_notice_at == log.sent_at
    others = site.location.assemblies.exclude(pk=site.assembly.pk)
    expected = set() if with_assembly else set(others.values_list("pk", flat=True))
    assert set(others.filter(last_notice=log).values_list("pk", flat=True)) == expected

    earlier = timezone.localtime() - datetime.timedelta(days=3)
    post(web, site, "assembly", occurred_at=earlier.strftime("%Y-%m-%d %H:%M"), token="second")
    assert Communication.objects.count() == 2
    site.assembly.refresh_from_db()
    assert site.assembly.last_notice_id == log.pk  # the older call does not move it back


def test_assembly_is_optional_and_must_be_at_the_location(web, site):
    elsewhere = factories.assembly(site.other_location)
    assert post(web, site, "contact", assembly=site.assembly.pk).status_code == 302
    response = post(web, site, "contact", assembly=elsewhere.pk)
    assert response.status_code == 200
    assert "not at the chosen location" in str(response.context["form"].errors)
    assert Communication.objects.get().assembly == site.assembly


def test_contact_page_refuses_a_location_where_the_contact_has_no_role(web, site):
    stranger_site = factories.location()
    response = post(web, site, "contact", location=stranger_site.pk)
    assert response.status_code == 200
    assert "location" in response.context["form"].errors
    assert not Communication.objects.exists()


def test_location_page_refuses_a_contact_from_elsewhere(web, site):
    response = post(web, site, "location", contact=site.stranger.pk)
    assert "contact" in response.context["form"].errors
    assert not Communication.objects.exists()


@pytest.mark.parametrize(
    ("values", "field", "text"),
    [
        ({"subject": ""}, "subject", "what it was about"),
        ({"kind": "fax"}, "kind", "valid choice"),
        ({"occurred_at": "yesterday-ish"}, "occurred_at", "valid date"),
        ({"kind": "email", "send_now": "on", "body": ""}, "body", "template or write"),
        ({"kind": "email", "send_now": "on", "subject": "", "body": "Hi"}, "subject", ""),
    ],
)
def test_bad_input_gets_a_clear_message(web, site, values, field, text):
    response = post(web, site, **values)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors, errors
    assert text in str(errors[field])
    assert not Communication.objects.exists()


# --- email now and letter now: who cannot get one ---------------------------------------------


def test_email_now_to_a_contact_without_email_is_a_form_error(web, site):
    response = post(web, site, contact=site.tenant.pk, kind="email", send_now="on", body="Hi")
    assert response.status_code == 200
    assert "Tom Tenant has no email address" in str(response.context["form"].errors["contact"])
    assert not Communication.objects.exists()
    # Recording an email sent some other way needs no address.
    assert post(web, site, contact=site.tenant.pk, kind="email").status_code == 302


def test_email_now_to_a_bounced_address_is_a_form_error(web, site):
    """A provider reported the contact's email as undeliverable (a hard bounce): sending it
    again is refused with what to do; recording an email sent some other way is not."""
    site.owner.email_bounced_since = timezone.now()
    site.owner.save()
    for fields in ({"body": "Hi"}, {"template": "", "subject": "Test", "body": "Hi"}):
        response = post(web, site, kind="email", send_now="on", **fields)
        assert response.status_code == 200
        errors = str(response.context["form"].errors["contact"])
        assert "email address bounced" in errors and "clear the flag" in errors
    assert not Communication.objects.exists()
    assert post(web, site, kind="email").status_code == 302
    site.owner.email_bounced_since = None  # cleared (or the address corrected)
    site.owner.save()
    assert post(web, site, kind="email", send_now="on", body="Hi").status_code == 302
    assert Communication.objects.filter(kind="email").count() == 2


def test_letter_now_without_a_usable_address_is_a_form_error(web, site):
    site.location.address_line1 = site.location.city = site.location.postal_code = ""
    site.location.save()
    site.owner.mailing_address_bad_since = timezone.now()  # returned mail: counts as none
    site.owner.save()
    response = post(web, site, kind="letter", send_now="on", body="Please call us.")
    assert response.status_code == 200
    assert "no usable mailing address" in str(response.context["form"].errors["contact"])
    assert not Communication.objects.exists()


def test_letter_to_a_bad_mailing_address_goes_to_the_location(web, site):
    site.owner.mailing_address_bad_since = timezone.now()
    site.owner.save()
    assert post(web, site, kind="letter").status_code == 302
    log = Communication.objects.get()
    assert (log.address_line1, log.postal_code) == (
        site.location.address_line1,
        site.location.postal_code,
    )


def test_email_now_renders_the_template_once_and_queues_one_task(
    web, site, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(
            web, site, kind="email", send_now="on", template=site.template.pk, subject=""
        )
    assert response.status_code == 302, response.context["form"].errors
    log = Communication.objects.get()
    assert log.status == CommunicationStatus.PENDING and log.sent_at is None
    assert log.subject == f"Notice for {site.location.account_number}"
    assert "Dear Olive Owner" in log.body_html and "Dear Olive Owner" in log.body_text
    assert "SN-LOG-1" in log.body_html  # the location's assemblies
    assert queued() == [("wagtail_batchcomms.tasks.send_one_time_email", (log.pk,))]


def test_free_text_is_escaped_not_run_as_a_template(web, site):
    body = "Hello {{ settings.SECRET_KEY }} <script>alert(1)</script>\n\nSecond paragraph"
    post(web, site, kind="email", send_now="on", subject="Hi", body=body)
    log = Communication.objects.get()
    assert "{{ settings.SECRET_KEY }}" in log.body_text
    assert "<script>" not in log.body_html and "&lt;script&gt;" in log.body_html
    assert log.body_html.count("<p") >= 2


# --- double submit, permissions ----------------------------------------------------------------


def test_double_submit_records_one(web, site, django_capture_on_commit_callbacks):
    data = logs_data.form_data(site, kind="email", send_now="on", subject="Hi", body="Hello")
    url = create_url(site.assembly)
    with django_capture_on_commit_callbacks(execute=True):
        first = web.post(url, data)
    with django_capture_on_commit_callbacks(execute=True):
        second = web.post(url, data)
    assert first.status_code == second.status_code == 302
    assert Communication.objects.count() == 1
    assert len(queued()) == 1
    messages = [str(m) for m in second.wsgi_request._messages]
    assert any("already recorded" in m for m in messages)
    # A new form (new token) records a second one.
    web.post(url, logs_data.form_data(site))
    assert Communication.objects.count() == 2


def test_refused_without_log_permission(client, site):
    reader = org_admin("reader")  # every register and batch permission, but not logging
    client.force_login(reader)
    url = create_url(site.assembly)
    assert denied(client.get(url))
    assert denied(client.post(url, logs_data.form_data(site)))
    assert not Communication.objects.exists()
    page = client.get(
        reverse("wagtailsnippets_wagtail_batchcomms_assembly:inspect", args=[site.assembly.pk])
    )
    assert b"data-create-log" not in page.content


def test_refused_when_the_user_cannot_look_at_the_page_started_from(client, site):
    user = factories.user(
        "caller", perms=[factories.ADMIN_ACCESS, LOG_PERM, f"{APP}.view_location"]
    )
    client.force_login(user)
    assert denied(client.get(create_url(site.assembly)))
    assert client.get(create_url(site.location)).status_code == 200
    assert (
        client.get(reverse("wagtail_batchcomms_logs:create", args=["batch", 1])).status_code == 404
    )
    assert (
        client.get(create_url(site.location).replace(str(site.location.pk), "999999")).status_code
        == 404
    )


@pytest.mark.parametrize("origin", ["assembly", "location", "contact"])
def test_create_log_button_on_each_register_page(web, site, origin):
    instance = origin_of(site, origin)
    page = web.get(instance.get_admin_url().replace("/edit/", "/inspect/"))
    assert page.status_code == 200
    assert create_url(instance).encode() in page.content
    assert b"data-create-log" in page.content
    edit = web.get(instance.get_admin_url())
    assert b"data-create-log-link" in edit.content  # its Communications section


# --- its page -------------------------------------------------------------------------------


def test_the_page_of_a_phone_call_works_without_a_batch(web, site):
    post(web, site, assembly=site.assembly.pk)
    log = Communication.objects.get()
    page = web.get(reverse("wagtail_batchcomms_communication:inspect", args=[log.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    for expected in (
        "Phone call",
        "Called about the annual test",
        "Left a message.",
        "Will book a tester",
        "Olive Owner",
        "SN-LOG-1",
        "logger",
    ):
        assert expected in text, expected
    assert "Recorded: Phone call with Olive Owner" in text  # its history
    assert "Back to the batch" not in text
    assert "Email preview" not in text and "Letter PDF" not in text


@pytest.mark.django_db(transaction=True)
def test_concurrent_submits_of_one_form_record_one():
    """Four requests carrying the same form at once (a double click on a slow network): the
    contact's row lock serialises them, and all but the first find its token."""
    site = logs_data.site()
    user = org_admin("racer", extra=[LOG_PERM])
    request = LogRequest(
        kind=LogKind.NOTE,
        contact=site.owner,
        location=site.location,
        occurred_at=timezone.now(),
        token="same-form",
        subject="Noted",
    )
    results = run_at_once(4, lambda: record_log(request, user=user))
    assert sorted(created for _communication, created in results) == [False, False, False, True]
    assert len({communication.pk for communication, _created in results}) == 1
    assert Communication.objects.count() == 1
