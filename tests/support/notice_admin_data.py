"""The notice template admin's URLs and a valid add/edit form, for every test that posts one."""

from __future__ import annotations

from django.urls import reverse
from wagtail.test.utils.form_data import nested_form_data, rich_text, streamfield

NS = "wagtailsnippets_wagtail_batchcomms_noticetemplate"


def url(name, *args):
    return reverse(f"{NS}:{name}", args=args)


def form_data(subject="Test due {{ batch.due_date }}", paragraphs=None, **extra):
    paragraphs = paragraphs or ["<p>Dear {{ contact.name }},</p>"]
    data = nested_form_data(
        {
            "name": extra.pop("name", "Annual test reminder"),
            "description": "",
            "subject": subject,
            "body": streamfield([("paragraph", rich_text(p)) for p in paragraphs]),
            "contact_methods": "both",
            "first_available_only": "on",
            "grouping": "location",
            "cc": "",
            "bcc": "",
        }
    )
    data["contact_roles"] = ["owner", "tenant"]
    data.update(extra)
    return data
