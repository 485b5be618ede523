""" "Add To Batch Communication": the header button, its confirm view and the bulk action.

The batches made here are compared with querysets (or Python filters) written independently
of AssemblyFilterSet, so a filter that the batch ignores or misreads fails.
"""

from __future__ import annotations

import datetime
from urllib.parse import parse_qs, urlsplit

import factories
import pytest
from batch_admin_data import (
    ADMIN,
    due_date,
    header_button_href,
    make_batch,
    messages_of,
)
from django.urls import reverse
from django.utils import timezone

from wagtail_batchcomms.batches import lifecycle
from wagtail_batchcomms.models import Assembly, Batch, BatchStatus

LIST = "wagtailsnippets_wagtail_batchcomms_assembly:list"
RESULTS = "wagtailsnippets_wagtail_batchcomms_assembly:list_results"
ADD = "wagtail_batchcomms_batch:add"
BULK = "/admin/bulk/wagtail_batchcomms/assembly/add_to_batch/"


def batch_ids(batch: Batch) -> set[int]:
    return set(batch.batch_assemblies.values_list("assembly_id", flat=True))


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def create_via_button(client, listing_query: str, template, name="From the button"):
    """Filter the listing, follow its header button, fill the form: the new batch."""
    listing = client.get(reverse(LIST) + "?" + listing_query)
    assert listing.status_code == 200
    href = header_button_href(listing.content.decode())
    assert href, "no Add To Batch Communication button"
    confirm = client.get(href)
    assert confirm.status_code == 200
    response = client.post(
        href,
        {"name": name, "template": template.pk, "due_date": due_date().isoformat()},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    batch = Batch.objects.get(name=name)
    assert response["Location"] == reverse("wagtail_batchcomms_batch:detail", args=[batch.pk])
    return batch, confirm


# --- the header button ------------------------------------------------------------------------


@pytest.mark.django_db
def test_header_button_carries_the_filters_without_page_or_fragment_marker(web, register):
    north = register["north"]
    query = f"service_area={north.pk}&hazard=health&q=AC-&p=2&ordering=-next_test_due"
    response = web.get(reverse(LIST) + "?" + query)

    href = header_button_href(response.content.decode())
    assert href.startswith(reverse(ADD) + "?")
    assert query_of(href) == {
        "service_area": [str(north.pk)],
        "hazard": ["health"],
        "q": ["AC-"],
        "ordering": ["-next_test_due"],
    }


@pytest.mark.django_db
def test_header_button_follows_ajax_filtering(web, register):
    """The results-only URL (what Wagtail fetches while filtering) re-renders the button
    into the header (a w-teleport template) with the new filters and no marker. The AJAX
    form submits empty fields too; they filter nothing and are left out."""
    south = register["south"]
    response = web.get(
        reverse(RESULTS)
        + f"?q=&service_area={south.pk}&property_type=commercial&city=&next_test_due_from="
        "&_w_filter_fragment=1"
    )
    html = response.content.decode()
    assert 'data-w-teleport-target-value="#w-slim-header-buttons"' in html
    fragment = html.split('data-w-teleport-target-value="#w-slim-header-buttons"', 1)[1]
    href = header_button_href(fragment)
    assert query_of(href) == {"service_area": [str(south.pk)], "property_type": ["commercial"]}


@pytest.mark.django_db
def test_header_button_needs_the_add_permission(client, register):
    viewer = factories.user(
        "viewer", perms=[ADMIN, "wagtail_batchcomms.view_assembly", "wagtail_batchcomms.view_batch"]
    )
    client.force_login(viewer)
    response = client.get(reverse(LIST))
    assert response.status_code == 200
    assert header_button_href(response.content.decode()) is None
    assert client.get(reverse(ADD)).status_code == 302  # Wagtail's permission denied
    assert Batch.objects.count() == 0


# --- the batch holds exactly what the listing shows ------------------------------------------


@pytest.mark.django_db
def test_batch_from_two_filters_holds_exactly_the_filtered_assemblies(
    web, register, template, admin
):
    north = register["north"]
    batch, confirm = create_via_button(
        web, f"service_area={north.pk}&hazard=non_health&p=3", template
    )
    expected = set(
        Assembly.objects.filter(location__service_area__code="N", hazard="non_health").values_list(
            "pk", flat=True
        )
    )
    assert expected and len(expected) < Assembly.objects.count()
    assert batch_ids(batch) == expected
    assert f'data-assembly-count="{len(expected)}"' in confirm.content.decode()
    assert batch.status == BatchStatus.OPEN
    assert batch.assembly_count == len(expected)
    assert query_of("?" + batch.filter_query) == {
        "service_area": [str(north.pk)],
        "hazard": ["non_health"],
    }
    assert batch.created_by == admin
    assert batch.template == template


@pytest.mark.django_db
def test_batch_from_search_and_compliance_filter(web, register, template):
    batch, _ = create_via_button(web, "q=AC-000&compliance=overdue&status=active", template)
    today = timezone.localdate()
    # Independently: accounts AC-0000..AC-0009 that are active and past due.
    expected = {
        a.pk
        for a in Assembly.objects.select_related("location")
        if a.location.account_number.startswith("AC-000")
        and a.status == "active"
        and a.last_tested_on
        and (a.next_test_due is None or a.next_test_due < today)
    }
    assert expected
    assert batch_ids(batch) == expected


@pytest.mark.django_db
def test_confirm_page_counts_and_lists_the_filters(web, register):
    south = register["south"]
    response = web.get(reverse(ADD) + f"?service_area={south.pk}&city=Lakeside")
    html = response.content.decode()
    expected = Assembly.objects.filter(
        location__service_area=south, location__city="Lakeside"
    ).count()
    assert f'data-assembly-count="{expected}"' in html
    assert "South (S)" in html and "Lakeside" in html
    assert Batch.objects.count() == 0  # GET creates nothing


@pytest.mark.parametrize(
    "bad_query",
    [
        "next_test_due_from=not-a-date",
        "service_area=999999",
        "hazard=volcanic",
        "compliance=sometimes",
        "service_area=abc",
    ],
)
@pytest.mark.django_db
def test_invalid_filter_values_give_a_form_error_and_create_nothing(
    web, register, template, bad_query
):
    url = reverse(ADD) + "?" + bad_query
    response = web.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "data-filter-errors" in html
    assert "<form" not in html.split("data-filter-errors", 1)[1].split("</main>")[0]

    response = web.post(
        url, {"name": "Bad", "template": template.pk, "due_date": due_date().isoformat()}
    )
    assert response.status_code == 200
    assert Batch.objects.count() == 0


@pytest.mark.django_db
def test_form_errors_past_due_date_unpublished_template_missing_name(web, register):
    draft = factories.notice_template(name="Draft only", publish=False)
    url = reverse(ADD) + "?hazard=health"
    yesterday = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
    response = web.post(url, {"name": "", "template": draft.pk, "due_date": yesterday})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"name", "template", "due_date"}
    assert "past" in str(errors["due_date"])
    assert "Draft only" not in response.content.decode().split("<form", 1)[1]
    assert Batch.objects.count() == 0


