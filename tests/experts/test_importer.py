import io
import time

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from crrt.access.enums import Role
from crrt.access.principal import Principal
from crrt.audit import service as audit
from crrt.audit.models import AuditEvent
from crrt.core.errors import Forbidden, Invalid
from crrt.experts import importer, service
from crrt.experts.enums import Skill
from crrt.experts.importer import TooLarge, UnsupportedFile, format_skills, parse_skills
from crrt.experts.models import Expert
from crrt.experts.schemas import ExpertFilter, SkillLevel
from tests.support import add_institution

HEADER = "name,email,phone,institution,skills,languages,clearance,deployability,time_zone,notes"
KADRI = ("Kadri Saar,kadri.saar@ria.ee.example,+372 5550 1101,CERT-EE,"
         "\"incident_handling:3; malware_analysis:2\",\"et, en\",RESTREINT UE,"
         "\"remote; on_site\",Europe/Tallinn,Team lead on call")
SYSTEM = Principal.system("tests")
MART = "Mart Kask,mart.kask@mil.ee.example,,,ot_ics:2,et,,,,"


def _run(database, world, content, *, filename="experts.csv", org="EE", dry_run=False,
         role=Role.NATIONAL_POC):
    with database.session() as db:
        return importer.import_experts(db=db, actor=world.principals[role], org=org,
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


MART_NOTES = "Mart Kask,mart@mil.ee.example,ot_ics:2,"


@pytest.mark.parametrize("row", [
    '"=HYPERLINK(""http://evil.example"",""Click"")",kadri@ee.example,cloud:1,',
    "Kadri Saar,kadri@ee.example,cloud:1,@SUM(1+1)",
    "Kadri Saar,=1+2@ee.example,cloud:1,",
])
def test_a_cell_that_starts_a_formula_rejects_its_row(database, world, row):
    report = _run(database, world, _csv(row, MART_NOTES, header="name,email,skills,notes"))
    assert not report.applied and report.created == 1
    [rejection] = report.rejected
    assert rejection.row == 2
    assert any("formula" in error for error in rejection.errors), rejection.errors
    assert _pool(database) == {}


def test_a_leading_plus_in_a_phone_number_is_not_a_formula(database, world):
    report = _run(database, world, _csv("Mart Kask,mart@mil.ee.example,+372 5550 1101,ot_ics:2",
                                        header="name,email,phone,skills"))
    assert (report.created, report.rejected) == (1, [])
    assert _pool(database)["mart@mil.ee.example"].phone == "+372 5550 1101"


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
