"""Replaying a listing outside its request: the export task writes the file by calling the
listing's own view (resolved from its URL) as the user who asked, with the query string they
had, and the download view asks the same view whether that user may still see the listing.

The view is found by URL, never imported: this capability sits below the views. A listing
view takes part through ``views.listing_guards.GuardedListingMixin``, which looks for an
``ExportTarget`` (write into it) or a probe (answer 204 once its permission checks passed) on
the request.

The replayed request has what a browser's request has by the time it reaches the view (the
session and messages middleware's attributes, the host and scheme of the admin's address), so
a listing, or a Wagtail mixin, that reads them behaves as it did for the admin instead of
failing only in the worker.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib import import_module
from typing import IO
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, QueryDict
from django.urls import Resolver404, resolve

#: The request attributes a listing view looks for.
TARGET_ATTRIBUTE = "batchcomms_export_target"
PROBE_ATTRIBUTE = "batchcomms_export_probe"


class ExportTarget:
    """Where the listing writes its export: ``output`` (a binary file), ``progress(rows)``
    called as rows are written; the listing sets ``rows`` (how many) when done."""

    def __init__(self, output: IO[bytes], progress: Callable[[int], None]) -> None:
        self.output, self.progress, self.rows = output, progress, None


class KeptMessages(list):
    """The replayed request's message storage: a refusing view (Wagtail's "you do not have
    permission") adds a message before it redirects; nobody reads it here."""

    def add(self, level, message, extra_tags="") -> None:
        self.append((level, message))


@cache
def throwaway_session_class(engine: str) -> type:
    """The project's session class (``SESSION_ENGINE``) made never to store anything: the
    replayed request's session is read and written like the browser's, then dropped (no
    browser will send its cookie back, and a row or file per export would only pile up)."""
    store = import_module(engine).SessionStore

    class ThrowawaySession(store):
        def create(self) -> None:
            self.modified = True  # a new, empty session (``cycle_key``, ``flush``): no key

        def save(self, must_create: bool = False) -> None:
            pass

    return ThrowawaySession


class ReplayedRequest(HttpRequest):
    """A GET request made here, not by a WSGI server: its scheme is the admin address's."""

    def _get_scheme(self) -> str:
        return self.META["wsgi.url_scheme"]


def listing_request(path: str, query_string: str, user, **attributes) -> HttpRequest:
    """A GET of the listing at ``path`` by ``user``, on the admin's address
    (``WAGTAILADMIN_BASE_URL``: its host passes ``ALLOWED_HOSTS`` as the admin's did), with
    an empty session that is never saved and no cookies."""
    base = urlsplit(getattr(settings, "WAGTAILADMIN_BASE_URL", "") or "http://localhost")
    scheme = base.scheme or "http"
    request = ReplayedRequest()
    request.method = "GET"
    request.path = request.path_info = path
    request.GET = QueryDict(query_string)
    request.META = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": query_string,
        "SERVER_NAME": base.hostname or "localhost",
        "SERVER_PORT": str(base.port or (443 if scheme == "https" else 80)),
        "HTTP_HOST": base.netloc or "localhost",
        "HTTP_ACCEPT": "text/html,application/xhtml+xml,*/*;q=0.8",
        "wsgi.url_scheme": scheme,
    }
    request.user = user
    request.session = throwaway_session_class(settings.SESSION_ENGINE)()
    request._messages = KeptMessages()
    for name, value in attributes.items():
        setattr(request, name, value)
    return request


def call_listing(path: str, query_string: str, user, **attributes):
    """The listing view's response to ``user`` (its decorators and permission checks run)."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    request = listing_request(path, query_string, user, **attributes)
    request.resolver_match = match
    return match.func(request, *match.args, **match.kwargs)


def write_listing(run, user, target: ExportTarget) -> int | None:
    """Write ``run``'s export into ``target`` as ``user``; the rows written, or None when the
    listing refused (the user may no longer see it, or it no longer exists)."""
    query = QueryDict(run.query_string, mutable=True)
    query["export"] = run.export_format
    try:
        response = call_listing(
            run.listing_path, query.urlencode(), user, **{TARGET_ATTRIBUTE: target}
        )
    except (PermissionDenied, Http404):
        return None
    if response is None or response.status_code != 204:
        return None
    return target.rows


def listing_allows(user, path: str, query_string: str = "") -> bool:
    """Whether ``user`` may see the listing at ``path`` now (its own checks decide)."""
    try:
        response = call_listing(path, query_string, user, **{PROBE_ATTRIBUTE: True})
    except (PermissionDenied, Http404):
        return False
    return response is not None and response.status_code == 204
