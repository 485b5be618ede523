"""Checks shared by the letter tests: the print order of a batch's letters, and a download
whose PDF and mailing list hold each letter exactly once, in that order."""

from __future__ import annotations

import letters_data as data

from wagtail_batchcomms.models import Channel, Communication, CommunicationStatus, LetterDownload


def print_order(batch) -> list[int]:
    pending = Communication.objects.filter(
        batch=batch, channel=Channel.LETTER, status=CommunicationStatus.PENDING
    )
    return list(
        pending.order_by("postal_code", "recipient_name", "pk").values_list("pk", flat=True)
    )


def assert_every_letter_once(download: LetterDownload, expected_ids: list[int]) -> None:
    """The PDF and the CSV hold each letter exactly once, in print order, on its own pages."""
    reader, rows = data.read_download(download)
    assert [int(row["communication_id"]) for row in rows] == expected_ids
    groups = data.split_letters(reader)
    assert len(groups) == len(expected_ids) == download.letter_count
    assert len(reader.pages) == download.page_count
    by_id = Communication.objects.select_related("location").in_bulk(expected_ids)
    for pk, pages, row in zip(expected_ids, groups, rows, strict=True):
        letter = by_id[pk]
        first_page = pages[0]
        for text in (letter.recipient_name, letter.address_line1, letter.postal_code):
            assert text in first_page, (pk, text)
        assert row["name"] == letter.recipient_name
        assert row["postal_code"] == letter.postal_code
        assert row["account_number"] == letter.location.account_number
        # The name appears in no other letter ("Recipient 1" vs "Recipient 10": whole lines).
        assert f"\n{letter.recipient_name}\n" in f"\n{first_page}\n"
