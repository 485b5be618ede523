"""seed_demo: deterministic, idempotent, prefix-stable, every compliance status, and logins
with known passwords only with --create-logins on a DEBUG site."""

from __future__ import annotations

import datetime
import io
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.db.models import Count
from django.test import override_settings
from django.urls import reverse

from wagtail_batchcomms.demo.ladder import LADDER, PAST_RUN_DAYS
from wagtail_batchcomms.demo.management.commands.seed_demo import Command as SeedDemo
from wagtail_batchcomms.demo.plan import add_months
from wagtail_batchcomms.demo.seeding import seed_demo
from wagtail_batchcomms.models import (
    Assembly,
    AssemblyType,
    AutomaticNotice,
    Batch,
    CommunicationType,
    ComplianceStatus,
    Contact,
    Letterhead,
    Location,
    LocationContact,
    NoticeTemplate,
    PropertyType,
    RuleRun,
    ServiceArea,
)
from wagtail_batchcomms.notices.language.validation import template_errors

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2025, 3, 14)
DEMO_GROUPS = ["Backflow programme admins", "Notice template editors"]
LIST_URL = reverse("wagtailsnippets_wagtail_batchcomms_assembly:list")


def seed(
    assemblies: int = 400,
    seed: int = 1,
    today: datetime.date = TODAY,
    *,
    logins: bool = False,
) -> str:
    """Run ``seed_demo``; with ``logins``, ``--create-logins`` with DEBUG on for the command."""
    out = io.StringIO()
    args = ["--assemblies", str(assemblies), "--seed", str(seed), "--today", today.isoformat()]
    with override_settings(DEBUG=logins):
        call_command("seed_demo", *args, *(["--create-logins"] if logins else []), stdout=out)
    return out.getvalue()


def wipe_register() -> None:
    # The demo's past automatic notices first: their notices protect the register's rows.
    AutomaticNotice.objects.all().delete()
    Batch.objects.all().delete()
    RuleRun.objects.all().delete()
    CommunicationType.objects.filter(requires_type__isnull=False).delete()
    CommunicationType.objects.all().delete()
    Assembly.objects.all().delete()
    LocationContact.objects.all().delete()
    Contact.objects.all().delete()
    Location.objects.all().delete()
    ServiceArea.objects.all().delete()


def export(client) -> bytes:
    """The whole register as the Assemblies listing's CSV export, in serial number order."""
    exporter, _ = get_user_model().objects.get_or_create(
        username="exporter", defaults={"is_superuser": True, "is_staff": True}
    )
    client.force_login(exporter)
    response = client.get(LIST_URL, {"export": "csv"})
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def snapshot() -> dict[str, list]:
    """Everything the register holds, without primary keys."""
    return {
        "areas": sorted(ServiceArea.objects.values_list("code", "name")),
        "locations": sorted(
            Location.objects.values_list(
                "account_number",
                "name",
                "address_line1",
                "address_line2",
                "city",
                "postal_code",
                "property_type",
                "service_area__code",
                "is_active",
            )
        ),
        "contacts": sorted(
            Contact.objects.values_list(
                "name",
                "organisation",
                "email",
                "phone",
                "prefers_paper",
                "mailing_address_line1",
                "mailing_city",
                "mailing_postal_code",
            )
        ),
        "roles": sorted(
            LocationContact.objects.values_list(
                "location__account_number",
                "contact__name",
                "contact__email",
                "role",
                "is_primary",
            )
        ),
        "assemblies": sorted(
            Assembly.objects.values_list(
                "serial_number",
                "location__account_number",
                "assembly_type",
                "size",
                "manufacturer",
                "model_number",
                "placement",
                "hazard",
                "service_type",
                "installed_on",
                "status",
                "last_tested_on",
                "last_test_result",
                "test_frequency_months",
                "next_test_due",
            )
        ),
    }


def test_same_seed_gives_the_same_register(client):
    seed(400, seed=5)
    first_csv, first = export(client), snapshot()
    wipe_register()  # as good as a fresh database for the register
    seed(400, seed=5)
    assert export(client) == first_csv  # byte for byte
    assert snapshot() == first
    assert first_csv.count(b"\n") == 401


def test_another_seed_gives_another_register(client):
    seed(200, seed=1)
    first = snapshot()
    wipe_register()
    seed(200, seed=2)
    assert snapshot()["assemblies"] != first["assemblies"]


