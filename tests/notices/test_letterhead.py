"""The Letterhead settings: the settings page, the image size limit, and its use in notices."""

from __future__ import annotations

import datetime
import io
import re

import factories
import pypdf
import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.urls import reverse
from wagtail.images import get_image_model
from wagtail.images.tests.utils import get_test_image_file

from wagtail_batchcomms.letters import pdf
from wagtail_batchcomms.models import Batch, BatchAssembly, Communication, Letterhead
from wagtail_batchcomms.notices import rendering

pytestmark = pytest.mark.django_db

MENU_URL = ("wagtailsettings:edit", ["wagtail_batchcomms", "letterhead"])


def edit_url() -> str:
    """The settings form of the one Letterhead row (the menu's URL redirects there)."""
    return reverse(
        "wagtailsettings:edit", args=["wagtail_batchcomms", "letterhead", Letterhead.load().pk]
    )


def image(title="Logo", size=(300, 80), colour="navy"):
    return get_image_model().objects.create(
        title=title, file=get_test_image_file(f"{title.lower()}.png", colour=colour, size=size)
    )


def form_data(**fields):
    data = {
        "organisation_name": "Riverbend Water",
        "return_address": "PO Box 100\nRiverbend, IL 62701",
        "phone": "(555) 010-2000",
        "email": "backflow@riverbend.example",
        "website": "https://water.riverbend.example",
        "signature_name": "Pat Lee",
        "signature_title": "Cross-connection control manager",
        "footer_text": "Required by state regulation.",
        "logo": "",
        "signature_image": "",
    }
    data.update(fields)
    return data


def test_letterhead_is_in_the_settings_menu_and_saves(admin_client):
    menu_url = reverse(MENU_URL[0], args=MENU_URL[1])
    home = admin_client.get(reverse("wagtailadmin_home")).content.decode()
    assert menu_url in home and "Letterhead" in home  # the sidebar's settings menu
    page = admin_client.get(menu_url, follow=True)
    assert page.status_code == 200 and "Signature" in page.content.decode()
    url = edit_url()
    response = admin_client.post(url, form_data())
    assert response.status_code == 302
    letterhead = Letterhead.load()
    assert letterhead.organisation_name == "Riverbend Water"
    assert letterhead.return_address_lines == ["PO Box 100", "Riverbend, IL 62701"]


def test_oversized_image_is_refused(admin_client):
    logo = image()
    url = edit_url()
    with override_settings(WAGTAIL_BATCHCOMMS={"MAX_LETTERHEAD_IMAGE_BYTES": 100}):
        response = admin_client.post(url, form_data(logo=logo.pk))
        assert response.status_code == 200
        (message,) = response.context["form"].errors["logo"]
        assert "the letterhead accepts up to 100 bytes" in message
        assert Letterhead.load().logo_id is None
        # The model refuses it too, whatever the form, with the size measured from the file.
        logo.file_size = None
        logo.save()
        with pytest.raises(ValidationError) as raised:
            Letterhead(logo=logo).clean()
        assert "logo" in raised.value.error_dict
    assert admin_client.post(url, form_data(logo=logo.pk)).status_code == 302
    assert Letterhead.load().logo_id == logo.pk


def test_unreadable_image_is_refused():
    logo = image()
    logo.file.storage.delete(logo.file.name)
    logo.file_size = None
    with pytest.raises(ValidationError, match="cannot be read"):
        Letterhead(logo=logo).clean()


@pytest.fixture
def letterhead():
    settings_row = Letterhead.load()
    for field, value in form_data().items():
        if field not in ("logo", "signature_image"):
            setattr(settings_row, field, value)
    settings_row.logo = image("Logo", (600, 160), "navy")
    settings_row.signature_image = image("Signature", (400, 120), "black")
    settings_row.save()
    return settings_row


@pytest.fixture
def letter_and_email():
    template = factories.notice_template(
        subject="Test due {{ batch.due_date }}",
        body=[
            ("paragraph", "<p>Dear {{ contact.name }}, call {{ organisation.phone }}.</p>"),
            (
                "signature",
                {"closing": "Sincerely,", "use_letterhead": True, "name": "", "title": ""},
            ),
        ],
    )
    batch = Batch.objects.create(
        name="Spring",
        template=template,
        template_revision_id=template.live_revision_id,
        due_date=datetime.date(2025, 6, 30),
    )
    location = factories.location()
    BatchAssembly.objects.create(
        batch=batch, assembly=factories.assembly(location=location), location=location
    )
    person = factories.contact(name="Dana Whitfield")
    common = dict(  # noqa: C408
        batch=batch,
        location=location,
        contact=person,
        role="owner",
        recipient_name=person.name,
        address_line1="12 Mill Road",
        city="Riverbend",
        state="IL",
        postal_code="62701",
    )
    letter = Communication.objects.create(channel="letter", **common)
    email = Communication.objects.create(channel="email", email=person.email, **common)
    return letter, email


def test_notices_use_the_letterhead(settings, letterhead, letter_and_email):
    settings.WAGTAILADMIN_BASE_URL = "http://utility.example"
    letter, email = letter_and_email
    notice = rendering.render_communication(email)
    # Emails: the logo and signature as absolute rendition URLs, the organisation's details.
    media = r'src="http://utility\.example/media/images/'
    assert re.search(media + r'logo[\w-]*\.max-600x160\.png"', notice.html)
    assert re.search(media + r'signature[\w-]*\.max-440x140\.png"', notice.html)
    for text in (
        "call (555) 010-2000.",
        "Pat Lee",
        "Cross-connection control manager",
        "PO Box 100",
        "Required by state regulation.",
    ):
        assert text in notice.html and text in notice.text
    # Letters: the original files under MEDIA_URL, which the letters URL fetcher serves.
    html = rendering.letters_html([letter])
    assert f'src="{letterhead.logo.file.url}"' in html
    assert f'src="{letterhead.signature_image.file.url}"' in html
    document = pdf.render_pdf(html)
    reader = pypdf.PdfReader(io.BytesIO(pdf.write_pdf(document)))
    page = reader.pages[0]
    assert len(page.images) == 2  # logo and signature, fetched from media storage
    text = page.extract_text()
    for expected in (
        "Riverbend Water",
        "PO Box 100",
        "Dear Dana Whitfield, call (555) 010-2000.",
        "Pat Lee",
        "Required by state regulation.",
        "Page 1 of 1",
    ):
        assert expected in text, expected


def test_rendering_without_a_letterhead_row(letter_and_email):
    Letterhead.objects.all().delete()
    letter, email = letter_and_email
    notice = rendering.render_communication(email)
    assert "Dear Dana Whitfield" in notice.html and "<img" not in notice.html
    assert '<section class="letter"' in rendering.letters_html([letter])
