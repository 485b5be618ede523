"""Playwright driving Debian's Chromium against pytest-django's live server.

No browser download: Chromium is the system package at /usr/bin/chromium (CHROMIUM env var to
override). Screenshots go to ``test-artifacts/screenshots/<test>/`` (BATCHCOMMS_ARTIFACTS to
override); ``BATCHCOMMS_UPDATE_SCREENSHOTS=1 .venv/bin/pytest -m browser`` also refreshes the
README's small copies in ``example_project/screenshots/``.

Fixtures: ``browser`` (one Chromium per session), ``page`` (a fresh context on the live
server; requests to any other host are aborted, so nothing leaves the machine), ``shots``
(numbered screenshots). ``page.js_errors`` collects uncaught exceptions and console errors,
``page.bad_responses`` same-origin subresources and fetches that failed or answered >= 400
(pages a test opens on purpose, such as a refusal, are documents and are not counted);
``assert_clean(page)`` asserts both are empty.

``seed_demo_with_logins`` seeds the demo register with its orgadmin / editor logins.
Helpers for Wagtail's admin: ``login``, ``filter_listing`` (the filter drilldown, which filters
through AJAX without a page load), ``fill_date`` (the date picker), ``header_action`` (a header
button, also from the "Actions" dropdown) and ``post_from_browser`` (a POST with the page's
CSRF token, as a hand-made form or a replayed request would send it).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.test import override_settings

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("BATCHCOMMS_ARTIFACTS", ROOT / "test-artifacts"))
README_SHOTS = ROOT / "example_project" / "screenshots"
#: How long a single Playwright action or assertion waits by default (ms).
DEFAULT_TIMEOUT = 20_000
#: How long to wait for work a qcluster worker does in the background (ms).
WORKER_TIMEOUT = 120_000


def chromium_missing() -> str | None:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    return None


class _Chromium:
    """One Playwright and one Chromium per process, however many times the session fixture is
    defined: a test module that imports the fixtures itself (``from browser import page``)
    gets a second definition of ``browser``, and a second sync Playwright in the same thread
    would fail."""

    playwright = None
    browser = None
    users = 0

    @classmethod
    def acquire(cls):
        if cls.browser is None:
            # Playwright's sync API runs an event loop in this thread; Django's ORM calls made
            # by the test itself (fixtures, assertions) are still synchronous and safe.
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
            from playwright.sync_api import sync_playwright

            cls.playwright = sync_playwright().start()
            cls.browser = cls.playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
        cls.users += 1
        return cls.browser

    @classmethod
    def release(cls) -> None:
        cls.users -= 1
        if cls.users == 0 and cls.browser is not None:
            try:
                cls.browser.close()
            finally:
                cls.playwright.stop()
                cls.browser = cls.playwright = None


@pytest.fixture(scope="session")
def browser():
    problem = chromium_missing()
    if problem:
        pytest.fail(problem)
    yield _Chromium.acquire()
    _Chromium.release()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@pytest.fixture
def page(browser, live_server):
    origin = _origin(live_server.url)
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1400, "height": 900}, accept_downloads=True
    )
    context.set_default_timeout(DEFAULT_TIMEOUT)

    # Nothing leaves the machine: the admin's Gravatar images and the like are refused here
    # instead of waiting for a DNS answer that never comes.
    def route(route):
        url = route.request.url
        if url.startswith(("data:", "blob:")) or _origin(url) == origin:
            route.continue_()
        else:
            route.abort()

    context.route("**/*", route)
    page = context.new_page()
    errors: list[str] = []
    bad: list[str] = []

    def on_console(message):
        if message.type != "error":
            return
        # Resource failures are counted, with their URL, by the response handlers below
        # (and refused external resources are expected).
        if message.text.startswith("Failed to load resource"):
            return
        source = (message.location or {}).get("url", "")
        errors.append(f"console: {message.text} ({source})")

    def on_response(response):
        request = response.request
        same_origin = _origin(response.url) == origin
        if response.status >= 400 and request.resource_type != "document" and same_origin:
            bad.append(f"{response.status} {request.method} {response.url}")

    def on_request_failed(request):
        if _origin(request.url) == origin and request.resource_type != "document":
            failure = request.failure or ""
            # A navigation (a reload by the progress script, a click) cancels what the page
            # was still fetching; that is not an error.
            if "ERR_ABORTED" not in failure:
                bad.append(f"failed {request.method} {request.url}: {failure}")

    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    page.on("console", on_console)
    page.on("response", on_response)
    page.on("requestfailed", on_request_failed)
    page.js_errors = errors
    page.bad_responses = bad
    yield page
    context.close()


def assert_clean(page) -> None:
    """No JavaScript error and no failed same-origin request so far on this page."""
    assert not page.js_errors, page.js_errors
    assert not page.bad_responses, page.bad_responses


MAX_HEIGHT = 4000


class Shots:
    """Numbered screenshots of one test, kept as artefacts."""

    def __init__(self, name: str) -> None:
        self.folder = ARTIFACTS / "screenshots" / re.sub(r"[^\w-]+", "-", name)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def __call__(
        self, page, label: str, full_page: bool = False, focus=None, readme: str = ""
    ) -> Path:
        """Save a screenshot; ``focus`` (a locator) is scrolled into view first.

        ``full_page``: Wagtail's admin scrolls inside its layout, not the document, so the
        viewport is stretched to the content's height for the shot (up to MAX_HEIGHT).
        ``readme``: with BATCHCOMMS_UPDATE_SCREENSHOTS=1, a small copy is also written to
        ``example_project/screenshots/<readme>.png``, which the README shows.
        """
        self.count += 1
        slug = re.sub(r"[^\w-]+", "-", label)  # outside the f-string: Python 3.11
        path = self.folder / f"{self.count:02d}-{slug}.png"
        if focus is not None:
            focus.scroll_into_view_if_needed()
        viewport = page.viewport_size
        if full_page:
            height = page.evaluate(
                "Math.max(...[document.documentElement, document.body,"
                " ...document.querySelectorAll('main, .content-wrapper, #main')]"
                ".map((e) => e.scrollHeight))"
            )
            page.set_viewport_size({"width": viewport["width"], "height": min(height, MAX_HEIGHT)})
        try:
            page.screenshot(path=str(path), full_page=full_page, animations="disabled")
        finally:
            if full_page:
                page.set_viewport_size(viewport)
        if readme and os.environ.get("BATCHCOMMS_UPDATE_SCREENSHOTS") == "1":
            save_for_readme(path, README_SHOTS / f"{readme}.png")
        return path


def save_for_readme(source: Path, target: Path, width: int = 1100) -> None:
    """A smaller copy for the repository: scaled to ``width``, 256 colours, optimised."""
    from PIL import Image

    target.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(source) as image:
        height = round(image.height * width / image.width)
        small = image.convert("RGB").resize((width, height), Image.LANCZOS)
        small.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(target, optimize=True)


@pytest.fixture
def shots(request):
    return Shots(request.node.name)


def seed_demo_with_logins(assemblies: int, seed: int, *, automatic: bool = False) -> None:
    """``seed_demo --create-logins``: the demo register and the orgadmin / editor logins.

    The flag is refused with DEBUG off, as pytest-django runs the tests; DEBUG is on for the
    command only, like the development site the demo logins are meant for. The demo's
    Communication Types are paused unless ``automatic``: a worker's schedule would otherwise
    run them as soon as it starts, and a test of a batch counts the emails of its batch.
    """
    with override_settings(DEBUG=True):
        call_command(
            "seed_demo",
            "--assemblies",
            str(assemblies),
            "--seed",
            str(seed),
            "--create-logins",
            verbosity=0,
        )
    if not automatic:
        # Here, not at the top: this plugin loads before Django's apps are ready.
        from wagtail_batchcomms.models import CommunicationType

        CommunicationType.objects.update(active=False)


def login(page, username: str, password: str) -> None:
    page.goto("/admin/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/$"))


def filter_listing(page, group: str, option: str) -> None:
    """Tick ``option`` under ``group`` in a Wagtail listing's filter drilldown.

    Wagtail filters through AJAX (no page load): this waits for the results fragment's
    response, then for the active filter's pill, so the listing and its header buttons have
    been swapped in when it returns. The drilldown is left open at the top level.
    """
    toggle = page.get_by_role("button", name="Show filters")
    if toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
    page.get_by_role("button", name=group, exact=True).click()
    submenu = page.locator(".w-drilldown__submenu:not([hidden])")
    with page.expect_response(lambda r: "/results/" in r.url and r.ok):
        submenu.get_by_label(option, exact=True).check()
    page.locator(".w-active-filters").get_by_text(option, exact=True).wait_for()
    submenu.get_by_role("button", name="Back").click()


def close_filters(page) -> None:
    toggle = page.get_by_role("button", name="Show filters")
    if toggle.get_attribute("aria-expanded") == "true":
        toggle.click()
        page.locator(".w-drilldown__menu").first.wait_for(state="hidden")


def fill_date(page, selector: str, value: str) -> None:
    """Type a date into an admin date field and close its picker (it covers the buttons)."""
    page.fill(selector, value)
    picker = page.locator(".xdsoft_datetimepicker")
    picker.first.wait_for(state="visible")
    page.keyboard.press("Tab")
    picker.first.wait_for(state="hidden")


HEADER_BUTTONS = "#w-slim-header-buttons"
DROPDOWN_ITEMS = "[data-w-dropdown-target=content]"


def _open_actions(page) -> bool:
    toggle = page.locator(HEADER_BUTTONS).get_by_role("button", name="Actions")
    if not toggle.count():
        return False
    if toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
    page.locator(DROPDOWN_ITEMS).locator("a").first.wait_for()
    return True


def header_action(page, name: str):
    """The header's action link called ``name``: a main button, or an item of the header's
    "Actions" dropdown (opened if need be)."""
    main = page.locator(HEADER_BUTTONS).get_by_role("link", name=name, exact=True)
    if main.count():
        return main.first
    _open_actions(page)
    item = page.locator(DROPDOWN_ITEMS).get_by_role("link", name=name, exact=True)
    item.first.wait_for()
    return item.first


def header_action_names(page) -> list[str]:
    """Every action the header offers: main buttons and the "Actions" dropdown's items
    (the dropdown is closed again)."""
    names = page.locator(f"{HEADER_BUTTONS} > a").all_inner_texts()
    if _open_actions(page):
        names += page.locator(DROPDOWN_ITEMS).locator("a").all_inner_texts()
        page.keyboard.press("Escape")
        page.locator(DROPDOWN_ITEMS).first.wait_for(state="hidden")
    return [name.strip() for name in names if name.strip()]


def post_from_browser(page, url: str, data: dict[str, str] | None = None) -> None:
    """POST ``data`` to ``url`` from the current page with its CSRF token, as a crafted form
    would, and wait for the answer page to load."""
    with page.expect_navigation():
        page.evaluate(
            """([url, data]) => {
                const form = document.createElement('form');
                form.method = 'POST';
                form.action = url;
                const token = document.querySelector('input[name=csrfmiddlewaretoken]')?.value
                    || (document.cookie.match(/csrftoken=([^;]+)/) || [])[1] || '';
                const fields = {csrfmiddlewaretoken: token, ...data};
                for (const [name, value] of Object.entries(fields)) {
                    const input = document.createElement('input');
                    input.type = 'hidden';
                    input.name = name;
                    input.value = value;
                    form.appendChild(input);
                }
                document.body.appendChild(form);
                form.submit();
            }""",
            [url, data or {}],
        )
