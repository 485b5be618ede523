"""Reading an import file: CSV (UTF-8, with or without BOM, else Windows-1252) or XLSX
(openpyxl read-only, the first sheet). The first non-empty row holds the headers."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from typing import IO

from django.utils.translation import gettext as _

from ..exceptions import ImportFileError
from .columns import DEFAULT_HEADERS

EXTENSIONS = (".csv", ".xlsx")

Row = list[object]


def file_kind(name: str) -> str:
    """ "csv" or "xlsx" from the file's name; ``ImportFileError`` for anything else."""
    lowered = name.lower()
    for extension in EXTENSIONS:
        if lowered.endswith(extension):
            return extension[1:]
    raise ImportFileError(_("Upload a .csv or .xlsx file (Excel: Save As, CSV UTF-8 or .xlsx)."))


def _csv_rows(handle: IO[bytes]) -> Iterator[Row]:
    data = handle.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel's "CSV" (not "CSV UTF-8") on Windows writes Windows-1252.
        text = data.decode("cp1252", errors="replace")
    if "\x00" in text:
        raise ImportFileError(_("This file is not a CSV file (it holds binary data)."))
    yield from csv.reader(io.StringIO(text, newline=""))


def _xlsx_rows(handle: IO[bytes]) -> Iterator[Row]:
    # openpyxl only at use: importing it costs a web process that never imports.
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(handle, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise ImportFileError(_("This file is not an XLSX workbook: %s") % error) from error
    try:
        sheet = workbook.worksheets[0]
        for values in sheet.iter_rows(values_only=True):
            yield list(values)
    finally:
        workbook.close()


def read_rows(handle: IO[bytes], kind: str) -> tuple[list[str], Iterator[tuple[int, Row]]]:
    """The headers and an iterator of (row number as a spreadsheet numbers it, cells).

    Empty rows are skipped; cells past the headers are ignored, missing ones are empty.
    """
    rows = _csv_rows(handle) if kind == "csv" else _xlsx_rows(handle)
    number = 0
    headers: list[str] | None = None
    for cells in rows:
        number += 1
        if not any(_filled(cell) for cell in cells):
            continue
        headers = [("" if cell is None else str(cell)).strip() for cell in cells]
        break
    if headers is None:
        raise ImportFileError(_("The file is empty: it needs a header row and data rows."))
    while headers and not headers[-1]:
        headers.pop()
    if len(set(filter(None, headers))) != len([h for h in headers if h]):
        duplicates = sorted({h for h in headers if h and headers.count(h) > 1})
        raise ImportFileError(
            _("The header row repeats %(names)s; give every column its own name.")
            % {"names": ", ".join(map(repr, duplicates))}
        )
    return headers, _numbered(rows, number, len(headers))


def _filled(cell: object) -> bool:
    return cell is not None and str(cell).strip() != ""


def _numbered(rows: Iterator[Row], after: int, width: int) -> Iterator[tuple[int, Row]]:
    number = after
    for cells in rows:
        number += 1
        if any(_filled(cell) for cell in cells):
            cells = list(cells[:width])
            cells.extend([None] * (width - len(cells)))
            yield number, cells


def read_headers(handle: IO[bytes], kind: str) -> list[str]:
    """Just the header row (for the mapping step)."""
    headers, _rows = read_rows(handle, kind)
    return headers


def template_csv() -> str:
    """The template file: our default headers, one line."""
    out = io.StringIO()
    csv.writer(out).writerow(DEFAULT_HEADERS)
    return out.getvalue()
