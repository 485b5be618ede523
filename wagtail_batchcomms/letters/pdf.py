"""WeasyPrint for letters: a URL fetcher that reads only our static and media files, one
``FontConfiguration`` per process, and the two calls the rest of the app uses.

Letters are rendered from HTML that editors influence (templates, rich text, the letterhead),
so WeasyPrint must not become a way to read the server's files or reach its network:
``SafeURLFetcher`` answers only

* ``data:`` URLs;
* URLs under ``STATIC_URL``, read from ``STATIC_ROOT``, the staticfiles finders' folders or
  this app's own ``static/`` folder;
* URLs under ``MEDIA_URL``, read from ``MEDIA_ROOT`` (or, when the default storage is not on
  the local disk, through that storage);

where a URL is a path (``/static/x.png``, resolved against the render's base URL) or an
absolute ``http(s)`` URL on ``WAGTAILADMIN_BASE_URL``'s host. Nothing ever goes over the
network: those URLs are mapped to files. A resolved file must lie inside its root after
symlinks are followed. Everything else (``file:``, other hosts, loopback addresses, ``../``
escapes, ``<base href>`` tricks) is refused with a logged warning; WeasyPrint then logs that
the resource failed and renders the letter without it.
"""

from __future__ import annotations

import logging
import mimetypes
import os
import posixpath
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.files.storage import FileSystemStorage, storages
from weasyprint import HTML
from weasyprint.document import Document
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

logger = logging.getLogger(__name__)

APP_STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

#: Base URL for relative references when WAGTAILADMIN_BASE_URL is unset. ``.invalid`` is a
#: reserved top-level domain: it can never resolve, and it is only ever mapped to files.
FALLBACK_BASE_URL = "http://batchcomms.invalid/"

#: A larger file is refused: letters embed logos and signatures, not archives.
MAX_RESOURCE_BYTES = 20 * 1024 * 1024


class BlockedURL(ValueError):
    """A URL the letter renderer may not fetch. WeasyPrint catches it and skips the resource."""


def base_url() -> str:
    """The URL relative references in letter HTML are resolved against."""
    url = getattr(settings, "WAGTAILADMIN_BASE_URL", "") or FALLBACK_BASE_URL
    return url.rstrip("/") + "/"


