"""Bad input through the real forms and URLs, as an org admin's browser would send it.

Malformed filter values, bad due dates, an empty working list, draft and deleted templates,
every batch action URL with a batch in a state that does not allow it (the URLs are read from
the batch viewset's URL patterns, so a new action is covered without editing this file),
unknown ids, expired and forged download links, an oversized letterhead image, and notice
templates that try to leave the sandbox or exhaust the worker. Each must answer with a clear
message (asserted by its text), never a 500, and change nothing.
"""

from __future__ import annotations

import datetime
import html as html_module
import re
from html.parser import HTMLParser

import factories
import letters_data
import pytest
from batch_admin_data import due_date, generate, make_batch, org_admin
from django.conf import settings
from django.test import override_settings
from django.urls import get_resolver, reverse
from django.utils import timezone
from notice_admin_data import form_data as template_form_data
from wagtail.images.tests.utils import get_test_image_file
from wagtail.models import Revision

from wagtail_batchcomms.batches import lifecycle
from wagtail_batchcomms.emails import sending
from wagtail_batchcomms.jobs import worker_id
from wagtail_batchcomms.letters import chunks
from wagtail_batchcomms.letters import downloads as letters
from wagtail_batchcomms.models import (
    Assembly,
    Batch,
    BatchStatus,
    Channel,
    Communication,
    CommunicationStatus,
    DownloadStatus,
    LetterDownload,
    Letterhead,
    NoticeTemplate,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_root")]

NS = "wagtail_batchcomms_batch"
ASSEMBLIES = "wagtailsnippets_wagtail_batchcomms_assembly:list"
ADD = f"{NS}:add"
TEMPLATES = "wagtailsnippets_wagtail_batchcomms_noticetemplate"
BULK = "/admin/bulk/wagtail_batchcomms/assembly/add_to_batch/"


class _Text(HTMLParser):
    """The text a reader sees: no scripts, styles or templates, no attributes."""

    SKIP = frozenset({"script", "style", "template"})

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        self.skipping += tag in self.SKIP

    def handle_endtag(self, tag):
        self.skipping -= tag in self.SKIP and self.skipping > 0

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def text_of(response) -> str:
    """The page as a reader sees it, whitespace collapsed."""
    parser = _Text()
    parser.feed(response.content.decode())
    return re.sub(r"\s+", " ", " ".join(parser.parts))


def shown(response) -> list[str]:
    """The messages the page (a ``follow=True`` response) showed the admin."""
    return [str(m).strip() for m in response.context["messages"]]


def snapshot() -> dict:
    """Everything a refused request must leave alone."""
    return {
        "batches": sorted(Batch.objects.values_list("pk", "status", "name", "due_date")),
        "communications": sorted(Communication.objects.values_list("pk", "status")),
        "downloads": sorted(LetterDownload.objects.values_list("pk", "status")),
        "working_lists": sorted(
            Batch.objects.values_list("pk", "batch_assemblies__assembly_id").order_by()
        ),
    }


# --- malformed filter values -------------------------------------------------------------------

BAD_FILTERS = [
    ("next_test_due_from=notadate", "Next test due", "Enter a valid date."),
    ("next_test_due_to=2030-02-30", "Next test due", "Enter a valid date."),
    (
        "service_area=999999",
        "Service area",
        "Select a valid choice. 999999 is not one of the available choices.",
    ),
    ("service_area=abc", "Service area", "“abc” is not a valid value."),
    (
        "compliance=bogus",
        "Compliance status",
        "Select a valid choice. bogus is not one of the available choices.",
    ),
    ("hazard=volcanic", "Hazard", "Select a valid choice. volcanic is not one of the available"),
]


@pytest.mark.parametrize(
    ("query", "label", "message"), BAD_FILTERS, ids=[q for q, *_ in BAD_FILTERS]
)
def test_malformed_filter_is_named_on_the_listing_and_refused_on_the_confirm_page(
    web, register, template, query, label, message
):
    before = snapshot()
    listing = web.get(reverse(ASSEMBLIES) + "?" + query)
    assert listing.status_code == 200
    page = text_of(listing)
    assert f"{label} {message}" in page  # the filter panel shows the field's error

    url = reverse(ADD) + "?" + query
    confirm = web.get(url)
    assert confirm.status_code == 200
    refusal = (
        "The Assemblies listing's filters are not valid, so no batch can be made from them: "
        f"{label}: {message}"
    )
    assert refusal in text_of(confirm)
    posted = web.post(
        url, {"name": "Bad", "template": template.pk, "due_date": due_date().isoformat()}
    )
    assert posted.status_code == 200
    assert refusal in text_of(posted)

    # "Select all N in listing" of the bulk action carries the same filters.
    bulk = web.post(
        f"{BULK}?next=/&id=all&{query}",
        {
            "target": "new",
            "name": "Bulk",
            "template": template.pk,
            "due_date": due_date().isoformat(),
        },
    )
    assert bulk.status_code == 200
    page = text_of(bulk)
    assert f"The listing's filters are not valid, so nothing can be added: {label}: {message}" in (
        page
    )
    assert snapshot() == before


@pytest.mark.parametrize(
    ("query", "outcome"),
    [
        # Not a parameter of this listing (Wagtail's date range uses _from/_to): ignored.
        ("next_test_due_after=notadate", "everything"),
        ("p=abc", "everything"),
        ("p=99999", "everything"),
        ("ordering=no_such_column", "everything"),
        ("location_active=maybe", "everything"),
        ("q=" + "x" * 2000, "nothing"),
        ("q=a%00b", "refused"),
        ("postal_code=6%00", "refused"),
        ("city=%27%3B%20DROP%20TABLE%20x%3B--", "nothing"),
    ],
    ids=lambda value: value[:40],
)
def test_odd_listing_parameters_never_break_the_listing_or_the_confirm_page(
    web, register, query, outcome
):
    before = snapshot()
    assert web.get(reverse(ASSEMBLIES) + "?" + query).status_code == 200
    response = web.get(reverse(ADD) + "?" + query)
    assert response.status_code == 200
    # The confirm page says how many assemblies the batch would hold, or why none.
    count = re.search(r'data-assembly-count="(\d+)"', response.content.decode())
    if outcome == "refused":
        assert count is None
        assert "The Assemblies listing's filters are not valid" in text_of(response)
    else:
        assert count, "the confirm page shows no count"
        assert int(count[1]) == (Assembly.objects.count() if outcome == "everything" else 0)
    assert snapshot() == before


def test_a_search_the_database_cannot_run_is_refused_on_the_confirm_page(web, register, template):
    # A NUL character: PostgreSQL refuses it in a text comparison (a 500 before the fix).
    url = reverse(ADD) + "?q=a%00b"
    refusal = (
        "The Assemblies listing's filters are not valid, so no batch can be made from them: "
        "Search term: Null characters are not allowed."
    )
    assert refusal in text_of(web.get(url))
    response = web.post(
        url, {"name": "Nul", "template": template.pk, "due_date": due_date().isoformat()}
    )
    assert refusal in text_of(response)
    assert not Batch.objects.exists()


def test_ignored_parameter_gives_the_whole_register_and_the_page_says_how_many(web, register):
    response = web.get(reverse(ADD) + "?next_test_due_after=notadate")
    assert f'data-assembly-count="{Assembly.objects.count()}"' in response.content.decode()


@pytest.mark.parametrize(
    ("name", "query", "errors"),
    [
        (
            "communications",
            "status=bogus&channel=fax",
            [
                "Channel Select a valid choice. fax is not one of the available choices.",
                "Status Select a valid choice. bogus is not one of the available choices.",
            ],
        ),
        ("communications", "created_at_from=notadate", ["Generated Enter a valid date."]),
        (
            "communications",
            "batch=999999&contact=abc&assembly=-1",
            [
                f"{label} Select a valid choice. That choice is not one of the available choices."
                for label in ("Batch", "Contact", "Assembly")
            ],
        ),
        (
            "batches",
            "status=bogus&q=%00",
            [
                "Search term Null characters are not allowed.",
                "State Select a valid choice. bogus is not one of the available choices.",
            ],
        ),
    ],
)
def test_malformed_filters_on_the_other_listings(
    web, register, template, admin, name, query, errors
):
    generate(make_batch(admin, template), admin)
    url = {
        "communications": reverse("wagtail_batchcomms_communication:index"),
        "batches": reverse(f"{NS}:index"),
    }[name]
    response = web.get(f"{url}?{query}")
    assert response.status_code == 200
    page = text_of(response)
    for error in errors:  # each field's error, next to its label in the filter panel
        assert error in page, error


# --- the batch's own form values -------------------------------------------------------------


def test_due_date_in_the_past_or_malformed_is_refused(web, register, template, admin):
    url = reverse(ADD) + "?hazard=health"
    yesterday = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
    cases = [
        (yesterday, "The due date cannot be in the past."),
        ("not-a-date", "Enter a valid date."),
        ("2030-02-30", "Enter a valid date."),
        ("", "This field is required."),
    ]
    for value, message in cases:
        response = web.post(url, {"name": "Due", "template": template.pk, "due_date": value})
        assert response.status_code == 200, value
        assert message in response.context["form"].errors["due_date"], value
    assert not Batch.objects.exists()

    batch = make_batch(admin, template)
    before = snapshot()
    edit = reverse(f"{NS}:edit", args=[batch.pk])
    for value, message in cases[:3]:
        response = web.post(edit, {"name": batch.name, "template": template.pk, "due_date": value})
        assert response.status_code == 200, value
        assert message in response.context["form"].errors["due_date"], value
    assert snapshot() == before


def test_name_missing_or_too_long_is_refused(web, register, template, admin):
    url = reverse(ADD) + "?hazard=health"
    for value, message in [
        ("", "This field is required."),
        ("x" * 300, "Ensure this value has at most 200 characters (it has 300)."),
    ]:
        response = web.post(
            url, {"name": value, "template": template.pk, "due_date": due_date().isoformat()}
        )
        assert response.status_code == 200
        assert message in response.context["form"].errors["name"]
    assert not Batch.objects.exists()
    batch = generate(make_batch(admin, template), admin)
    response = web.post(reverse(f"{NS}:clone", args=[batch.pk]), {"name": ""}, follow=True)
    assert "This field is required." in response.context["form"].errors["name"]
    assert Batch.objects.count() == 1


def test_an_empty_selection_makes_no_batch(web, register, template):
    url = reverse(ADD) + "?city=Nowhere"
    response = web.post(
        url, {"name": "Empty", "template": template.pk, "due_date": due_date().isoformat()}
    )
    assert response.status_code == 200
    assert "No assemblies match these filters; change them to make a batch." in text_of(response)
    bulk = web.post(
        f"{BULK}?next=/&id=abc&id=999999",
        {"target": "new", "name": "B", "template": template.pk, "due_date": due_date().isoformat()},
    )
    assert bulk.status_code == 200
    assert "0 assemblies selected." in text_of(bulk)
    assert not Batch.objects.exists()


def test_an_emptied_working_list_refuses_generate(web, admin_client, register, template, admin):
    assembly = Assembly.objects.first()
    batch = make_batch(admin, template, assemblies=Assembly.objects.filter(pk=assembly.pk))
    # The register changes under the batch: its only assembly is deleted.
    response = admin_client.post(
        reverse("wagtailsnippets_wagtail_batchcomms_assembly:delete", args=[assembly.pk])
    )
    assert response.status_code == 302
    assert not batch.batch_assemblies.exists()

    page = web.get(reverse(f"{NS}:detail", args=[batch.pk]))
    assert "The working list is empty." in text_of(page)
    assert 'data-batch-action="generate"' not in page.content.decode()
    for method in (web.get, web.post):
        response = method(reverse(f"{NS}:generate", args=[batch.pk]), follow=True)
        assert response.redirect_chain[-1][0] == reverse(f"{NS}:detail", args=[batch.pk])
        assert any("The working list is empty: add assemblies first." in m for m in shown(response))
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.OPEN


def test_draft_only_template_cannot_be_picked(web, register, admin, template):
    draft = factories.notice_template(name="Draft only", publish=False)
    choice = "Select a valid choice. That choice is not one of the available choices."
    response = web.post(
        reverse(ADD) + "?hazard=health",
        {"name": "Draft", "template": draft.pk, "due_date": due_date().isoformat()},
    )
    assert choice in response.context["form"].errors["template"]
    assert "Draft only" not in response.content.decode().split("<form", 1)[1]
    batch = make_batch(admin, template)
    response = web.post(
        reverse(f"{NS}:edit", args=[batch.pk]),
        {"name": batch.name, "template": draft.pk, "due_date": due_date().isoformat()},
    )
    assert choice in response.context["form"].errors["template"]
    assert Batch.objects.get(pk=batch.pk).template_id == template.pk


@pytest.mark.parametrize("how", ["unpublished", "deleted"])
def test_unpublished_or_deleted_template_refuses_generate(
    web, admin_client, register, admin, template, how
):
    batch = make_batch(admin, template)
    if how == "unpublished":
        response = admin_client.post(reverse(f"{TEMPLATES}:unpublish", args=[template.pk]))
        assert not NoticeTemplate.objects.get(pk=template.pk).live
    else:
        # The admin refuses while the Open batch uses it (see the next test); deleted some
        # other way (a shell, another app), the batch is left without a template.
        response = admin_client.post(reverse(f"{TEMPLATES}:delete", args=[template.pk]))
        assert NoticeTemplate.objects.filter(pk=template.pk).exists()
        NoticeTemplate.objects.get(pk=template.pk).delete()
    assert response.status_code == 302
    before = snapshot()

    page = web.get(reverse(f"{NS}:detail", args=[batch.pk]))
    assert 'data-batch-action="generate"' not in page.content.decode()
    if how == "deleted":
        assert "None picked yet" in text_of(page)
    for method in (web.get, web.post):
        response = method(reverse(f"{NS}:generate", args=[batch.pk]), follow=True)
        assert any("Pick a published notice template." in m for m in shown(response))
    assert snapshot() == before


def test_deleting_a_template_that_unfinished_batches_use_is_refused(
    web, admin_client, register, admin, template, smtp_server
):
    """Deleting a template deletes its revisions too (Wagtail's ``RevisionMixin``), and with
    them the revision its batches were generated from: their notices could no longer be sent.
    So the delete page and the bulk delete refuse while a batch that is not Complete or
    Archived uses it, name those batches with links, and offer Unpublish instead; nothing is
    deleted and the batch still sends. Once those batches are closed, deletion goes ahead."""
    batch = generate(make_batch(admin, template, name="Spring reminders"), admin)
    open_one = make_batch(admin, template, name="Fall reminders")
    spare = factories.notice_template(name="Spare notice")
    revisions = Revision.objects.for_instance(template).count()
    before = snapshot()
    edit_url = reverse(f"{TEMPLATES}:edit", args=[template.pk])

    def refused(response, unchanged=True) -> str:
        assert response.redirect_chain, response.status_code
        [message] = [m for m in response.context["messages"] if m.level_tag == "error"]
        assert NoticeTemplate.objects.filter(pk=template.pk).exists()
        assert Revision.objects.for_instance(template).count() == revisions
        if unchanged:
            assert snapshot() == before
        return str(message)

    for method in (admin_client.get, admin_client.post):
        response = method(reverse(f"{TEMPLATES}:delete", args=[template.pk]), follow=True)
        assert response.redirect_chain[-1][0] == edit_url
        html = refused(response)
        assert "cannot be deleted: 2 batches that are not complete or archived use it" in html
        assert f'<a href="{reverse(f"{NS}:detail", args=[batch.pk])}">Spring reminders</a>' in html
        assert "(Generated)" in html and "Fall reminders</a> (Open)" in html
        assert "or unpublish the template" in html
        assert reverse(f"{TEMPLATES}:unpublish", args=[template.pk]) in html  # the button

    bulk = "/admin/bulk/wagtail_batchcomms/noticetemplate/delete/"
    listing = reverse(f"{TEMPLATES}:list")
    query = f"?id={template.pk}&id={spare.pk}&next={listing}"
    for method in (admin_client.get, admin_client.post):
        response = method(bulk + query, follow=True)
        assert response.redirect_chain[-1][0] == listing
        refused(response)
        assert NoticeTemplate.objects.filter(pk=spare.pk).exists()

    # The batch still has its revision: its notices go out.
    batch.refresh_from_db()
    assert batch.template_revision_id is not None
    result = sending.send_pending_emails(batch.pk, worker_id())
    assert result.sent == Communication.objects.filter(batch=batch, channel=Channel.EMAIL).count()
    assert result.sent > 0 and not result.failed

    # Closed batches do not hold it: once both are Complete/Archived, it can be deleted.
    lifecycle.complete_batch(batch.pk, user=admin)
    response = admin_client.post(reverse(f"{TEMPLATES}:delete", args=[template.pk]), follow=True)
    html = refused(response, unchanged=False)
    assert "1 batch that is not complete or archived uses it" in html
    assert "Fall reminders" in html and "Spring reminders" not in html
    lifecycle.archive_batch(open_one.pk, user=admin)
    response = admin_client.post(reverse(f"{TEMPLATES}:delete", args=[template.pk]))
    assert response.status_code == 302
    assert not NoticeTemplate.objects.filter(pk=template.pk).exists()
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMPLETE and batch.template_id is None
    sent = Communication.objects.filter(batch=batch, status=CommunicationStatus.SENT)
    assert sent.count() == result.sent  # the record of what was sent stays


# --- every action URL with a batch in another state ------------------------------------------

#: Batch views that change nothing, and the one whose id is a communication's. Every other
#: URL of the viewset that takes an id is an action and is tried in every state below.
READ_ONLY = {
    "detail",
    "progress",
    "skipped_csv",
    "failures_csv",
    "communications",
    "communications_results",
    "assemblies",
    "assemblies_results",
    "history",
    "history_results",
}
NOT_A_BATCH_ID = {"preview_email"}


def batch_url_names() -> list[str]:
    """Names of the batch viewset's URL patterns that take an id."""
    _prefix, resolver = get_resolver().namespace_dict[NS]
    return sorted(
        pattern.name
        for pattern in resolver.url_patterns
        if "pk" in getattr(pattern.pattern, "converters", {}) or "<int:pk>" in str(pattern.pattern)
    )


def action_url_names() -> list[str]:
    return [n for n in batch_url_names() if n not in READ_ONLY | NOT_A_BATCH_ID]


def test_the_action_urls_are_read_from_the_viewset():
    actions = set(action_url_names())
    assert actions >= {
        "generate",
        "regenerate",
        "send",
        "retry",
        "download_letters",
        "mark_mailed",
        "complete",
        "archive",
        "clone",
        "edit",
        "delete",
    }, actions


def batches_in_every_state(admin, template) -> dict[str, Batch]:
    """One batch per state, each reached through the services."""
    open_ = make_batch(admin, template, name="Open one")
    generating = lifecycle.start_generation(
        make_batch(admin, template, name="Generating one").pk, user=admin
    )
    generated = generate(make_batch(admin, template, name="Generated one"), admin)
    partly = generate(make_batch(admin, template, name="Partly sent one"), admin)
    assert letters.mark_letters_mailed(partly.pk, user=admin)
    complete = generate(make_batch(admin, template, name="Complete one"), admin)
    lifecycle.complete_batch(complete.pk, user=admin)
    archived = generate(make_batch(admin, template, name="Archived one"), admin)
    lifecycle.archive_batch(archived.pk, user=admin)
    batches = {
        b.status: b
        for b in Batch.objects.filter(
            pk__in=[x.pk for x in (open_, generating, generated, partly, complete, archived)]
        )
    }
    assert set(batches) == set(BatchStatus.values)
    return batches


def offered(web, batch) -> set[str]:
    """The actions the batch page offers this user now (its buttons)."""
    html = web.get(reverse(f"{NS}:detail", args=[batch.pk])).content.decode()
    keys = set(re.findall(r'data-batch-action="([a-z_]+)"', html))
    # "Edit" is also the listing's and the page's edit link.
    return keys


def test_every_action_url_refuses_a_batch_in_a_state_that_does_not_allow_it(
    web, register, admin, template
):
    batches = batches_in_every_state(admin, template)
    refused = 0
    report: dict = {}
    for state, batch in batches.items():
        allowed = offered(web, batch)
        detail = reverse(f"{NS}:detail", args=[batch.pk])
        for name in action_url_names():
            if name in allowed:
                continue
            url = reverse(f"{NS}:{name}", args=[batch.pk])
            before = snapshot()
            for method in (web.get, web.post):
                response = method(url, follow=True)
                where = f"{method.__name__.upper()} {name} on a {state} batch"
                assert response.status_code == 200, where
                assert response.redirect_chain, where
                assert response.redirect_chain[-1][0] == detail, where
                messages = [(m.level_tag, str(m).strip()) for m in response.context["messages"]]
                assert len(messages) == 1, (where, messages)
                ((level, message),) = messages
                # One message, a sentence that says why (the state, what is missing).
                assert level in ("error", "warning"), (where, level, message)
                assert message.endswith(".") and len(message) > 25, (where, message)
                report.setdefault((state, name), set()).add(message)
                refused += 1
            assert snapshot() == before, name
    # Not vacuous: most of the (state, action) pairs are refusals.
    assert refused >= 2 * 40, refused
    for (state, name), messages in sorted(report.items()):
        print(f"{state:15} {name:17} " + " | ".join(sorted(messages)))


def test_unknown_ids_are_404_on_every_batch_url(web, register):
    for name in batch_url_names():
        url = reverse(f"{NS}:{name}", args=[999999])
        assert web.get(url).status_code == 404, name
        if name not in READ_ONLY | NOT_A_BATCH_ID:
            assert web.post(url).status_code == 404, name
    for name in ("download", "mailing_list", "preview"):
        url = reverse(f"wagtail_batchcomms_letters:{name}", args=[999999])
        assert web.get(url).status_code == 404, name
    assert (
        web.post(reverse("wagtail_batchcomms_letters:rerequest", args=[999999])).status_code == 404
    )
    assert (
        web.get(reverse("wagtail_batchcomms_communication:inspect", args=[999999])).status_code
        == 404
    )
    # Not an id at all: no URL matches.
    assert web.get("/admin/batchcomms/batches/abc/generate/").status_code == 404
    assert web.get("/admin/batchcomms/letters/download/abc/").status_code == 404


# --- expired and forged download links ---------------------------------------------------------


def download_url(download_or_pk, name="download") -> str:
    pk = getattr(download_or_pk, "pk", download_or_pk)
    return reverse(f"wagtail_batchcomms_letters:{name}", args=[pk])


def test_forged_download_links(web, admin):
    download = letters_data.ready_download(admin)
    assert web.get(download_url(download)).status_code == 200  # the real link works
    for forged in (download.pk + 1000, 999999):
        response = web.get(download_url(forged))
        assert response.status_code == 404
        page = text_of(response)
        assert "Download not found" in page
        assert "There is no letter download with this link." in page
        assert web.get(download_url(forged, "mailing_list")).status_code == 404
    # The re-request link is a POST from the page, never a GET.
    assert web.get(download_url(download, "rerequest")).status_code == 405
    assert LetterDownload.objects.count() == 1


def test_expired_download_links(web, admin):
    download = letters_data.ready_download(admin)
    # Past its expiry but not purged yet (the scheduled purge runs every 10 minutes).
    LetterDownload.objects.filter(pk=download.pk).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    for name in ("download", "mailing_list"):
        response = web.get(download_url(download, name))
        assert response.status_code == 410, name
        page = text_of(response)
        assert "Download no longer available" in page
        assert "This download expired on" in page
        assert "Re-request" in page
        assert download_url(download, "rerequest") in response.content.decode()

    # Purged: the files are gone and the row says expired; the link still explains itself.
    assert letters.purge_expired_downloads() == 1
    response = web.get(download_url(download))
    assert response.status_code == 410
    assert "This download expired on" in text_of(response)

    # Re-request from that page: a new download of the letters still unsent.
    response = web.post(download_url(download, "rerequest"), follow=True)
    assert any("The letters PDF is being prepared again" in m for m in shown(response))
    assert LetterDownload.objects.filter(batch=download.batch).count() == 2


def test_expired_download_of_a_closed_batch_cannot_be_rerequested(web, admin):
    download = letters_data.ready_download(admin)
    lifecycle.complete_batch(download.batch_id, user=admin)
    letters.purge_expired_downloads(now=download.expires_at + datetime.timedelta(seconds=1))
    response = web.get(download_url(download))
    assert response.status_code == 410
    page = text_of(response)
    assert "The batch is Complete, so its letters cannot be requested again." in page
    assert download_url(download, "rerequest") not in response.content.decode()
    response = web.post(download_url(download, "rerequest"), follow=True)
    assert any("This batch is Complete" in m for m in shown(response))
    assert LetterDownload.objects.count() == 1


# --- the letterhead ---------------------------------------------------------------------------


def letterhead_form(**values) -> dict:
    data = {
        "organisation_name": "Riverbend Water",
        "return_address": "1 Water Works Way\nRiverbend, IL 62701",
        "phone": "555-0100",
        "email": "backflow@riverbend.example",
        "website": "https://riverbend.example",
        "signature_name": "Pat Doe",
        "signature_title": "Cross-connection control",
        "footer_text": "",
        "logo": "",
        "signature_image": "",
    }
    data.update(values)
    return data


def test_oversized_letterhead_images_are_refused(client, db):
    from wagtail.images.models import Image

    editor = org_admin("lettereditor", extra=["wagtail_batchcomms.change_letterhead"])
    client.force_login(editor)
    response = client.get(
        reverse("wagtailsettings:edit", args=["wagtail_batchcomms", "letterhead"]), follow=True
    )
    assert response.status_code == 200
    url = (
        response.redirect_chain[-1][0] if response.redirect_chain else response.request["PATH_INFO"]
    )
    image = Image.objects.create(title="Huge logo", file=get_test_image_file(size=(400, 400)))
    image.file_size = image.file.size
    image.save(update_fields=["file_size"])
    limit = image.file_size - 1
    app_settings = {**settings.WAGTAIL_BATCHCOMMS, "MAX_LETTERHEAD_IMAGE_BYTES": limit}
    with override_settings(WAGTAIL_BATCHCOMMS=app_settings):
        response = client.post(url, letterhead_form(logo=image.pk, signature_image=image.pk))
        assert response.status_code == 200
        message = (
            f"This image is {image.file_size} bytes; the letterhead accepts up to {limit} bytes."
        )
        errors = response.context["form"].errors
        assert errors["logo"] == [message] and errors["signature_image"] == [message]
        assert message in text_of(response)
    assert Letterhead.load().logo_id is None
    assert Letterhead.load().organisation_name == ""  # nothing saved

    # Within the limit it saves.
    with override_settings(
        WAGTAIL_BATCHCOMMS={**app_settings, "MAX_LETTERHEAD_IMAGE_BYTES": image.file_size}
    ):
        response = client.post(url, letterhead_form(logo=image.pk))
        assert response.status_code == 302
    assert Letterhead.load().logo_id == image.pk


# --- notice templates that try to leave the sandbox -----------------------------------------

ESCAPES = [
    ("{{ ''.__class__.__mro__ }}", "'__class__' is private and not available"),
    ("{{ contact._meta }}", "'_meta' is private and not available"),
    ("{{ range.__globals__ }}", "'__globals__' is private and not available"),
    ("{{ cycler.__init__.__globals__ }}", "'cycler' is not available in notices"),
    ("{% include '/etc/passwd' %}", "including or importing other templates is not allowed"),
    ("{% import 'os' as os %}", "including or importing other templates is not allowed"),
    ("{{ settings.SECRET_KEY }}", "unknown merge field 'settings'"),
    ("{{ config }}", "unknown merge field 'config'"),
    ("{{ self }}", "'self' is not available in notices"),
    ("{{ contact.name", "syntax error"),
]


@pytest.mark.parametrize(("source", "message"), ESCAPES, ids=[s for s, _ in ESCAPES])
def test_sandbox_escapes_are_refused_by_the_admin_edit_form(admin_client, source, message):
    template = factories.notice_template(name="Safe")
    live = template.live_revision_id
    revisions = Revision.objects.for_instance(template).count()
    url = reverse(f"{TEMPLATES}:edit", args=[template.pk])
    for extra in ({}, {"action-publish": "1"}):
        response = admin_client.post(
            url, template_form_data(paragraphs=[f"<p>{source}</p>"], name="Safe", **extra)
        )
        assert response.status_code == 200
        assert "The notice template could not be saved due to errors" in text_of(response)
        # StreamField errors travel to the widget as JSON in an attribute.
        html = html_module.unescape(response.content.decode())
        assert f"Body, paragraph 1, line 1: {message}" in html
        response = admin_client.post(url, template_form_data(subject=source, name="Safe", **extra))
        assert response.status_code == 200
        assert f"Subject: {message}" in text_of(response)
    template.refresh_from_db()
    assert template.live_revision_id == live
    assert Revision.objects.for_instance(template).count() == revisions


RUNAWAYS = [
    ("{% for i in range(10**9) %}x{% endfor %}", "range() may give at most 10000 numbers."),
    (  # issue 8: each step ~9x slower; the third froze the web process for 42 s
        "{%set a=10**999%}" + "{%set a=a*a*a*a%}" * 3 + "{{a>1}}",
        "The template computes a number with more than 1233 digits.",
    ),
    (  # issue 8: 200 million characters at the second step, 2 GB at the third
        '{%set a="x"*200000%}' + "{%set a=a~a~a~a~a~a~a~a~a~a%}" * 3 + "{{a|length}}",
        "The template builds a text longer than 200000 characters.",
    ),
]


@pytest.mark.parametrize("field", ["body", "subject"])
@pytest.mark.parametrize(("runaway", "reason"), RUNAWAYS, ids=["loop", "int", "text"])
def test_a_runaway_template_is_refused_and_an_older_one_fails_every_notice_with_the_limit(
    web, admin_client, register, admin, smtp_server, runaway, reason, field
):
    """Loops and huge values are valid Jinja; validation renders the template once over the
    sample under a notice's budget, so the edit page refuses them naming the place. A revision
    published before that check still reaches rendering, which stops it: the preview, each
    email and the letters PDF fail with the limit's message; nothing hangs, nothing is sent,
    and the same worker then sends another batch's notices."""
    template = factories.notice_template(name="Runaway")
    live = template.live_revision_id
    url = reverse(f"{TEMPLATES}:edit", args=[template.pk])
    fields = {"paragraphs": [f"<p>{runaway}</p>"]} if field == "body" else {"subject": runaway}
    response = admin_client.post(
        url, template_form_data(name="Runaway", **fields, **{"action-publish": "1"})
    )
    assert response.status_code == 200
    assert "The notice template could not be saved due to errors" in text_of(response)
    if field == "body":
        error = response.context["form"].errors["body"].as_data()[0]
        messages = [str(e.message) for e in error.non_block_errors.as_data()]
        place = "Body, paragraph 1"
    else:
        messages = response.context["form"].errors["subject"]
        place = "Subject"
    assert messages == [f"{place}: the notice could not be rendered: {reason}"]
    assert NoticeTemplate.objects.get(pk=template.pk).live_revision_id == live

    if field == "body":
        template.body = [("paragraph", f"<p>{runaway}</p>")]
    else:
        template.subject = runaway
    template.save_revision(clean=False).publish()  # as if published before the check
    batch = generate(make_batch(admin, NoticeTemplate.objects.get(pk=template.pk)), admin)

    worker = worker_id()
    result = sending.send_pending_emails(batch.pk, worker)
    emails = Communication.objects.filter(batch=batch, channel=Channel.EMAIL)
    assert result.failed == emails.count() > 0 and result.sent == 0
    assert not smtp_server.messages
    errors = set(emails.values_list("error", flat=True))
    assert len(errors) == 1
    (error,) = errors
    assert error == f"The notice could not be rendered: {reason}"
    assert set(emails.values_list("status", flat=True)) == {CommunicationStatus.FAILED}
    # The batch page lists the first notices with their error; each notice's page has it all.
    assert error[:60] in text_of(web.get(reverse(f"{NS}:detail", args=[batch.pk])))
    inspect = reverse("wagtail_batchcomms_communication:inspect", args=[emails.first().pk])
    assert error in text_of(web.get(inspect))

    download = letters.request_letter_download(batch.pk, user=admin)
    assert chunks.run_download_here(download.pk) == DownloadStatus.FAILED
    download.refresh_from_db()
    assert download.error
    assert download.error[:60] in text_of(web.get(reverse(f"{NS}:detail", args=[batch.pk])))

    # Only that template's notices failed: the same worker sends a healthy batch right after.
    healthy = generate(make_batch(admin, factories.notice_template(), name="Healthy"), admin)
    result = sending.send_pending_emails(healthy.pk, worker)
    assert result.failed == 0 and result.sent == len(smtp_server.messages) > 0


# --- recipient data and editor markup cannot get out of their escaping ----------------------

HOSTILE_NAME = "<script>alert(1)</script><img src=x onerror=alert(2)> \"quoted'"
HOSTILE_ORGANISATION = "javascript:alert(3)"

#: Every spelling of the bypass class: constructs that unescape (striptags, replace on escaped
#: text) in {% filter %} blocks, {% set %} blocks, macros and call blocks; recipient data in a
#: link; pieces of the editor's own markup put together into new tags.
BYPASS_SPELLINGS = [
    "{% filter striptags %}{{ contact.name }}{% endfilter %}",
    "{% filter lower|striptags %}{{ contact.name }}{% endfilter %}",
    "{% filter replace('&amp;lt;', '&lt;') %}{{ contact.name }}{% endfilter %}",
    "{% filter replace('&amp;lt;', '&lt;')|replace('&amp;gt;', '&gt;') %}"
    "{{ contact.name }}{% endfilter %}",
    "{% filter upper %}{{ contact.name }}{% endfilter %}",
    "{% filter trim %}{{ contact.name|e }}{% endfilter %}",
    "{{ contact.name|e|striptags }}",
    "{{ (contact.name|e)|replace('&amp;lt;', '&lt;') }}",
    "{{ contact.name|striptags|replace('x', 'y') }}",
    "{% set x %}{{ contact.name }}{% endset %}{{ x|striptags }}",
    "{% set x | striptags %}{{ contact.name }}{% endset %}{{ x }}",
    "{% set x %}{{ contact.name }}{% endset %}{% filter striptags %}{{ x }}{% endfilter %}",
    "{% macro m() %}{{ contact.name }}{% endmacro %}{% filter striptags %}{{ m() }}{% endfilter %}",
    "{% macro w() %}{{ caller()|striptags }}{% endmacro %}"
    "{% call w() %}{{ contact.name }}{% endcall %}",
    "{{ [contact.name, contact.name|e]|join(contact.name|e|striptags) }}",
    "{{ contact.name ~ (contact.name|e) }} {{ (contact.name|e) + contact.name }}",
    '<a href="{{ contact.organisation }}">our site</a>',
    '<a href="{{ contact.organisation|upper }}">our site</a>',
    # The editor's own markup taken apart into a tag of its own.
    "{% set t %}<b>x</b>{% endset %}{{ t[0] }}script{{ t[2] }}alert(4){{ t[0] }}/script{{ t[2] }}",
    "{% set t %}<b>x</b>{% endset %}{{ t[0] }}img src=x onerror={{ contact.name|length }}"
    "{{ t[2] }}",
    "{% set t %}<b>x</b>{% endset %}{{ t[0] }}a href=javascript:alert(5){{ t[2] }}go{{ t[:2] }}",
]


class _Elements(HTMLParser):
    """Every element and attribute of an HTML document as a browser would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {name: value or "" for name, value in attrs}))


def assert_no_active_content(document: str) -> None:
    parser = _Elements()
    parser.feed(document)
    for tag, attributes in parser.tags:
        assert tag not in ("script", "iframe", "object", "svg"), (tag, attributes)
        assert not [name for name in attributes if name.startswith("on")], (tag, attributes)
        for name in ("href", "src"):
            url = re.sub(r"[\s\x00-\x20]", "", attributes.get(name, "")).lower()
            assert not url.startswith(("javascript:", "data:", "vbscript:")), (tag, attributes)
        if tag == "img":
            assert attributes.get("src") != "x", attributes


def test_recipient_data_stays_escaped_in_every_sent_email_and_letter(
    web, register, admin, smtp_server
):
    """Each spelling in its own paragraph: the .eml's HTML part and the letters' HTML (what
    WeasyPrint gets) have no script, event handler or javascript: link, and the hostile name
    shows as text."""
    from wagtail_batchcomms.notices.rendering import letters_html

    paragraphs = [("paragraph", f"<p>{source}</p>") for source in BYPASS_SPELLINGS]
    template = factories.notice_template(name="Bypass", body=paragraphs)
    batch = generate(make_batch(admin, template), admin)
    communications = Communication.objects.filter(batch=batch)
    communications.update(recipient_name=HOSTILE_NAME, recipient_organisation=HOSTILE_ORGANISATION)
    result = sending.send_pending_emails(batch.pk, worker_id())
    assert result.failed == 0 and result.sent == len(smtp_server.messages) > 0
    documents = [
        received.message.get_body(("html",)).get_content() for received in smtp_server.messages
    ]
    documents.append(letters_html(communications.order_by("pk")[:3]))
    for document in documents:
        assert_no_active_content(document)
        parser = _Text()
        parser.feed(document)
        assert "<script>alert(1)</script>" in " ".join(parser.parts)  # shown, as text


@pytest.mark.parametrize("source", BYPASS_SPELLINGS)
def test_each_bypass_spelling_leaves_the_paragraph_escaped(source):
    """The same spellings one by one, through the renderer every email and letter uses."""
    from wagtail_batchcomms.notices.merge_fields import builtin_sample
    from wagtail_batchcomms.notices.rendering import render_notice

    data = builtin_sample(datetime.date(2025, 3, 3))
    data["contact"].update(name=HOSTILE_NAME, organisation=HOSTILE_ORGANISATION)
    template = NoticeTemplate(
        name="Bypass", subject="Hello", body=[("paragraph", f"<p>{source}</p>")]
    )
    notice = render_notice(template, data, letterhead={})
    for document in (notice.html, notice.letter_html_fragment):
        assert_no_active_content(document)
