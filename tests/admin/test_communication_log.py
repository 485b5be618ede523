"""The Communication Log and the "Communications" sections of assembly, location and contact
pages."""

from __future__ import annotations

import datetime
import re

import factories
import pytest
from batch_admin_data import build_register, count_queries, generate, make_batch, org_admin
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from wagtail_batchcomms.letters import downloads
from wagtail_batchcomms.models import (
    Assembly,
    Channel,
    Communication,
    CommunicationStatus,
    Contact,
    Location,
)

LOG = "wagtail_batchcomms_communication:index"


@pytest.fixture
def world(db):
    """Batch "all" (every assembly) generated, with its letters mailed; batch "north"
    (North's health assemblies) generated."""
    register = build_register()
    user = org_admin()
    template = factories.notice_template(name="Annual test reminder")
    everything = generate(make_batch(user, template, name="All"), user)
    downloads.mark_letters_mailed(everything.pk, user=user)
    north = generate(
        make_batch(
            user,
            template,
            Assembly.objects.filter(location__service_area=register["north"]),
            name="North",
        ),
        user,
    )
    return {**register, "user": user, "all": everything, "north_batch": north}


@pytest.fixture
def client_(client, world):
    client.force_login(world["user"])
    return client


def listed(client, **params) -> set[int]:
    response = client.get(reverse(LOG), params)
    assert response.status_code == 200
    return {c.pk for c in response.context["object_list"]}


def ids(queryset) -> set[int]:
    return set(queryset.values_list("pk", flat=True))


@pytest.mark.django_db
def test_lists_every_communication_newest_first(client_, world):
    response = client_.get(reverse(LOG))
    rows = list(response.context["object_list"])
    assert {c.pk for c in rows} == ids(Communication.objects.all())
    assert rows[0].batch == world["north_batch"]  # the newer batch's notices first


@pytest.mark.django_db
def test_filters_batch_channel_status(client_, world):
    north = world["north_batch"]
    assert listed(client_, batch=north.pk) == ids(Communication.objects.filter(batch=north))
    assert listed(client_, channel="letter") == ids(
        Communication.objects.filter(channel=Channel.LETTER)
    )
    sent = Communication.objects.filter(status=CommunicationStatus.SENT)
    assert sent.exists()
    assert listed(client_, status="sent") == ids(sent)
    assert listed(client_, status=["sent", "pending"]) == ids(Communication.objects.all())
    assert listed(client_, batch=north.pk, channel="email", status="pending") == ids(
        Communication.objects.filter(batch=north, channel="email", status="pending")
    )


@pytest.mark.django_db
def test_filters_by_dates(client_, world):
    old = Communication.objects.filter(batch=world["all"])
    long_ago = timezone.now() - datetime.timedelta(days=40)
    old.update(created_at=long_ago)
    today = timezone.localdate()
    assert listed(client_, created_at_from=today.isoformat()) == ids(
        Communication.objects.filter(batch=world["north_batch"])
    )
    assert listed(client_, created_at_to=(today - datetime.timedelta(days=30)).isoformat()) == ids(
        old
    )
    # Sent today: the mailed letters of batch "all".
    assert listed(client_, sent_at_from=today.isoformat(), sent_at_to=today.isoformat()) == ids(
        Communication.objects.filter(status=CommunicationStatus.SENT)
    )


@pytest.mark.django_db
def test_filters_by_location_contact_and_assembly(client_, world):
    location = Location.objects.get(account_number="AC-0002")
    assert listed(client_, location="ac-0002") == ids(location.communications.all())
    contact = Contact.objects.get(name="Owner 03")
    response = client_.get(reverse(LOG), {"contact": contact.pk})
    assert {c.pk for c in response.context["object_list"]} == ids(contact.communications.all())
    assert "Owner 03" in response.content.decode()  # the active filter names the contact

    # An assembly of a North location: its location's notices in both batches...
    north_assembly = Assembly.objects.get(serial_number="SN-0002-A")
    assert listed(client_, assembly=north_assembly.pk) == ids(
        Communication.objects.filter(location=north_assembly.location)
    )
    # ...a South assembly only in batch "all", whose working list holds it.
    south_assembly = Assembly.objects.get(serial_number="SN-0003-A")
    assert listed(client_, assembly=south_assembly.pk) == ids(
        Communication.objects.filter(location=south_assembly.location, batch=world["all"])
    )
    # A new assembly at that location was in no batch: no notice was about it.
    newcomer = factories.assembly(south_assembly.location, serial_number="SN-NEW")
    assert listed(client_, assembly=newcomer.pk) == set()


@pytest.mark.django_db
def test_invalid_filter_values_do_not_break_the_log(client_, world):
    for params in ({"contact": "abc"}, {"batch": "999999"}, {"created_at_from": "soon"}):
        response = client_.get(reverse(LOG), params)
        assert response.status_code == 200


@pytest.mark.django_db
def test_search_by_recipient_email_and_account(client_, world):
    assert listed(client_, q="owner 05") == ids(
        Communication.objects.filter(recipient_name="Owner 05")
    )
    assert listed(client_, q="owner7@example") == ids(
        Communication.objects.filter(email="owner7@example.com")
    )
    assert listed(client_, q="AC-0011") == ids(
        Communication.objects.filter(location__account_number="AC-0011")
    )


