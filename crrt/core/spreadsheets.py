"""Spreadsheets the platform writes, with no cell a spreadsheet program would run (CSV injection).

A cell whose text starts with ``=``, ``+``, ``-`` or ``@`` is a formula to Excel, LibreOffice
and Google Sheets, and a tab, carriage return or NUL in front of one is skipped by some of
them: a name such as ``=HYPERLINK(...)`` would run on the machine of whoever opens an export.
Imports keep what they are given (a phone ``+372 …`` and a note ``-- see file`` are real data),
so every writer neutralises on the way out instead, as OWASP and ASVS 1.2.10 advise: such a
cell gets a leading single quote. A CSV quotes every cell (RFC 4180), and inside a text the
same quote goes after a separator or a line break that a formula character follows: Excel
set to a semicolon locale (Lithuanian, German, French) opens a comma file splitting at every
``;`` and line break, quoted or not, and a cell would start there.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")
QUOTE = "'"
# A separator or a line break, and a formula character (or a quote that opens a cell) after it.
_INSIDE = re.compile(r"""([,;\n\r])(?=[=+\-@\t\r\0"])""")
_INSIDE_NEUTRALISED = re.compile(r"""([,;\n\r])'(?=[=+\-@\t\r\0"])""")
# Control characters an XLSX file cannot hold (openpyxl refuses them rather than write them).
_NOT_IN_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

Cell = str | int | float | date | None


def neutralise(value: Cell) -> Cell:
    """``value`` as a cell: text that a spreadsheet would read as a formula gets a leading '.

    Numbers and dates are written as such and cannot be formulas; they pass unchanged.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return QUOTE + value
    return value


def restore(text: str) -> str:
    """A cell read back as it was before the platform wrote it, so its own sheets import
    unchanged (a template's ``'+370 …`` is the phone ``+370 …``)."""
    if QUOTE not in text:  # nearly every cell: no scan
        return text
    if text.startswith(QUOTE) and text[1:].startswith(FORMULA_STARTS):
        text = text[1:]
    return _INSIDE_NEUTRALISED.sub(r"\1", text)


def _csv_cell(value: Cell) -> str:
    if isinstance(value, str):
        value = _INSIDE.sub(r"\1" + QUOTE, value)
    return _text(neutralise(value))


def _text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def csv_text(rows: Iterable[Sequence[Cell]]) -> str:
    """Rows as CSV text (RFC 4180), every cell quoted and neutralised, at its start and
    after each separator or line break inside it."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_csv_cell(value) for value in row])
    return out.getvalue()


def xlsx_bytes(rows: Iterable[Sequence[Cell]]) -> bytes:
    """Rows as an XLSX workbook of one sheet, every text cell neutralised.

    openpyxl would store text starting with ``=`` as a formula; neutralised, it is text.
    """
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    for row in rows:
        cells = [neutralise(value) for value in row]
        sheet.append([_NOT_IN_XLSX.sub("\ufffd", c) if isinstance(c, str) else c
                      for c in cells])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
