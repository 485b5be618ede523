"""The letters' URL fetcher: our static and media files and data: URLs, nothing else.

Every refusal is checked twice: directly on ``SafeURLFetcher.fetch`` and through a real
WeasyPrint render, where a leak would show. The "secret" files are stylesheets that print a
marker; the same stylesheet served from MEDIA_ROOT does print it (the control), so a test
that finds no marker in the PDF proves the refusal, not a broken test.
"""

from __future__ import annotations

import http.server
import io
import logging
import os
import threading
from pathlib import Path

import pypdf
import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import override_settings
from PIL import Image as PILImage

from wagtail_batchcomms.letters import pdf
from wagtail_batchcomms.letters.pdf import BlockedURL, SafeURLFetcher

MARKER = "LEAKED-MARKER-7Q"
CSS = f'body::after {{ content: "{MARKER}"; }}'.encode()


@pytest.fixture
def http_server():
    """A loopback HTTP server that records every request it gets (it should get none)."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            body = CSS
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.hits = hits
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def outside(tmp_path) -> Path:
    """A folder outside every allowed root, holding a stylesheet that prints the marker."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.css").write_bytes(CSS)
    return folder


@pytest.fixture
def media_root(tmp_path) -> Path:
    root = tmp_path / "media"
    root.mkdir()
    with override_settings(MEDIA_ROOT=str(root)):
        yield root


def render_text(html: str) -> tuple[str, pypdf.PdfReader]:
    data = pdf.write_pdf(pdf.render_pdf(html))
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages), reader


def page_with(head: str = "", body: str = "<p>Letter body</p>") -> str:
    return f"<!DOCTYPE html><html><head>{head}</head><body>{body}</body></html>"


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (40, 20), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


# --- the control: a stylesheet we serve does print the marker ---------------------------------


def test_a_media_stylesheet_is_served(media_root):
    (media_root / "ok.css").write_bytes(CSS)
    text, _reader = render_text(page_with('<link rel="stylesheet" href="/media/ok.css">'))
    assert MARKER in text


# --- refused ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "file://localhost/etc/passwd",
        "ftp://127.0.0.1/etc/passwd",
        "http://example.com/static/wagtailadmin/images/default-user-avatar.png",
        "https://testserver.evil.example/media/x.png",
        "http://testserver:8080/media/x.png",
        "http://testserver/admin/",
        "http://testserver/etc/passwd",
        "http://testserver/static/../../../../etc/passwd",
        "http://testserver/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "http://testserver/media/..%2f..%2f..%2fetc/passwd",
        "http://testserver/media/a%00.png",
        "http://testserver/static/",
        "http://testserver/static/does-not-exist.png",
        "javascript:alert(1)",
    ],
)
def test_fetcher_refuses(url, caplog):
    with (
        caplog.at_level(logging.WARNING, logger="wagtail_batchcomms.letters.pdf"),
        pytest.raises(BlockedURL),
    ):
        SafeURLFetcher().fetch(url)
    assert "refused to fetch" in caplog.text


def test_file_urls_and_base_href_tricks_do_not_leak(outside, caplog):
    secret = (outside / "secret.css").as_uri()
    html = page_with(
        f'<base href="{outside.as_uri()}/">'
        '<link rel="stylesheet" href="secret.css">'
        f'<link rel="stylesheet" href="{secret}">'
        f"<style>@import url({secret});</style>",
        '<img src="file:///etc/passwd"><img src="passwd"><p>Letter body</p>',
    )
    with caplog.at_level(logging.WARNING, logger="wagtail_batchcomms.letters.pdf"):
        text, reader = render_text(html)
    assert "Letter body" in text  # rendered, without the refused resources
    assert MARKER not in text
    assert len(reader.pages) == 1
    refused = [r for r in caplog.records if "refused to fetch" in r.getMessage()]
    assert any("secret.css" in r.getMessage() for r in refused)
    assert any("/etc/passwd" in r.getMessage() for r in refused)


