"""Compliance status at its date boundaries and after a failed test: the annotation, the
filter condition, the listing's filter, Add To Batch, the notices' merge fields, the letters and
the export agree on every assembly."""

from __future__ import annotations

import csv
import datetime
import io

import factories
import pypdf
import pytest
from django.urls import reverse
from django.utils import timezone

from wagtail_batchcomms.letters.rendering import render_letters
from wagtail_batchcomms.models import (
    Assembly,
    AssemblyQuerySet,
    Batch,
    Communication,
    ComplianceStatus,
)
from wagtail_batchcomms.notices import rendering

pytestmark = pytest.mark.django_db

LIST_URL = reverse("wagtailsnippets_wagtail_batchcomms_assembly:list")
ADD = "wagtail_batchcomms_batch:add"
TODAY = timezone.localdate()
LAST_TEST = TODAY - datetime.timedelta(days=300)

#: serial -> (fields, expected status); due dates are set explicitly at the boundaries.
CASES = {
    "DUE-MINUS-400": ({"next_test_due": TODAY - datetime.timedelta(days=400)}, "overdue"),
    "DUE-MINUS-1": ({"next_test_due": TODAY - datetime.timedelta(days=1)}, "overdue"),
    "DUE-TODAY": ({"next_test_due": TODAY}, "due_30"),
    "DUE-PLUS-30": ({"next_test_due": TODAY + datetime.timedelta(days=30)}, "due_30"),
    "DUE-PLUS-31": ({"next_test_due": TODAY + datetime.timedelta(days=31)}, "due_60"),
    "DUE-PLUS-60": ({"next_test_due": TODAY + datetime.timedelta(days=60)}, "due_60"),
    "DUE-PLUS-61": ({"next_test_due": TODAY + datetime.timedelta(days=61)}, "due_90"),
    "DUE-PLUS-90": ({"next_test_due": TODAY + datetime.timedelta(days=90)}, "due_90"),
    "DUE-PLUS-91": ({"next_test_due": TODAY + datetime.timedelta(days=91)}, "compliant"),
    "DUE-PLUS-700": ({"next_test_due": TODAY + datetime.timedelta(days=700)}, "compliant"),
    "NEVER": ({"last_tested_on": None, "last_test_result": "none"}, "never_tested"),
    "NEVER-WITH-DUE": (
        {"last_tested_on": None, "last_test_result": "none", "next_test_due": TODAY},
        "never_tested",
    ),
    "INACTIVE-OVERDUE": (
        {"status": "inactive", "next_test_due": TODAY - datetime.timedelta(days=10)},
        "inactive",
    ),
    # A failed last test: non-compliant whatever the due date, until a passing test.
    "FAILED-DUE-PLUS-300": (
        {"last_test_result": "fail", "next_test_due": TODAY + datetime.timedelta(days=300)},
        "failed_test",
    ),
    "FAILED-DUE-PLUS-10": (
        {"last_test_result": "fail", "next_test_due": TODAY + datetime.timedelta(days=10)},
        "failed_test",
    ),
    "FAILED-OVERDUE": (
        {"last_test_result": "fail", "next_test_due": TODAY - datetime.timedelta(days=10)},
        "failed_test",
    ),
    "FAILED-INACTIVE": (
        {"status": "inactive", "last_test_result": "fail", "next_test_due": TODAY},
        "inactive",
    ),
    # Tested, result not recorded: the dates decide.
    "NO-RESULT-DUE-PLUS-200": (
        {"last_test_result": "none", "next_test_due": TODAY + datetime.timedelta(days=200)},
        "compliant",
    ),
    "REMOVED-NEVER": (
        {"status": "removed", "last_tested_on": None, "last_test_result": "none"},
        "inactive",
    ),
}


@pytest.fixture
def assemblies():
    location = factories.location()
    made = {}
    for serial, (fields, _) in CASES.items():
        made[serial] = factories.assembly(
            location, serial_number=serial, **{"last_tested_on": LAST_TEST, **fields}
        )
    # Tested, but the due date was never worked out (a bulk import): counts as overdue.
    made["DUE-UNKNOWN"] = factories.assembly(location, serial_number="DUE-UNKNOWN")
    Assembly.objects.filter(pk=made["DUE-UNKNOWN"].pk).update(next_test_due=None)
    return made


EXPECTED = {serial: status for serial, (_, status) in CASES.items()} | {"DUE-UNKNOWN": "overdue"}


def test_the_annotation_gives_each_boundary_its_status(assemblies):
    annotated = dict(
        Assembly.objects.with_compliance().values_list("serial_number", "compliance_status")
    )
    assert annotated == EXPECTED


def test_the_annotated_rank_follows_the_status_order(assemblies):
    for asm in Assembly.objects.with_compliance():
        assert asm.compliance_rank == ComplianceStatus.rank(asm.compliance_status)


@pytest.mark.parametrize("status", ComplianceStatus.values)
def test_filter_condition_selects_what_the_annotation_says(assemblies, status):
    by_condition = set(
        Assembly.objects.in_compliance_status(status).values_list("serial_number", flat=True)
    )
    by_annotation = set(
        Assembly.objects.with_compliance()
        .filter(compliance_status=status)
        .values_list("serial_number", flat=True)
    )
    assert by_condition == by_annotation == {s for s, v in EXPECTED.items() if v == status}
    assert by_condition  # every status has a case


def test_statuses_partition_the_register(assemblies):
    seen: list[str] = []
    for status in ComplianceStatus.values:
        seen += Assembly.objects.in_compliance_status(status).values_list(
            "serial_number", flat=True
        )
    assert sorted(seen) == sorted(EXPECTED)


