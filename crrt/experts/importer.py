"""Spreadsheet import of a nation's experts: CSV or XLSX, every row or none.

Nations keep their rosters in spreadsheets; an import that stops half way leaves a pool nobody
can trust, so every row is validated first (through the same :class:`ExpertIn` the API uses)
and either all of them are written or none, with a per-row report of what was wrong. Rows are
matched to existing experts of the nation by email, so re-importing an edited sheet updates.

An upload is hostile until read: every size is bounded (bytes, rows, columns, a cell, a row, a
list in a cell, an XLSX's unpacked parts), and the file is read and checked in a reading
session. Only a clean, real import opens a writing transaction, because on SQLite the write
lock it takes stops every other writer (a sign-in, a new token) until it ends.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from crrt.access import policy
from crrt.access.policy import Permission
from crrt.access.principal import Principal
from crrt.audit import service as audit
from crrt.core import spreadsheets
from crrt.core.db import Database
from crrt.core.errors import FieldError, Invalid
from crrt.experts import service
from crrt.experts.enums import Clearance, Deployability
from crrt.experts.models import Expert
from crrt.experts.schemas import (
    ORG_CODE,
    ExpertIn,
    ExpertPatch,
    ImportReport,
    RowRejection,
    SkillLevel,
)
from crrt.organisations import service as organisations

if TYPE_CHECKING:
    from crrt.organisations.models import Organisation

COLUMNS = ("name", "email", "phone", "institution", "skills", "languages", "clearance",
           "deployability", "time_zone", "notes")
REQUIRED = ("name", "email", "skills")
MiB = 1024 * 1024
MAX_BYTES = 5 * MiB
MAX_UPLOAD = MAX_BYTES + MiB  # the request around the file: multipart framing, fields
MAX_ROWS = 5000
_MAX_SCANNED = 10 * MAX_ROWS  # blank rows too: a sheet formatted down to row 1,048,576 stops here
MAX_COLUMNS = len(COLUMNS) + 20
MAX_CELL = 5000  # characters; the longest field, notes, holds 2,000: the schema says so per row
MAX_LINE = 10_000  # characters in a row (and in a line of a CSV file)
MAX_ITEMS = 30  # skills, languages or deployabilities in one cell
MAX_REJECTED = 100  # checking stops here: enough to fix a sheet, not a megabyte of errors
MAX_UNPACKED = 20 * MiB  # an XLSX's parts together, unpacked
MAX_RATIO = 100  # unpacked to packed, for a part over 1 MiB; real sheets pack 5 to 20 times
MAX_PARTS = 1000
MAX_ELEMENTS = 300_000  # XML elements in a workbook; 5,000 experts in 10 columns take ~200,000
_RATIO_FROM = MiB


class UnsupportedFile(Invalid):
    """Neither CSV nor XLSX (415)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, [FieldError(["file"], detail)])
        self.status, self.slug, self.title = 415, "unsupported-type", "Unsupported type"