def test_running_twice_adds_nothing():
    first_output = seed(300)
    counts = snapshot()
    second_output = seed(300)
    assert snapshot() == counts
    assert "Seeded in" in first_output
    assert "already seeded" in second_output
    assert NoticeTemplate.objects.count() == 2 + len(LADDER)
    assert CommunicationType.objects.count() == len(LADDER)
    assert Group.objects.filter(name__in=DEMO_GROUPS).count() == 2


def test_without_create_logins_no_users_are_made():
    output = seed(100)
    assert not get_user_model().objects.exists()
    assert "No users created" in output and "--create-logins" in output
    # Everything else is there: register, groups with their permissions, templates, letterhead.
    assert Assembly.objects.count() == 100
    groups = Group.objects.filter(name__in=DEMO_GROUPS)
    assert groups.count() == 2
    for group in groups:
        assert group.permissions.exists(), group
    assert NoticeTemplate.objects.filter(live=True).count() == 2 + len(LADDER)
    assert Letterhead.load().organisation_name == "Riverbend Water"


def test_create_logins_is_refused_when_debug_is_off(settings):
    settings.DEBUG = False
    for extra in (["--create-logins"], ["--create-logins", "--superuser"]):
        with pytest.raises(CommandError, match="refused because DEBUG is off") as refused:
            call_command("seed_demo", "--assemblies", "10", *extra, stdout=io.StringIO())
        assert "orgadmin / orgadmin" in str(refused.value)
    assert not get_user_model().objects.exists()
    assert not Assembly.objects.exists()  # refused before anything was seeded


def test_create_logins_with_debug_on_makes_the_logins(settings):
    settings.DEBUG = True
    out = io.StringIO()
    call_command("seed_demo", "--assemblies", "10", "--create-logins", stdout=out)
    users = get_user_model().objects.order_by("username")
    assert [user.username for user in users] == ["editor", "orgadmin"]
    for user in users:
        assert user.check_password(user.username)
        assert user.groups.count() == 1
    assert "Logins: orgadmin / orgadmin, editor / editor." in out.getvalue()
    assert not users.filter(is_superuser=True).exists()


def test_superuser_needs_create_logins(settings):
    settings.DEBUG = True
    with pytest.raises(CommandError, match="needs --create-logins"):
        call_command("seed_demo", "--assemblies", "10", "--superuser", stdout=io.StringIO())
    assert not get_user_model().objects.exists()


def test_a_bigger_run_tops_up_to_what_a_fresh_seed_of_that_size_holds():
    seed(150)
    output = seed(400)
    assert "created" in output
    topped_up = snapshot()
    assert len(topped_up["assemblies"]) == 400
    wipe_register()
    seed(400)
    assert snapshot() == topped_up


def test_a_smaller_run_removes_nothing():
    seed(300)
    assert "already seeded" in seed(100)
    assert Assembly.objects.count() == 300


def test_a_register_seeded_with_another_seed_is_refused():
    seed(100, seed=1)
    with pytest.raises(CommandError, match="another seed"):
        seed(100, seed=2)
    assert Assembly.objects.count() == 100


def test_every_compliance_status_occurs_in_numbers():
    result = seed_demo(assemblies=800, seed=1)  # around today, as the demo does
    assert not result.already_seeded
    statuses = Counter(
        Assembly.objects.with_compliance().values_list("compliance_status", flat=True)
    )
    for status in ComplianceStatus.values:
        assert statuses[status] >= 20, (status, statuses)


