"""Rendering notices from real rows: merge data, email HTML and text, letters, real PDFs."""

from __future__ import annotations

import datetime
import io

import factories
import pypdf
import pytest
import weasyprint
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from wagtail_batchcomms.exceptions import RenderError
from wagtail_batchcomms.models import Batch, BatchAssembly, Communication
from wagtail_batchcomms.notices import merge_data, rendering
from wagtail_batchcomms.notices.email_html import html_to_text, inline_styles, text_table

pytestmark = pytest.mark.django_db

BODY = [
    ("paragraph", "<p>Dear {{ contact.name }},</p>"),
    (
        "paragraph",
        "<p>The assemblies at account {{ location.account_number }} must be tested by "
        "<b>{{ batch.due_date }}</b>.</p><ul><li>Call a certified tester</li>"
        "<li>Send us the report</li></ul>",
    ),
    (
        "assemblies_table",
        {"heading": "Your assemblies", "columns": ["serial_number", "type", "next_test_due"]},
    ),
    ("signature", {"closing": "Sincerely,", "use_letterhead": True, "name": "", "title": ""}),
]


def make_batch(
    template,
    *,
    assemblies_per_location=(2,),
    per_assembly=False,
    contact_name="Dana Whitfield",
    channel="email",
):
    """A generated batch: each location gets assemblies and one communication per contact
    (or per assembly), as generation would leave it."""
    batch = Batch.objects.create(
        name="Spring tests",
        template=template,
        template_revision_id=template.live_revision_id,
        due_date=datetime.date(2025, 6, 30),
    )
    communications = []
    for count in assemblies_per_location:
        location = factories.location(name="Riverside Bakery")
        person = factories.contact(name=contact_name, organisation="Riverside LLC")
        assemblies = [factories.assembly(location=location) for _ in range(count)]
        factories.assembly(location=location)  # at the location but not in the batch
        BatchAssembly.objects.bulk_create(
            BatchAssembly(batch=batch, assembly=a, location=location) for a in assemblies
        )
        for assembly in assemblies if per_assembly else [None]:
            communications.append(
                Communication.objects.create(
                    batch=batch,
                    location=location,
                    contact=person,
                    role="owner",
                    channel=channel,
                    assembly=assembly,
                    recipient_name=person.name,
                    recipient_organisation=person.organisation,
                    email=person.email,
                    address_line1="12 Mill Road",
                    city="Riverbend",
                    state="IL",
                    postal_code="62701",
                )
            )
    return batch, communications


@pytest.fixture
def template():
    return factories.notice_template(
        subject="Test due {{ batch.due_date }} for {{ location.account_number }}", body=BODY
    )


def test_merge_data_is_plain_and_lists_the_batch_assemblies(template):
    _batch, (communication,) = make_batch(template, assemblies_per_location=(3,))
    data = rendering.build_merge_data(communication)
    assert data["contact"] == {
        "name": "Dana Whitfield",
        "organisation": "Riverside LLC",
        "email": communication.email,
        "role": "Owner",
        "address": "12 Mill Road, Riverbend, IL 62701",
        "address_lines": ["12 Mill Road", "Riverbend, IL 62701"],
    }
    assert data["batch"] == {"name": "Spring tests", "due_date": datetime.date(2025, 6, 30)}
    assert data["location"]["account_number"] == communication.location.account_number
    serials = [a["serial_number"] for a in data["assemblies"]]
    in_batch = sorted(communication.batch.assemblies.values_list("serial_number", flat=True))
    assert serials == in_batch and len(serials) == 3
    assert data["assembly"] == data["assemblies"][0]
    assert data["assemblies"][0]["compliance_status"] == "Compliant"

    def plain(value):
        if isinstance(value, dict):
            return all(isinstance(k, str) and plain(v) for k, v in value.items())
        if isinstance(value, list):
            return all(plain(v) for v in value)
        return value is None or isinstance(value, (str, int, datetime.date))

    assert plain(data)


def test_per_assembly_notice_has_its_one_assembly(template):
    _batch, communications = make_batch(template, assemblies_per_location=(3,), per_assembly=True)
    datas = merge_data.build_merge_data_many(communications)
    for communication, data in zip(communications, datas, strict=True):
        assert [a["serial_number"] for a in data["assemblies"]] == [
            communication.assembly.serial_number
        ]
        assert data["assembly"]["serial_number"] == communication.assembly.serial_number


