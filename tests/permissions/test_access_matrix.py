"""Every page and export of the package, tried by every kind of user, as an attacker would.

Users: no permission, view-only on each model, add_batch only, the demo org admin and the
demo editor. Pages: the register's inspect pages and exports, Wagtail's snippet choosers
(modal, results, "chosen" JSON), the batch listing, page, progress, history, working list,
communications, skipped CSV, previews, letter downloads, the Communication Log with its export
and inspect view, and the notice template's inspect, revision preview and edit views.

Each user reaches exactly the pages of ``ALLOWED`` and is refused every other one (Wagtail's
"permission denied": a redirect to the dashboard, or 403); the pages they reach hide the rows
of models they may not look at (no contact emails, no communications).
"""

from __future__ import annotations

import html
import re

import factories
import pytest
from batch_admin_data import ADMIN, build_register, generate, make_batch
from django.contrib.auth import get_user_model
from django.urls import reverse

from wagtail_batchcomms.demo.accounts import ensure_demo_accounts
from wagtail_batchcomms.letters.downloads import request_letter_download
from wagtail_batchcomms.models import Batch, Channel, Communication, Contact, Location

pytestmark = pytest.mark.django_db

HOME = "/admin/"
APP = "wagtail_batchcomms"

REGISTER = ("assembly", "location", "contact")
CHOOSERS = ("assembly", "location", "contact", "servicearea", "noticetemplate")
BATCH_READS = ("index", "detail", "progress", "history", "assemblies", "skipped_csv")
BATCH_COMMUNICATIONS = ("communications", "communications_results")
PREVIEWS = ("email", "letter")
LETTER_FILES = ("download", "mailing_list")
LOG = ("log", "log_export", "log_inspect")
TEMPLATE_READS = ("template_list", "template_inspect", "template_revision")


def snippet(model: str, view: str, *args) -> str:
    return reverse(f"wagtailsnippets_{APP}_{model}:{view}", args=args)


def chooser(model: str, view: str, *args) -> str:
    return reverse(f"wagtailsnippetchoosers_{APP}_{model}:{view}", args=args)


@pytest.fixture
def world():
    build_register()
    ensure_demo_accounts()
    maker = factories.user(
        "maker", perms=[ADMIN, *(f"{APP}.{p}_batch" for p in ("add", "generate", "send"))]
    )
    template = factories.notice_template(name="Annual test reminder")
    batch = generate(make_batch(maker, template, name="Spring"), maker)
    download = request_letter_download(batch.pk, user=maker)
    email = Communication.objects.filter(batch=batch, channel=Channel.EMAIL).first()
    letter = Communication.objects.filter(batch=batch, channel=Channel.LETTER).first()
    location = email.location
    return {
        "batch": batch,
        "template": template,
        "download": download,
        "email": email,
        "letter": letter,
        "location": location,
        "contact": email.contact,
        "assembly": location.assemblies.first(),
        "servicearea": location.service_area,
    }


def _perms(*codenames):
    from django.contrib.auth.models import Permission

    return Permission.objects.filter(content_type__app_label=APP, codename__in=codenames)