def _origin(url: str) -> tuple[str, int | None] | None:
    """``(host, port)`` of an http(s) URL with the scheme's default port filled in."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts.hostname.lower(), port or (443 if parts.scheme == "https" else 80)


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


@dataclass(frozen=True)
class _Mount:
    """A URL prefix served from local folders (first match wins) or from a storage."""

    name: str  # "static" or "media", for log messages
    prefix: str  # absolute URL prefix ending in "/"
    roots: tuple[Path, ...]
    storage: object | None = None  # a non-local default storage for media


class SafeURLFetcher(URLFetcher):
    """WeasyPrint URL fetcher that serves only this site's static and media files.

    Built per render (cheap: it reads settings and lists folders, it opens nothing).
    ``fetch`` raises ``BlockedURL`` for anything else; WeasyPrint turns that into a logged
    "failed to load" and goes on without the resource.
    """

    def __init__(self, **kwargs) -> None:
        # No redirects and only data/http(s) at WeasyPrint's own level too; the http(s) URLs
        # we accept never reach urllib anyway (they are read from disk).
        kwargs.setdefault("allowed_protocols", ("data", "http", "https"))
        kwargs.setdefault("allow_redirects", False)
        super().__init__(**kwargs)

    # --- what may be read -------------------------------------------------------------------

    @cached_property
    def mounts(self) -> list[_Mount]:
        mounts = []
        static_url = getattr(settings, "STATIC_URL", None)
        if static_url:
            mounts.append(_Mount("static", self._absolute(static_url), tuple(_static_roots())))
        media_url = getattr(settings, "MEDIA_URL", None)
        if media_url:
            roots, storage = _media_source()
            mounts.append(_Mount("media", self._absolute(media_url), roots, storage))
        return mounts

    @staticmethod
    def _absolute(url_prefix: str) -> str:
        url = urljoin(base_url(), str(url_prefix))
        return url if url.endswith("/") else url + "/"

    # --- fetching -----------------------------------------------------------------------------

    def fetch(self, url: str, headers=None) -> URLFetcherResponse:
        try:
            if url[:5].lower() == "data:":
                return super().fetch(url, headers)
            return self._fetch_local(url)
        except BlockedURL as error:
            logger.warning("Letter rendering refused to fetch %.200s: %s", url, error)
            raise

    def _fetch_local(self, url: str) -> URLFetcherResponse:
        origin = _origin(url)
        if origin is None:
            raise BlockedURL("only data: URLs and this site's static and media files are allowed")
        for mount in self.mounts:
            relative = self._relative(url, origin, mount)
            if relative is None:
                continue
            if mount.storage is not None:
                return self._from_storage(url, mount, relative)
            return self._from_folders(url, mount, relative)
        raise BlockedURL("not a static or media URL of this site")

    def _relative(self, url: str, origin, mount: _Mount) -> str | None:
        """The file path under ``mount`` that ``url`` names, or None if it is not under it."""
        # The mount's host is the base URL's (a relative STATIC_URL/MEDIA_URL) or the host of
        # an absolute one (a CDN); either way the URL is mapped to a file, never fetched.
        if origin != _origin(mount.prefix):
            return None
        path = urlsplit(url).path
        prefix_path = urlsplit(mount.prefix).path
        if not path.startswith(prefix_path):
            return None
        relative = unquote(path[len(prefix_path) :])
        if "\x00" in relative or "\\" in relative:
            raise BlockedURL("malformed path")
        segments = relative.split("/")
        if ".." in segments:
            raise BlockedURL(f"path escapes the {mount.name} folder")
        normalised = posixpath.normpath(relative) if relative else ""
        if normalised in ("", ".") or normalised.startswith("/"):
            raise BlockedURL(f"not a {mount.name} file")
        return normalised

    def _from_folders(self, url: str, mount: _Mount, relative: str) -> URLFetcherResponse:
        for root in mount.roots:
            candidate = Path(os.path.realpath(root / relative))
            # realpath follows symlinks: a link that points outside the root is refused.
            if not _inside(candidate, root):
                raise BlockedURL(f"resolves outside the {mount.name} folder")
            if candidate.is_file():
                if candidate.stat().st_size > MAX_RESOURCE_BYTES:
                    raise BlockedURL("file too large")
                return self._response(url, relative, candidate.open("rb"))
        raise BlockedURL(f"no such {mount.name} file")

    def _from_storage(self, url: str, mount: _Mount, relative: str) -> URLFetcherResponse:
        storage = mount.storage
        try:
            if storage.size(relative) > MAX_RESOURCE_BYTES:
                raise BlockedURL("file too large")
            handle = storage.open(relative, "rb")
        except BlockedURL:
            raise
        except Exception as error:  # storage backends raise many kinds of "not found"
            raise BlockedURL(f"no such {mount.name} file ({type(error).__name__})") from error
        return self._response(url, relative, handle)

    @staticmethod
    def _response(url: str, relative: str, handle) -> URLFetcherResponse:
        mime_type = mimetypes.guess_type(relative)[0] or "application/octet-stream"
        return URLFetcherResponse(url, body=handle, headers={"Content-Type": mime_type})


def _static_roots() -> list[Path]:
    """STATIC_ROOT, then the staticfiles finders' folders, then this app's static folder."""
    candidates: list[Path] = []
    if getattr(settings, "STATIC_ROOT", None):
        candidates.append(Path(settings.STATIC_ROOT))
    if "django.contrib.staticfiles" in settings.INSTALLED_APPS:
        for finder in finders.get_finders():
            if isinstance(finder, finders.FileSystemFinder):
                # A prefixed STATICFILES_DIRS entry is skipped rather than half supported.
                candidates += [Path(root) for prefix, root in finder.locations if not prefix]
            elif isinstance(finder, finders.AppDirectoriesFinder):
                candidates += [Path(s.location) for s in finder.storages.values()]
    candidates.append(APP_STATIC_DIR)
    roots: list[Path] = []
    for candidate in candidates:
        real = Path(os.path.realpath(candidate))
        if real.is_dir() and real not in roots:
            roots.append(real)
    return roots


def _media_source() -> tuple[tuple[Path, ...], object | None]:
    """Local MEDIA_ROOT when the default storage is on disk, else the default storage."""
    storage = storages["default"]
    if isinstance(storage, FileSystemStorage):
        root = getattr(settings, "MEDIA_ROOT", None)
        return ((Path(os.path.realpath(root)),) if root else ()), None
    return (), storage


# --- one FontConfiguration per process ------------------------------------------------------

_font_config: FontConfiguration | None = None
_font_config_pid: int | None = None
# WeasyPrint shares Pango/fontconfig state through the FontConfiguration; a threaded web
# server (the letter preview) must not render two documents on it at the same time. Worker
# processes render one at a time, so the lock costs them nothing.
_render_lock = threading.RLock()


def font_config() -> FontConfiguration:
    """This process's FontConfiguration, made on first use (after any fork: a worker forked
    from a parent that had one makes its own)."""
    global _font_config, _font_config_pid
    if _font_config is None or _font_config_pid != os.getpid():
        _font_config = FontConfiguration()
        _font_config_pid = os.getpid()
    return _font_config


def render_pdf(html: str, *, base: str | None = None, **options) -> Document:
    """Lay out ``html`` into a WeasyPrint ``Document`` with the safe fetcher and shared fonts.

    ``document.pages`` gives the page count; ``write_pdf(document)`` the bytes. ``options``
    go to WeasyPrint's ``render`` (e.g. ``cache``: a dict of decoded images to share between
    documents).
    """
    with _render_lock:
        source = HTML(string=html, base_url=base or base_url(), url_fetcher=SafeURLFetcher())
        return source.render(font_config=font_config(), **options)


def write_pdf(document: Document | str, target=None) -> bytes | None:
    """PDF bytes of a rendered ``Document`` (or of HTML, rendered first); written to
    ``target`` (a path or binary file) instead when given, returning None."""
    if isinstance(document, str):
        document = render_pdf(document)
    with _render_lock:
        return document.write_pdf(target)
