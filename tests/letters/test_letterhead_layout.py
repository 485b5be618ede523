"""Where the letterhead lands on the page: the logo at the top left, the return address in a
column of its own beside it (every line, however many), a long web address wrapped inside the
page. Real WeasyPrint PDFs read back with pypdf (text and image positions in points).

The letterhead is laid out with a floated logo column rather than a flex row (a flex row cost
WeasyPrint about an eighth of each page); these positions are the ones the flex row gave.
"""

from __future__ import annotations

import io

import letters_data as data
import pypdf
import pytest
from django.core.files.images import ImageFile
from django.test import override_settings
from PIL import Image as PILImage
from wagtail.images.models import Image

from wagtail_batchcomms.letters import pdf
from wagtail_batchcomms.models import Letterhead
from wagtail_batchcomms.notices.rendering import letters_html

INCH = 72.0
PAGE_HEIGHT = 11 * INCH
LEFT_MARGIN = 1 * INCH
TOP_MARGIN = 0.5 * INCH
#: A 600 x 160 logo is limited by ``max-width: 2.2in``: 2.2in wide, 2.2 * 160 / 600 in high.
LOGO_WIDTH, LOGO_HEIGHT = 2.2 * INCH, 2.2 * INCH * 160 / 600
COLUMN_X = LEFT_MARGIN + LOGO_WIDTH + 0.25 * INCH

WEBSITE = "https://www.riverbendwater.example/backflow-prevention-programme/annual-testing-notices"
RETURN_LINES = [
    "Riverbend Water",
    "Cross-Connection Control Office",
    "PO Box 100",
    "1200 Water Works Road, Suite 300",
    "Riverbend, IL 62701",
    "(555) 010-2000",
    "backflow@riverbendwater.example",
]


@pytest.fixture
def media(tmp_path):
    with override_settings(MEDIA_ROOT=str(tmp_path / "media")):
        yield


def set_letterhead(*, logo: bool) -> None:
    letterhead = Letterhead.load()
    letterhead.organisation_name = RETURN_LINES[0]
    letterhead.return_address = "\n".join(RETURN_LINES[1:5])
    letterhead.phone = RETURN_LINES[5]
    letterhead.email = RETURN_LINES[6]
    letterhead.website = WEBSITE
    if logo:
        buffer = io.BytesIO()
        PILImage.new("RGB", (600, 160), (20, 80, 160)).save(buffer, "PNG")
        image = Image(title="Logo")
        image.file.save("logo.png", ImageFile(buffer, name="logo.png"), save=False)
        image.save()
        letterhead.logo = image
    letterhead.save()


def first_page() -> pypdf.PageObject:
    batch = data.letter_batch(1)
    html = letters_html(list(data.letters(batch)))
    return pypdf.PdfReader(io.BytesIO(pdf.write_pdf(html))).pages[0]


def text_lines(page) -> list[tuple[str, float, float]]:
    """(text, x, y from the top) of each piece of text drawn on ``page``."""
    found = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            found.append((text.strip(), tm[4] * cm[0] + cm[4], PAGE_HEIGHT - tm[5] * cm[3] - cm[5]))

    page.extract_text(visitor_text=visit)
    return found


def image_boxes(page) -> list[tuple[float, float, float, float]]:
    """(x, y from the top, width, height) of each image drawn on ``page``."""
    boxes = []

    def visit(operator, operands, cm, tm):
        if operator == b"Do":
            width, height, x, y = cm[0], cm[3], cm[4], cm[5]
            boxes.append((x, PAGE_HEIGHT - y - height, width, height))

    page.extract_text(visitor_operand_before=visit)
    return boxes


def return_address(lines) -> list[tuple[str, float, float]]:
    """The lines drawn inside the letterhead (its 1 5/8" below the top margin)."""
    return [line for line in lines if line[2] < TOP_MARGIN + 1.625 * INCH]


def test_the_return_address_is_a_column_beside_the_logo_on_every_line(db, media):
    set_letterhead(logo=True)
    page = first_page()

    ((x, top, width, height),) = image_boxes(page)
    assert (x, top) == pytest.approx((LEFT_MARGIN, TOP_MARGIN), abs=0.5)
    assert (width, height) == pytest.approx((LOGO_WIDTH, LOGO_HEIGHT), abs=0.5)

    lines = return_address(text_lines(page))
    assert [text for text, _x, _y in lines[: len(RETURN_LINES)]] == RETURN_LINES
    # Seven lines run well below the logo's bottom; each still starts in the column.
    assert lines[-1][2] > TOP_MARGIN + LOGO_HEIGHT
    assert [round(x, 1) for _text, x, _y in lines] == [round(COLUMN_X, 1)] * len(lines)


def test_a_long_web_address_wraps_inside_the_page(db, media):
    set_letterhead(logo=True)
    lines = return_address(text_lines(first_page()))
    website = [text for text, _x, _y in lines[len(RETURN_LINES) :]]
    # Too long for the 4.3" beside the logo: wrapped over lines of the column, none lost.
    assert len(website) >= 2
    assert "".join(website) == WEBSITE


def test_without_a_logo_the_return_address_starts_at_the_margin(db, media):
    set_letterhead(logo=False)
    page = first_page()
    assert image_boxes(page) == []
    lines = return_address(text_lines(page))
    assert [text for text, _x, _y in lines] == [*RETURN_LINES, WEBSITE]
    assert [round(x, 1) for _text, x, _y in lines] == [LEFT_MARGIN] * len(lines)
