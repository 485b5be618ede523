"""Demo groups, their logins, the letterhead and two published notice templates.

Each ``ensure_*`` function creates only what is missing, so ``seed_demo`` can run again. The
logins have known passwords (``orgadmin / orgadmin``, ``editor / editor``): only
``seed_demo --create-logins`` on a ``DEBUG`` site makes them.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import models

from wagtail_batchcomms.models import (
    Assembly,
    Batch,
    Communication,
    CommunicationType,
    Contact,
    Letterhead,
    Location,
    NoticeTemplate,
    RuleRun,
    ServiceArea,
)

ORG_ADMINS = "Backflow programme admins"
EDITORS = "Notice template editors"
CRUD = ("add", "change", "delete", "view")
BATCH_ACTIONS = ("generate", "send", "complete", "archive", "clone")

#: username -> (password, group, first name, last name)
DEMO_USERS = {
    "orgadmin": ("orgadmin", ORG_ADMINS, "Olivia", "Admin"),
    "editor": ("editor", EDITORS, "Eddie", "Editor"),
}


def _permission(model: type[models.Model], action: str) -> Permission:
    content_type = ContentType.objects.get_for_model(model)
    return Permission.objects.get(
        content_type=content_type, codename=f"{action}_{model._meta.model_name}"
    )


def group_permissions() -> dict[str, list[Permission]]:
    """The permissions of the two demo groups."""
    access_admin = Permission.objects.get(
        content_type__app_label="wagtailadmin", codename="access_admin"
    )
    register = [Assembly, Location, Contact, ServiceArea]
    org_admins = [
        access_admin,
        *[_permission(model, action) for model in register for action in CRUD],
        _permission(NoticeTemplate, "view"),
        *[_permission(Batch, action) for action in (*CRUD, *BATCH_ACTIONS)],
        _permission(Communication, "view"),
        _permission(Communication, "log"),
        _permission(Communication, "mark_returned"),
        _permission(Letterhead, "change"),
        # The automatic notices: their types, and reviewing and releasing the runs' batches.
        *[_permission(CommunicationType, action) for action in CRUD],
        _permission(RuleRun, "view"),
        _permission(RuleRun, "review"),
    ]
    editors = [
        access_admin,
        *[
            _permission(NoticeTemplate, action)
            for action in ("add", "change", "delete", "publish", "lock", "unlock")
        ],
        _permission(Assembly, "view"),
        _permission(Location, "view"),
    ]
    return {ORG_ADMINS: org_admins, EDITORS: editors}


def ensure_demo_groups() -> dict[str, Group]:
    """Create the two demo groups and reset their permissions; return them by name."""
    groups = {}
    for name, permissions in group_permissions().items():
        groups[name], _ = Group.objects.get_or_create(name=name)
        groups[name].permissions.set(permissions)
    return groups


def ensure_demo_accounts(*, superuser: bool = False) -> dict:
    """Create the demo groups and the logins with known passwords; return the logins by name.

    Existing users keep their passwords; they are only put back in their group. With
    ``superuser``, also the superuser ``admin / admin``.
    """
    User = get_user_model()
    groups = ensure_demo_groups()
    users = {}
    for username, (password, group, first, last) in DEMO_USERS.items():
        user = User.objects.filter(**{User.USERNAME_FIELD: username}).first()
        if user is None:
            user = User.objects.create_user(
                username,
                email=f"{username}@riverbend-water.example",
                password=password,
                first_name=first,
                last_name=last,
            )
        user.groups.add(groups[group])
        users[username] = user
    if superuser and not User.objects.filter(**{User.USERNAME_FIELD: "admin"}).exists():
        User.objects.create_superuser("admin", "admin@riverbend-water.example", "admin")
    return users


def ensure_letterhead() -> Letterhead:
    """Fill the letterhead with Riverbend Water's details unless it has an organisation name."""
    letterhead = Letterhead.load()
    if not letterhead.organisation_name:
        letterhead.organisation_name = "Riverbend Water"
        letterhead.return_address = (
            "Cross-Connection Control Program\n400 Water St\nRiverbend, IL 62704"
        )
        letterhead.phone = "(217) 555-0140"
        letterhead.email = "backflow@riverbend-water.example"
        letterhead.website = "https://riverbend-water.example/backflow"
        letterhead.signature_name = "Dana Whitfield"
        letterhead.signature_title = "Cross-Connection Control Coordinator"
        letterhead.footer_text = (
            "Riverbend Water · Cross-Connection Control Program · "
            "Testing reports: backflow@riverbend-water.example · (217) 555-0140"
        )
        letterhead.save()
    return letterhead


def _paragraph(html: str) -> dict:
    return {"type": "paragraph", "value": html}


def _table(heading: str, columns: list[str]) -> dict:
    return {"type": "assemblies_table", "value": {"heading": heading, "columns": columns}}


SIGNATURE = {
    "type": "signature",
    "value": {"closing": "Sincerely,", "use_letterhead": True, "name": "", "title": ""},
}
COLUMNS = ["serial_number", "type", "size", "placement", "next_test_due"]

NOTICE_TEMPLATES = [
    {
        "name": "Annual test reminder",
        "description": "Yearly reminder to owners and managers to have their assemblies tested.",
        "subject": (
            "Backflow test due by {{ batch.due_date }} (account {{ location.account_number }})"
        ),
        "contact_roles": ["owner", "property_manager"],
        "contact_methods": "both",
        "first_available_only": True,
        "grouping": "location",
        "body": [
            _paragraph("<p>Dear {{ contact.name }},</p>"),
            _paragraph(
                "<p>Our records show that the backflow prevention assemblies listed below at "
                "{{ location.address }} (account {{ location.account_number }}) are due for "
                "their annual test. The city's cross-connection control ordinance requires "
                "each assembly to be tested once a year by a certified tester.</p>"
            ),
            _table("Assemblies due for testing", COLUMNS),
            _paragraph(
                "<p>Please have each assembly tested by <b>{{ batch.due_date }}</b> and ask "
                "your tester to send us the test report. If an assembly has been removed or "
                "replaced, let us know so we can update our records.</p>"
            ),
            SIGNATURE,
        ],
    },
    {
        "name": "Rule change announcement",
        "description": "One-off announcement of the new testing rules to owners and tenants.",
        "subject": "Changes to Riverbend's backflow testing rules",
        "contact_roles": ["owner", "tenant"],
        "contact_methods": "both",
        "first_available_only": False,
        "grouping": "location",
        "body": [
            _paragraph("<p>Dear {{ contact.name }},</p>"),
            _paragraph(
                "<p>From {{ batch.due_date }}, test reports for backflow prevention assemblies "
                "must be submitted online by the certified tester within 10 days of the test. "
                "Paper reports will no longer be accepted.</p>"
            ),
            _paragraph(
                "<p>This applies to the assemblies at {{ location.address }} "
                "(account {{ location.account_number }}):</p>"
            ),
            _table("", ["serial_number", "type", "size", "placement"]),
            _paragraph("<p>You do not need to do anything else until the next test is due.</p>"),
            SIGNATURE,
        ],
    },
]


def ensure_notice_templates(user=None) -> int:
    """Create the two demo notice templates when there are none, published by ``user``.

    ``user`` is the demo editor when the logins were made, else ``None`` (the revisions and
    their history then name no user). Returns how many were created.
    """
    if NoticeTemplate.objects.exists():
        return 0
    for spec in NOTICE_TEMPLATES:
        template = NoticeTemplate(**spec)
        template.live = False
        template.save()
        template.save_revision(user=user).publish(user=user)
    return len(NOTICE_TEMPLATES)
