"""Notice templates through the Wagtail admin: merge field list, drafts, publishing,
revisions, locking, validation errors on the form, previews and the letter PDF."""

from __future__ import annotations

import io
import json

import factories
import pypdf
import pytest
from django.urls import reverse
from notice_admin_data import NS, form_data, url
from wagtail.models import Revision

from wagtail_batchcomms.models import NoticeTemplate

pytestmark = pytest.mark.django_db


def test_listing_shows_live_status(admin_client):
    factories.notice_template(name="Published one")
    factories.notice_template(name="Draft one", publish=False)
    response = admin_client.get(url("list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Published one" in html and "Draft one" in html
    assert "w-status--primary" in html  # Wagtail's "live" status tag
    assert ">draft<" in html.lower().replace(" ", "").replace("\n", "")


@pytest.mark.parametrize("view", ["add", "edit"])
def test_edit_page_lists_every_merge_field(admin_client, view):
    template = factories.notice_template()
    response = admin_client.get(url("add") if view == "add" else url("edit", template.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Merge fields" in html
    for code in (
        "{{ contact.name }}",
        "{{ location.account_number }}",
        "{{ batch.due_date }}",
        "{{ a.serial_number }}",
        "{{ organisation.phone }}",
        "{{ today }}",
    ):
        assert f"<code data-merge-field>{code}</code>" in html, code
    assert "Dana Whitfield" in html  # examples are shown
    assert 'data-controller="w-clipboard"' in html


def test_create_saves_a_draft_then_publish(admin_client):
    response = admin_client.post(url("add"), form_data())
    assert response.status_code == 302, response.context["form"].errors
    template = NoticeTemplate.objects.get(name="Annual test reminder")
    assert template.live is False and template.live_revision is None
    assert template not in NoticeTemplate.objects.filter(live=True)

    response = admin_client.post(url("edit", template.pk), form_data(**{"action-publish": "1"}))
    assert response.status_code == 302
    template.refresh_from_db()
    assert template.live and template.live_revision_id


def test_publishing_one_template_leaves_others_published(admin_client):
    first = factories.notice_template(name="First")
    second = factories.notice_template(name="Second", publish=False)
    data = form_data(name="Second", **{"action-publish": "1"})
    assert admin_client.post(url("edit", second.pk), data).status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.live and second.live


@pytest.mark.parametrize("publish", [False, True], ids=["draft", "publish"])
def test_save_with_unknown_merge_field_is_refused_with_its_place(admin_client, publish):
    template = factories.notice_template()
    revisions = Revision.objects.for_instance(template).count()
    extra = {"action-publish": "1"} if publish else {}
    data = form_data(
        paragraphs=["<p>Hello</p>", "<p>Dear {{ contact.nmae }},</p>"],
        **extra,
    )
    response = admin_client.post(url("edit", template.pk), data)
    assert response.status_code == 200
    errors = response.context["form"].errors
    message = "Body, paragraph 2, line 1: unknown merge field 'contact.nmae'"
    assert message in str(errors["body"].as_data()[0].non_block_errors.as_data()[0])
    block_error = errors["body"].as_data()[0].block_errors[1]
    assert "Line 1: unknown merge field 'contact.nmae'" in block_error.messages[0]
    # The error reaches the StreamField widget (JSON in its data attribute) and the page.
    html = response.content.decode()
    assert "Body, paragraph 2, line 1: unknown merge field &#x27;contact.nmae&#x27;" in html
    assert "&quot;blockErrors&quot;: {&quot;1&quot;: {&quot;messages&quot;" in html
    assert "The notice template could not be saved due to errors" in html
    assert Revision.objects.for_instance(template).count() == revisions


def test_subject_syntax_error_is_refused(admin_client):
    template = factories.notice_template()
    response = admin_client.post(url("edit", template.pk), form_data(subject="Due {{ batch. }}"))
    assert response.status_code == 200
    (message,) = response.context["form"].errors["subject"]
    assert message.startswith("Subject: syntax error:")


def test_history_compare_and_revert(admin_client):
    template = factories.notice_template(subject="First {{ contact.name }}")
    first = template.live_revision
    response = admin_client.post(
        url("edit", template.pk),
        form_data(subject="Second {{ contact.name }}", **{"action-publish": "1"}),
    )
    assert response.status_code == 302
    template.refresh_from_db()
    assert template.subject == "Second {{ contact.name }}"
    second = template.live_revision

    assert admin_client.get(url("history", template.pk)).status_code == 200
    compare = admin_client.get(
        reverse(f"{NS}:revisions_compare", args=[template.pk, first.pk, second.pk])
    )
    assert compare.status_code == 200
    assert "First" in compare.content.decode() and "Second" in compare.content.decode()
    revert = admin_client.get(url("revisions_revert", template.pk, first.pk))
    assert revert.status_code == 200
    assert "First {{ contact.name }}" in revert.content.decode()


def test_lock_and_unlock(admin_client, superuser):
    template = factories.notice_template()
    assert admin_client.post(url("lock", template.pk)).status_code == 302
    template.refresh_from_db()
    assert template.locked and template.locked_by == superuser
    assert admin_client.post(url("unlock", template.pk)).status_code == 302
    template.refresh_from_db()
    assert not template.locked


@pytest.mark.parametrize("with_register", [False, True], ids=["builtin-sample", "register"])
def test_previews_show_email_and_letter(admin_client, with_register):
    template = factories.notice_template()
    if with_register:
        location = factories.location(account_number="ACC-777001", name="Mill Bakery")
        factories.assembly(location=location, serial_number="SER-PREVIEW-1")
        factories.role(location, factories.contact(name="Robin Ames"), "owner", primary=True)
    data = form_data(
        subject="Due {{ batch.due_date }} at {{ location.account_number }}",
        paragraphs=[
            "<p>Dear {{ contact.name }},</p>",
            "<p>{% for a in assemblies %}{{ a.serial_number }} {% endfor %}</p>",
        ],
    )
    preview_url = url("preview_on_edit", template.pk)
    state = admin_client.post(preview_url, data)
    assert json.loads(state.content) == {"is_valid": True, "is_available": True}

    email = admin_client.get(preview_url, {"mode": "email"})
    assert email.status_code == 200
    html = email.content.decode()
    name, account, serial = (
        ("Robin Ames", "ACC-777001", "SER-PREVIEW-1")
        if with_register
        else ("Dana Whitfield", "ACC-004521", "4521-RP-0087")
    )
    assert "Due " in html and account in html and name in html and serial in html
    assert "<iframe" in html and "Plain-text version" in html
    # The email document is quoted inside srcdoc="...", not cut short at its first quote.
    assert 'srcdoc="&lt;!DOCTYPE html&gt;\n&lt;html lang=&quot;' in html

    letter = admin_client.get(preview_url, {"mode": "letter"})
    assert letter.status_code == 200
    html = letter.content.decode()
    assert '<section class="letter"' in html and "@page" in html
    assert name in html and serial in html
    assert url("letter_pdf", template.pk) in html


def test_preview_of_an_invalid_draft_is_not_available(admin_client):
    template = factories.notice_template()
    state = admin_client.post(
        url("preview_on_edit", template.pk), form_data(paragraphs=["<p>{{ contact.nmae }}</p>"])
    )
    assert json.loads(state.content)["is_valid"] is False


def test_letter_pdf_of_the_saved_draft(admin_client):
    template = factories.notice_template(body=[("paragraph", "<p>Dear {{ contact.name }},</p>")])
    template.body = [("paragraph", "<p>Draft text for {{ contact.name }}</p>")]
    template.save_revision()
    response = admin_client.get(url("letter_pdf", template.pk))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = pypdf.PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert "Draft text for Dana Whitfield" in text and "Page 1 of 1" in text


def test_letter_pdf_needs_permission(client):
    template = factories.notice_template()
    client.force_login(factories.user("viewer", perms=[factories.ADMIN_ACCESS]))
    response = client.get(url("letter_pdf", template.pk))
    assert response.status_code in (302, 403)


@pytest.mark.parametrize("name", ["", "  ", "ANNUAL TEST REMINDER"])
def test_a_draft_needs_a_name_of_its_own(admin_client, name):
    # Wagtail relaxes required fields for drafts and autosaves them; an empty or duplicate
    # name must be a form error, never a database error (500) on the second autosave.
    factories.notice_template(name="Annual test reminder")
    response = admin_client.post(url("add"), form_data(name=name))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "name" in errors, errors
    assert NoticeTemplate.objects.count() == 1
    response = admin_client.post(url("add"), form_data(name=name))
    assert response.status_code == 200
    assert NoticeTemplate.objects.count() == 1


def test_notice_templates_live_in_communications_not_in_a_snippets_menu(admin_client):
    response = admin_client.get(reverse("wagtailadmin_home"))
    assert response.status_code == 200
    # The sidebar is rendered from JSON props: no "Snippets" menu item.
    snippets_item = '"url": "' + reverse("wagtailsnippets:index") + '"'
    assert snippets_item not in response.content.decode()
    response = admin_client.get(url("list"))
    assert f'href="{reverse("wagtailsnippets:index")}"' not in response.content.decode()


def test_batch_listing_filters_by_template(admin_client, admin_user):
    from datetime import date, timedelta

    from wagtail_batchcomms.batches.lifecycle import create_batch
    from wagtail_batchcomms.models import Assembly

    used = factories.notice_template(name="Used template")
    other = factories.notice_template(name="Other template")
    factories.assembly()
    for name, template in (("Spring reminders", used), ("Autumn reminders", other)):
        create_batch(
            user=admin_user,
            name=name,
            template=template,
            due_date=date.today() + timedelta(days=30),
            assemblies=Assembly.objects.all(),
        )
    listing = reverse("wagtail_batchcomms_batch:index")
    page = admin_client.get(listing, {"template": used.pk}).content.decode()
    assert "Spring reminders" in page and "Autumn reminders" not in page
    page = admin_client.get(listing).content.decode()
    assert "Spring reminders" in page and "Autumn reminders" in page
    assert "Notice template" in page  # the filter is offered
