"""Small builders for test data. Plain functions over the real models; no mocks."""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from wagtail_batchcomms.models import (
    Assembly,
    Contact,
    Location,
    LocationContact,
    NoticeTemplate,
    ServiceArea,
)

_seq = itertools.count(1)


def service_area(name: str | None = None, code: str | None = None) -> ServiceArea:
    n = next(_seq)
    return ServiceArea.objects.create(name=name or f"Zone {n}", code=code or f"Z{n}")


def location(**fields) -> Location:
    n = next(_seq)
    defaults = {
        "account_number": f"ACC-{n:06d}",
        "address_line1": f"{n} Main Street",
        "city": "Riverbend",
        "state": "IL",
        "postal_code": "62701",
        "property_type": "commercial",
        "is_active": True,
    }
    defaults.update(fields)
    return Location.objects.create(**defaults)


def contact(**fields) -> Contact:
    n = next(_seq)
    defaults = {"name": f"Contact {n}", "email": f"contact{n}@example.com"}
    defaults.update(fields)
    return Contact.objects.create(**defaults)


def role(location: Location, contact: Contact, role: str = "owner", primary: bool = False):
    return LocationContact.objects.create(
        location=location, contact=contact, role=role, is_primary=primary
    )


def assembly(location: Location | None = None, **fields) -> Assembly:
    n = next(_seq)
    today = timezone.localdate()
    defaults = {
        "serial_number": f"SN{n:07d}",
        "location": location or globals()["location"](),
        "assembly_type": "RP",
        "size": Decimal("1.00"),
        "manufacturer": "Watts",
        "model_number": "909",
        "hazard": "health",
        "service_type": "domestic",
        "status": "active",
        "last_tested_on": today - datetime.timedelta(days=200),
        "last_test_result": "pass",
        "test_frequency_months": 12,
    }
    defaults.update(fields)
    return Assembly.objects.create(**defaults)


def notice_template(*, publish: bool = True, **fields) -> NoticeTemplate:
    """A notice template with a one-paragraph body, published unless ``publish=False``.

    Pass contact rules as fields: ``contact_roles``, ``primary_only``, ``contact_methods``,
    ``first_available_only``, ``grouping``.
    """
    n = next(_seq)
    defaults = {
        "name": f"Notice {n}",
        "subject": "Backflow test due {{ batch.due_date }}",
        "body": [("paragraph", "<p>Dear {{ contact.name }},</p>")],
        "contact_roles": ["owner"],
        "contact_methods": "both",
        "first_available_only": True,
    }
    defaults.update(fields)
    template = NoticeTemplate(live=False, **defaults)
    template.save()
    if publish:
        template.save_revision().publish()
        template.refresh_from_db()
    return template


def user(username: str = "user", *, superuser: bool = False, perms: list[str] = (), **fields):
    """A user; ``perms`` are "app_label.codename" strings, given through a group."""
    User = get_user_model()
    u = User.objects.create_user(
        username=username,
        password="password",
        email=f"{username}@example.com",
        is_superuser=superuser,
        is_staff=superuser,
        **fields,
    )
    if perms:
        group, _ = Group.objects.get_or_create(name=f"group-{username}")
        for perm in perms:
            app_label, codename = perm.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        u.groups.add(group)
    return u


ADMIN_ACCESS = "wagtailadmin.access_admin"


def wall_clock(moment: datetime.datetime) -> str:
    """How the admin pages show a moment: "23:57" on today's (local) date, and with its date
    before, e.g. "Nov. 26, 2026, 23:57", so that a test run just after local midnight holds."""
    from django.utils.formats import date_format

    local = timezone.localtime(moment)
    if local.date() == timezone.localdate():
        return f"{local:%H:%M}"
    return f"{date_format(local.date())}, {local:%H:%M}"