@pytest.mark.django_db
def test_no_matching_assemblies_offers_no_form(web, register, template):
    url = reverse(ADD) + "?city=Nowhere"
    response = web.get(url)
    assert 'data-assembly-count="0"' in response.content.decode()
    response = web.post(
        url, {"name": "Empty", "template": template.pk, "due_date": due_date().isoformat()}
    )
    assert response.status_code == 200
    assert Batch.objects.count() == 0


@pytest.mark.django_db
def test_a_second_post_of_the_same_form_makes_no_second_batch(web, register, template):
    url = reverse(ADD) + "?hazard=health"
    page = web.get(url)
    html = page.content.decode()
    assert "button-longrunning" in html  # disabled after the first click
    token = page.context["form"].initial["form_token"]
    data = {
        "form_token": token,
        "name": "Twice",
        "template": template.pk,
        "due_date": due_date().isoformat(),
    }
    first = web.post(url, data)
    second = web.post(url, data)

    batch = Batch.objects.get()
    assert (
        first["Location"]
        == second["Location"]
        == reverse("wagtail_batchcomms_batch:detail", args=[batch.pk])
    )
    assert "already sent" in " ".join(messages_of(second))
    assert batch_ids(batch) == set(
        Assembly.objects.filter(hazard="health").values_list("pk", flat=True)
    )


# --- the bulk action --------------------------------------------------------------------------


