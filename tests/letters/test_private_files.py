"""Letter files are private on disk: the PDF, the mailing list and the chunks are 0600 and
every folder of the private storage (its root too) 0700, whatever the process umask, also
when the root was made by hand with 0755. Checked with ``os.stat`` after a real download
was rendered (WeasyPrint, pypdf merge) and fetched through the download views."""

from __future__ import annotations

import os
import stat

import factories
import letters_data as data
import pytest
from django.urls import reverse

from wagtail_batchcomms.letters import chunks as letter_chunks
from wagtail_batchcomms.letters import downloads as letter_service
from wagtail_batchcomms.models import LetterChunk
from wagtail_batchcomms.storage import letter_storage

pytestmark = pytest.mark.django_db

SENDER_PERMS = [
    factories.ADMIN_ACCESS,
    "wagtail_batchcomms.view_batch",
    "wagtail_batchcomms.send_batch",
]


@pytest.fixture(params=[0o022, 0o002, 0o000], ids=["umask-022", "umask-002", "umask-000"])
def umask(request):
    previous = os.umask(request.param)
    yield request.param
    os.umask(previous)


def modes(root) -> dict[str, int]:
    """Every folder and file under ``root`` (and root itself) with its permission bits."""
    found = {".": stat.S_IMODE(os.stat(root).st_mode)}
    for folder, folders, files in os.walk(root):
        for name in folders + files:
            path = os.path.join(folder, name)
            found[os.path.relpath(path, root)] = stat.S_IMODE(os.stat(path).st_mode)
    return found


@pytest.mark.parametrize("root_made_by_hand", [False, True], ids=["new-root", "root-0755"])
def test_letter_files_are_0600_in_0700_folders(client, private_root, umask, root_made_by_hand):
    if root_made_by_hand:
        private_root.mkdir(mode=0o755)
        os.chmod(private_root, 0o755)  # noqa: S103 (as a host might have made it)
    sender = factories.user("sender", perms=SENDER_PERMS)
    download = data.ready_download(sender, count=3)
    client.force_login(sender)
    for name in ("download", "mailing_list"):
        response = client.get(reverse(f"wagtail_batchcomms_letters:{name}", args=[download.pk]))
        assert response.status_code == 200
        b"".join(response.streaming_content)

    found = modes(private_root)
    files = {path for path in found if os.path.isfile(private_root / path)}
    assert {download.file, download.mailing_list} <= files
    assert letter_storage().exists(download.file)
    wrong = {
        path: oct(mode)
        for path, mode in found.items()
        if mode != (0o600 if path in files else 0o700)
    }
    assert not wrong, f"not private (files 0600, folders 0700) with umask {umask:03o}: {wrong}"


def test_a_chunk_file_is_private_too(private_root, umask, app_settings):
    """A chunk (one PDF per slice of letters) before the last one is done and they are merged
    and deleted."""
    app_settings(LETTER_CHUNK_SIZE=1)
    sender = factories.user("sender", perms=SENDER_PERMS)
    batch = data.letter_batch(2)
    download = letter_service.request_letter_download(batch.pk, user=sender)
    first = LetterChunk.objects.filter(download=download).order_by("index").first()
    assert letter_chunks.render_chunk(first.pk) == "rendered"
    first.refresh_from_db()
    assert first.file
    path = private_root / first.file
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    for folder in [path.parent, *path.parent.parents]:
        if folder == private_root.parent:
            break
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700, folder
