"""Builders for the automatic notices' admin tests: Communication Types and their form's
POST data."""

from __future__ import annotations

import datetime

import factories
from django.urls import reverse
from django.utils import timezone

from wagtail_batchcomms.models import CommunicationType, RunMode, Trigger

TYPES_NS = "wagtailsnippets_wagtail_batchcomms_communicationtype"


def type_url(name: str, *args) -> str:
    return reverse(f"{TYPES_NS}:{name}", args=args)


def communication_type(**fields) -> CommunicationType:
    """A saved type (paused, hold for review, 30 days before due) with a published template."""
    defaults = {
        "name": f"Type {CommunicationType.objects.count() + 1}",
        "trigger": Trigger.BEFORE_DUE,
        "days": 30,
        "mode": RunMode.REVIEW,
        "active": False,
    }
    defaults.update(fields)
    if "template" not in defaults:
        defaults["template"] = factories.notice_template()
    return CommunicationType.objects.create(**defaults)


def type_form(template, **overrides) -> dict:
    """The type form's POST data (scope fields are ``scope-<listing filter>``)."""
    data = {
        "name": "First notice",
        "description": "",
        "template": str(template.pk),
        "trigger": Trigger.BEFORE_DUE,
        "days": "30",
        "requires_type": "",
        "requires_days": "0",
        "response_days": "14",
        "mode": RunMode.REVIEW,
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def due_locations(n: int, *, due_in: int = 20, email: bool = True, **assembly_fields) -> list:
    """``n`` locations, each with an owner (with an email address unless ``email=False``,
    and a mailing address: the location's) and one assembly due in ``due_in`` days."""
    today = timezone.localdate()
    assemblies = []
    for _ in range(n):
        place = factories.location()
        owner = factories.contact(**({} if email else {"email": ""}))
        factories.role(place, owner, "owner", primary=True)
        assemblies.append(
            factories.assembly(
                place,
                last_tested_on=today - datetime.timedelta(days=345),
                next_test_due=today + datetime.timedelta(days=due_in),
                **assembly_fields,
            )
        )
    return assemblies