class TooLarge(Invalid):
    """Over the row or size limit (413)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, [FieldError(["file"], detail)])
        self.status, self.slug, self.title = 413, "too-large", "Too large"


# --- cell formats ----------------------------------------------------------------------------

def format_skills(skills: list[SkillLevel]) -> str:
    """``incident_handling:3; malware_analysis:2``: how a sheet writes skills."""
    return "; ".join(f"{s.skill.value}:{s.level}" for s in skills)


def _items(text: str, separators: str) -> list[str]:
    """The items of a list cell, at most :data:`MAX_ITEMS`: each is validated, which costs."""
    items = [part.strip() for part in re.split(separators, text) if part.strip()]
    if len(items) > MAX_ITEMS:
        raise ValueError(f"at most {MAX_ITEMS} items in a cell")
    return items


def parse_skills(text: str) -> list[dict[str, Any]]:
    """The skills of a cell; the taxonomy and the levels are checked by :class:`SkillLevel`."""
    skills: list[dict[str, Any]] = []
    for item in _items(text, r"[;,]"):
        name, sep, level = item.partition(":")
        level = level.strip()
        if not sep or not level.isascii() or not level.isdigit():
            raise ValueError(f"'{item}' is not skill:level (e.g. incident_handling:3)")
        skills.append({"skill": re.sub(r"[\s-]+", "_", name.strip().lower()),
                       "level": int(level)})
    return skills


def _parse_list(text: str) -> list[str]:
    return _items(text, r"[;,\s]+")


def _parse_deployability(text: str) -> list[str]:
    return [re.sub(r"[\s-]+", "_", p.lower()) for p in _items(text, r"[;,]")]


def _parse_clearance(text: str) -> str:
    key = " ".join(text.replace("_", " ").split()).upper()
    known = {c.value.upper(): c.value for c in Clearance}
    return known.get(key, text.strip())


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return spreadsheets.restore(str(value).strip())


def template() -> str:
    """The header every import reads, and one example row (written as every export is)."""
    return spreadsheets.csv_text([
        COLUMNS,
        ["Jane Example", "jane.example@csirt.example", "+370 600 00000", "",
         "incident_handling:3; malware_analysis:2", "en, lt", Clearance.NONE.value,
         f"{Deployability.REMOTE.value}; {Deployability.ON_SITE.value}", "Europe/Vilnius", ""],
    ])


# --- reading the file ------------------------------------------------------------------------

@dataclass(frozen=True)
class Sheet:
    """A spreadsheet read and checked for shape: its columns and its non-blank data rows."""

    format: str  # csv or xlsx
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (the spreadsheet's row number, the cells)


def _lines(text: str) -> Iterator[str]:
    """The lines of a CSV text, none longer than :data:`MAX_LINE`, before the parser sees
    them: a line of 40,000 cells is refused, not split into a list of 40,000."""
    for number, line in enumerate(io.StringIO(text, newline=""), start=1):
        if len(line) > MAX_LINE:
            raise TooLarge(f"Line {number} is longer than {MAX_LINE:,} characters.")
        yield line


def _csv_rows(content: bytes) -> Iterator[list[str]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid.field("file", "The CSV file is not UTF-8 text.") from exc
    first = next((line for line in _lines(text) if line.strip()), "")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    try:
        for row in csv.reader(_lines(text), delimiter=delimiter):
            yield [spreadsheets.restore(cell.strip()) for cell in row]
    except csv.Error as exc:
        raise Invalid.field("file", f"The CSV file cannot be read: {exc}.") from exc


def _unreadable_xlsx() -> Invalid:
    return Invalid.field("file", "The file is not a readable XLSX workbook.")


def _unpacked(content: bytes) -> bytes:
    """The workbook again with every part stored unpacked, once each part has been checked.

    A zip file says how large each part unpacks (its central directory), which bounds the
    work only if it tells the truth. The declared sizes are checked first: their total
    against :data:`MAX_UNPACKED`, each large part's ratio against :data:`MAX_RATIO`. Then each
    part is unpacked here, 64 KiB at a time, and counted. zipfile's reader stops at the
    declared size, and a part whose stream holds more fails its CRC check; but asked for a
    whole part at once (``ZipFile.read``, as openpyxl reads several) it first inflates up to
    1 GiB in one call, whatever the part declares. So openpyxl gets the parts stored, with
    nothing left to inflate. Only stored and deflated parts are read: bzip2 and LZMA inflate
    a whole read in one call, without a bound.

    openpyxl spends about 10-30 µs on every XML element, so a few MB of tiny cells (past
    column 30, where they are dropped anyway) would cost a minute: the elements are counted
    too, as the tags that open one (a ``<`` not followed by ``/``; entities cannot add any,
    as defusedxml refuses their declarations), against :data:`MAX_ELEMENTS`.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as packed:
            parts = packed.infolist()
            if len(parts) > MAX_PARTS:
                raise TooLarge(f"The workbook has more than {MAX_PARTS:,} parts.")
            if len({part.filename for part in parts}) != len(parts):
                raise _unreadable_xlsx()
            declared = sum(part.file_size for part in parts)
            if declared > MAX_UNPACKED:
                raise TooLarge(f"The workbook unpacks to more than {MAX_UNPACKED // MiB} MiB.")
            for part in parts:
                if part.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) \
                        or part.flag_bits & 0x1:  # another compression, or encrypted
                    raise _unreadable_xlsx()
                if part.file_size > _RATIO_FROM and \
                        part.file_size > MAX_RATIO * max(part.compress_size, 1):
                    raise TooLarge(f"A part of the workbook unpacks to more than {MAX_RATIO} "
                                   f"times its packed size.")
            out = io.BytesIO()
            unpacked = elements = 0
            with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as stored:
                for part in parts:
                    chunks = []
                    with packed.open(part) as stream:
                        while chunk := stream.read(64 * 1024):
                            unpacked += len(chunk)
                            if unpacked > MAX_UNPACKED:  # cannot pass the declared sizes, but
                                raise TooLarge(          # this is what bounds the memory
                                    f"The workbook unpacks to more than "
                                    f"{MAX_UNPACKED // MiB} MiB.")
                            chunks.append(chunk)
                    data = b"".join(chunks)
                    elements += data.count(b"<") - data.count(b"</")
                    if elements > MAX_ELEMENTS:
                        raise TooLarge(f"The workbook holds more than {MAX_ELEMENTS:,} XML "
                                       f"elements: save the experts' sheet alone, or as CSV.")
                    stored.writestr(part.filename, data)
            return out.getvalue()
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, EOFError, ValueError,
            OSError) as exc:  # a damaged archive or stream, or a part whose sizes lie
        raise _unreadable_xlsx() from exc