def test_loopback_server_gets_no_request(http_server, caplog):
    port = http_server.server_address[1]
    base = f"http://127.0.0.1:{port}"
    html = page_with(
        f'<link rel="stylesheet" href="{base}/static/x.css">'
        f'<link rel="stylesheet" href="{base}/media/x.css">'
        f"<style>@import url({base}/a.css); @font-face {{ font-family: X; "
        f"src: url({base}/font.woff); }} p {{ font-family: X; }}</style>",
        f'<img src="{base}/logo.png"><img src="http://localhost:{port}/logo.png">'
        f'<svg width="10" height="10"><image href="{base}/s.png" width="10" height="10"/></svg>'
        "<p>Letter body</p>",
    )
    with caplog.at_level(logging.WARNING, logger="wagtail_batchcomms.letters.pdf"):
        text, _reader = render_text(html)
    assert "Letter body" in text
    assert MARKER not in text
    assert http_server.hits == []
    assert "refused to fetch" in caplog.text
    # And with the server named as our own site, only its static/media paths map to files.
    with override_settings(WAGTAILADMIN_BASE_URL=base):
        with pytest.raises(BlockedURL):
            SafeURLFetcher().fetch(f"{base}/admin/")
        text, _reader = render_text(page_with(f'<link rel="stylesheet" href="{base}/x.css">'))
    assert MARKER not in text
    assert http_server.hits == []


def test_relative_traversal_is_refused(media_root, outside, caplog):
    # media_root and outside are siblings: ../outside/secret.css from /media/ reaches it on disk.
    html = page_with(
        '<link rel="stylesheet" href="/media/../outside/secret.css">'
        '<link rel="stylesheet" href="/media/%2E%2E/outside/secret.css">'
        '<link rel="stylesheet" href="/media/sub/..%2F..%2Foutside/secret.css">'
    )
    with caplog.at_level(logging.WARNING, logger="wagtail_batchcomms.letters.pdf"):
        text, _reader = render_text(html)
    assert MARKER not in text
    assert caplog.text.count("refused to fetch") >= 3


def test_symlink_out_of_media_is_refused(media_root, outside):
    os.symlink(outside / "secret.css", media_root / "linked.css")
    os.symlink(outside, media_root / "linked-dir")
    with pytest.raises(BlockedURL, match="outside"):
        SafeURLFetcher().fetch("http://testserver/media/linked.css")
    with pytest.raises(BlockedURL, match="outside"):
        SafeURLFetcher().fetch("http://testserver/media/linked-dir/secret.css")
    text, _reader = render_text(
        page_with(
            '<link rel="stylesheet" href="/media/linked.css">'
            '<link rel="stylesheet" href="/media/linked-dir/secret.css">'
        )
    )
    assert MARKER not in text


# --- served ---------------------------------------------------------------------------------


def test_static_image_from_the_finders_is_embedded():
    url = "/static/wagtailadmin/images/default-user-avatar.png"
    response = SafeURLFetcher().fetch(f"{settings.WAGTAILADMIN_BASE_URL}{url}")
    assert response.content_type == "image/png"
    on_disk = Path(finders.find("wagtailadmin/images/default-user-avatar.png")).read_bytes()
    assert response.read() == on_disk
    response.close()
    _text, reader = render_text(page_with(body=f'<img src="{url}"><p>Logo</p>'))
    assert len(reader.pages[0].images) == 1


def test_our_stylesheet_from_the_app_static_folder_is_served():
    app_css = Path(pdf.APP_STATIC_DIR, "wagtail_batchcomms/css/letters.css").read_bytes()
    response = SafeURLFetcher().fetch("http://testserver/static/wagtail_batchcomms/css/letters.css")
    assert response.content_type == "text/css"
    assert response.read() == app_css
    response.close()


def test_media_image_by_path_and_absolute_url_is_embedded(media_root):
    (media_root / "images").mkdir()
    (media_root / "images" / "logo.png").write_bytes(png_bytes())
    html = page_with(
        body='<img src="/media/images/logo.png">'
        '<img src="http://testserver/media/images/logo.png"><p>Logo</p>'
    )
    _text, reader = render_text(html)
    assert len(reader.pages[0].images) >= 1  # the same image, embedded (once or twice)


def test_data_urls_are_served():
    import base64

    encoded = base64.b64encode(png_bytes()).decode()
    _text, reader = render_text(page_with(body=f'<img src="data:image/png;base64,{encoded}">'))
    assert len(reader.pages[0].images) == 1


def test_one_font_configuration_per_process():
    assert pdf.font_config() is pdf.font_config()
    first = pdf.render_pdf(page_with())
    second = pdf.render_pdf(page_with())
    assert first.font_config is second.font_config is pdf.font_config()
