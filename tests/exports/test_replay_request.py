"""The request an export task replays a listing with has what the browser's had by the time it
reached the view: a session it can read and write (empty, never saved), no cookies, the host
and scheme of the admin's address (``WAGTAILADMIN_BASE_URL``, checked against
``ALLOWED_HOSTS`` as the browser's host was), the resolved URL. A listing that reads any of
them writes its file in the background as it does in the request, and leaves the session
table as it was.

The listing here is a real guarded listing (this module is its URLconf) that uses all of
them, as a listing or a Wagtail mixin may."""

from __future__ import annotations

import csv
import io

import factories
import openpyxl
import pytest
from django.contrib.sessions.models import Session
from django.urls import include, path
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.admin.views import generic

from wagtail_batchcomms import exports
from wagtail_batchcomms.models import ExportRun, ExportStatus, ServiceArea
from wagtail_batchcomms.views.listing_guards import GuardedListingMixin

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("private_root"),
    pytest.mark.urls(__name__),
]

#: What the listing saw of each request, in order (the browser's, then the replay's).
SEEN: list[dict] = []


class SessionListing(GuardedListingMixin, generic.IndexView):
    model = ServiceArea
    list_export = ["name", "code"]
    export_filename = "areas"
    index_url_name = "session_listing"

    def get_base_queryset(self):
        request = self.request
        visits = request.session.get("area_visits", 0) + 1
        request.session["area_visits"] = visits
        request.session.save()
        SEEN.append(
            {
                "visits": request.session["area_visits"],
                "session_key": request.session.session_key,
                "cookies": dict(request.COOKIES),
                "host": request.get_host(),
                "host_header": request.headers.get("Host"),
                "scheme": request.scheme,
                "absolute": request.build_absolute_uri("/x/"),
                "url_name": request.resolver_match.url_name,
            }
        )
        return super().get_base_queryset()


urlpatterns = [
    path("admin/", include(wagtailadmin_urls)),
    path("areas/", SessionListing.as_view(), name="session_listing"),
]


def sessions() -> list[tuple[str, str]]:
    return sorted(Session.objects.values_list("session_key", "session_data"))


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_replayed_listing_reads_and_writes_its_session_and_nothing_is_saved(
    client, superuser, settings, app_settings, fmt
):
    settings.WAGTAILADMIN_BASE_URL = "https://admin.example.org"
    settings.ALLOWED_HOSTS = ["admin.example.org", "testserver"]
    app_settings(EXPORT_BACKGROUND_ROWS=2)
    for code in ("AA", "BB", "CC"):
        factories.service_area(name=f"Area {code}", code=code)
    SEEN.clear()
    client.force_login(superuser)
    response = client.get("/areas/", {"export": fmt})
    assert response.status_code == 302, response.status_code
    run = ExportRun.objects.get()
    browser = SEEN[-1]
    assert browser["visits"] == 1 and browser["session_key"] in client.cookies["sessionid"].value
    before = sessions()
    assert before  # the browser's session row, saved by its own request

    assert exports.run_export(run.pk) == "ready: 3 rows", ExportRun.objects.get().error
    replayed = SEEN[-1]
    assert replayed == {
        "visits": 1,  # its own, empty session: not the admin's (which says 1 already)
        "session_key": None,  # never saved, so never given a key
        "cookies": {},
        "host": "admin.example.org",
        "host_header": "admin.example.org",
        "scheme": "https",
        "absolute": "https://admin.example.org/x/",
        "url_name": "session_listing",
    }
    assert sessions() == before  # nothing saved, nothing added

    run.refresh_from_db()
    assert run.status == ExportStatus.READY
    with exports.open_export(run) as handle:
        content = handle.read()
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    else:
        sheet = openpyxl.load_workbook(io.BytesIO(content)).active
        rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert sorted(row[1] for row in rows[1:]) == ["AA", "BB", "CC"]


def test_a_host_the_site_does_not_allow_fails_the_export_with_the_reason(
    client, superuser, settings, app_settings
):
    """The replay's host is checked as a browser's is: an admin address missing from
    ALLOWED_HOSTS is named in the export's error, not worked around."""
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.WAGTAILADMIN_BASE_URL = "https://admin.example.org"
    app_settings(EXPORT_BACKGROUND_ROWS=1)
    for code in ("AA", "BB"):
        factories.service_area(name=f"Area {code}", code=code)
    client.force_login(superuser)
    assert client.get("/areas/", {"export": "csv"}).status_code == 302
    run = ExportRun.objects.get()
    assert exports.run_export(run.pk).startswith("failed")
    run.refresh_from_db()
    assert run.status == ExportStatus.FAILED and "ALLOWED_HOSTS" in run.error