@pytest.mark.django_db
def test_query_count_is_constant(client_, world):
    def page(batch):
        return count_queries(lambda: client_.get(reverse(LOG), {"batch": batch.pk}))

    page(world["north_batch"])  # warm-up: per-process caches (content types, locales)
    few, response = page(world["north_batch"])
    assert 0 < len(response.context["object_list"]) < 10
    many, response = page(world["all"])
    assert len(response.context["object_list"]) > 10
    assert many == few, (few, many)


@pytest.mark.django_db
def test_read_only_with_inspect_and_preview(client_, world):
    for name in ("add", "edit", "delete"):
        with pytest.raises(NoReverseMatch):
            reverse(f"wagtail_batchcomms_communication:{name}", args=[1] if name != "add" else [])
    email = Communication.objects.filter(channel=Channel.EMAIL).first()
    letter = Communication.objects.filter(channel=Channel.LETTER).first()
    page = client_.get(reverse("wagtail_batchcomms_communication:inspect", args=[email.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert email.email in html
    assert reverse("wagtail_batchcomms_batch:preview_email", args=[email.pk]) in html
    page = client_.get(reverse("wagtail_batchcomms_communication:inspect", args=[letter.pk]))
    assert reverse("wagtail_batchcomms_letters:preview", args=[letter.pk]) in page.content.decode()


@pytest.mark.django_db
def test_email_preview_is_the_rendered_email(client_, world):
    email = Communication.objects.filter(channel=Channel.EMAIL).select_related("contact").first()
    response = client_.get(reverse("wagtail_batchcomms_batch:preview_email", args=[email.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    # An admin page; the email's own markup is escaped into a sandboxed frame (no scripts).
    assert re.search(r'<iframe[^>]*sandbox=""[^>]*srcdoc="[^"]*Dear ' + email.contact.name, page)
    letter = Communication.objects.filter(channel=Channel.LETTER).first()
    response = client_.get(reverse("wagtail_batchcomms_batch:preview_email", args=[letter.pk]))
    assert response.status_code == 404  # a letter has no email


@pytest.mark.django_db
def test_export_csv_of_the_filtered_log(client_, world):
    response = client_.get(reverse(LOG), {"channel": "letter", "export": "csv"})
    assert response.status_code == 200
    lines = b"".join(response.streaming_content).decode().strip().splitlines()
    assert len(lines) == 1 + Communication.objects.filter(channel=Channel.LETTER).count()


# --- register pages ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_location_edit_page_shows_its_communications_and_the_last_one(client_, world):
    location = Location.objects.get(account_number="AC-0002")
    latest = location.communications.order_by("-created_at", "-pk").first()
    response = client_.get(
        reverse("wagtailsnippets_wagtail_batchcomms_location:edit", args=[location.pk])
    )
    html = response.content.decode()
    assert "data-object-communications" in html
    assert "data-last-communication" in html
    assert latest.batch.name in html
    log_link = reverse(LOG) + "?location=AC-0002"
    assert log_link in html
    assert listed(client_, location="AC-0002") == ids(location.communications.all())


@pytest.mark.django_db
def test_contact_and_assembly_inspect_pages_link_to_the_filtered_log(client_, world):
    contact = Contact.objects.get(name="Owner 03")
    response = client_.get(
        reverse("wagtailsnippets_wagtail_batchcomms_contact:inspect", args=[contact.pk])
    )
    html = response.content.decode()
    assert "data-last-communication" in html
    assert f"{reverse(LOG)}?contact={contact.pk}" in html

    assembly = Assembly.objects.get(serial_number="SN-0002-A")
    response = client_.get(
        reverse("wagtailsnippets_wagtail_batchcomms_assembly:edit", args=[assembly.pk])
    )
    html = response.content.decode()
    assert f"{reverse(LOG)}?assembly={assembly.pk}" in html
    assert "North" in html  # the last notice about it came from batch "North"


@pytest.mark.django_db
def test_new_objects_have_no_communications_section_on_create(client, world):
    client_ = client
    client_.force_login(org_admin("creator", extra=["wagtail_batchcomms.add_contact"]))
    response = client_.get(reverse("wagtailsnippets_wagtail_batchcomms_contact:add"))
    assert response.status_code == 200
    assert "data-object-communications" not in response.content.decode()
    fresh = factories.contact(name="Nobody yet")
    response = client_.get(
        reverse("wagtailsnippets_wagtail_batchcomms_contact:edit", args=[fresh.pk])
    )
    assert "No communications yet." in response.content.decode()


@pytest.mark.django_db
def test_register_page_query_count_does_not_grow_with_communications(client_, world):
    location = Location.objects.get(account_number="AC-0002")
    edit = reverse("wagtailsnippets_wagtail_batchcomms_location:edit", args=[location.pk])
    client_.get(edit)  # warm-up: per-process caches
    before, _ = count_queries(lambda: client_.get(edit))
    user = world["user"]
    for i in range(4):
        generate(
            make_batch(
                user, name=f"Extra {i}", assemblies=Assembly.objects.filter(location=location)
            ),
            user,
        )
    after, _ = count_queries(lambda: client_.get(edit))
    assert after == before
