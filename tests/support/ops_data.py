"""Helpers of the production-topology and fault tests (tests/jobs/:
``test_topology.py``, ``test_faults.py``).

- ``bulk_register``: a register of many locations in a few bulk inserts (seconds, not minutes);
- ``notice_template``: a published template whose every notice carries a marker
  (``REF-<account number>-END``) so that a letter can be found in the merged PDF;
- ``run_as_web``: an admin's action (a service call) made from a separate process configured
  like the workers, as the web server of a production deployment makes it: its tasks reach the
  workers' broker (Redis) under their queue name;
- ``wait_part_way``: until a generation running in a worker is part way, to break it there;
- ``read_download``: the merged letters PDF and CSV mailing list of a download, read back from
  the private storage with pypdf and the csv module.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import bulk_data
import factories
from letters_data import read_download as read_download_files
from letters_data import split_letters
from workers import wait_until

from wagtail_batchcomms.models import Batch, Channel, Communication, LetterDownload

MARKER = re.compile(r"REF-([A-Z0-9-]+?)-END")


@dataclass
class Register:
    prefix: str
    locations: int
    assemblies: int
    emails: int  # owners with an email address: one email each
    letters: int  # owners on paper: one letter each

    def account(self, i: int) -> str:
        return f"{self.prefix}-{i:06d}"


def bulk_register(
    prefix: str,
    locations: int,
    *,
    assemblies_per_location: int = 1,
    has_email: Callable[[int], bool] = lambda i: i % 3 != 0,
) -> Register:
    """``locations`` active locations, each with ``assemblies_per_location`` assemblies and a
    primary owner; owner ``i`` has an email address when ``has_email(i)`` (an email under
    the template of ``notice_template``), else none (a letter)."""
    prefix = prefix.upper()
    numbers = range(locations)
    locs = bulk_data.locations(
        prefix, numbers, street="Topology Avenue", postal_code=bulk_data.scrambled_postal_code
    )
    contacts = bulk_data.contacts(
        (
            f"Owner {prefix}-{i:06d}",
            f"owner.{prefix.lower()}.{i}@customers.example" if has_email(i) else "",
        )
        for i in numbers
    )
    bulk_data.owners(zip(locs, contacts, strict=True))
    bulk_data.assemblies(locs, assemblies_per_location)
    letters = sum(1 for i in range(locations) if not has_email(i))
    return Register(
        prefix=prefix,
        locations=locations,
        assemblies=locations * assemblies_per_location,
        emails=locations - letters,
        letters=letters,
    )


def notice_template(**fields):
    """Published; owners; email where the owner has one, else a letter; one notice per
    location with its assemblies table. Every notice carries ``REF-<account>-END``."""
    defaults = {
        "name": "Annual test reminder",
        "subject": "Backflow test due for account {{ location.account_number }}",
        "body": [
            ("paragraph", "<p>Dear {{ contact.name }},</p>"),
            ("paragraph", "<p>REF-{{ location.account_number }}-END</p>"),
            (
                "paragraph",
                "<p>The backflow prevention assemblies at {{ location.address }} are due for "
                "their annual test by {{ batch.due_date }}.</p>",
            ),
            (
                "assemblies_table",
                {"heading": "Your assemblies", "columns": ["serial_number", "type"]},
            ),
        ],
        "contact_roles": ["owner"],
        "contact_methods": "both",
        "first_available_only": True,
    }
    defaults.update(fields)
    return factories.notice_template(**defaults)


# --- the admin's actions from a "web" process -------------------------------------------------

_WEB_CALL = """
import importlib, json, sys
import django
django.setup()
from django.contrib.auth import get_user_model
module, name = sys.argv[1].rsplit(".", 1)
function = getattr(importlib.import_module(module), name)
user = get_user_model().objects.get(pk=int(sys.argv[3]))
for _ in range(int(sys.argv[4])):
    result = function(*json.loads(sys.argv[2]), user=user)
print(json.dumps(getattr(result, "pk", result)))
"""


def run_as_web(cluster, function: str, *args, user, times: int = 1):
    """Call ``function(*args, user=user)`` (a dotted path to a service) in a new process with
    ``cluster``'s environment: its settings, test database and broker. Tasks the service
    queues on commit go to that broker. ``times``: call it that many times in a row (two
    admins clicking at once). Returns the (last) result's pk, or the JSON result."""
    printed = cluster.run_python(
        _WEB_CALL,
        function,
        json.dumps(args),
        str(user.pk),
        str(times),
        what=f"run {function} in the web process",
    )
    return json.loads(printed)


def wait_part_way(batch, clusters, before: float = 0.7) -> None:
    """Until the batch's generation, running in ``clusters``, has done some of its locations
    but fewer than ``before`` of them (run tiny chunks to catch it there)."""

    def part_way():
        done, total = Batch.objects.values_list("progress_done", "progress_total").get(pk=batch.pk)
        return total and 0 < done < total * before

    wait_until(part_way, timeout=60, interval=0.01, clusters=clusters, message="no progress")


# --- what arrived ---------------------------------------------------------------------------


@dataclass
class ReadBack:
    letters: list[list[str]]  # page texts, grouped into letters by their "Page i of n" labels
    markers: Counter  # account number -> letters carrying it
    csv_ids: Counter  # communication id -> rows of the mailing list
    pages: int


def read_download(download: LetterDownload) -> ReadBack:
    """Parse the download's PDF and CSV from the private storage."""
    reader, rows = read_download_files(download)
    letters = split_letters(reader)
    markers: Counter = Counter()
    for pages in letters:
        found = set(MARKER.findall(" ".join(pages)))
        assert len(found) == 1, f"a letter with markers {found}"
        markers.update(found)
    csv_ids = Counter(int(row["communication_id"]) for row in rows)
    return ReadBack(letters=letters, markers=markers, csv_ids=csv_ids, pages=len(reader.pages))


def letter_accounts(batch) -> Counter:
    """Account number -> letters of the batch (what the PDF must hold)."""
    return Counter(
        Communication.objects.filter(batch=batch, channel=Channel.LETTER).values_list(
            "location__account_number", flat=True
        )
    )


def email_rows(batch) -> dict[str, int]:
    """Message-ID -> communication id of the batch's emails that have one."""
    return dict(
        Communication.objects.filter(batch=batch, channel=Channel.EMAIL)
        .exclude(message_id="")
        .values_list("message_id", "pk")
    )


def statuses(batch, channel: str) -> dict[str, int]:
    return dict(
        Counter(
            Communication.objects.filter(batch=batch, channel=channel).values_list(
                "status", flat=True
            )
        )
    )
