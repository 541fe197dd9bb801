import io
import struct
import time
import tracemalloc
import zipfile
from datetime import date, datetime

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl.utils import get_column_letter
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from crrt.access.enums import Role
from crrt.access.principal import Principal
from crrt.audit import service as audit
from crrt.audit.models import AuditEvent
from crrt.core import spreadsheets
from crrt.core.errors import Forbidden, Invalid
from crrt.experts import importer, service
from crrt.experts.enums import Skill
from crrt.experts.importer import TooLarge, UnsupportedFile, format_skills, parse_skills
from crrt.experts.models import Expert
from crrt.experts.schemas import ExpertFilter, SkillLevel
from tests import support
from tests.support import add_institution

HEADER = "name,email,phone,institution,skills,languages,clearance,deployability,time_zone,notes"
KADRI = ("Kadri Saar,kadri.saar@ria.ee.example,+372 5550 1101,CERT-EE,"
         "\"incident_handling:3; malware_analysis:2\",\"et, en\",RESTREINT UE,"
         "\"remote; on_site\",Europe/Tallinn,Team lead on call")
SYSTEM = Principal.system("tests")
MART = "Mart Kask,mart.kask@mil.ee.example,,,ot_ics:2,et,,,,"


def _run(database, world, content, *, filename="experts.csv", org="EE", dry_run=False,
         role=Role.NATIONAL_POC):
    return importer.import_experts(database=database, actor=world.principals[role], org=org,
                                   filename=filename, content=content, dry_run=dry_run)


def _pool(database):
    with database.session() as db:
        experts, _ = service.list_experts(db=db, actor=SYSTEM, limit=200, cursor=None,
                                          filters=ExpertFilter(include_erased=True))
        return {e.email: service.expert_out(db, SYSTEM, e) for e in experts}


