"""An editor composes a notice template block by block in Wagtail's StreamField editor (a
paragraph with merge fields, an assemblies table with chosen columns, a signature), is refused
an unknown merge field, previews the email and the letter with a real sample location, and
publishes it; the org admin can then pick it for a batch.

(tests/notices/test_browser_notices.py covers the starter body, the merge field panel and an unknown
field in a paragraph.)
"""

from __future__ import annotations

import re

import pytest
from browser import assert_clean, login, seed_demo_with_logins
from django.urls import reverse
from playwright.sync_api import expect

from wagtail_batchcomms.models import Assembly, Location, LocationContact, NoticeTemplate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NS = "wagtailsnippets_wagtail_batchcomms_noticetemplate"
NAME = "Overdue test notice"
PARAGRAPH = (
    "Dear {{ contact.name }}, the assemblies at {{ location.address }} "
    "must be tested by {{ batch.due_date }}."
)


class StreamField:
    """Wagtail's StreamField editor for one field, as an editor uses it."""

    def __init__(self, page, name: str) -> None:
        self.page = page
        self.field = page.locator(f"[data-contentpath={name}]").first
        # Deleted blocks stay in the form, hidden (their "deleted" flag is posted).
        self.blocks = self.field.locator("[data-streamfield-child]:visible")

    def clear(self) -> None:
        delete = self.field.locator("[data-streamfield-action=DELETE]:visible")
        while (count := delete.count()) > 0:
            delete.first.click()
            expect(delete).to_have_count(count - 1)

    def add(self, kind: str):
        """Append a block of ``kind`` through the "Insert a block" chooser; return it."""
        count = self.blocks.count()
        self.field.locator("button[title='Insert a block']:visible").last.click()
        self.page.get_by_role("option", name=kind, exact=True).click()
        expect(self.blocks).to_have_count(count + 1)
        return self.blocks.last


def sample() -> tuple[str, list[str]]:
    """The preview's sample (services/previews.py): the first active location with active
    assemblies, its first primary owner, and its active assemblies' serial numbers."""
    location = (
        Location.objects.filter(is_active=True, assemblies__status="active").order_by("pk").first()
    )
    owner = (
        LocationContact.objects.filter(location=location, role="owner")
        .order_by("-is_primary", "pk")
        .first()
    )
    serials = Assembly.objects.filter(location=location, status="active").values_list(
        "serial_number", flat=True
    )
    return owner.contact.name, sorted(serials)


def test_editor_composes_previews_and_publishes_a_template(page, shots):
    seed_demo_with_logins(60, 5)
    login(page, "editor", "editor")  # seed_demo's editor: notice templates only
    page.goto(reverse(f"{NS}:add"))

    # The subject's typo first: Wagtail autosaves drafts while one types, and every save of
    # this form is refused while a merge field is unknown.
    page.fill("#id_subject", "Overdue: account {{ location.acount_number }}")
    page.fill("#id_name", NAME)
    body = StreamField(page, "body")
    body.clear()
    paragraph = body.add("Paragraph")
    paragraph.locator(".public-DraftEditor-content").click()
    page.keyboard.type(PARAGRAPH)
    expect(paragraph.locator("input[type=hidden][name$='-value']")).to_have_value(
        re.compile(re.escape("{{ batch.due_date }}."))
    )
    table = body.add("Assemblies table")
    table.get_by_role("textbox", name="Heading").fill("Your assemblies")
    table.get_by_role("checkbox", name="Placement", exact=True).uncheck()
    table.get_by_role("checkbox", name="Manufacturer", exact=True).check()
    signature = body.add("Signature")
    signature.get_by_role("textbox", name="Closing").fill("Kind regards,")
    signature.get_by_role("checkbox", name="Use the letterhead's signature").uncheck()
    signature.get_by_role("textbox", name="Name (instead of the letterhead's)").fill("Pat Rivera")
    signature.get_by_role("textbox", name="Title (instead of the letterhead's)").fill(
        "Backflow Program Manager"
    )
    page.get_by_role("checkbox", name="Owner", exact=True).check()
    shots(page, "template-composed")

    with page.expect_navigation():
        page.get_by_role("button", name="Save draft").click()
    error = "unknown merge field 'location.acount_number'"
    expect(page.locator(".messages")).to_contain_text("could not be")
    expect(page.get_by_text(re.compile(re.escape(error))).first).to_be_visible()
    shots(page, "template-refused-unknown-field", readme="template-refused")
    assert not NoticeTemplate.objects.filter(subject__contains="acount").exists()

    # The composed body survived the refusal; fix the subject and save the draft.
    expect(body.blocks).to_have_count(3)
    page.fill("#id_subject", "Overdue: account {{ location.account_number }}")
    with page.expect_navigation():
        page.get_by_role("button", name="Save draft").click()
    page.wait_for_url(re.compile(r"/edit/\d+/$"))
    template = NoticeTemplate.objects.get(name=NAME)
    assert not template.live
    blocks = [(block.block_type, block.value) for block in template.body]
    assert [kind for kind, _ in blocks] == ["paragraph", "assemblies_table", "signature"]
    assert "{{ contact.name }}" in blocks[0][1].source
    assert blocks[1][1]["heading"] == "Your assemblies"
    assert set(blocks[1][1]["columns"]) == {
        "serial_number",
        "type",
        "size",
        "manufacturer",
        "next_test_due",
    }
    assert blocks[2][1]["closing"] == "Kind regards," and blocks[2][1]["name"] == "Pat Rivera"

    # Preview: the email, then the letter, with the sample location's real data.
    name, serials = sample()
    page.locator('[data-side-panel-toggle="preview"]').click()
    preview = page.frame_locator("#w-preview-iframe")
    email = preview.frame_locator("iframe.preview-email")
    expect(email.get_by_text(f"Dear {name},")).to_be_visible(timeout=30_000)
    for text in ("Your assemblies", "Manufacturer", *serials, "Kind regards,", "Pat Rivera"):
        expect(email.get_by_text(text, exact=True).first).to_be_visible()
    expect(email.get_by_text("Placement", exact=True)).to_have_count(0)
    shots(page, "template-preview-email", readme="template-editor")
    page.locator("select[name=preview-mode], #id_preview_mode").first.select_option("letter")
    letter = preview.locator("section.letter")
    expect(letter.get_by_text(f"Dear {name},")).to_be_visible(timeout=30_000)
    for text in ("Your assemblies", *serials, "Kind regards,", "Pat Rivera"):
        expect(letter.get_by_text(text, exact=True).first).to_be_visible()
    shots(page, "template-preview-letter", readme="template-preview-letter")

    # Publish.
    page.locator("[data-w-dropdown-target='toggle']").last.click()
    with page.expect_navigation():
        page.get_by_role("button", name="Publish").click()
    template.refresh_from_db()
    assert template.live and template.live_revision_id
    assert not template.has_unpublished_changes
    shots(page, "template-published")

    # The org admin can now pick it for a batch.
    page.context.clear_cookies()
    login(page, "orgadmin", "orgadmin")
    page.goto(reverse("wagtail_batchcomms_batch:add") + "?hazard=health")
    expect(page.locator("#id_template option", has_text=NAME)).to_have_count(1)
    # Wagtail's autosave of the refused form answers 400 with the errors; anything else counts.
    page.bad_responses[:] = [bad for bad in page.bad_responses if not bad.startswith("400 POST")]
    assert_clean(page)
