"""Cells of the spreadsheets the app writes: the mailing list, the skipped report and every
listing's CSV and XLSX export (``views.listing_guards.GuardedListingMixin``)."""

from __future__ import annotations

import re

#: A cell starting with one of these is run as a formula by spreadsheets (CSV injection).
#: Their full-width forms (U+FF1D, U+FF0B, U+FF0D, U+FF20) too: some spreadsheets (Excel
#: with East Asian input) read the full-width equals sign as "=".
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")

#: Control characters an XLSX file cannot hold (openpyxl refuses the whole workbook with
#: IllegalCharacterError): a name pasted with one must not break the export.
XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def csv_cell(value: object) -> str:
    """``value`` as text a spreadsheet shows as typed: names and addresses are typed by
    people, and "=HYPERLINK(...)" in an address must stay text (prefixed with a quote).

    Leading whitespace does not make a formula safe (" =1+1" and "\\n=1+1" are trimmed by
    some spreadsheets on import), so it is looked past."""
    text = "" if value is None else str(value)
    return "'" + text if is_formula(text) else text


def is_formula(text: str) -> bool:
    """Whether a spreadsheet could take ``text`` for a formula."""
    return text.startswith(FORMULA_STARTS) or text.lstrip().startswith(FORMULA_STARTS)


def sheet_value(value: object, *, xlsx: bool = False) -> object:
    """An export's cell: text guarded like ``csv_cell``; numbers, dates and empty cells kept
    as they are (a typed number is not text a person typed, and must stay a number)."""
    if not isinstance(value, str):
        return value
    text = csv_cell(value)
    return XLSX_ILLEGAL.sub("", text) if xlsx else text
