"""Crafted query parameters on every listing and form of the admin: never a 500.

Every integer, choice and model-choice filter of every listing (the register's, the batches',
a batch's communications, the Communication Log, notice templates), the same filters on
"Add To Batch Communication" (batches/new) and on the bulk action, every id parameter, the
search ``q`` and the preview ``mode``, each with values a browser never sends: an integer
past 64 bits, a negative one, text, digits of another script, empty. Each answers with a
clear 400 or with the form's error shown, never a 500 (Django's test client raises the
view's exception, so a 500 fails the test with its traceback). Run on SQLite and on
PostgreSQL (``DATABASE_URL``).
"""

from __future__ import annotations

import html as html_module

import factories
import pytest
from batch_admin_data import due_date, generate, make_batch
from django.urls import reverse
from django.utils.http import urlencode
from notice_admin_data import form_data as template_form_data

from wagtail_batchcomms.models import Assembly, Batch, NoticeTemplate
from wagtail_batchcomms.register.filters import SEARCH_MAX_LENGTH

pytestmark = pytest.mark.django_db

BULK = "/admin/bulk/wagtail_batchcomms/assembly/add_to_batch/"
ASSEMBLIES = "wagtailsnippets_wagtail_batchcomms_assembly:list"

#: Values no form of ours offers: past 64 bits (SQLite and PostgreSQL integers stop at
#: 2**63 - 1), past 128 bits, negative, text, Arabic-Indic digits (str.isdigit() says yes),
#: a full-width digit, a NUL, empty.
BAD_VALUES = {
    "2**63": "9223372036854775808",
    "2**128": "340282366920938463463374607431768211456",
    "-2**63-1": "-9223372036854775809",
    "negative": "-1",
    "text": "abc",
    "arabic-digits": "١٢٣",
    "fullwidth-digit": "\uff11",
    "nul": "1\x00",
    "empty": "",
}

ASSEMBLY_FILTERS = [
    "service_area",
    "property_type",
    "assembly_type",
    "hazard",
    "service_type",
    "status",
    "compliance",
    "last_test_result",
    "location_active",
]

#: Each listing (its URL name, or its path) and its integer, choice and model-choice filters.
LISTINGS = {
    "assemblies": (ASSEMBLIES, ASSEMBLY_FILTERS),
    "locations": (
        "wagtailsnippets_wagtail_batchcomms_location:list",
        ["service_area", "property_type", "is_active"],
    ),
    "contacts": (
        "wagtailsnippets_wagtail_batchcomms_contact:list",
        ["has_email", "prefers_paper", "role"],
    ),
    "service areas": ("wagtailsnippets_wagtail_batchcomms_servicearea:list", []),
    "notice templates": (
        "wagtailsnippets_wagtail_batchcomms_noticetemplate:list",
        ["live", "contact_methods", "grouping"],
    ),
    "batches": ("wagtail_batchcomms_batch:index", ["status", "template"]),
    "communication log": (
        "wagtail_batchcomms_communication:index",
        ["batch", "channel", "status", "contact", "assembly"],
    ),
    "batch communications": ("wagtail_batchcomms_batch:communications", ["channel", "status"]),
    "working list": ("wagtail_batchcomms_batch:assemblies", []),
    # "Add To Batch Communication" (the header link's target) applies the assembly filters.
    "batches/new": ("wagtail_batchcomms_batch:add", ASSEMBLY_FILTERS),
    # The bulk action's "select all N in listing" applies them too.
    "bulk add": (BULK, ASSEMBLY_FILTERS),
}
#: Parameters a page needs besides the one under test.
BASE_PARAMS = {"bulk add": {"id": "all", "next": "/"}}
#: Pages that are not listings: no export.
NOT_LISTINGS = ("batches/new", "bulk add")

#: Parameters every listing reads besides its filters.
COMMON = ["p", "ordering", "q"]
#: Yes/no filters: Wagtail reads any other value as "either" (nothing to refuse).
BOOLEANS = {"location_active", "is_active", "has_email", "prefers_paper", "live"}
#: Values no choice, model choice or id can ever take: each must be refused with an error.
NEVER_VALID = {"2**63", "2**128", "-2**63-1", "text", "nul"}

CASES = [
    (listing, param)
    for listing, (_url, filters) in LISTINGS.items()
    for param in [*filters, *COMMON]
]


