"""Copies (CC/BCC) of notices: who may set them, to which domains (COPY_ADDRESS_DOMAINS),
checked on save and again at sending, and shown where the org admin decides: the batch page,
the send confirmation and the send's history entry.

The test project sends from backflow@utility.example, so by default copies may go to
utility.example only.
"""

from __future__ import annotations

import factories
import pytest
from batch_admin_data import ADMIN, org_admin
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.urls import reverse
from notice_admin_data import form_data
from notice_admin_data import url as template_url
from sending_data import email_batch, email_template
from wagtail.models import ModelLogEntry

from wagtail_batchcomms.emails.sending import new_worker_id, send_pending_emails, start_sending
from wagtail_batchcomms.models import Batch, NoticeTemplate
from wagtail_batchcomms.notices.copies import allowed_domains, batch_copies

pytestmark = pytest.mark.django_db

SET_COPIES = "wagtail_batchcomms.set_copies_noticetemplate"
EDITOR_PERMS = [
    ADMIN,
    "wagtail_batchcomms.add_noticetemplate",
    "wagtail_batchcomms.change_noticetemplate",
    "wagtail_batchcomms.publish_noticetemplate",
]
OUTSIDE = "leak@elsewhere.example"
INSIDE = "archive@utility.example"


# --- the setting --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        (None, ("utility.example",)),  # the sender's own domain
        ([], ()),  # copies turned off
        (["Example.ORG", "utility.example."], ("example.org", "utility.example")),
        (["*"], ("*",)),
    ],
)
def test_allowed_domains(app_settings, setting, expected):
    app_settings(COPY_ADDRESS_DOMAINS=setting)
    assert allowed_domains() == expected


@pytest.mark.parametrize(
    ("setting", "allowed", "refused"),
    [
        (None, [INSIDE, "Office@UTILITY.example"], [OUTSIDE, "x@sub.utility.example"]),
        ([], [], [INSIDE, OUTSIDE]),
        (["elsewhere.example"], [OUTSIDE], [INSIDE]),
        (["*"], [INSIDE, OUTSIDE], []),
    ],
)
@pytest.mark.parametrize("field", ["cc", "bcc"])
def test_model_validation_names_the_field_and_the_refused_addresses(
    app_settings, setting, allowed, refused, field
):
    app_settings(COPY_ADDRESS_DOMAINS=setting)
    for address in allowed:
        template = NoticeTemplate(name=f"T {address}", subject="s", **{field: address})
        assert "cc" not in _errors(template) and "bcc" not in _errors(template), address
    for address in refused:
        template = NoticeTemplate(name=f"T {address}", subject="s", **{field: address})
        errors = _errors(template)
        assert list(errors) == [field] or field in errors, address
        assert address in " ".join(errors[field])
        assert "COPY_ADDRESS_DOMAINS" in " ".join(errors[field])


def _errors(template: NoticeTemplate) -> dict:
    try:
        template.clean()
    except ValidationError as error:
        return error.message_dict
    return {}


# --- who may set copies ----------------------------------------------------------------------


def test_the_group_editor_offers_the_set_copies_permission(admin_client):
    group = Group.objects.create(name="Template editors")
    html = admin_client.get(reverse("wagtailusers_groups:edit", args=[group.pk])).content.decode()
    permission = Permission.objects.get(codename="set_copies_noticetemplate")
    assert f'value="{permission.pk}"' in html
    assert permission.name in html


def test_an_editor_without_the_permission_sees_copies_but_cannot_change_them(client):
    template = factories.notice_template(name="Annual test reminder", cc=INSIDE)
    client.force_login(factories.user("writer", perms=EDITOR_PERMS))
    page = client.get(template_url("edit", template.pk))
    assert page.context["form"].fields["cc"].disabled
    assert page.context["form"].fields["bcc"].disabled
    assert INSIDE in page.content.decode()

    # A forged POST: the copies stay what they were; the rest of the edit is saved.
    data = form_data(cc=OUTSIDE, bcc=OUTSIDE, subject="Changed {{ batch.due_date }}")
    response = client.post(template_url("edit", template.pk), data)
    assert response.status_code == 302, response.context["form"].errors
    draft = NoticeTemplate.objects.get(pk=template.pk).get_latest_revision_as_object()
    assert draft.subject == "Changed {{ batch.due_date }}"
    assert (draft.cc, draft.bcc) == (INSIDE, "")