def test_render_communications_uses_a_constant_number_of_queries(template):
    _batch, few = make_batch(template, assemblies_per_location=(2,) * 3)
    _batch, many = make_batch(template, assemblies_per_location=(2,) * 30)
    rendering.render_communications(few)  # warm the per-process revision cache
    with CaptureQueriesContext(connection) as small:
        rendering.render_communications(few)
    with CaptureQueriesContext(connection) as large:
        notices = rendering.render_communications(many)
    assert len(notices) == 30
    assert len(large.captured_queries) == len(small.captured_queries) <= 8


def test_email_html_and_text(template):
    _batch, (communication,) = make_batch(template, contact_name="<script>alert(1)</script>")
    notice = rendering.render_communication(communication)
    account = communication.location.account_number
    assert notice.subject == f"Test due June 30, 2025 for {account}"
    html = notice.html
    assert html.startswith("<!DOCTYPE html>")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "must be tested by <b>June 30, 2025</b>" in html
    assert '<p style="margin:0 0 16px 0;' in html  # inlined: mail clients drop <style>
    assert '<table role="presentation" width="600"' in html
    assert "data-block-key" not in html
    for serial in communication.batch.assemblies.values_list("serial_number", flat=True):
        assert serial in html and serial in notice.text
    text = notice.text
    assert "Dear <script>alert(1)</script>," in text  # plain text is not HTML-escaped
    assert "- Call a certified tester\n- Send us the report" in text
    assert "Serial number" in text and "Next test due" in text
    assert '<section class="letter"' in notice.letter_html_fragment
    email_only = rendering.render_communication(communication, letter=False)
    assert email_only.html == html and email_only.letter_html_fragment == ""
    assert rendering.preview_email_html(communication) == html


def test_text_conversion_keeps_structure():
    html = (
        "<h3>Heading</h3><p>One <a href='https://x.example/a'>link</a><br>two</p>"
        "<ol><li>first</li><li>second</li></ol>"
        "<table><tr><th>Serial</th><th>Type</th></tr>"
        "<tr><td>A-1</td><td>RP</td></tr><tr><td>LONG-SERIAL-22</td><td>DC</td></tr></table>"
    )
    assert html_to_text(html) == (
        "Heading\n-------\n\nOne link (https://x.example/a)\ntwo\n\n1. first\n2. second\n\n"
        "Serial          Type\n--------------  ----\nA-1             RP\nLONG-SERIAL-22  DC"
    )
    assert text_table(["A", "B"], [["x", "y"]]) == "A  B\n-  -\nx  y"


def test_inline_styles_per_tag():
    html = inline_styles(
        '<p data-block-key="k1">Hi <a href="https://x.example">x</a></p>'
        '<ul><li>one</li></ul><p style="color:red">own</p><br/>'
    )
    assert html.startswith('<p style="margin:0 0 16px 0;')
    assert '<a href="https://x.example" style="color:#0b5cad;' in html
    assert '<ul style="margin:0 0 16px 0;padding:0 0 0 24px;' in html
    assert '<p style="color:red">own</p>' in html and "<br/>" in html
    assert "data-block-key" not in html


def test_text_of_nested_lists_signature_and_entities():
    html = (
        "<p>Fish &amp; chips &lt;today&gt;</p><ul><li>a<ul><li>a1</li></ul></li><li>b</li></ul>"
        '<div class="signature"><p>Sincerely,</p><p><strong>Pat</strong></p></div>'
        '<p><a href="mailto:x@y.example">x@y.example</a></p>'
    )
    assert html_to_text(html) == (
        "Fish & chips <today>\n\n- a\n  - a1\n- b\n\nSincerely,\nPat\n\nx@y.example"
    )


def test_communication_renders_its_pinned_revision(template):
    _batch, (communication,) = make_batch(template)
    template.subject = "Changed later {{ contact.name }}"
    template.save_revision().publish()
    notice = rendering.render_communication(communication)
    assert notice.subject.startswith("Test due June 30, 2025")


def test_render_error_names_the_problem(template):
    template.body = [
        (
            "paragraph",
            "<p>{% for i in range(9) %}{% for j in range(9999) %}{% endfor %}{% endfor %}</p>",
        )
    ]
    # Validation now refuses this (its trial render); a revision saved before that check
    # existed still renders within the budget at sending, and fails with the reason.
    template.save_revision(clean=False).publish()
    template.refresh_from_db()
    _batch, (communication,) = make_batch(template)
    with pytest.raises(RenderError, match="repeats more than"):
        rendering.render_communication(communication)