def pages(world) -> dict[str, str]:
    """Every page and export, by the names ``ALLOWED`` uses."""
    batch = world["batch"]
    found = {}
    for model in REGISTER:
        found[f"{model}:list"] = snippet(model, "list")
        found[f"{model}:export"] = snippet(model, "list") + "?export=csv"
        for view in ("inspect", "history", "usage"):
            found[f"{model}:{view}"] = snippet(model, view, world[model].pk)
    for model in CHOOSERS:
        obj = world["template" if model == "noticetemplate" else model]
        found[f"choose:{model}"] = chooser(model, "choose")
        found[f"choose_results:{model}"] = chooser(model, "choose_results") + "?q=a"
        found[f"chosen:{model}"] = chooser(model, "chosen", obj.pk)
    for name in BATCH_READS:
        args = [] if name == "index" else [batch.pk]
        found[f"batch:{name}"] = reverse(f"{APP}_batch:{name}", args=args)
    for name in ("communications", "communications_results"):
        found[f"batch:{name}"] = reverse(f"{APP}_batch:{name}", args=[batch.pk])
    found["batch:email"] = reverse(f"{APP}_batch:preview_email", args=[world["email"].pk])
    found["batch:letter"] = reverse(f"{APP}_letters:preview", args=[world["letter"].pk])
    found["batch:download"] = reverse(f"{APP}_letters:download", args=[world["download"].pk])
    found["batch:mailing_list"] = reverse(
        f"{APP}_letters:mailing_list", args=[world["download"].pk]
    )
    found["log"] = reverse(f"{APP}_communication:index")
    found["log_export"] = reverse(f"{APP}_communication:index") + "?export=csv"
    found["log_inspect"] = reverse(f"{APP}_communication:inspect", args=[world["email"].pk])
    template = world["template"]
    found["template_list"] = snippet("noticetemplate", "list")
    found["template_inspect"] = snippet("noticetemplate", "inspect", template.pk)
    found["template_revision"] = snippet(
        "noticetemplate", "revisions_view", template.pk, template.live_revision_id
    )
    found["template_edit"] = snippet("noticetemplate", "edit", template.pk)
    found["template_letter_pdf"] = snippet("noticetemplate", "letter_pdf", template.pk)
    return found


def _choosers(*models: str) -> set[str]:
    views = ("choose", "choose_results", "chosen")
    return {f"{view}:{model}" for model in models for view in views}


def _register(*models: str, changes: bool = False) -> set[str]:
    # Wagtail's history and usage views are for users who may change the model.
    views = ("list", "export", "inspect", *(("history", "usage") if changes else ()))
    return {f"{model}:{view}" for model in models for view in views}


BATCH_PAGES = {f"batch:{name}" for name in BATCH_READS}
BATCH_COMMUNICATION_PAGES = {f"batch:{name}" for name in BATCH_COMMUNICATIONS}
PREVIEW_PAGES = {f"batch:{name}" for name in PREVIEWS}
LETTER_PAGES = {f"batch:{name}" for name in LETTER_FILES}

#: user -> the permissions they hold ("demo:<username>": the demo account of that name)
USERS: dict[str, list[str] | str] = {
    "no permission": [ADMIN],
    "view contact": [ADMIN, f"{APP}.view_contact"],
    "view location": [ADMIN, f"{APP}.view_location"],
    "view assembly": [ADMIN, f"{APP}.view_assembly"],
    "view service area": [ADMIN, f"{APP}.view_servicearea"],
    "view communication": [ADMIN, f"{APP}.view_communication"],
    "view batch": [ADMIN, f"{APP}.view_batch"],
    "view notice template": [ADMIN, f"{APP}.view_noticetemplate"],
    "add batch only": [ADMIN, f"{APP}.add_batch"],
    "org admin": "demo:orgadmin",
    "editor": "demo:editor",
}

#: user -> exactly the pages they may open
ALLOWED: dict[str, set[str]] = {
    "no permission": set(),
    "view contact": _register("contact") | _choosers("contact"),
    "view location": _register("location") | _choosers("location"),
    "view assembly": _register("assembly") | _choosers("assembly"),
    "view service area": _choosers("servicearea"),
    "view communication": set(LOG) | PREVIEW_PAGES,
    "view batch": BATCH_PAGES,
    "view notice template": set(TEMPLATE_READS) | _choosers("noticetemplate"),
    "add batch only": set(),
    "org admin": (
        _register(*REGISTER, changes=True)
        | _choosers(*CHOOSERS)
        | BATCH_PAGES
        | BATCH_COMMUNICATION_PAGES
        | PREVIEW_PAGES
        | LETTER_PAGES
        | set(LOG)
        | set(TEMPLATE_READS)
    ),
    "editor": (
        _register("assembly", "location")
        | _choosers("assembly", "location", "noticetemplate")
        | set(TEMPLATE_READS)
        | {"template_edit", "template_letter_pdf"}
    ),
}


