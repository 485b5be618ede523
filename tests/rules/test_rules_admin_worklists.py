"""The automatic notices' work lists (awaiting review, letters to print) and the Batch
Communications listing's "Made by" filter."""

from __future__ import annotations

import factories
import pytest
from django.urls import reverse
from rules_admin_data import communication_type, due_locations

from wagtail_batchcomms.models import Batch, RunMode
from wagtail_batchcomms.rules.runs import run_automatic_notices

pytestmark = pytest.mark.django_db

AWAITING = "batchcomms_awaiting_review:index"
LETTERS = "batchcomms_letters_to_print:index"


@pytest.fixture
def held():
    ctype = communication_type(name="First notice", mode=RunMode.REVIEW, active=True)
    due_locations(2, due_in=10)
    due_locations(1, due_in=10, email=False)
    run_automatic_notices(user=factories.user("runner"))
    return Batch.objects.get(communication_type=ctype)


def test_awaiting_review_lists_held_batches_for_reviewers(client, held):
    manual = Batch.objects.create(name="Spring mailing", template=held.template)
    reviewer = factories.user(
        "reviewer", perms=[factories.ADMIN_ACCESS, "wagtail_batchcomms.review_rulerun"]
    )
    client.force_login(reviewer)
    response = client.get(reverse(AWAITING))
    assert response.status_code == 200
    html = response.content.decode()
    assert held.name in html and "First notice" in html and "Review" in html
    assert manual.name not in html
    assert reverse("wagtail_batchcomms_batch:detail", args=[held.pk]) in html

    nobody = factories.user("nobody", perms=[factories.ADMIN_ACCESS])
    client.force_login(nobody)
    refused = client.get(reverse(AWAITING))
    assert refused.status_code == 302 and refused.url == "/admin/"


def test_letters_to_print_lists_automatic_batches_with_pending_letters(client, held):
    sender = factories.user(
        "sender", perms=[factories.ADMIN_ACCESS, "wagtail_batchcomms.send_batch"]
    )
    client.force_login(sender)
    response = client.get(reverse(LETTERS))
    assert response.status_code == 200
    rows = list(response.context["object_list"])
    assert rows == [held] and rows[0].letters_pending == 1
    held.communications.filter(channel="letter").update(status="sent")
    response = client.get(reverse(LETTERS))
    assert list(response.context["object_list"]) == []


def test_batch_listing_made_by_filter(admin_client, held):
    manual = Batch.objects.create(name="Spring mailing", template=held.template)
    listing = reverse("wagtail_batchcomms_batch:index")
    everything = admin_client.get(listing)
    html = everything.content.decode()
    assert held.name in html and manual.name in html
    assert "All (admins and automatic runs)" in html
    assert "First notice" in html  # the type column
    automatic = admin_client.get(listing, {"made_by": "automatic"})
    assert list(automatic.context["object_list"]) == [held]
    admins = admin_client.get(listing, {"made_by": "admins"})
    assert list(admins.context["object_list"]) == [manual]