def test_the_register_is_varied_and_consistent():
    seed(1000)
    assert set(Location.objects.values_list("property_type", flat=True)) == set(PropertyType.values)
    assert set(Assembly.objects.values_list("assembly_type", flat=True)) == set(AssemblyType.values)
    assert ServiceArea.objects.count() >= 6
    assert Location.objects.filter(is_active=False).exists()
    assert Location.objects.filter(property_type="irrigation", address_line1="").exists()
    assert Contact.objects.filter(email="").exists()
    assert Contact.objects.filter(prefers_paper=True).exists()
    assert Contact.objects.filter(mailing_address_line1="").exists()
    assert Contact.objects.exclude(mailing_address_line1="").exists()
    roles = set(LocationContact.objects.values_list("role", flat=True))
    assert {"owner", "tenant", "property_manager", "billing", "site_contact"} <= roles
    busiest = (
        Contact.objects.annotate(n=Count("location_roles__location", distinct=True))
        .order_by("-n")
        .first()
    )
    assert busiest.n >= 10  # a property manager with many locations
    assert Assembly.objects.filter(status="removed").exists()
    assert Assembly.objects.filter(last_test_result="fail").exists()
    assert len(set(Assembly.objects.values_list("manufacturer", flat=True))) >= 6
    # Every location has an owner, and at most one primary per role.
    assert not Location.objects.exclude(location_contacts__role="owner").exists()
    primaries = LocationContact.objects.filter(is_primary=True).values("location", "role")
    assert not primaries.annotate(n=Count("pk")).filter(n__gt=1).exists()
    # bulk_create skips save(): the due dates were worked out the way save() does.
    for asm in Assembly.objects.exclude(last_tested_on=None):
        assert asm.next_test_due == add_months(asm.last_tested_on, asm.test_frequency_months)
        assert asm.next_test_due == Assembly.due_after(
            asm.last_tested_on, asm.test_frequency_months
        )
        assert asm.last_tested_on <= TODAY
        assert asm.installed_on is None or asm.installed_on <= asm.last_tested_on
    assert not Assembly.objects.filter(last_tested_on=None).exclude(next_test_due=None).exists()
    for asm in Assembly.objects.all()[:200]:
        asm.full_clean(exclude=["last_tested_on", "installed_on"])  # dates are relative to TODAY


def test_seeded_rows_pass_model_validation():
    seed_demo(assemblies=300, seed=3)  # today: clean() compares with the real today
    for asm in Assembly.objects.select_related("location"):
        asm.full_clean()
    for contact in Contact.objects.all():
        contact.full_clean()
    for location in Location.objects.all():
        location.full_clean()


def test_logins_work_with_the_right_permissions(client):
    seed(100, logins=True)
    assert client.login(username="orgadmin", password="orgadmin")
    assert client.get(LIST_URL).status_code == 200
    assert client.get(reverse("wagtailsnippets_wagtail_batchcomms_contact:list")).status_code == 200
    org_admin = get_user_model().objects.get(username="orgadmin")
    for perm in (
        "wagtail_batchcomms.generate_batch",
        "wagtail_batchcomms.send_batch",
        "wagtail_batchcomms.complete_batch",
        "wagtail_batchcomms.archive_batch",
        "wagtail_batchcomms.clone_batch",
        "wagtail_batchcomms.add_batch",
        "wagtail_batchcomms.view_communication",
        "wagtail_batchcomms.change_letterhead",
        "wagtail_batchcomms.view_noticetemplate",
        "wagtail_batchcomms.delete_assembly",
    ):
        assert org_admin.has_perm(perm), perm
    assert not org_admin.has_perm("wagtail_batchcomms.change_noticetemplate")
    client.logout()
    assert client.login(username="editor", password="editor")
    templates = reverse("wagtailsnippets_wagtail_batchcomms_noticetemplate:list")
    assert client.get(templates).status_code == 200
    editor = get_user_model().objects.get(username="editor")
    for perm in ("publish", "lock", "unlock", "add", "change", "delete"):
        assert editor.has_perm(f"wagtail_batchcomms.{perm}_noticetemplate"), perm
    assert editor.has_perm("wagtail_batchcomms.view_assembly")
    assert not editor.has_perm("wagtail_batchcomms.change_assembly")
    assert not editor.has_perm("wagtail_batchcomms.send_batch")
    assert not get_user_model().objects.filter(is_superuser=True).exists()


def test_superuser_only_when_asked(settings):
    settings.DEBUG = True
    call_command(
        "seed_demo", "--assemblies", "10", "--create-logins", "--superuser", stdout=io.StringIO()
    )
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.check_password("admin")


def test_existing_logins_keep_their_passwords():
    seed(10, logins=True)
    editor = get_user_model().objects.get(username="editor")
    editor.set_password("changed")
    editor.save()
    seed(10, logins=True)
    editor.refresh_from_db()
    assert editor.check_password("changed")


def test_notice_templates_are_published_and_valid():
    seed(10)
    templates = {t.name: t for t in NoticeTemplate.objects.all()}
    assert set(templates) == {"Annual test reminder", "Rule change announcement"} | {
        template["name"] for template, _type in LADDER
    }
    reminder = templates["Annual test reminder"]
    assert reminder.live and reminder.live_revision_id
    assert sorted(reminder.contact_roles) == ["owner", "property_manager"]
    assert (reminder.contact_methods, reminder.first_available_only) == ("both", True)
    announcement = templates["Rule change announcement"]
    assert sorted(announcement.contact_roles) == ["owner", "tenant"]
    assert announcement.first_available_only is False
    for template in templates.values():
        assert template_errors(template) == {}
        kinds = [block.block_type for block in template.body]
        assert kinds.count("signature") == 1 and "assemblies_table" in kinds
    # Not re-created or re-published on the next run, even after an edit.
    reminder.name = "Annual test reminder (edited)"
    reminder.save()
    seed(10)
    assert NoticeTemplate.objects.count() == 2 + len(LADDER)