# --- letters --------------------------------------------------------------------------------


def _pdf(html: str) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(weasyprint.HTML(string=html).write_pdf()))


def _page_labels(reader: pypdf.PdfReader) -> list[str]:
    labels = []
    for page in reader.pages:
        labels += [line for line in page.extract_text().splitlines() if line.startswith("Page ")]
    return labels


def test_letters_number_their_own_pages(template):
    # 45 assemblies make the first letter run onto a second page; the second fits on one.
    _batch, letters = make_batch(template, assemblies_per_location=(45, 2), channel="letter")
    html = rendering.letters_html(letters)
    assert html.count('<section class="letter"') == 2
    reader = _pdf(html)
    assert len(reader.pages) == 3
    assert _page_labels(reader) == ["Page 1 of 2", "Page 2 of 2", "Page 1 of 1"]
    assert letters[1].location.account_number in reader.pages[2].extract_text()


def _text_positions(page) -> list[tuple[str, float, float]]:
    found = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            found.append((text.strip(), tm[4] * cm[0] + cm[4], tm[5] * cm[3] + cm[5]))

    page.extract_text(visitor_text=visit)
    return found


@pytest.mark.parametrize(
    ("page_size", "width", "height", "window"),
    [
        # US Letter: #10 window, 1" .. 4 3/8" from the left, 2 1/8" .. 3 1/8" from the top.
        ("letter", 612, 792, (72, 315, 153, 225)),
        # A4: DIN 5008 form B, 25 .. 105 mm from the left, 50 .. 80 mm from the top.
        ("a4", 595.28, 841.89, (70.8, 297.7, 141.7, 226.8)),
    ],
)
def test_page_size_and_address_window(template, page_size, width, height, window):
    _batch, (letter,) = make_batch(template, channel="letter")
    with override_settings(WAGTAIL_BATCHCOMMS={"PAGE_SIZE": page_size}):
        reader = _pdf(rendering.letters_html([letter]))
    box = reader.pages[0].mediabox
    assert float(box.width) == pytest.approx(width, abs=0.5)
    assert float(box.height) == pytest.approx(height, abs=0.5)
    left, right, top, bottom = window
    lines = ["Dana Whitfield", "Riverside LLC", "12 Mill Road", "Riverbend, IL 62701"]
    positions = {text: (x, height - y) for text, x, y in _text_positions(reader.pages[0])}
    for line in lines:
        x, y_from_top = positions[line]
        assert left <= x <= right, (line, x)
        assert top <= y_from_top <= bottom, (line, y_from_top)


def test_letter_has_date_body_table_and_signature(template):
    letterhead = merge_data.letterhead_data()
    from wagtail_batchcomms.models import Letterhead

    settings_row = Letterhead.load()
    settings_row.organisation_name = "Riverbend Water"
    settings_row.return_address = "PO Box 100\nRiverbend, IL 62701"
    settings_row.signature_name = "Pat Lee"
    settings_row.signature_title = "Cross-connection control"
    settings_row.footer_text = 'Questions? Call "us" at (555) 010-2000'
    settings_row.save()
    assert letterhead["name"] == ""  # loaded before the change: data, not a live object
    _batch, (letter,) = make_batch(template, channel="letter")
    text = _pdf(rendering.letters_html([letter])).pages[0].extract_text()
    today = timezone.localdate()
    assert f"{today:%B} {today.day}, {today.year}" in text
    for expected in (
        "Riverbend Water",
        "PO Box 100",
        "Dear Dana Whitfield,",
        "Your assemblies",
        "Pat Lee",
        "Cross-connection control",
        'Questions? Call "us"',
        "Page 1 of 1",
    ):
        assert expected in text, expected


def test_a_batch_without_its_revision_cannot_render(template):
    batch, (communication,) = make_batch(template)
    batch.template_revision.delete()  # the batch keeps the row, without a revision (SET_NULL)
    with pytest.raises(RenderError, match="revision the batch was generated from"):
        rendering.render_communication(communication)  # its batch, loaded before the delete
    with pytest.raises(RenderError, match="no pinned template revision"):
        rendering.render_communication(communication.pk)


def test_text_of_a_link_never_closed_has_no_marker_left():
    # A template can leave an <a> open; its label marker must not reach the text part (a NUL
    # byte that PostgreSQL refuses to store with the sent notice).
    assert html_to_text('<p>Go <a href="https://example.org">there</p><p>Next</p>') == (
        "Go there\n\nNext"
    )