def _xlsx_rows(content: bytes) -> Iterator[list[str]]:
    workbook = _unpacked(content)
    import openpyxl  # only for a workbook worth opening: the import costs time once
    try:
        book = openpyxl.load_workbook(io.BytesIO(workbook), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise _unreadable_xlsx() from exc
    try:
        if not book.worksheets:
            return
        # Bounded width: one cell in column XFD would otherwise pad every row to 16,384.
        for row in book.worksheets[0].iter_rows(min_row=1, max_col=MAX_COLUMNS,
                                                values_only=True):
            yield [_cell(value) for value in row]
    except Invalid:
        raise
    except Exception as exc:
        raise Invalid.field("file", "The XLSX workbook cannot be read.") from exc
    finally:
        book.close()


def _bounded(number: int, cells: list[str]) -> list[str]:
    """The row within the limits of width and length, or a 413 naming the limit."""
    if len(cells) > MAX_COLUMNS:
        if any(cells[MAX_COLUMNS:]):
            raise TooLarge(f"Row {number} is wider than {MAX_COLUMNS} columns.")
        cells = cells[:MAX_COLUMNS]  # empty cells a program wrote out to its widest row
    if any(len(cell) > MAX_CELL for cell in cells):
        raise TooLarge(f"Row {number} has a cell longer than {MAX_CELL:,} characters.")
    if sum(len(cell) for cell in cells) > MAX_LINE:
        raise TooLarge(f"Row {number} is longer than {MAX_LINE:,} characters.")
    return cells


def read_sheet(filename: str, content: bytes) -> Sheet:
    """The sheet's header and non-blank data rows, every limit checked; no database involved."""
    if len(content) > MAX_BYTES:
        raise TooLarge(f"The file is over {MAX_BYTES // MiB} MiB.")
    suffix = PurePath(filename or "").suffix.lower()
    if suffix == ".csv":
        rows = _csv_rows(content)
    elif suffix == ".xlsx":
        rows = _xlsx_rows(content)
    else:
        raise UnsupportedFile("Import a .csv or an .xlsx file.")
    header: list[str] | None = None
    data: list[tuple[int, list[str]]] = []
    for number, cells in enumerate(rows, start=1):
        if number > _MAX_SCANNED:
            raise TooLarge(f"The sheet is over {_MAX_SCANNED:,} rows long.")
        cells = _bounded(number, cells)
        if not any(cells):
            continue
        if header is None:
            header = [re.sub(r"\s+", "_", c.strip().lower()) for c in cells]
            _check_header(header)  # before the rows: a wrong file stops here
            continue
        data.append((number, cells))
        if len(data) > MAX_ROWS:
            raise TooLarge(f"Import at most {MAX_ROWS:,} experts at a time.")
    if header is None:
        raise Invalid.field("file", "The file is empty: the first row names the columns.")
    return Sheet(format=suffix.lstrip("."), header=header, rows=data)


def _check_header(header: list[str]) -> None:
    named = [c for c in header if c]
    unknown = sorted(set(named) - set(COLUMNS))
    if unknown:
        raise Invalid(f"Unknown column(s): {', '.join(unknown)}. The columns are: "
                      f"{', '.join(COLUMNS)}.",
                      [FieldError(["file", "columns"], f"unknown column '{c}'") for c in unknown],
                      unknown_columns=unknown)
    seen: set[str] = set()
    twice: set[str] = set()
    for column in named:  # a set: a header of 40,000 names once took 31 s with list.count
        (twice if column in seen else seen).add(column)
    if twice:
        raise Invalid.field(["file", "columns"],
                            f"Column(s) named twice: {', '.join(sorted(twice))}.")
    missing = [c for c in REQUIRED if c not in seen]
    if missing:
        raise Invalid.field(["file", "columns"], f"Missing column(s): {', '.join(missing)}.")


# --- validating and writing ------------------------------------------------------------------

def _message(error: dict[str, Any]) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()))
    msg = str(error.get("msg", "")).removeprefix("Value error, ")
    return f"{where}: {msg}" if where else msg


def _row_input(org_code: str, cells: dict[str, str],
               institutions: dict[str, uuid.UUID]) -> tuple[ExpertIn | None, list[str]]:
    """One row as an :class:`ExpertIn`, or every reason it is not one."""
    raw: dict[str, Any] = {"org": org_code}
    errors: list[str] = []
    for column, value in cells.items():
        if not value:
            continue
        try:
            if column == "skills":
                raw["skills"] = parse_skills(value)
            elif column == "languages":
                raw["languages"] = _parse_list(value)
            elif column == "deployability":
                raw["deployability"] = _parse_deployability(value)
            elif column == "clearance":
                raw["clearance"] = _parse_clearance(value)
            elif column == "institution":
                if value.lower() not in institutions:
                    raise ValueError(f"no institution of this nation is named '{value}'")
                raw["institution_id"] = institutions[value.lower()]
            else:
                raw[column] = value
        except ValueError as exc:
            errors.append(f"{column}: {exc}")
    try:
        data = ExpertIn.model_validate(raw)
    except ValidationError as exc:
        unparsed = {e.split(":", 1)[0] for e in errors}  # already explained, not "missing"
        errors += [_message(dict(e)) for e in exc.errors()
                   if not (e["loc"] and str(e["loc"][0]) in unparsed)]
        return None, errors
    return (data, []) if not errors else (None, errors)


