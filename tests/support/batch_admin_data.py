"""Builders for the admin view tests: a small varied register, users, batches in each state.

Batches reach their states through the real services (create, start_generation, then the
generation service run in-process, complete, archive): no state is written by hand.

Also a pytest plugin (``conftest.py``): the fixtures ``register`` (``build_register()``),
``admin`` (an org admin, not a superuser), ``web`` (the test client logged in as ``admin``)
and ``template`` (a published "Annual test reminder"). A test module may define its own.
"""

from __future__ import annotations

import datetime
import re

import factories
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from wagtail_batchcomms.batches import generation, lifecycle
from wagtail_batchcomms.models import Assembly, Batch

BATCH_PERMS = [
    "wagtail_batchcomms.add_batch",
    "wagtail_batchcomms.change_batch",
    "wagtail_batchcomms.delete_batch",
    "wagtail_batchcomms.view_batch",
    "wagtail_batchcomms.generate_batch",
    "wagtail_batchcomms.send_batch",
    "wagtail_batchcomms.complete_batch",
    "wagtail_batchcomms.archive_batch",
    "wagtail_batchcomms.clone_batch",
]
REGISTER_PERMS = [
    "wagtail_batchcomms.view_assembly",
    "wagtail_batchcomms.change_assembly",
    "wagtail_batchcomms.view_location",
    "wagtail_batchcomms.change_location",
    "wagtail_batchcomms.view_contact",
    "wagtail_batchcomms.change_contact",
]
ADMIN = "wagtailadmin.access_admin"


def org_admin(username: str = "orgadmin", extra: list[str] = ()):
    """A non-superuser with every batch permission, the register, the log and a read-only
    view of notice templates."""
    return factories.user(
        username,
        perms=[
            ADMIN,
            *BATCH_PERMS,
            *REGISTER_PERMS,
            "wagtail_batchcomms.view_communication",
            # Releasing a batch held for review is a batch action too.
            "wagtail_batchcomms.review_rulerun",
            # The batch page's template and revision links (read-only, like the demo group).
            "wagtail_batchcomms.view_noticetemplate",
            *extra,
        ],
    )


def due_date(days: int = 30) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=days)


def build_register() -> dict:
    """Two service areas; health/non-health, commercial/residential; email and paper owners.

    12 locations with one or two assemblies each; every location has an owner, half of them
    with email, the rest on paper; location 0 has no contact at all (skipped: no contact).
    """
    north = factories.service_area("North", "N")
    south = factories.service_area("South", "S")
    today = timezone.localdate()
    locations = []
    for i in range(12):
        loc = factories.location(
            account_number=f"AC-{i:04d}",
            service_area=north if i % 2 == 0 else south,
            property_type="commercial" if i % 3 else "residential",
            city="Riverbend" if i < 6 else "Lakeside",
        )
        locations.append(loc)
        if i:
            owner = factories.contact(
                name=f"Owner {i:02d}",
                email=f"owner{i}@example.com" if i % 2 else "",
                prefers_paper=not i % 2,
            )
            factories.role(loc, owner, "owner", primary=True)
        factories.assembly(
            loc,
            serial_number=f"SN-{i:04d}-A",
            hazard="health" if i % 2 else "non_health",
            last_tested_on=today - datetime.timedelta(days=400 if i % 4 == 0 else 100),
        )
        if i % 3 == 0:
            factories.assembly(
                loc,
                serial_number=f"SN-{i:04d}-B",
                hazard="non_health",
                assembly_type="DC",
                status="inactive" if i == 9 else "active",
            )
    return {"north": north, "south": south, "locations": locations}


def make_batch(user, template=None, assemblies=None, name="Spring notices", **fields) -> Batch:
    return lifecycle.create_batch(
        user=user,
        name=name,
        template=template if template is not None else factories.notice_template(),
        due_date=fields.pop("due_date", due_date()),
        assemblies=assemblies if assemblies is not None else Assembly.objects.all(),
        filter_query=fields.pop("filter_query", ""),
    )


def generate(batch: Batch, user) -> Batch:
    """Open -> Generating -> Generated through the services; the task body runs in-process."""
    batch = lifecycle.start_generation(batch.pk, user=user)
    generation.generate(batch.pk, batch.task_token)
    batch.refresh_from_db()
    return batch


def count_queries(callable_) -> tuple[int, object]:
    """Queries run by ``callable_()``; call once before to warm per-process caches."""
    with CaptureQueriesContext(connection) as context:
        result = callable_()
    return len(context.captured_queries), result


def messages_of(response) -> list[str]:
    """The Django messages added by a request (follow=False keeps them on the response)."""
    return [str(message) for message in response.wsgi_request._messages]


def header_button_href(html: str, marker: str = "data-add-to-batch") -> str | None:
    """The href of the header button carrying ``marker`` (HTML-unescaped)."""
    import html as html_module

    for tag in re.findall(r"<a\b[^>]*>", html):
        if marker in tag:
            match = re.search(r'href="([^"]*)"', tag)
            return html_module.unescape(match.group(1)) if match else None
    return None


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def register(db) -> dict:
    return build_register()


@pytest.fixture
def admin(db):
    return org_admin()


@pytest.fixture
def web(client, admin):
    client.force_login(admin)
    return client


@pytest.fixture
def template(db):
    return factories.notice_template(name="Annual test reminder")
