"""A stock ``wagtail start`` site with the package added the README's way migrates, passes
``check`` and serves every admin page of ours, on whichever Wagtail this suite runs (CI runs it
on the lowest supported and on the latest); and the README's "Trying it in your own site"
(add the demo app, ``seed_demo``, remove the app again) works there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# What the README's "Installing into an existing Wagtail project" adds to a site's settings.
README_SETTINGS = """

# wagtail-batchcomms, as its README says
INSTALLED_APPS = [
    "wagtail_batchcomms",
    "wagtail.contrib.settings",
    "django_q",
    *[app for app in INSTALLED_APPS if app != "wagtail.contrib.settings"],
]
Q_CLUSTER = {
    "name": "batchcomms",
    "orm": "default",
    "workers": 2,
    "timeout": 600,
    "retry": 1800,
    "queue_limit": 4,
    "catch_up": False,
}
EMAIL_TIMEOUT = 30
DEFAULT_FROM_EMAIL = "Backflow Programme <backflow@utility.example>"
"""

# What the README's "Trying it in your own site" adds (and removes again afterwards).
DEMO_SETTINGS = """
INSTALLED_APPS += ["wagtail_batchcomms.demo"]
"""

# Run in the site (manage.py shell): a superuser opens the dashboard and every admin URL of
# ours that takes no argument (listings, add pages, choosers, the Letterhead), following
# redirects; prints {url name: [status, final path]} and the dashboard's HTML size.
PROBE = """
import json
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import NoReverseMatch, URLResolver, get_resolver, reverse

def names(patterns, namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from names(pattern.url_patterns, inner)
        elif pattern.name:
            yield namespace + pattern.name

user = get_user_model().objects.create_superuser("stock", "stock@example.com", "stock")
client = Client()
client.force_login(user)
letterhead = reverse("wagtailsettings:edit", args=["wagtail_batchcomms", "letterhead"])
urls = {"wagtailsettings:edit": letterhead}
for name in sorted(set(names(get_resolver().url_patterns))):
    if "batchcomms" in name:
        try:
            urls[name] = reverse(name)
        except NoReverseMatch:  # takes an argument
            pass
results = {}
for name, url in urls.items():
    response = client.get(url, follow=True)
    results[name] = [response.status_code, response.request["PATH_INFO"]]
dashboard = client.get("/admin/").content.decode()
print(json.dumps({"pages": results, "menu": "/admin/batchcomms/batches/" in dashboard}))
"""


def run(*args: str, cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}  # ours
    result = subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"{args}:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    return result.stdout


@pytest.mark.slow
def test_a_stock_wagtail_site_installs_migrates_checks_and_serves_our_admin(tmp_path):
    site = tmp_path / "stocksite"
    site.mkdir()  # and start from inside it: `python -c` puts the folder it runs in on sys.path
    run(
        "-c",
        "from wagtail.bin.wagtail import main; main()",
        "start",
        "stocksite",
        str(site),
        cwd=site,
    )
    settings = site / "stocksite" / "settings" / "base.py"
    settings.write_text(settings.read_text() + README_SETTINGS)

    run("manage.py", "migrate", "--noinput", cwd=site)
    assert "System check identified no issues" in run(
        "manage.py", "check", "--fail-level", "WARNING", cwd=site
    )
    result = json.loads(run("manage.py", "shell", "-c", PROBE, cwd=site).strip().splitlines()[-1])

    pages = result["pages"]
    assert len(pages) > 30  # listings, add pages, choosers, the batch admin, the Letterhead
    assert result["menu"]  # the dashboard's sidebar has our menu
    broken = {name: page for name, page in pages.items() if page[0] != 200}
    assert broken == {}
    # Nothing sent the superuser to the dashboard (Wagtail's "permission denied").
    assert [name for name, (_, path) in pages.items() if path == "/admin/"] == []
    for name in (
        "wagtailsnippets_wagtail_batchcomms_assembly:list",
        "wagtailsnippets_wagtail_batchcomms_noticetemplate:add",
        "wagtail_batchcomms_batch:index",
        "wagtail_batchcomms_communication:index",
        "wagtailsettings:edit",
    ):
        assert name in pages

    # The README's "Trying it in your own site": the stock site's dev settings have DEBUG on.
    settings.write_text(settings.read_text() + DEMO_SETTINGS)
    seeded = run("manage.py", "seed_demo", "--assemblies", "20", cwd=site)
    assert " 20 assemblies, 2 notice templates, 4 communication types," in seeded
    assert "No users created" in seeded
    assert "Logins: orgadmin / orgadmin" in run(
        "manage.py", "seed_demo", "--assemblies", "20", "--create-logins", cwd=site
    )
    settings.write_text(settings.read_text().replace(DEMO_SETTINGS, ""))
    assert "System check identified no issues" in run(
        "manage.py", "check", "--fail-level", "WARNING", cwd=site
    )
