"""Replaying a listing outside its request: the export task writes the file by calling the
listing's own view (resolved from its URL) as the user who asked, with the query string they
had, and the download view asks the same view whether that user may still see the listing.

The view is found by URL, never imported: this capability sits below the views. A listing
view takes part through ``views.listing_guards.GuardedListingMixin``, which looks for an
``ExportTarget`` (write into it) or a probe (answer 204 once its permission checks passed) on
the request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO

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


def listing_request(path: str, query_string: str, user, **attributes) -> HttpRequest:
    request = HttpRequest()
    request.method = "GET"
    request.path = request.path_info = path
    request.GET = QueryDict(query_string)
    request.META = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": query_string,
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
    }
    request.user = user
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