def _csv(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def _xlsx(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    book.create_sheet("Ignored").append(["not", "read"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_csv_import_creates_every_row(database, world):
    add_institution(database, "EE", "CERT-EE")
    report = _run(database, world, _csv(KADRI, MART))
    assert (report.created, report.updated, report.rejected, report.applied) == (2, 0, [], True)
    pool = _pool(database)
    kadri = pool["kadri.saar@ria.ee.example"]
    assert kadri.institution == "CERT-EE" and kadri.phone == "+372 5550 1101"
    assert [(s.skill.value, s.level) for s in kadri.skills] == [("incident_handling", 3),
                                                                ("malware_analysis", 2)]
    assert (kadri.languages, kadri.clearance.value) == (["en", "et"], "RESTREINT UE")
    assert [d.value for d in kadri.deployability] == ["remote", "on_site"]
    assert (kadri.time_zone, kadri.notes) == ("Europe/Tallinn", "Team lead on call")
    mart = pool["mart.kask@mil.ee.example"]
    assert (mart.institution, mart.phone, mart.clearance.value, mart.time_zone) == \
        (None, None, "none", "UTC")


def test_a_semicolon_csv_with_a_bom_is_read(database, world):
    content = ("\ufeffName;Email;Skills;Languages;Time Zone\r\n"
               "Kadri Saar;kadri@ria.ee.example;incident_handling:3, cloud:1;et en;"
               "Europe/Tallinn\r\n").encode()
    assert _run(database, world, content).created == 1
    kadri = _pool(database)["kadri@ria.ee.example"]
    assert [s.skill for s in kadri.skills] == [Skill.CLOUD, Skill.INCIDENT_HANDLING]
    assert kadri.time_zone == "Europe/Tallinn"


def test_an_xlsx_import_reads_the_first_sheet(database, world):
    content = _xlsx([["name", "email", "phone", "skills", "clearance", "deployability"],
                     ["Kadri Saar", "kadri@ria.ee.example", 3725550110, "cloud:2",
                      "secret ue", "On site"],
                     [None, None, None, None, None, None],
                     ["Mart Kask", "mart@mil.ee.example", None, "ot_ics:1", None, None]])
    report = _run(database, world, content, filename="Roster.XLSX")
    assert (report.created, report.rejected) == (2, [])
    kadri = _pool(database)["kadri@ria.ee.example"]
    assert (kadri.phone, kadri.clearance.value) == ("3725550110", "SECRET UE")
    assert [d.value for d in kadri.deployability] == ["on_site"]


def test_one_bad_row_rejects_the_whole_file_with_a_report(database, world):
    content = _csv(KADRI, MART,
                   "Liis Mägi,liis@taltech.ee.example,12,Nowhere,malware_analysis:4,xx,,,Mars,",
                   "No Skills,noskills@ee.example,,,,,,,,",
                   "Mart Again,MART.KASK@mil.ee.example,,,cloud,et,,,,")
    report = _run(database, world, content)
    assert not report.applied and (report.created, report.updated) == (1, 0)
    rows = {r.row: r for r in report.rejected}
    assert sorted(rows) == [2, 4, 5, 6]
    assert rows[2].errors == ["institution: no institution of this nation is named 'CERT-EE'"]
    liis = rows[4].errors
    assert rows[4].email == "liis@taltech.ee.example"
    assert any(e.startswith("phone:") for e in liis)
    assert any(e.startswith("institution:") for e in liis)
    assert "skills.0.level: Input should be less than or equal to 3" in liis
    assert any(e.startswith("languages.0:") for e in liis)
    assert any(e.startswith("time_zone:") for e in liis)
    assert rows[5].errors == ["skills: Field required"]
    assert "email: the same email is on row 3" in rows[6].errors
    assert any("is not skill:level" in e for e in rows[6].errors)
    assert _pool(database) == {}


def test_a_dry_run_reports_without_writing(database, world):
    add_institution(database, "EE", "CERT-EE")
    report = _run(database, world, _csv(KADRI, MART), dry_run=True)
    assert (report.created, report.updated, report.dry_run, report.applied) == (2, 0, True,
                                                                                False)
    assert _pool(database) == {}
    bad = _run(database, world, _csv(MART, "X,not-an-email,,,cloud:1,,,,,"), dry_run=True)
    assert [r.row for r in bad.rejected] == [3]


def test_reimporting_updates_by_email_and_keeps_unlisted_fields(database, world, nominate):
    kept = nominate(email="mart.kask@mil.ee.example", name="Mart Kask", notes="keep me",
                    user_email="responder@test.example")
    report = _run(database, world, _csv(
        "Mart Kask,Mart.Kask@mil.ee.example,cloud:3,fr", "Liis Mägi,liis@ee.example,cloud:1,",
        header="name,email,skills,languages"))
    assert (report.created, report.updated) == (1, 1)
    mart = _pool(database)["mart.kask@mil.ee.example"]
    assert mart.id == kept
    assert [(s.skill.value, s.level) for s in mart.skills] == [("cloud", 3)]
    assert (mart.languages, mart.notes, mart.phone) == (["fr"], "keep me", "+372 5550 1101")
    with database.session() as db:
        assert service.get(db=db, actor=SYSTEM, expert_id=kept).user_id == \
            world.users[Role.RESPONDER]
        imports = list(db.scalars(select(AuditEvent).where(AuditEvent.action == "expert.import")))
        assert [e.changes for e in imports] == [{"created": 1, "updated": 1, "rows": 2,
                                                 "format": "csv"}]
        actions = db.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
        assert actions[-3:] == ["expert.update", "expert.nominate", "expert.import"]
        assert audit.verify(db=db).ok


def test_an_erased_expert_is_not_matched_by_email(database, world, nominate):
    erased = nominate(email="mart@mil.ee.example")
    with database.session() as db:
        service.erase(db=db, actor=world.principals[Role.COORDINATOR], expert_id=erased)
    report = _run(database, world, _csv("Mart Kask,mart@mil.ee.example,cloud:1",
                                        header="name,email,skills"))
    assert (report.created, report.updated) == (1, 0)


@pytest.mark.parametrize(("header", "message"), [
    ("name,email,skills,shoe_size,hat", "Unknown column(s): hat, shoe_size"),
    ("name,email", "Missing column(s): skills"),
    ("name,email,skills,Email", "named twice: email"),
])
def test_the_header_must_name_known_columns(database, world, header, message):
    with pytest.raises(Invalid, match=message.replace("(", r"\(").replace(")", r"\)")):
        _run(database, world, _csv(header=header))


def test_files_that_cannot_be_read_are_refused(database, world):
    with pytest.raises(UnsupportedFile) as unsupported:
        _run(database, world, b"name", filename="experts.ods")
    assert unsupported.value.status == 415
    for filename, content in (("x.xlsx", b"not a zip"), ("x.csv", b"\xff\xfe\x00bad"),
                              ("x.csv", b"\n\n")):
        with pytest.raises(Invalid) as exc:
            _run(database, world, content, filename=filename)
        assert exc.value.status == 422 and exc.value.errors[0].loc[0] == "file"


def test_imports_are_limited_in_size_and_rows(database, world, monkeypatch):
    with pytest.raises(TooLarge) as exc:
        _run(database, world, b"x" * (importer.MAX_BYTES + 1))
    assert exc.value.status == 413
    monkeypatch.setattr(importer, "MAX_ROWS", 3)
    rows = [f"E{n},e{n}@ee.example,cloud:1" for n in range(4)]
    with pytest.raises(TooLarge, match="at most 3"):
        _run(database, world, _csv(*rows, header="name,email,skills"))


def test_importing_needs_write_permission_on_the_nation(database, world):
    with pytest.raises(Forbidden):
        _run(database, world, _csv(MART), org="ES")
    with pytest.raises(Invalid):
        _run(database, world, _csv(MART), org="cert-eu", role=Role.ADMIN)
    with database.session() as db:
        assert db.scalar(select(func.count()).select_from(Expert)) == 0


def test_the_template_row_imports_cleanly(database, world):
    report = _run(database, world, importer.template().encode(), dry_run=True)
    assert (report.created, report.rejected) == (1, [])


def test_the_xlsx_template_row_imports_cleanly(database, world):
    report = _run(database, world, importer.template_xlsx(), filename="template.xlsx",
                  dry_run=True)
    assert (report.created, report.rejected) == (1, [])


FINGERPRINT = "0123 4567 89ab cdef 0123 4567 89ab cdef 0123 4567"


def test_messenger_fingerprint_and_clearance_expiry_are_read_from_csv(database, world):
    _run(database, world, _csv(
        f"Kadri Saar,kadri@ee.example,cloud:1,Signal +372 5550 1101,{FINGERPRINT},2027-03-31",
        header="name,email,skills,messenger,pgp_fingerprint,clearance_expires_on"))
    kadri = _pool(database)["kadri@ee.example"]
    assert kadri.messenger == "Signal +372 5550 1101"
    assert kadri.pgp_fingerprint == FINGERPRINT.replace(" ", "").upper()
    assert kadri.clearance_expires_on == date(2027, 3, 31)


def test_a_clearance_expiry_typed_as_a_date_in_a_workbook_is_read_as_that_day(database, world):
    header = ["name", "email", "skills", "clearance", "clearance_expires_on"]
    _run(database, world, _xlsx([header, ["Mart Kask", "mart@ee.example", "cloud:2",
                                          "SECRET UE", datetime(2028, 1, 15)]]),
         filename="experts.xlsx")
    assert _pool(database)["mart@ee.example"].clearance_expires_on == date(2028, 1, 15)


def test_bad_new_columns_are_rejected_by_their_column(database, world):
    report = _run(database, world, _csv("Kadri Saar,kadri@ee.example,cloud:1,ABC,31.03.2027",
                                        header="name,email,skills,pgp_fingerprint,"
                                               "clearance_expires_on"), dry_run=True)
    [row] = report.rejected
    assert {e.split(":")[0] for e in row.errors} == {"pgp_fingerprint", "clearance_expires_on"}


def test_a_reimport_of_new_columns_clears_a_left_empty_cell(database, world, nominate):
    nominate(email="kadri@ee.example", messenger="Signal +372 5550 1101")
    _run(database, world, _csv("Kadri Saar,kadri@ee.example,cloud:1,",
                               header="name,email,skills,messenger"))
    assert _pool(database)["kadri@ee.example"].messenger is None


def test_the_outcome_says_row_by_row_what_happens(database, world, nominate):
    nominate(email="same@ee.example", name="Same Person", languages=["et"],
             skills=[{"skill": "cloud", "level": 2}], deployability=["remote"],
             clearance="none", time_zone="UTC", phone=None, notes="")
    nominate(email="changed@ee.example", name="Changed Person")
    content = _csv("Same Person,SAME@ee.example,cloud:2,et",
                   "Changed Person,changed@ee.example,cloud:3,et",
                   "New Person,new@ee.example,cloud:1,en",
                   "Bad Person,bad@ee.example,cloud:9,xx",
                   header="name,email,skills,languages")
    outcome = importer.run(database=database, actor=world.principals[Role.NATIONAL_POC],
                           org="EE", filename="x.csv", content=content, dry_run=True)
    assert [(r.row, r.name, r.action) for r in outcome.rows] == [
        (2, "Same Person", importer.UNCHANGED), (3, "Changed Person", importer.UPDATE),
        (4, "New Person", importer.NEW), (5, "Bad Person", importer.REJECTED)]
    assert {p.where: p.message for p in outcome.rows[3].problems} == {
        "skills.0.level": "Input should be less than or equal to 3",
        "languages.0": "'xx' is not an ISO 639-1 language code (e.g. en, et, lt)."}
    assert (outcome.report.created, outcome.report.updated) == (1, 2)
    assert outcome.count(importer.UNCHANGED) == 1


def test_an_unchanged_row_writes_no_update_to_the_audit_log(database, world, nominate):
    kept = nominate(email="same@ee.example", name="Same Person", languages=["et", "en"],
                    skills=[{"skill": "cloud", "level": 2}], notes="", phone=None)
    content = _csv("Same Person,same@ee.example,cloud:2,\"en, et\"",
                   header="name,email,skills,languages")
    outcome = importer.run(database=database, actor=world.principals[Role.NATIONAL_POC],
                           org="EE", filename="x.csv", content=content, dry_run=False)
    assert [r.action for r in outcome.rows] == [importer.UNCHANGED]
    with database.session() as db:
        updates = db.scalars(select(AuditEvent).where(AuditEvent.action == "expert.update",
                                                      AuditEvent.object_id == str(kept)))
        assert list(updates) == []


@pytest.mark.parametrize("cell", ["incident_handling", "cloud:", "cloud:two", "cloud:٣"])
def test_a_skill_without_a_level_is_refused(cell):
    with pytest.raises(ValueError, match="skill:level"):
        parse_skills(cell)


def test_skill_cells_are_read_leniently():
    assert parse_skills(" Incident Handling : 3 ;; ot-ics:1,") == [
        {"skill": "incident_handling", "level": 3}, {"skill": "ot_ics", "level": 1}]


@given(st.lists(st.tuples(st.sampled_from(list(Skill)), st.integers(1, 3)),
                unique_by=lambda pair: pair[0]))
def test_skills_survive_a_round_trip_through_a_cell(pairs):
    skills = [SkillLevel(skill=skill, level=level) for skill, level in pairs]
    assert [SkillLevel(**item) for item in parse_skills(format_skills(skills))] == skills


def test_a_cell_far_out_in_column_xfd_is_ignored_and_costs_no_time(database, world):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["name", "email", "skills"])
    for n in range(300):
        sheet.append([f"Expert {n}", f"expert{n}@ee.example", "cloud:1"])
    for row in range(1, 302):  # the header too: a stray cell on every row
        sheet.cell(row=row, column=16384, value="x")
    out = io.BytesIO()
    book.save(out)
    started = time.perf_counter()  # a dry run: reading and checking the sheet is what is timed
    report = _run(database, world, out.getvalue(), filename="wide.xlsx", dry_run=True)
    took = time.perf_counter() - started
    assert took < 5, f"the import took {took:.1f} s"
    assert (report.created, report.updated, report.rejected) == (300, 0, [])


def test_cells_that_look_like_formulas_are_imported_as_given(database, world):
    content = _csv("=1+2,kadri@ee.example,+372 5550 1101,cloud:1,@SUM(1+1)",
                   "Mart Kask,mart@mil.ee.example,,ot_ics:2,-- see file",
                   header="name,email,phone,skills,notes")
    report = _run(database, world, content)
    assert (report.created, report.rejected) == (2, [])
    pool = _pool(database)
    kadri, mart = pool["kadri@ee.example"], pool["mart@mil.ee.example"]
    assert (kadri.name, kadri.phone, kadri.notes, mart.notes) == \
        ("=1+2", "+372 5550 1101", "@SUM(1+1)", "-- see file")
    written = spreadsheets.csv_text([[kadri.name, kadri.phone, kadri.notes, mart.notes]])
    assert written == "\"'=1+2\",\"'+372 5550 1101\",\"'@SUM(1+1)\",\"'-- see file\"\r\n"


def test_a_sheet_the_platform_wrote_imports_as_it_was(database, world):
    rows = [["name", "email", "skills", "notes"],
            ["=1+2", "kadri@ee.example", "cloud:1", "@home"],
            ["Mart Kask", "mart@mil.ee.example", "ot_ics:2", "'quoted, as typed"]]
    for filename, content in (("x.csv", spreadsheets.csv_text(rows).encode()),
                              ("x.xlsx", spreadsheets.xlsx_bytes(rows))):
        report = _run(database, world, content, filename=filename, dry_run=True)
        assert (report.created, report.rejected) == (2, []), filename
    _run(database, world, spreadsheets.xlsx_bytes(rows), filename="x.xlsx")
    pool = _pool(database)
    assert (pool["kadri@ee.example"].name, pool["kadri@ee.example"].notes) == ("=1+2", "@home")
    assert pool["mart@mil.ee.example"].notes == "'quoted, as typed"


def test_two_rows_whose_emails_differ_in_case_are_a_422_report_not_a_409(client, world):
    content = _csv("Mart Kask,mart.kask@mil.ee.example,ot_ics:2",
                   "Mart Kask Again,MART.Kask@Mil.EE.example,cloud:1",
                   header="name,email,skills")
    response = client.post("/api/v1/experts/import", headers=world.headers(Role.NATIONAL_POC),
                           data={"org": "EE"},
                           files={"file": ("experts.csv", content, "text/csv")})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    report = response.json()["report"]
    assert report["applied"] is False
    assert report["rejected"] == [{"row": 3, "email": "mart.kask@mil.ee.example",
                                   "errors": ["email: the same email is on row 2"]}]
    listed = client.get("/api/v1/experts", headers=world.headers(Role.NATIONAL_POC)).json()
    assert listed["items"] == []


# --- hostile files: every size bounded before the work it would cost --------------------------

MART_SHORT = "Mart Kask,mart@mil.ee.example,ot_ics:2"  # for the header name,email,skills

def test_a_header_of_40000_repeated_columns_is_refused_at_the_first_line():
    header = ",".join(importer.COLUMNS[n % len(importer.COLUMNS)] for n in range(40_000))
    with pytest.raises(TooLarge, match="Line 1 is longer than 10,000 characters"):
        importer.read_sheet("wide.csv", (header + "\n").encode())


def test_a_row_wider_than_max_columns_is_refused():
    row = "Kadri Saar,kadri@ee.example,cloud:1" + ",x" * importer.MAX_COLUMNS
    with pytest.raises(TooLarge, match=f"Row 2 is wider than {importer.MAX_COLUMNS} columns"):
        importer.read_sheet("x.csv", _csv(row, header="name,email,skills"))


def test_empty_cells_past_the_last_column_are_left_out(database, world):
    row = "Kadri Saar,kadri@ee.example,cloud:1" + "," * 40
    report = _run(database, world, _csv(row, header="name,email,skills" + "," * 40))
    assert (report.created, report.rejected) == (1, [])


@pytest.mark.parametrize(("row", "message"), [
    (f"Kadri,\"{'n' * 5001}\"", "Row 2 has a cell longer than 5,000"),
    (f"Kadri,{'n' * 10_001}", "Line 2 is longer than 10,000"),
    (",".join([f"\"{'n' * 2000}\n{'n' * 2000}\""] * 3), "Row 2 is longer than 10,000"),
])  # the last: three cells of two lines each, every line of the file short
def test_a_cell_a_line_or_a_row_over_its_limit_is_refused(row, message):
    with pytest.raises(TooLarge, match=message):
        importer.read_sheet("x.csv", _csv(row, header="name,notes,institution,email,skills"))


def test_a_list_cell_holds_at_most_max_items(database, world):
    languages = " ".join(["et", "en"] * 16)
    report = _run(database, world, _csv(f"Kadri,k@ee.example,cloud:1,{languages}",
                                        header="name,email,skills,languages"))
    assert report.rejected[0].errors == ["languages: at most 30 items in a cell"]


def test_checking_stops_at_the_hundredth_rejected_row(database, world):
    rows = [f"E{n},e{n}@ee.example,cloud:9" for n in range(150)]
    report = _run(database, world, _csv(MART_SHORT, *rows, header="name,email,skills"),
                  dry_run=True)
    assert len(report.rejected) == importer.MAX_REJECTED and report.complete is False
    assert report.rejected[-1].row == 3 + importer.MAX_REJECTED - 1


def test_a_dry_run_and_a_refused_import_wait_for_no_writer(database, world):
    """On SQLite a writer holds the one write lock; checking a sheet must not need it."""
    impatient = support.impatient(database)
    try:
        with support.write_lock(database, "experts, audit_head"):
            report = importer.import_experts(database=impatient,
                                             actor=world.principals[Role.NATIONAL_POC],
                                             org="EE", filename="x.csv",
                                             content=_csv(MART_SHORT, "X,bad,cloud:1",
                                                          header="name,email,skills"),
                                             dry_run=False)
            assert [r.row for r in report.rejected] == [3]
            dry = importer.import_experts(database=impatient,
                                          actor=world.principals[Role.NATIONAL_POC], org="EE",
                                          filename="x.csv", dry_run=True,
                                          content=_csv(MART_SHORT, header="name,email,skills"))
            assert (dry.created, dry.applied) == (1, False)
            with pytest.raises(OperationalError):  # the lock is real: a clean import waits
                importer.import_experts(database=impatient,
                                        actor=world.principals[Role.NATIONAL_POC], org="EE",
                                        filename="x.csv", dry_run=False,
                                        content=_csv(MART_SHORT, header="name,email,skills"))
    finally:
        impatient.dispose()


# XLSX parts built here with zipfile: a sheet of ~285 MB of one repeated cell packs to ~0.9 MB.
BOMB_CELL = b'<c t="inlineStr"><is><t>x</t></is></c>'
BOMB_CHUNKS = 120  # of 2.4 MiB each


def _bomb_stream(write) -> None:
    chunk = BOMB_CELL * (1 << 16)
    for _ in range(BOMB_CHUNKS):
        write(chunk)


def _workbook_with(name: str, stream) -> bytes:
    """A real workbook whose part ``name`` is replaced by what ``stream`` writes, deflated."""
    plain = _xlsx([["name", "email", "skills"], ["Kadri", "k@ee.example", "cloud:1"]])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(plain)) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for info in source.infolist():
            if info.filename != name:
                target.writestr(info.filename, source.read(info))
                continue
            with target.open(name, "w") as part:
                stream(part.write)
    return out.getvalue()


def _declaring(content: bytes, name: str, size: int) -> bytes:
    """``content`` with the central directory's unpacked size of ``name`` set to ``size``."""
    data = bytearray(content)
    at = 0
    while (at := data.find(b"PK\x01\x02", at)) != -1:
        length = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46:at + 46 + length] == name.encode():
            struct.pack_into("<I", data, at + 24, size)
            return bytes(data)
        at += 4
    raise AssertionError(f"{name} is not in the archive")


@pytest.fixture(scope="module")
def bomb() -> bytes:
    def sheet(write) -> None:
        write(b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.'
              b'openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">')
        _bomb_stream(write)
        write(b"</row></sheetData></worksheet>")

    content = _workbook_with("xl/worksheets/sheet1.xml", sheet)
    assert len(content) < 1024 * 1024
    return content


def _refused_within_bounds(content: bytes) -> Invalid:
    """What :func:`importer.read_sheet` refuses ``content`` with, and at what cost."""
    tracemalloc.start()
    started = time.process_time()
    try:
        with pytest.raises(Invalid) as refused:
            importer.read_sheet("bomb.xlsx", content)
        cpu = time.process_time() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 32 * 1024 * 1024, f"peak {peak / 2**20:.0f} MiB"
    assert cpu < 1, f"{cpu:.2f} s of CPU"
    return refused.value


def test_an_xlsx_bomb_is_refused_by_its_declared_size(bomb):
    refused = _refused_within_bounds(bomb)
    assert refused.status == 413
    assert refused.detail == "The workbook unpacks to more than 20 MiB."


def test_an_xlsx_part_whose_directory_understates_its_size_is_refused(bomb):
    """A central directory that claims 2 KB for ~285 MB: zipfile stops at the claim, and the
    part fails its CRC; read whole, the part would first be inflated in full."""
    liar = _declaring(_workbook_with("[Content_Types].xml", _bomb_stream),
                      "[Content_Types].xml", 2048)
    refused = _refused_within_bounds(liar)
    assert refused.status == 422
    assert refused.detail == "The file is not a readable XLSX workbook."


def test_an_xlsx_part_packed_over_max_ratio_is_refused():
    def styles(write) -> None:
        write(b" " * (2 * 1024 * 1024))  # 2 MiB that packs to a few KB

    refused = _refused_within_bounds(_workbook_with("xl/styles.xml", styles))
    assert refused.status == 413
    assert refused.detail == "A part of the workbook unpacks to more than 100 times its " \
                             "packed size."


def test_an_xlsx_of_more_xml_elements_than_openpyxl_parses_in_time_is_refused():
    """~310,000 empty cells past column 30 (3.7 MB unpacked, packed 6:1) once cost
    openpyxl ten seconds of CPU to read and drop."""
    def sheet(write) -> None:
        write(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
              b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c>'
              b'<c r="B1" t="inlineStr"><is><t>email</t></is></c>'
              b'<c r="C1" t="inlineStr"><is><t>skills</t></is></c></row>')
        for row in range(2, 1035):
            write(f'<row r="{row}">'.encode()
                  + b"".join(f'<c r="{get_column_letter(col)}{row}"/>'.encode()
                             for col in range(31, 331)) + b"</row>")
        write(b"</sheetData></worksheet>")

    refused = _refused_within_bounds(_workbook_with("xl/worksheets/sheet1.xml", sheet))
    assert refused.status == 413
    assert refused.detail.startswith("The workbook holds more than 300,000 XML elements")


def test_an_xlsx_whose_packed_stream_is_damaged_is_a_422_not_a_500():
    def sheet(write) -> None:
        write(b"<worksheet>" + b"".join(f"<row r='{n}'/>".encode() for n in range(1, 2000))
              + b"</worksheet>")

    content = bytearray(_workbook_with("xl/worksheets/sheet1.xml", sheet))
    with zipfile.ZipFile(io.BytesIO(bytes(content))) as packed:
        part = packed.getinfo("xl/worksheets/sheet1.xml")
    name, extra = struct.unpack_from("<HH", content, part.header_offset + 26)
    start = part.header_offset + 30 + name + extra
    content[start + 10:start + 30] = b"\xff" * 20  # zlib: "invalid ... set"
    with pytest.raises(Invalid, match="not a readable XLSX workbook"):
        importer.read_sheet("x.xlsx", bytes(content))


def test_an_xlsx_part_packed_with_bzip2_is_refused():
    plain = _xlsx([["name", "email", "skills"]])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(plain)) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_BZIP2) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info))
    with pytest.raises(Invalid, match="not a readable XLSX workbook"):
        importer.read_sheet("x.xlsx", out.getvalue())
