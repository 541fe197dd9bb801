"""Spreadsheet import of a nation's experts: CSV or XLSX, every row or none.

Nations keep their rosters in spreadsheets; an import that stops half way leaves a pool nobody
can trust, so every row is validated first (through the same :class:`ExpertIn` the API uses)
and either all of them are written or none, with a per-row report of what was wrong. Rows are
matched to existing experts of the nation by email, so re-importing an edited sheet updates.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import PurePath
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from crrt.access import policy
from crrt.access.policy import Permission
from crrt.access.principal import Principal
from crrt.audit import service as audit
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

COLUMNS = ("name", "email", "phone", "institution", "skills", "languages", "clearance",
           "deployability", "time_zone", "notes")
REQUIRED = ("name", "email", "skills")
MAX_ROWS = 5000
MAX_COLUMNS = len(COLUMNS) + 20
FORMULA_STARTS = ("=", "@")
MAX_BYTES = 5 * 1024 * 1024
MAX_UPLOAD = MAX_BYTES + 1024 * 1024  # the request around the file: multipart framing, fields
_MAX_SCANNED = 10 * MAX_ROWS  # blank rows too: a sheet formatted down to row 1,048,576 stops here


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


def parse_skills(text: str) -> list[dict[str, Any]]:
    """The skills of a cell; the taxonomy and the levels are checked by :class:`SkillLevel`."""
    skills: list[dict[str, Any]] = []
    for item in (part.strip() for part in re.split(r"[;,]", text)):
        if not item:
            continue
        name, sep, level = item.partition(":")
        level = level.strip()
        if not sep or not level.isascii() or not level.isdigit():
            raise ValueError(f"'{item}' is not skill:level (e.g. incident_handling:3)")
        skills.append({"skill": re.sub(r"[\s-]+", "_", name.strip().lower()),
                       "level": int(level)})
    return skills


def _parse_list(text: str) -> list[str]:
    return [part for part in re.split(r"[;,\s]+", text.strip()) if part]


def _parse_deployability(text: str) -> list[str]:
    parts = (re.sub(r"[\s-]+", "_", p.strip().lower()) for p in re.split(r"[;,]", text))
    return [p for p in parts if p]


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
    return str(value).strip()


def template() -> str:
    """The header every import reads, and one example row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerow(["Jane Example", "jane.example@csirt.example", "+370 600 00000", "",
                     "incident_handling:3; malware_analysis:2", "en, lt", Clearance.NONE.value,
                     f"{Deployability.REMOTE.value}; {Deployability.ON_SITE.value}",
                     "Europe/Vilnius", ""])
    return out.getvalue()


# --- reading the file ------------------------------------------------------------------------

def _csv_rows(content: bytes) -> Iterator[list[str]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid.field("file", "The CSV file is not UTF-8 text.") from exc
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    try:
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            yield [cell.strip() for cell in row]
    except csv.Error as exc:
        raise Invalid.field("file", f"The CSV file cannot be read: {exc}.") from exc


def _xlsx_rows(content: bytes) -> Iterator[list[str]]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise Invalid.field("file", "The file is not a readable XLSX workbook.") from exc
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


def read_sheet(filename: str, content: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the non-blank data rows with their spreadsheet row numbers."""
    if len(content) > MAX_BYTES:
        raise TooLarge(f"The file is over {MAX_BYTES // (1024 * 1024)} MiB.")
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
            raise TooLarge(f"The sheet is over {_MAX_SCANNED} rows long.")
        if not any(cells):
            continue
        if header is None:
            header = [re.sub(r"\s+", "_", c.strip().lower()) for c in cells]
            continue
        data.append((number, cells))
        if len(data) > MAX_ROWS:
            raise TooLarge(f"Import at most {MAX_ROWS} experts at a time.")
    if header is None:
        raise Invalid.field("file", "The file is empty: the first row names the columns.")
    _check_header(header)
    return header, data


def _check_header(header: list[str]) -> None:
    named = [c for c in header if c]
    unknown = sorted({c for c in named if c not in COLUMNS})
    if unknown:
        raise Invalid(f"Unknown column(s): {', '.join(unknown)}. The columns are: "
                      f"{', '.join(COLUMNS)}.",
                      [FieldError(["file", "columns"], f"unknown column '{c}'") for c in unknown],
                      unknown_columns=unknown)
    twice = sorted({c for c in named if named.count(c) > 1})
    if twice:
        raise Invalid.field(["file", "columns"], f"Column(s) named twice: {', '.join(twice)}.")
    missing = [c for c in REQUIRED if c not in named]
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


def import_experts(*, db: Session, actor: Principal, org: str, filename: str, content: bytes,
                   dry_run: bool) -> ImportReport:
    """Validate every row, then write all of them, or (any row rejected, or a dry run) none."""
    if not re.match(ORG_CODE, org or ""):
        raise Invalid.field("org", "An organisation code such as EE.")
    nation = service.nation(db, actor, org)
    policy.require(actor, Permission.EXPERTS_WRITE, nation)
    header, rows = read_sheet(filename, content)
    institutions = {inst.name.lower(): inst.public_id for inst in
                    organisations.list_institutions(db=db, actor=actor, code=nation.code)}
    existing = {(e.email or "").lower(): e for e in db.scalars(
        select(Expert).where(Expert.organisation_id == nation.id, Expert.erased_at.is_(None)))}
    seen: dict[str, int] = {}
    planned: list[tuple[ExpertIn, Expert | None]] = []
    rejected: list[RowRejection] = []
    for number, cells in rows:
        named = {c: (cells[i] if i < len(cells) else "") for i, c in enumerate(header) if c}
        data, errors = _row_input(nation.code, named, institutions)
        errors += [f"{column}: a cell may not start with = or @ (a spreadsheet formula)"
                   for column, value in named.items() if value.startswith(FORMULA_STARTS)]
        email = (str(data.email).lower() if data is not None
                 else named.get("email", "").strip().lower()) or None
        if len(cells) > len(header) and any(cells[len(header):]):
            errors.append("the row has more cells than the header has columns")
        if email and email in seen:
            errors.append(f"email: the same email is on row {seen[email]}")
        if email:
            seen.setdefault(email, number)
        if errors or data is None:
            rejected.append(RowRejection(row=number, email=email, errors=errors))
            continue
        planned.append((data, existing.get(str(data.email).lower())))
    created = sum(1 for _, expert in planned if expert is None)
    report = ImportReport(created=created, updated=len(planned) - created, rejected=rejected,
                          dry_run=dry_run, applied=False)
    if rejected or dry_run:
        return report
    for data, expert in planned:
        if expert is None:
            service.create_expert(db=db, actor=actor, org=nation, data=data)
        else:
            service.change_expert(db=db, actor=actor, expert=expert, data=_patch_of(data, header))
    audit.record(db=db, actor=actor, action="expert.import", object_type="organisation",
                 object_id=nation.code,
                 changes={"created": report.created, "updated": report.updated,
                          "rows": len(rows),
                          "format": PurePath(filename).suffix.lower().lstrip(".")})
    report.applied = True
    return report