def test_an_editor_with_the_permission_sets_copies_in_allowed_domains_only(client):
    template = factories.notice_template(name="Annual test reminder")
    client.force_login(factories.user("lead", perms=[*EDITOR_PERMS, SET_COPIES]))
    response = client.post(template_url("edit", template.pk), form_data(bcc=OUTSIDE))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == ["bcc"]
    assert OUTSIDE in errors["bcc"][0] and "utility.example" in errors["bcc"][0]

    response = client.post(template_url("edit", template.pk), form_data(bcc=INSIDE))
    assert response.status_code == 302
    draft = NoticeTemplate.objects.get(pk=template.pk).get_latest_revision_as_object()
    assert draft.bcc == INSIDE


# --- at sending: a revision published before the setting changed does not leak --------------


@pytest.fixture
def leaky_batch(settings):
    """Makes a generated batch whose pinned revision copies inside and outside the
    organisation, published while COPY_ADDRESS_DOMAINS allowed any domain; then the setting
    is back to its default (the sender's domain)."""

    def make(n: int = 2):
        before = settings.WAGTAIL_BATCHCOMMS
        settings.WAGTAIL_BATCHCOMMS = {**before, "COPY_ADDRESS_DOMAINS": ["*"]}
        template = email_template(cc=INSIDE, bcc=f"{OUTSIDE}, bcc-ok@utility.example")
        settings.WAGTAIL_BATCHCOMMS = before
        return email_batch(n, template=template)

    return make


def test_sending_drops_copies_the_setting_no_longer_allows_and_records_them(
    smtp_server, leaky_batch
):
    batch = leaky_batch()
    sender = factories.user("sender", perms=[ADMIN, "wagtail_batchcomms.send_batch"])

    start_sending(batch.pk, user=sender)
    send_pending_emails(batch.pk, new_worker_id())

    received = smtp_server.by_recipient("1@customers.example")
    assert len(received) == 1
    assert received[0].rcpt_tos == ["1@customers.example", INSIDE, "bcc-ok@utility.example"]
    assert all(OUTSIDE not in message.rcpt_tos for message in smtp_server.messages)
    entry = ModelLogEntry.objects.get(action="wagtail_batchcomms.send")
    assert entry.data["copies"] == {
        "cc": [INSIDE],
        "bcc": ["bcc-ok@utility.example"],
        "refused": [OUTSIDE],
    }
    message = entry.message
    assert f"also copied to {INSIDE} (CC) and bcc-ok@utility.example (BCC)" in message
    assert f"Not copied, outside the allowed domains: {OUTSIDE}" in message


def test_turning_copies_off_stops_them_at_sending(smtp_server, app_settings, leaky_batch):
    batch = leaky_batch(1)
    app_settings(COPY_ADDRESS_DOMAINS=[])
    send_pending_emails(batch.pk, new_worker_id())
    [received] = smtp_server.messages
    assert received.rcpt_tos == ["1@customers.example"]
    assert received.message["Cc"] is None


def test_a_send_without_copies_says_nothing_about_them():
    batch = email_batch(1)
    start_sending(batch.pk, user=org_admin())
    entry = ModelLogEntry.objects.get(action="wagtail_batchcomms.send")
    assert "copies" not in entry.data
    assert "copied" not in entry.message


# --- shown where the org admin decides ---------------------------------------------------------


def test_batch_page_send_confirmation_and_history_show_the_copies(client, leaky_batch):
    batch = leaky_batch()
    admin = org_admin()
    client.force_login(admin)

    page = client.get(reverse("wagtail_batchcomms_batch:detail", args=[batch.pk])).content
    confirm = client.get(reverse("wagtail_batchcomms_batch:send", args=[batch.pk])).content
    for html in (page.decode(), confirm.decode()):
        assert "Every email will also be copied to" in html
        assert INSIDE in html and "bcc-ok@utility.example" in html
        assert f"Not copied to {OUTSIDE}" in html

    client.post(reverse("wagtail_batchcomms_batch:send", args=[batch.pk]))
    history = client.get(reverse("wagtail_batchcomms_batch:history", args=[batch.pk]))
    assert f"Not copied, outside the allowed domains: {OUTSIDE}" in history.content.decode()


def test_copies_shown_are_the_pinned_revisions_not_a_later_edit(leaky_batch):
    batch = leaky_batch()
    template = batch.template
    template.cc, template.bcc = "", "new@utility.example"
    template.save_revision().publish()
    assert batch_copies(batch).bcc == ["bcc-ok@utility.example"]
    # An Open batch shows what generating now would pin: the live version.
    batch = Batch.objects.select_related("template").get(pk=batch.pk)
    batch.template_revision = None
    assert batch_copies(batch).bcc == ["new@utility.example"]