def test_letterhead_is_filled_once():
    seed(10)
    letterhead = Letterhead.load()
    assert letterhead.organisation_name == "Riverbend Water"
    assert letterhead.return_address_lines[-1] == "Riverbend, IL 62704"
    letterhead.organisation_name = "City of Riverbend"
    letterhead.save()
    seed(10)
    assert Letterhead.load().organisation_name == "City of Riverbend"


SEED_IN_A_FRESH_DATABASE = """
import datetime, io, sys
import django
django.setup()
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client
call_command("migrate", verbosity=0)
call_command("seed_demo", "--assemblies", "300", "--seed", "4", "--today", "2025-03-14",
             stdout=io.StringIO())
client = Client()
client.force_login(get_user_model().objects.create_superuser("exporter", "", "x"))
response = client.get("/admin/snippets/wagtail_batchcomms/assembly/", {"export": "csv"})
sys.stdout.buffer.write(b"".join(response.streaming_content))
"""


@pytest.mark.slow
def test_two_fresh_databases_get_the_same_register(tmp_path):
    """Two processes, each with a new SQLite database, export the same CSV byte for byte."""
    tests_dir = Path(__file__).resolve().parents[1]  # tests/, for testproject
    workers = []
    for name in ("first", "second"):  # side by side: each migrates a database of its own
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("DATABASE_URL", "BATCHCOMMS_TEST_DB_NAME")
        }
        env.update(
            DJANGO_SETTINGS_MODULE="testproject.settings",
            BATCHCOMMS_TEST_DIR=str(tmp_path / name),
            PYTHONPATH=os.pathsep.join([str(tests_dir), env.get("PYTHONPATH", "")]),
        )
        workers.append(
            subprocess.Popen(
                [sys.executable, "-c", SEED_IN_A_FRESH_DATABASE],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        )
    exports = []
    try:
        for worker in workers:
            out, err = worker.communicate(timeout=600)
            assert worker.returncode == 0, err.decode()[-3000:]
            exports.append(out)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    assert exports[0] == exports[1]
    assert exports[0].count(b"\n") == 301  # heading + 300 assemblies


def test_help_says_no_users_without_the_flag():
    help_text = " ".join(SeedDemo().create_parser("manage.py", "seed_demo").format_help().split())
    assert "Creates no users unless --create-logins is given" in help_text
    assert "refused unless settings.DEBUG is on" in help_text


def test_the_notice_ladder_and_its_history():
    """Four Communication Types, each with its own published, valid template; one past run
    whose claims and delivered notices give the Assemblies listing's Last notice column data."""
    seed(1500)
    types = {t.name: t for t in CommunicationType.objects.select_related("template")}
    assert list(types) == sorted(t["name"] for _tpl, t in LADDER)
    first, second = types["First notice"], types["Second notice"]
    final, failed = types["Final notice before shut-off"], types["Failed test notice"]
    assert (first.trigger, first.days, first.mode) == ("before_due", 30, "automatic")
    assert (second.trigger, second.days, second.mode) == ("after_due", 30, "automatic")
    assert (final.trigger, final.days, final.mode) == ("after_due", 60, "review")
    assert (final.requires_type, final.requires_days) == (second, 14)
    assert (failed.trigger, failed.days, failed.mode) == ("failed_test", 7, "automatic")
    assert len({t.template_id for t in types.values()}) == 4
    for ctype in types.values():
        assert ctype.active and ctype.template.live
        assert template_errors(ctype.template) == {}
    run = RuleRun.objects.get()
    assert run.run_date == TODAY - datetime.timedelta(days=PAST_RUN_DAYS)
    claimed = Counter(AutomaticNotice.objects.values_list("communication_type__name", flat=True))
    assert claimed["First notice"] > 0 and claimed["Second notice"] > 0
    notified = Assembly.objects.filter(last_notice__isnull=False)
    assert notified.exists()
    assert not notified.filter(last_notice__status__in=["pending", "failed"]).exists()
    # A second run adds no types, runs or notices.
    seed(1500)
    assert RuleRun.objects.count() == 1 and CommunicationType.objects.count() == 4