def login(client, who: str):
    spec = USERS[who]
    if isinstance(spec, str):
        user = get_user_model().objects.get(username=spec.removeprefix("demo:"))
    else:
        user = factories.user(who.replace(" ", "_"), perms=spec)
    client.force_login(user)
    return user


def refused(response) -> bool:
    return response.status_code == 403 or (
        response.status_code == 302 and response["Location"] == HOME
    )


def reached(name: str, response) -> bool:
    # A letter download that is still being prepared answers 409 with a page saying so:
    # past the permission check, like the file itself would be.
    expected = 409 if name in LETTER_PAGES else 200
    return response.status_code == expected


def test_every_page_is_in_the_matrix(world):
    """A page added to the package without a row here would go untested."""
    every = set(pages(world))
    for who, allowed in ALLOWED.items():
        assert allowed <= every, (who, allowed - every)
    assert every == set().union(*ALLOWED.values())


@pytest.mark.parametrize("who", list(USERS))
def test_each_user_reaches_exactly_the_pages_their_permissions_allow(client, world, who):
    login(client, who)
    before = dict(Batch.objects.values_list("pk", "status"))
    wrong = {}
    for name, url in pages(world).items():
        response = client.get(url, headers={"x-requested-with": "XMLHttpRequest"})
        ok = reached(name, response) if name in ALLOWED[who] else refused(response)
        if not ok:
            wrong[name] = (response.status_code, response.get("Location"))
    assert wrong == {}, who
    assert dict(Batch.objects.values_list("pk", "status")) == before


# --- what the reachable pages show -------------------------------------------------------------


def contact_email(world) -> str:
    return world["contact"].email


@pytest.mark.parametrize(
    ("who", "sees_contacts", "sees_communications"),
    [
        ("view location", False, False),
        ("editor", False, False),
        ("org admin", True, True),
    ],
)
@pytest.mark.parametrize("view", ["inspect", "edit"])
def test_location_pages_show_contacts_and_communications_only_to_who_may_see_them(
    client, world, who, sees_contacts, sees_communications, view
):
    user = login(client, who)
    if view == "edit":
        user.user_permissions.add(*_perms("change_location"))
    location = world["location"]
    html = client.get(snippet("location", view, location.pk)).content.decode()
    assert location.account_number in html
    if view == "inspect":  # (the edit form's inline of roles shows no emails to anyone)
        assert (contact_email(world) in html) is sees_contacts
        assert ("Contacts and roles" in html) is sees_contacts
    else:
        assert contact_email(world) not in html
    assert ("data-object-communications" in html) is sees_communications
    assert (world["batch"].name in html) is sees_communications


@pytest.mark.parametrize(
    ("page", "own", "other", "who", "sees_other"),
    [
        # An assembly's page lists the contacts at its location (with their emails) ...
        ("assembly", "serial_number", "contact.email", "view assembly", False),
        ("assembly", "serial_number", "contact.email", "org admin", True),
        # ... a contact's page the locations they hold roles at.
        ("contact", "email", "location.address_line1", "view contact", False),
        ("contact", "email", "location.address_line1", "org admin", True),
    ],
)
def test_inspect_pages_show_related_rows_only_with_their_models_permission(
    client, world, page, own, other, who, sees_other
):
    login(client, who)
    html = client.get(snippet(page, "inspect", world[page].pk)).content.decode()
    assert getattr(world[page], own) in html
    model, field = other.split(".")
    assert (getattr(world[model], field) in html) is sees_other


