"""Playwright driving Debian's Chromium against pytest-django's live server.

No browser download: Chromium is the system package at /usr/bin/chromium (CHROMIUM env var to
override). Screenshots go to ``test-artifacts/screenshots/`` (BATCHCOMMS_ARTIFACTS to override).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
ARTIFACTS = Path(
    os.environ.get("BATCHCOMMS_ARTIFACTS", Path(__file__).resolve().parent.parent / "test-artifacts")
)


def chromium_missing() -> str | None:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    return None


@pytest.fixture(scope="session")
def browser():
    problem = chromium_missing()
    if problem:
        pytest.fail(problem)
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls made by the
    # test itself (fixtures, assertions) are still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1400, "height": 900}, accept_downloads=True
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.js_errors = errors
    yield page
    context.close()


class Shots:
    """Numbered screenshots of one test, kept as artefacts."""

    def __init__(self, name: str) -> None:
        self.folder = ARTIFACTS / "screenshots" / re.sub(r"[^\w-]+", "-", name)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def __call__(self, page, label: str, full_page: bool = False) -> Path:
        self.count += 1
        slug = re.sub(r"[^\w-]+", "-", label)  # outside the f-string: Python 3.11
        path = self.folder / f"{self.count:02d}-{slug}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path


@pytest.fixture
def shots(request):
    return Shots(request.node.name)


def login(page, username: str, password: str) -> None:
    page.goto("/admin/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/$"))
