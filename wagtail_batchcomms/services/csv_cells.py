"""Cells of the CSV files the app writes (the mailing list, the skipped report)."""

from __future__ import annotations

#: A cell starting with one of these is run as a formula by spreadsheets (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """``value`` as text a spreadsheet shows as typed: names and addresses are typed by
    people, and "=HYPERLINK(...)" in an address must stay text (prefixed with a quote)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