@pytest.fixture
def world(register, admin, template):
    return {"batch": generate(make_batch(admin, template), admin)}


def listing_url(listing: str, batch: Batch) -> str:
    name = LISTINGS[listing][0]
    if name.startswith("/"):
        return name
    if name.split(":")[1] in ("communications", "assemblies"):
        return reverse(name, args=[batch.pk])
    return reverse(name)


def shown_errors(response, param: str) -> list[str]:
    """The errors the page's forms hold for ``param`` (the filter panel's, the search
    form's, or the confirm page's list of the listing's filter errors)."""
    view = response.context["view"]
    errors: list[str] = []
    for name in ("filters", "search_form"):
        form = getattr(view, name, None)
        form = getattr(form, "form", form)  # a FilterSet holds its form
        if form is not None and form.is_bound and param in form.errors:
            errors += form.errors[param]
    if "filter_errors" in response.context:  # the confirm page: "Label: message" per error
        errors += [error.split(": ", 1)[1] for error in response.context["filter_errors"]]
    return errors


@pytest.mark.parametrize(("listing", "param"), CASES)
def test_bad_values_of_every_listing_parameter_are_refused_or_shown(
    admin_client, world, listing, param
):
    url = listing_url(listing, world["batch"])
    for value_id, value in BAD_VALUES.items():
        response = admin_client.get(url, {**BASE_PARAMS.get(listing, {}), param: value})
        assert response.status_code in (200, 400), (value_id, response.status_code)
        if response.status_code == 400:
            continue
        page = html_module.unescape(response.content.decode())
        errors = shown_errors(response, param)
        for error in errors:
            assert error in page, (value_id, error)
        if value_id in NEVER_VALID and param not in BOOLEANS | {"p", "ordering", "q"}:
            assert errors, f"{value_id} of {param} is neither refused nor shown as an error"
        if value_id == "nul" and param == "q":
            assert errors, "a NUL in the search is not refused"
        if listing in NOT_LISTINGS:
            continue
        if not errors and value_id != "2**63":
            continue  # the export runs the listing's query, which the page just ran
        # An export with a refused value shows the listing and its errors, not every row.
        export = admin_client.get(url, {param: value, "export": "csv"})
        assert export.status_code in (200, 400), (value_id, export.status_code)
        if errors:
            assert export["Content-Type"].startswith("text/html"), (value_id, errors)


# --- a refused filter lists nothing, and says so --------------------------------------------

REFUSED = [
    (listing, param)
    for listing, (_url, filters) in LISTINGS.items()
    if listing not in NOT_LISTINGS
    for param in [*filters, "q"]
    if param not in BOOLEANS
]


@pytest.mark.parametrize(("listing", "param"), REFUSED)
def test_a_refused_filter_lists_nothing_and_says_why(admin_client, world, listing, param):
    """Wagtail drops a filter that does not validate and lists every row under the chips the
    admin set, a list that looks filtered and is not: ours list nothing and say why."""
    url = listing_url(listing, world["batch"])
    unfiltered = admin_client.get(url)
    assert len(unfiltered.context["object_list"]) > 0, "the world has rows for this listing"
    value = "1\x00" if param == "q" else "abc"  # never valid for a choice, an id or a search
    response = admin_client.get(url, {param: value})
    assert response.status_code == 200
    assert len(response.context["object_list"]) == 0
    page = html_module.unescape(response.content.decode())
    assert "The filters were not applied, so nothing is listed:" in page
    assert shown_errors(response, param)[0] in page


# --- the search: bounded in length on every listing ----------------------------------------

LONG_SEARCH = "x" * 50_000  # SQLite: "LIKE or GLOB pattern too complex" (a 500 before)


@pytest.mark.parametrize("listing", list(LISTINGS))
def test_a_search_too_long_is_a_form_error_on_every_listing(admin_client, world, listing):
    url = listing_url(listing, world["batch"])
    message = (
        f"Ensure this value has at most {SEARCH_MAX_LENGTH} characters (it has {len(LONG_SEARCH)})."
    )
    base = BASE_PARAMS.get(listing, {})
    for extra in ({}, {"export": "csv"}):
        response = admin_client.get(url, {**base, "q": LONG_SEARCH, **extra})
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/html")
        assert message in html_module.unescape(response.content.decode())
        if listing in NOT_LISTINGS:
            break
    # The longest search allowed still runs (and finds nothing).
    response = admin_client.get(url, {**base, "q": "x" * SEARCH_MAX_LENGTH})
    assert response.status_code == 200
    assert "Ensure this value has at most" not in response.content.decode()


