"""An editor writes, previews and publishes a notice template in a real browser."""

from __future__ import annotations

import re

import factories
import pytest
from browser import browser, login, page, shots  # noqa: F401  (fixtures)
from django.urls import reverse
from playwright.sync_api import expect

from wagtail_batchcomms.models import NoticeTemplate

NS = "wagtailsnippets_wagtail_batchcomms_noticetemplate"


def url(name, *args):
    return reverse(f"{NS}:{name}", args=args)


def typed(tab, text: str) -> None:
    """Wait until Draftail has saved what was typed into the form's hidden input."""
    field = tab.locator("input[name='body-0-value']")
    expect(field).to_have_value(re.compile(re.escape(text)))


def save_draft(tab) -> None:
    """Click "Save draft" and wait for the page it posts to (autosave may be running)."""
    with tab.expect_navigation():
        tab.get_by_role("button", name="Save draft").click()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_editor_writes_previews_and_publishes_in_the_browser(page, shots):  # noqa: F811
    factories.user("editor", superuser=True)
    login(page, "editor", "password")
    page.goto(url("add"))
    # The body's error first: Wagtail's autosave may post the form at any moment, and must be
    # refused too.
    editor = page.locator(".public-DraftEditor-content").first
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.type("Dear {{ contact.nmae }},")
    typed(page, "contact.nmae")
    page.fill("#id_name", "Annual reminder")
    page.fill("#id_subject", "Test due {{ batch.due_date }}")
    save_draft(page)
    error = page.get_by_text("Body, paragraph 1, line 1: unknown merge field 'contact.nmae'")
    error.locator("visible=true").first.wait_for()
    shots(page, "refused-unknown-merge-field")
    assert not NoticeTemplate.objects.exists()

    editor = page.locator(".public-DraftEditor-content").first
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.type("Dear {{ contact.name }}, your assemblies are due.")
    typed(page, "your assemblies are due")
    save_draft(page)
    page.wait_for_url(re.compile(r"/edit/\d+/$"))
    template = NoticeTemplate.objects.get()
    assert not template.live

    page.locator("button[aria-controls='panel-merge_fields-content']").click()
    page.get_by_text("{{ location.account_number }}").first.wait_for()
    shots(page, "merge-fields", full_page=True)

    page.locator('[data-side-panel-toggle="preview"]').click()
    frame = page.frame_locator("#w-preview-iframe")
    email = frame.frame_locator("iframe.preview-email")
    email.get_by_text("Dear Dana Whitfield, your assemblies are due.").wait_for()
    shots(page, "preview-email")
    page.locator("select[name=preview-mode], #id_preview_mode").first.select_option("letter")
    frame.locator("section.letter").get_by_text("Dear Dana Whitfield").wait_for()
    shots(page, "preview-letter")

    page.locator("button.dropdown-toggle, [data-w-dropdown-target='toggle']").last.click()
    page.get_by_role("button", name="Publish").click()
    page.wait_for_load_state("networkidle")
    template.refresh_from_db()
    assert template.live and template.live_revision_id
    # Wagtail's own update check cannot reach the network from the tests; anything else counts.
    assert [e for e in page.js_errors if "releases.wagtail.org" not in e] == []
