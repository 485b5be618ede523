"""Generation with contacts flagged for returned mail: the fallbacks of
``batches.addresses_sql`` for every contact-method setting, and the dry run agreeing."""

from __future__ import annotations

from collections import Counter

import factories
import pytest
from django.utils import timezone

from wagtail_batchcomms.batches import generation
from wagtail_batchcomms.batches.generation import preview_generation
from wagtail_batchcomms.batches.lifecycle import create_batch, start_generation
from wagtail_batchcomms.models import Assembly, Communication, SkippedRecipient

pytestmark = pytest.mark.django_db

HOME = {"address_line1": "12 Oak Street", "city": "Riverbend", "postal_code": "62701"}
MAILING = {
    "mailing_address_line1": "PO Box 77",
    "mailing_city": "Riverbend",
    "mailing_postal_code": "62702",
}
# The same address as HOME, typed differently: not another address.
SAME_AS_HOME = {
    "mailing_address_line1": " 12 OAK street ",
    "mailing_city": "riverbend",
    "mailing_postal_code": "62701",
}

#: name -> (flagged, contact fields, location fields)
CASES = {
    "flagged_po_box_with_email": (True, {**MAILING}, HOME),
    "flagged_po_box_paper": (True, {**MAILING, "email": ""}, HOME),
    "flagged_same_as_home_paper": (True, {**SAME_AS_HOME, "email": ""}, HOME),
    "flagged_same_as_home_with_email": (True, {**SAME_AS_HOME}, HOME),
    "flagged_no_own_address_paper": (True, {"email": ""}, HOME),
    "flagged_po_box_prefers_paper_no_home": (
        True,
        {**MAILING, "prefers_paper": True},
        {"address_line1": "", "city": "", "postal_code": ""},
    ),
    "good_po_box_paper": (False, {**MAILING, "email": ""}, HOME),
    "good_no_own_address_with_email": (False, {}, HOME),
}

SETTINGS = {
    "email_only": {"contact_methods": "email", "first_available_only": False},
    "letter_only": {"contact_methods": "letter", "first_available_only": False},
    "both": {"contact_methods": "both", "first_available_only": False},
    "first_available": {"contact_methods": "both", "first_available_only": True},
}


def expected(setting: str, flagged: bool, contact: dict, location: dict):
    """(channels, skip reason) written out plainly from the rules (not the SQL under test)."""
    can_email = contact.get("email", "x@example.com") != "" and not contact.get("prefers_paper")
    own = bool(contact.get("mailing_address_line1", "").strip())
    home = bool(location["address_line1"])
    if not flagged:
        letter = own or home
    else:
        differs = own and (
            contact["mailing_address_line1"].strip().upper() != location["address_line1"].upper()
            or contact["mailing_city"].strip().upper() != location["city"].upper()
            or contact["mailing_postal_code"].strip() != location["postal_code"]
        )
        letter = own and home and differs
    methods = SETTINGS[setting]
    email_ok = methods["contact_methods"] in ("email", "both")
    letter_ok = methods["contact_methods"] in ("letter", "both")
    channels = set()
    if email_ok and can_email:
        channels.add("email")
    if letter_ok and letter and not (methods["first_available_only"] and can_email):
        channels.add("letter")
    if channels:
        return channels, None
    if letter_ok and flagged:
        return channels, "bad_address"
    return channels, "no_address" if letter_ok else "no_email"


@pytest.fixture
def flagged_register():
    built = {}
    for name, (flagged, contact_fields, location_fields) in CASES.items():
        location = factories.location(**location_fields)
        contact = factories.contact(
            name=name,
            mailing_address_bad_since=timezone.now() if flagged else None,
            **contact_fields,
        )
        factories.role(location, contact)
        factories.assembly(location)
        built[name] = (location, contact)
    return built


@pytest.mark.parametrize("setting", list(SETTINGS))
def test_flagged_contacts_fall_back_or_are_skipped(flagged_register, superuser, setting):
    template = factories.notice_template(**SETTINGS[setting])
    batch = create_batch(
        user=superuser,
        name=f"Returned {setting}",
        template=template,
        due_date=timezone.localdate(),
        assemblies=Assembly.objects.all(),
    )
    preview = preview_generation(batch)
    batch = start_generation(batch.pk, user=superuser)
    generation.generate(batch.pk, batch.task_token)

    rows = Communication.objects.filter(batch=batch)
    skipped = dict(SkippedRecipient.objects.filter(batch=batch).values_list("location", "reason"))
    for name, (location, contact) in flagged_register.items():
        flagged, contact_fields, location_fields = CASES[name]
        channels, reason = expected(setting, flagged, contact_fields, location_fields)
        mine = rows.filter(contact=contact)
        assert set(mine.values_list("channel", flat=True)) == channels, name
        assert skipped.get(location.pk) == reason, name
        letter = mine.filter(channel="letter").first()
        if letter is not None:
            # A flagged mailing address is never written on a letter.
            want = "PO Box 77" if not flagged and contact.mailing_address_line1 else "12 Oak Street"
            assert letter.address_line1 == want, name

    # The confirm page's dry run says what generation did.
    made = Counter(rows.values_list("channel", flat=True))
    assert (preview.emails, preview.letters) == (made["email"], made["letter"])
    assert preview.skipped == dict(Counter(skipped.values()))


def test_every_case_is_exercised():
    outcomes = {
        (setting, expected(setting, *CASES[name])[1] or "sent")
        for setting in SETTINGS
        for name in CASES
    }
    assert ("letter_only", "bad_address") in outcomes
    assert ("first_available", "bad_address") in outcomes
    assert ("both", "bad_address") in outcomes
    assert ("email_only", "no_email") in outcomes
