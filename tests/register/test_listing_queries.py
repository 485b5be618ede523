"""The register listings run the same number of queries for 1 row as for 100 rows."""

from __future__ import annotations

import re

import factories
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

pytestmark = pytest.mark.django_db

ASSEMBLIES = reverse("wagtailsnippets_wagtail_batchcomms_assembly:list")


def make_register(n: int, start: int = 0) -> None:
    """``n`` assemblies, each at its own location in its own service area, with contacts."""
    for i in range(start, start + n):
        location = factories.location(
            service_area=factories.service_area(), property_type="commercial", postal_code="62701"
        )
        factories.role(location, factories.contact(name=f"Owner {i}"), "owner", primary=True)
        factories.role(location, factories.contact(name=f"Tenant {i}"), "tenant")
        factories.assembly(location, serial_number=f"Q{i:05d}")


def measure(client, url: str, params: dict) -> tuple[int, int]:
    """(queries, rows shown) of one listing request."""
    client.get(url, params)  # warm caches that only the first request fills (site, locale)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    rows = len(re.findall(r'id="snippet_\d+_title"', response.content.decode()))
    return len(queries), rows


CASES = [
    (ASSEMBLIES, {}),
    (ASSEMBLIES, {"compliance": "compliant", "property_type": "commercial"}),
    (ASSEMBLIES, {"ordering": "-next_test_due"}),
    (ASSEMBLIES, {"ordering": "compliance_rank"}),
    (ASSEMBLIES, {"ordering": "location__account_number"}),
    (ASSEMBLIES, {"q": "Owner"}),
    (reverse("wagtailsnippets_wagtail_batchcomms_assembly:list_results"), {}),
    (reverse("wagtailsnippets_wagtail_batchcomms_location:list"), {}),
    (reverse("wagtailsnippets_wagtail_batchcomms_location:list"), {"ordering": "-assembly_total"}),
    (reverse("wagtailsnippets_wagtail_batchcomms_contact:list"), {}),
    (reverse("wagtailsnippets_wagtail_batchcomms_contact:list"), {"role": "owner"}),
    (reverse("wagtailsnippets_wagtail_batchcomms_servicearea:list"), {}),
]


def test_query_count_does_not_grow_with_the_page(admin_client, settings):
    settings.WAGTAIL_BATCHCOMMS = {**settings.WAGTAIL_BATCHCOMMS, "LISTING_PAGE_SIZE": 100}
    make_register(1)
    with_one = [measure(admin_client, url, params) for url, params in CASES]
    make_register(99, start=1)
    with_hundred = [measure(admin_client, url, params) for url, params in CASES]
    for (url, params), (queries_one, rows_one), (queries_many, rows_many) in zip(
        CASES, with_one, with_hundred, strict=True
    ):
        case = f"{url} {params}"
        assert rows_one >= 1, case
        # The Assemblies listing shows LISTING_PAGE_SIZE rows; the others Wagtail's 20.
        assert rows_many == (100 if "assembly" in url else 20), case
        assert queries_many == queries_one, case


def test_the_assembly_listing_query_budget(admin_client):
    """Session, user, profile, count, the page, the service area choices, Wagtail's own."""
    make_register(3)
    queries, rows = measure(admin_client, ASSEMBLIES, {})
    assert rows == 3
    assert queries <= 10