def test_several_statuses_at_once(assemblies):
    chosen = Assembly.objects.in_compliance_status("overdue", "never_tested")
    assert set(chosen.values_list("serial_number", flat=True)) == {
        s for s, v in EXPECTED.items() if v in ("overdue", "never_tested")
    }


def test_an_explicit_today_moves_the_boundaries(assemblies):
    tomorrow = TODAY + datetime.timedelta(days=1)
    annotated = dict(
        Assembly.objects.with_compliance(today=tomorrow).values_list(
            "serial_number", "compliance_status"
        )
    )
    assert annotated["DUE-TODAY"] == "overdue"
    assert annotated["DUE-PLUS-31"] == "due_30"
    assert annotated["DUE-PLUS-91"] == "due_90"
    assert set(
        Assembly.objects.in_compliance_status("overdue", today=tomorrow).values_list(
            "serial_number", flat=True
        )
    ) == {"DUE-MINUS-400", "DUE-MINUS-1", "DUE-TODAY", "DUE-UNKNOWN"}


@pytest.mark.parametrize("status", ComplianceStatus.values)
def test_the_listing_filter_and_column_agree(admin_client, assemblies, status):
    response = admin_client.get(LIST_URL, {"compliance": status})
    html = response.content.decode()
    label = str(ComplianceStatus(status).label)
    for serial, expected in EXPECTED.items():
        assert (f">{serial}<" in html) is (expected == status), serial
    assert html.count(f">{label}</span>") == sum(v == status for v in EXPECTED.values())


def test_the_listing_sorts_by_compliance(admin_client, assemblies):
    response = admin_client.get(LIST_URL, {"ordering": "compliance_rank"})
    html = response.content.decode()
    positions = {serial: html.index(f">{serial}<") for serial in EXPECTED}
    order = sorted(EXPECTED, key=positions.get)
    ranks = [ComplianceStatus.rank(EXPECTED[serial]) for serial in order]
    assert ranks == sorted(ranks)


def test_queryset_class_is_the_manager_queryset():
    assert isinstance(Assembly.objects.all(), AssemblyQuerySet)


# --- a failed test, everywhere the status shows ------------------------------------------------

FAILED = sorted(s for s, v in EXPECTED.items() if v == "failed_test")


def _csv_rows(response) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def test_a_failed_test_agrees_in_filter_dry_run_batch_letters_and_export(
    admin_client, admin_user, assemblies
):
    """The listing filter, Add To Batch's count (its dry run) and working list, the merge
    fields of the notices, the letter PDF and the CSV export all say "Failed last test" for
    the same assemblies, whatever their due dates."""
    query = "compliance=failed_test"
    confirm = admin_client.get(reverse(ADD) + "?" + query)
    assert f'data-assembly-count="{len(FAILED)}"' in confirm.content.decode()

    template = factories.notice_template(
        body=[
            ("paragraph", "<p>Dear {{ contact.name }}</p>"),
            (
                "assemblies_table",
                {"heading": "Assemblies", "columns": ["serial_number", "compliance_status"]},
            ),
        ],
        contact_methods="letter",
        first_available_only=False,
    )
    due = TODAY + datetime.timedelta(days=30)
    response = admin_client.post(
        reverse(ADD) + "?" + query,
        {"name": "Failed tests", "template": template.pk, "due_date": due.isoformat()},
    )
    assert response.status_code == 302
    batch = Batch.objects.get(name="Failed tests")
    serials = sorted(batch.assemblies.values_list("serial_number", flat=True))
    assert serials == FAILED

    # A notice to the location (they all share one), as generation would leave it.
    Batch.objects.filter(pk=batch.pk).update(template_revision_id=template.live_revision_id)
    batch.refresh_from_db()
    person = factories.contact(name="Dana Whitfield")
    letter = Communication.objects.create(
        batch=batch,
        location=assemblies[FAILED[0]].location,
        contact=person,
        role="owner",
        channel="letter",
        recipient_name=person.name,
        address_line1="12 Mill Road",
        city="Riverbend",
        state="IL",
        postal_code="62701",
    )
    data = rendering.build_merge_data(letter)
    assert {
        a["serial_number"]: a["compliance_status"] for a in data["assemblies"]
    } == dict.fromkeys(FAILED, "Failed last test")
    buffer = io.BytesIO()
    render_letters([letter], buffer)
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(buffer).pages)
    for serial in FAILED:
        assert serial in text
    assert text.count("Failed last test") == len(FAILED)
    assert "Compliant" not in text and "Overdue" not in text

    export = admin_client.get(LIST_URL, {"compliance": "failed_test", "export": "csv"})
    rows = _csv_rows(export)
    assert sorted(row["Serial number"] for row in rows) == FAILED
    assert {row["Compliance status"] for row in rows} == {"Failed last test"}


def test_a_passing_test_ends_the_failed_status(assemblies):
    failed = assemblies["FAILED-DUE-PLUS-10"]
    assert Assembly.objects.with_compliance().get(pk=failed.pk).compliance_status == "failed_test"
    # The retest after the repair passes: the dates decide again.
    Assembly.objects.filter(pk=failed.pk).update(
        last_test_result="pass",
        last_tested_on=TODAY,
        next_test_due=TODAY + datetime.timedelta(days=365),
    )
    assert Assembly.objects.with_compliance().get(pk=failed.pk).compliance_status == "compliant"
    assert not Assembly.objects.in_compliance_status("failed_test").filter(pk=failed.pk).exists()
