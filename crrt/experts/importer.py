"""Spreadsheet import of a nation's experts: CSV or XLSX, every row or none.

Nations keep their rosters in spreadsheets; an import that stops half way leaves a pool nobody
can trust, so every row is validated first (through the same :class:`ExpertIn` the API uses)
and either all of them are written or none, with a per-row report of what was wrong. Rows are
matched to existing experts of the nation by email, so re-importing an edited sheet updates;
:func:`run` says, row by row, what it did or would do (new, update, unchanged, rejected).

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
from datetime import date, datetime, time
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, NamedTuple

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

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
           "deployability", "time_zone", "notes", "messenger", "pgp_fingerprint",
           "clearance_expires_on")
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
    if isinstance(value, datetime) and value.time() == time(0):
        return value.date().isoformat()  # a day typed into a spreadsheet is a midnight
    if isinstance(value, datetime | date):
        return value.isoformat()
    return spreadsheets.restore(str(value).strip())


def _template_rows() -> list[list[str]]:
    return [
        list(COLUMNS),
        ["Jane Example", "jane.example@csirt.example", "+370 600 00000", "",
         "incident_handling:3; malware_analysis:2", "en, lt", Clearance.NONE.value,
         f"{Deployability.REMOTE.value}; {Deployability.ON_SITE.value}", "Europe/Vilnius", "",
         "Signal +370 600 00000", "0123 4567 89AB CDEF 0123 4567 89AB CDEF 0123 4567", ""],
    ]


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def template() -> str:
    """The header every import reads, and one example row (written as every export is)."""
    return spreadsheets.csv_text(_template_rows())


def template_xlsx() -> bytes:
    """The same template as a workbook, for those whose spreadsheet program mangles CSV."""
    return spreadsheets.xlsx_bytes(_template_rows())


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
    if unknown:  # the extras name the columns, for a page to say it in its language
        raise Invalid(f"Unknown column(s): {', '.join(unknown)}. The columns are: "
                      f"{', '.join(COLUMNS)}.",
                      [FieldError(["file", "columns"], f"unknown column '{c}'") for c in unknown],
                      unknown_columns=unknown)
    seen: set[str] = set()
    twice: set[str] = set()
    for column in named:  # a set: a header of 40,000 names once took 31 s with list.count
        (twice if column in seen else seen).add(column)
    if twice:
        detail = f"Column(s) named twice: {', '.join(sorted(twice))}."
        raise Invalid(detail, [FieldError(["file", "columns"], detail)],
                      twice_columns=sorted(twice))
    missing = [c for c in REQUIRED if c not in seen]
    if missing:
        detail = f"Missing column(s): {', '.join(missing)}."
        raise Invalid(detail, [FieldError(["file", "columns"], detail)], missing_columns=missing)


# --- validating and writing ------------------------------------------------------------------

class Problem(NamedTuple):
    """Why a row is refused: the column (``skills.0.level``), the words, and the kind of
    validation error (Pydantic's type, ``""`` for the importer's own), so a page can word it
    in the reader's language."""

    where: str
    message: str
    kind: str = ""
"""What is wrong with a row: where (a column, ``skills.0.level``, or ``""`` for the whole row)
and the message."""

NEW, UPDATE, UNCHANGED, REJECTED = "new", "update", "unchanged", "rejected"


def _problem(error: dict[str, Any]) -> Problem:
    where = ".".join(str(part) for part in error.get("loc", ()))
    return Problem(where, str(error.get("msg", "")).removeprefix("Value error, "),
                   str(error.get("type", "")))


def problem_text(problem: Problem) -> str:
    """A problem as the API and the command line word it: ``column: message``."""
    return f"{problem.where}: {problem.message}" if problem.where else problem.message


def _row_input(org_code: str, cells: dict[str, str],
               institutions: dict[str, uuid.UUID]) -> tuple[ExpertIn | None, list[Problem]]:
    """One row as an :class:`ExpertIn`, or every reason it is not one."""
    raw: dict[str, Any] = {"org": org_code}
    problems: list[Problem] = []
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
            problems.append(Problem(column, str(exc)))
    try:
        data = ExpertIn.model_validate(raw)
    except ValidationError as exc:
        unparsed = {p.where for p in problems}  # already explained, not "missing"
        problems += [_problem(dict(e)) for e in exc.errors()
                     if not (e["loc"] and str(e["loc"][0]) in unparsed)]
        return None, problems
    return (data, []) if not problems else (None, problems)


def _patch_of(data: ExpertIn, columns: list[str]) -> ExpertPatch:
    """The row as a change: the sheet's columns are the truth, the others stay as they are."""
    fields = ["institution_id" if c == "institution" else c for c in columns if c]
    return ExpertPatch(**{f: getattr(data, f) for f in fields})


def _as_audited(patch: ExpertPatch) -> dict[str, Any]:
    """The fields a patch sets, as :func:`service.audit_fields` shows a record, so comparing
    the two says whether the update would change anything (the audit's own test)."""
    shown: dict[str, Any] = {}
    for name in patch.model_fields_set:
        value = getattr(patch, name)
        if name == "skills":
            value = {s.skill.value: s.level for s in value}
        elif name == "languages":
            value = sorted(value)
        elif name == "deployability":
            value = [d.value for d in Deployability if d in value]
        elif name == "clearance":
            value = value.value
        elif name == "email":
            value = str(value).strip().lower()
        elif name == "notes":
            value = value or ""
        elif name in ("institution_id", "clearance_expires_on") and value is not None:
            value = str(value)
        shown[name] = value
    return shown