def _patch_of(data: ExpertIn, columns: list[str]) -> ExpertPatch:
    """The row as a change: the sheet's columns are the truth, the others stay as they are."""
    fields = ["institution_id" if c == "institution" else c for c in columns if c]
    return ExpertPatch(**{f: getattr(data, f) for f in fields})


def _nation(db: Session, actor: Principal, org: str) -> Organisation:
    """The nation imported into, once the actor may write its experts."""
    if not re.match(ORG_CODE, org or ""):
        raise Invalid.field("org", "An organisation code such as EE.")
    nation = service.nation(db, actor, org)
    policy.require(actor, Permission.EXPERTS_WRITE, nation)
    return nation


def _existing(db: Session, nation: Organisation) -> dict[str, Expert]:
    """The nation's experts that a row updates, by email in any case (erased ones never)."""
    return {(e.email or "").lower(): e for e in db.scalars(
        select(Expert).where(Expert.organisation_id == nation.id, Expert.erased_at.is_(None)))}


@dataclass
class _Checked:
    planned: list[ExpertIn]
    rejected: list[RowRejection]
    complete: bool


def _check(db: Session, actor: Principal, nation: Organisation, sheet: Sheet) -> _Checked:
    """Every row validated, up to :data:`MAX_REJECTED` rejected ones; nothing written."""
    institutions = {inst.name.lower(): inst.public_id for inst in
                    organisations.list_institutions(db=db, actor=actor, code=nation.code)}
    seen: dict[str, int] = {}
    checked = _Checked(planned=[], rejected=[], complete=True)
    for number, cells in sheet.rows:
        if len(checked.rejected) >= MAX_REJECTED:
            checked.complete = False
            break
        named = {c: (cells[i] if i < len(cells) else "") for i, c in enumerate(sheet.header)
                 if c}
        data, errors = _row_input(nation.code, named, institutions)
        email = (str(data.email).lower() if data is not None
                 else named.get("email", "").strip().lower()) or None
        if len(cells) > len(sheet.header) and any(cells[len(sheet.header):]):
            errors.append("the row has more cells than the header has columns")
        if email and email in seen:
            errors.append(f"email: the same email is on row {seen[email]}")
        if email:
            seen.setdefault(email, number)
        if errors or data is None:
            checked.rejected.append(RowRejection(row=number, email=email, errors=errors))
            continue
        checked.planned.append(data)
    return checked


def import_experts(*, database: Database, actor: Principal, org: str, filename: str,
                   content: bytes, dry_run: bool) -> ImportReport:
    """Validate every row, then write all of them, or (any row rejected, or a dry run) none.

    Takes the database, not a session: the file is read and every row checked in a reading
    session, so a dry run or a refused file never holds SQLite's write lock. Only a clean
    import opens a writing transaction, which matches the rows to the nation's experts again
    (someone may have nominated one since) and writes them.
    """
    with database.session(read_only=True) as db:
        nation = _nation(db, actor, org)  # who may import, before any work on the file
        sheet = read_sheet(filename, content)
        checked = _check(db, actor, nation, sheet)
        if checked.rejected or dry_run:
            existing = _existing(db, nation)
            created = sum(1 for data in checked.planned
                          if str(data.email).lower() not in existing)
            return ImportReport(created=created, updated=len(checked.planned) - created,
                                rejected=checked.rejected, complete=checked.complete,
                                dry_run=dry_run, applied=False)
    with database.session() as db:
        nation = _nation(db, actor, org)
        existing = _existing(db, nation)
        created = 0
        for data in checked.planned:
            expert = existing.get(str(data.email).lower())
            if expert is None:
                created += 1
                service.create_expert(db=db, actor=actor, org=nation, data=data)
            else:
                service.change_expert(db=db, actor=actor, expert=expert,
                                      data=_patch_of(data, sheet.header))
        audit.record(db=db, actor=actor, action="expert.import", object_type="organisation",
                     object_id=nation.code,
                     changes={"created": created, "updated": len(checked.planned) - created,
                              "rows": len(sheet.rows), "format": sheet.format})
    return ImportReport(created=created, updated=len(checked.planned) - created, rejected=[],
                        complete=True, dry_run=False, applied=True)