@pytest.mark.django_db
def test_select_all_respects_the_listing_filters(web, register, template):
    south = register["south"]
    listing_query = f"service_area={south.pk}&hazard=health"
    url = f"{BULK}?{listing_query}&id=all&next={reverse(LIST)}"
    expected = set(
        Assembly.objects.filter(location__service_area__code="S", hazard="health").values_list(
            "pk", flat=True
        )
    )
    assert expected and len(expected) < Assembly.objects.count()

    response = web.get(url)
    assert response.status_code == 200
    assert f'data-assembly-count="{len(expected)}"' in response.content.decode()

    response = web.post(
        url,
        {
            "target": "new",
            "name": "Bulk all",
            "template": template.pk,
            "due_date": due_date().isoformat(),
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    batch = Batch.objects.get(name="Bulk all")
    assert batch_ids(batch) == expected
    assert query_of("?" + batch.filter_query) == {
        "service_area": [str(south.pk)],
        "hazard": ["health"],
    }


@pytest.mark.django_db
def test_wagtails_default_select_all_would_take_every_assembly(rf, register, admin):
    """Why the override exists: the base class ignores the query string's filters."""
    from wagtail.snippets.bulk_actions.snippet_bulk_action import SnippetBulkAction

    from wagtail_batchcomms.views.batches.add_to_batch_bulk import AddToBatchBulkAction

    request = rf.get(BULK, {"hazard": "health", "id": "all"})
    request.user = admin
    ours = AddToBatchBulkAction(request, Assembly)
    base = SnippetBulkAction.get_all_objects_in_listing_query(ours, None)
    assert set(base) == set(Assembly.objects.values_list("pk", flat=True))
    assert set(ours.get_all_objects_in_listing_query(None)) == set(
        Assembly.objects.filter(hazard="health").values_list("pk", flat=True)
    )


@pytest.mark.django_db
def test_select_all_with_search_and_invalid_filters(web, register, template):
    url = f"{BULK}?q=SN-0003&id=all"
    response = web.get(url)
    assert 'data-assembly-count="2"' in response.content.decode()  # SN-0003-A and -B

    bad = f"{BULK}?hazard=volcanic&id=all"
    response = web.get(bad)
    assert "data-filter-errors" in response.content.decode()
    response = web.post(
        bad,
        {"target": "new", "name": "X", "template": template.pk, "due_date": due_date().isoformat()},
    )
    assert response.status_code == 200
    assert not Batch.objects.exists()


@pytest.mark.django_db
def test_selected_rows_to_a_new_batch_and_to_an_existing_open_batch(web, register, template, admin):
    a, b, c = Assembly.objects.order_by("pk")[:3]
    response = web.post(
        f"{BULK}?id={a.pk}&id={b.pk}",
        {"target": "new", "name": "Picked", "template": template.pk, "due_date": due_date()},
    )
    assert response.status_code == 302
    batch = Batch.objects.get(name="Picked")
    assert batch_ids(batch) == {a.pk, b.pk}

    response = web.post(f"{BULK}?id={b.pk}&id={c.pk}", {"target": "existing", "batch": batch.pk})
    assert response.status_code == 302
    assert "1 assemblies added" in " ".join(messages_of(response))
    assert batch_ids(batch) == {a.pk, b.pk, c.pk}


@pytest.mark.django_db
def test_existing_batch_must_be_open(web, register, template, admin):
    batch = make_batch(admin, template, Assembly.objects.filter(hazard="health"))
    lifecycle.archive_batch(batch.pk, user=admin)
    other = Assembly.objects.filter(hazard="non_health").first()
    response = web.post(f"{BULK}?id={other.pk}", {"target": "existing", "batch": batch.pk})
    assert response.status_code == 200  # the archived batch is not a valid choice
    assert "batch" in response.context["form"].errors
    assert other.pk not in batch_ids(batch)


@pytest.mark.django_db
def test_bulk_action_needs_batch_permission(client, register, template):
    clerk = factories.user(
        "clerk",
        perms=[ADMIN, "wagtail_batchcomms.view_assembly", "wagtail_batchcomms.change_assembly"],
    )
    client.force_login(clerk)
    first = Assembly.objects.first()
    response = client.post(
        f"{BULK}?id={first.pk}",
        {"target": "new", "name": "No", "template": template.pk, "due_date": due_date()},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("wagtailadmin_home")
    assert not Batch.objects.exists()