@pytest.mark.parametrize(("who", "sees"), [("view batch", False), ("org admin", True)])
def test_the_batch_page_lists_recipients_only_with_the_communication_permission(
    client, world, who, sees
):
    login(client, who)
    batch = world["batch"]
    html = client.get(reverse(f"{APP}_batch:detail", args=[batch.pk])).content.decode()
    assert batch.name in html
    first = Communication.objects.filter(batch=batch).order_by("pk").first()
    assert (first.recipient_name in html) is sees
    communications = reverse(f"{APP}_batch:communications", args=[batch.pk])
    assert (communications in html) is sees
    assert ("data-communications-hidden" in html) is not sees


@pytest.mark.parametrize("who", ["org admin", "view batch"])
def test_the_batch_pages_template_links_never_end_in_permission_denied(client, world, who):
    """An org admin (view, not change, on templates) follows the template and revision
    links: read-only pages, not "Sorry, you do not have permission"."""
    user = login(client, who)
    batch = world["batch"]
    html = client.get(reverse(f"{APP}_batch:detail", args=[batch.pk])).content.decode()
    template = world["template"]
    edit = snippet("noticetemplate", "edit", template.pk)
    inspect = snippet("noticetemplate", "inspect", template.pk)
    revision = snippet("noticetemplate", "revisions_view", template.pk, batch.template_revision_id)
    assert f'href="{edit}"' not in html
    may_look = user.has_perm(f"{APP}.view_noticetemplate")
    assert (f'href="{inspect}"' in html) is may_look
    assert (f'href="{revision}"' in html) is may_look
    if may_look:
        page = client.get(inspect)
        assert page.status_code == 200
        assert template.name in page.content.decode()
        assert client.get(revision).status_code == 200
    listing = client.get(reverse(f"{APP}_batch:index")).content.decode()
    assert f'href="{edit}"' not in listing


def test_add_batch_alone_starts_a_batch_and_lands_back_on_the_assemblies(client, world):
    user = login(client, "add batch only")
    user.user_permissions.add(*_perms("view_assembly"))
    url = reverse(f"{APP}_batch:add") + "?hazard=health"
    form = client.get(url)
    assert form.status_code == 200
    token = form.context["form"]["form_token"].value()
    response = client.post(
        url,
        {
            "name": "Mine",
            "template": world["template"].pk,
            "due_date": world["batch"].due_date.isoformat(),
            "form_token": token,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == snippet("assembly", "list")
    mine = Batch.objects.get(name="Mine")
    assert refused(client.get(reverse(f"{APP}_batch:detail", args=[mine.pk])))


def test_choosers_hide_the_rows_not_only_the_page(client, world):
    """The results endpoint a chooser widget calls, asked directly: no contact's name."""
    login(client, "view location")
    response = client.get(
        chooser("contact", "choose_results") + "?q=Owner",
        headers={"x-requested-with": "XMLHttpRequest"},
    )
    assert refused(response)
    assert b"Owner" not in response.content
    assert Contact.objects.filter(name__startswith="Owner").exists()
    assert Location.objects.exists()


LINK = re.compile(r'href="(/admin/(?:batchcomms|snippets/wagtail_batchcomms)/[^"]*)"')


@pytest.mark.parametrize(
    "who", [who for who, allowed in ALLOWED.items() if allowed - _choosers(*CHOOSERS)]
)
def test_no_link_on_a_reachable_page_ends_in_permission_denied(client, world, who):
    """Every link of the package's pages, followed by the user who sees it: a link to a
    page they may not open should not be there (the batch page's template, its working
    list, the Communication Log's batch column, ...)."""
    login(client, who)
    every = pages(world)
    links = set()
    for name in ALLOWED[who]:
        response = client.get(every[name])
        if response.get("Content-Type", "").startswith("text/html"):
            links |= {html.unescape(href) for href in LINK.findall(response.content.decode())}
    assert links, who
    dead = {}
    for link in sorted(links):
        response = client.get(link)
        if refused(response):
            dead[link] = response.status_code
    assert dead == {}, who