def _changes(db: Session, actor: Principal, expert: Expert, patch: ExpertPatch) -> bool:
    held = service.audit_fields(db, actor, expert)
    return any(held.get(name) != value for name, value in _as_audited(patch).items())


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
        select(Expert).where(Expert.organisation_id == nation.id, Expert.erased_at.is_(None))
        .options(selectinload(Expert.skills), selectinload(Expert.languages)))}


@dataclass(frozen=True)
class _Row:
    number: int
    name: str
    email: str | None
    data: ExpertIn | None  # None when rejected
    problems: list[Problem]


@dataclass
class _Checked:
    rows: list[_Row]
    complete: bool

    @property
    def rejected(self) -> list[RowRejection]:
        return [RowRejection(row=r.number, email=r.email,
                             errors=[problem_text(p) for p in r.problems])
                for r in self.rows if r.data is None]


def _check(db: Session, actor: Principal, nation: Organisation, sheet: Sheet) -> _Checked:
    """Every row validated, up to :data:`MAX_REJECTED` rejected ones; nothing written."""
    institutions = {inst.name.lower(): inst.public_id for inst in
                    organisations.list_institutions(db=db, actor=actor, code=nation.code)}
    seen: dict[str, int] = {}
    checked = _Checked(rows=[], complete=True)
    rejected = 0
    for number, cells in sheet.rows:
        if rejected >= MAX_REJECTED:
            checked.complete = False
            break
        named = {c: (cells[i] if i < len(cells) else "") for i, c in enumerate(sheet.header)
                 if c}
        data, problems = _row_input(nation.code, named, institutions)
        email = (str(data.email).lower() if data is not None
                 else named.get("email", "").strip().lower()) or None
        if len(cells) > len(sheet.header) and any(cells[len(sheet.header):]):
            problems.append(Problem("", "the row has more cells than the header has columns"))
        if email and email in seen:
            problems.append(Problem("email", f"the same email is on row {seen[email]}"))
        if email:
            seen.setdefault(email, number)
        if problems:
            data = None
            rejected += 1
        checked.rows.append(_Row(number, named.get("name", ""), email, data, problems))
    return checked


@dataclass(frozen=True)
class RowPlan:
    """What an import does (or would do) with one row: :data:`NEW`, :data:`UPDATE`,
    :data:`UNCHANGED` or :data:`REJECTED`, with a rejected row's problems."""

    row: int
    name: str
    email: str | None
    action: str
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """The report the API gives, and the rows behind it for a page to show one by one."""

    report: ImportReport
    rows: list[RowPlan]

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)


def _plan(db: Session, actor: Principal, checked: _Checked, existing: dict[str, Expert],
          header: list[str]) -> list[RowPlan]:
    plan = []
    for row in checked.rows:
        if row.data is None:
            plan.append(RowPlan(row.number, row.name, row.email, REJECTED, tuple(row.problems)))
            continue
        expert = existing.get(str(row.data.email).lower())
        action = NEW if expert is None else \
            UPDATE if _changes(db, actor, expert, _patch_of(row.data, header)) else UNCHANGED
        plan.append(RowPlan(row.number, row.name, row.email, action))
    return plan


def _report(plan: list[RowPlan], checked: _Checked, *, dry_run: bool,
            applied: bool) -> ImportReport:
    created = sum(1 for row in plan if row.action == NEW)
    updated = sum(1 for row in plan if row.action in (UPDATE, UNCHANGED))
    return ImportReport(created=created, updated=updated, rejected=checked.rejected,
                        complete=checked.complete, dry_run=dry_run, applied=applied)


def run(*, database: Database, actor: Principal, org: str, filename: str, content: bytes,
        dry_run: bool) -> Outcome:
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
            plan = _plan(db, actor, checked, _existing(db, nation), sheet.header)
            return Outcome(_report(plan, checked, dry_run=dry_run, applied=False), plan)
    with database.session() as db:
        nation = _nation(db, actor, org)
        existing = _existing(db, nation)
        plan = _plan(db, actor, checked, existing, sheet.header)  # before the rows change
        for row in checked.rows:
            if row.data is None:  # cannot be: a sheet with a rejected row stopped above
                continue
            expert = existing.get(str(row.data.email).lower())
            if expert is None:
                service.create_expert(db=db, actor=actor, org=nation, data=row.data)
            else:
                service.change_expert(db=db, actor=actor, expert=expert,
                                      data=_patch_of(row.data, sheet.header))
        report = _report(plan, checked, dry_run=False, applied=True)
        audit.record(db=db, actor=actor, action="expert.import", object_type="organisation",
                     object_id=nation.code,
                     changes={"created": report.created, "updated": report.updated,
                              "rows": len(sheet.rows), "format": sheet.format})
    return Outcome(report, plan)


def import_experts(*, database: Database, actor: Principal, org: str, filename: str,
                   content: bytes, dry_run: bool) -> ImportReport:
    """:func:`run`, as the API and the command line report it."""
    return run(database=database, actor=actor, org=org, filename=filename, content=content,
               dry_run=dry_run).report