def test_a_search_too_long_is_refused_by_the_bulk_action(admin_client, world, template):
    before = Batch.objects.count()
    response = admin_client.post(
        f"{BULK}?next=/&id=all&q={LONG_SEARCH}",
        {"target": "new", "name": "Bulk", "template": template.pk, "due_date": due_date()},
    )
    assert response.status_code == 200
    page = html_module.unescape(response.content.decode())
    assert f"Search term: Ensure this value has at most {SEARCH_MAX_LENGTH} characters" in page
    assert Batch.objects.count() == before


# --- ids of the bulk action ----------------------------------------------------------------


@pytest.mark.parametrize("value_id", list(BAD_VALUES))
def test_bad_ids_on_the_bulk_action_select_nothing(admin_client, world, template, value_id):
    """``?id=`` past 64 bits, negative, in another script's digits: left out of the
    selection (with a good id beside them, only that one is taken)."""
    good = Assembly.objects.order_by("pk").first()
    bad = BAD_VALUES[value_id]
    response = admin_client.get(BULK, {"next": "/", "id": [bad]})
    assert response.status_code == 200
    assert response.context["assembly_count"] == 0
    before = Batch.objects.count()
    posted = admin_client.post(
        f"{BULK}?{urlencode({'next': '/', 'id': [bad]}, doseq=True)}",
        {"target": "new", "name": "Bulk", "template": template.pk, "due_date": due_date()},
    )
    assert posted.status_code == 200
    assert 'data-assembly-count="0"' in posted.content.decode()
    assert "0 assemblies selected." in posted.content.decode()
    assert Batch.objects.count() == before
    response = admin_client.get(BULK, {"next": "/", "id": [bad, str(good.pk)]})
    assert response.context["assembly_count"] == 1


SNIPPETS = ["assembly", "location", "contact", "servicearea", "noticetemplate"]


@pytest.mark.parametrize("model_name", SNIPPETS)
def test_bad_ids_on_the_bulk_delete_of_our_snippets_find_nothing(admin_client, world, model_name):
    """Wagtail's own bulk delete (``pk__in`` of the raw ``?id=``) for our snippets: a crafted
    id finds nothing (Wagtail's 404 for unknown ids), a real one beside it is still found."""
    from django.apps import apps

    model = apps.get_model("wagtail_batchcomms", model_name)
    real = model.objects.order_by("pk").first()
    if model_name == "noticetemplate":  # the world's template is in use: deleting it is refused
        real = factories.notice_template(name="Unused template")
    url = f"/admin/bulk/wagtail_batchcomms/{model_name}/delete/"
    for value_id, value in BAD_VALUES.items():
        response = admin_client.get(url, {"next": "/", "id": [value]})
        assert response.status_code == 404, (value_id, response.status_code)
        response = admin_client.get(url, {"next": "/", "id": [value, str(real.pk)]})
        assert response.status_code == 200, value_id
        assert str(real) in response.content.decode()
    assert model.objects.filter(pk=real.pk).exists()


# --- the notice template preview's mode ------------------------------------------------------

TEMPLATES = "wagtailsnippets_wagtail_batchcomms_noticetemplate"


@pytest.mark.parametrize(
    "mode",
    [
        "bogus",
        "",
        "../../wagtailadmin/home",
        "email/../letter",
        "wagtailadmin/base",
        "EMAIL",
        "email\x00",
        "9223372036854775808",
    ],
)
def test_a_preview_mode_that_is_not_one_is_a_400(admin_client, mode):
    template = NoticeTemplate.objects.get(pk=factories.notice_template().pk)
    revision = template.latest_revision
    on_edit = reverse(f"{TEMPLATES}:preview_on_edit", args=[template.pk])
    assert admin_client.post(on_edit, template_form_data()).status_code == 200
    urls = [on_edit, reverse(f"{TEMPLATES}:revisions_view", args=[template.pk, revision.pk])]
    for url in urls:
        response = admin_client.get(url, {"mode": mode})
        assert response.status_code == 400, url
        assert response.content.decode() == ("Unknown preview mode; the modes are: email, letter.")
        for good in ("email", "letter"):
            assert admin_client.get(url, {"mode": good}).status_code == 200
