"""The import's admin pages: the whole flow through the test client, the mapping step (and
its remembering), the template and errors files, the menu item, and refusals."""

from __future__ import annotations

import csv
import io

import factories
import pytest
from import_data import checked, csv_bytes, row, upload

from wagtail_batchcomms.imports.columns import DEFAULT_HEADERS, guess_mapping
from wagtail_batchcomms.models import Assembly, ImportRun, ImportStatus

pytestmark = pytest.mark.django_db

IMPORTER = [factories.ADMIN_ACCESS, "wagtail_batchcomms.import_importrun"]
INDEX = "/admin/batchcomms/imports/"


@pytest.fixture(autouse=True)
def _private(private_root):
    return private_root


@pytest.fixture
def importer(client):
    user = factories.user("importer", perms=IMPORTER)
    client.force_login(user)
    return user


def test_upload_map_dry_run_and_import(client, importer):
    response = client.get(INDEX)
    assert response.status_code == 200
    assert b"Import a file" in response.content
    response = client.post(INDEX + "new/", {"file": upload(csv_bytes([row()]))})
    run = ImportRun.objects.get()
    assert response.status_code == 302 and response.url.endswith(f"/{run.pk}/columns/")
    page = client.get(response.url)
    assert page.status_code == 200
    mapping = {name: name for name in DEFAULT_HEADERS}
    response = client.post(f"{INDEX}{run.pk}/columns/", mapping)
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == ImportStatus.CHECKED
    page = client.get(f"{INDEX}{run.pk}/")
    assert b"data-import-counts" in page.content and b"data-import-button" in page.content
    assert Assembly.objects.count() == 0
    response = client.post(f"{INDEX}{run.pk}/import/", follow=True)
    assert "was imported" in response.content.decode()
    assert Assembly.objects.count() == 1


def test_mapping_from_the_files_own_headers_and_remembered_per_user(client, importer):
    headers = ["Acct #", "Premise Name", "Device Serial", "Make", "Device Type", "Size (in)"]
    content = "\n".join([",".join(headers), "A1,Shop,S1,Watts,RP,2"]).encode()
    # The labels of ours match loosely ("Serial number" is not "Device Serial": unmapped).
    assert guess_mapping(headers) == {}
    client.post(INDEX + "new/", {"file": upload(content)})
    run = ImportRun.objects.get()
    mapping = {
        "account_number": "Acct #",
        "location_name": "Premise Name",
        "serial_number": "Device Serial",
        "manufacturer": "Make",
        "assembly_type": "Device Type",
        "size": "Size (in)",
    }
    client.post(f"{INDEX}{run.pk}/columns/", mapping)
    run.refresh_from_db()
    assert run.mapping == mapping
    # A new assembly at a new location needs more than this file has: errors, per row.
    assert {e["message"] for e in run.errors} >= {"A new location needs its property type"}
    client.post(INDEX + "new/", {"file": upload(content)})
    second = ImportRun.objects.exclude(pk=run.pk).get()
    assert second.mapping == mapping, "the mapping starts from the user's last one"


def test_a_mapping_without_account_number_is_refused(client, importer):
    client.post(INDEX + "new/", {"file": upload(csv_bytes([row()]))})
    run = ImportRun.objects.get()
    response = client.post(f"{INDEX}{run.pk}/columns/", {"serial_number": "serial_number"})
    assert response.status_code == 200
    assert "Map a column to the account number" in response.content.decode()
    run.refresh_from_db()
    assert run.status == ImportStatus.UPLOADED


def test_headers_matched_by_our_labels():
    assert guess_mapping(["Account Number", "SERIAL-NUMBER", "Last tested on"]) == {
        "account_number": "Account Number",
        "serial_number": "SERIAL-NUMBER",
        "last_tested_on": "Last tested on",
    }


def test_template_file_has_the_default_headers(client, importer):
    response = client.get(INDEX + "template.csv")
    assert response["Content-Disposition"].startswith("attachment")
    assert next(csv.reader(io.StringIO(response.content.decode()))) == list(DEFAULT_HEADERS)


def test_errors_csv_is_formula_guarded(client, importer):
    run = checked([row(assembly_type='=HYPERLINK("http://x")'), row(size="+7")])
    response = client.get(f"{INDEX}{run.pk}/errors.csv")
    assert response.status_code == 200
    lines = list(csv.reader(io.StringIO(response.content.decode())))
    assert lines[0] == ["Row", "Column", "Value", "Problem"]
    values = [line[2] for line in lines[1:]]
    assert values == ['\'=HYPERLINK("http://x")', "'+7"]
    assert all(not cell.startswith(("=", "+", "-", "@")) for line in lines for cell in line)


def test_menu_item_under_assemblies(client, importer):
    response = client.get("/admin/")
    assert INDEX.encode() in response.content


@pytest.mark.parametrize(
    "perms",
    [[factories.ADMIN_ACCESS], [factories.ADMIN_ACCESS, "wagtail_batchcomms.add_assembly"]],
    ids=["no permission", "register rights are not import rights"],
)
def test_refused_without_the_import_permission(client, perms):
    owner = factories.user("owner", superuser=True)
    run = checked([row()], owner)
    client.force_login(factories.user("someone", perms=perms))
    for url in (
        INDEX,
        INDEX + "new/",
        INDEX + "template.csv",
        f"{INDEX}{run.pk}/",
        f"{INDEX}{run.pk}/columns/",
        f"{INDEX}{run.pk}/progress/",
        f"{INDEX}{run.pk}/errors.csv",
        f"{INDEX}history/{run.pk}/",
    ):
        response = client.get(url)
        assert response.status_code in (302, 403), url
        assert response.status_code == 403 or "/admin/login" not in response.url
    for url in (f"{INDEX}{run.pk}/import/", f"{INDEX}{run.pk}/check/", INDEX + "new/"):
        assert client.post(url).status_code in (302, 403)
    run.refresh_from_db()
    assert run.status == ImportStatus.CHECKED
    assert Assembly.objects.count() == 0
    assert INDEX.encode() not in client.get("/admin/").content


def test_the_permission_is_in_the_group_editor(admin_client):
    from django.contrib.auth.models import Group

    group = Group.objects.create(name="Importers")
    response = admin_client.get(f"/admin/groups/edit/{group.pk}/")
    assert "Can import the register" in response.content.decode()
