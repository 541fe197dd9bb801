"""The spreadsheet import pages: choose a file, see what it would do row by row, confirm."""

from __future__ import annotations

import hashlib
import io
import re

import openpyxl
import pytest
from sqlalchemy import select

from crrt.access.enums import Role
from crrt.audit.models import AuditEvent
from crrt.core.files import store_for
from crrt.experts import importer
from crrt.organisations import service as org_service
from tests.conftest import SYSTEM
from tests.support import add_institution
from tests.web.conftest import csrf_of, nominate
from tests.web.test_expert_pages import listed, pool_size

HEADER = "name,email,skills,languages,messenger,clearance_expires_on"
NEW_ROW = "Liis Import,liis.import@ee.example,cloud:2,et,Signal +372 5550 1101,2027-06-30"


def _csv(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def _check(client, content: bytes, filename: str = "experts.csv", **fields: str):
    """Open the import form and post ``content`` through it, as the browser would."""
    token = csrf_of(client.get("/experts/import").text)
    return client.post("/experts/import", data={"csrf_token": token, **fields},
                       files={"file": (filename, content, "text/csv")},
                       follow_redirects=False)


def _confirmation(html: str) -> dict[str, str]:
    """The hidden fields of the report's confirmation form."""
    form = html[html.index('action="/experts/import/confirm"'):]
    form = form[:form.index("</form>")]
    return dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', form))


def _rows(html: str) -> list[tuple[str, str, str]]:
    """The report's rows: number, name and what happens."""
    return re.findall(r'<tr class="import-row import-row--[a-z]+">\s*<th scope="row">(\d+)</th>'
                      r'\s*<td class="wrap">([^<]*)</td>\s*'
                      r'<td><span class="import-action import-action--([a-z]+)">', html)


def test_a_poc_imports_for_its_own_nation_fixed(browser):
    page = browser(Role.NATIONAL_POC).get("/experts/import")
    assert page.status_code == 200
    assert "Estonia (EE)" in page.text and '<select id="org"' not in page.text
    assert 'enctype="multipart/form-data"' in page.text and 'type="file"' in page.text
    assert 'href="/api/v1/experts/import/template.csv"' in page.text
    assert 'href="/api/v1/experts/import/template.xlsx"' in page.text
    for column in importer.COLUMNS:
        assert f"<code>{column}</code>" in page.text


def test_a_coordinator_chooses_the_nation(browser):
    page = browser(Role.COORDINATOR).get("/experts/import?org=ES")
    assert '<select id="org" name="org"' in page.text
    assert '<option value="ES" selected>' in page.text


def test_the_pool_offers_the_import_to_those_who_may_import(browser, world):
    assert 'href="/experts/import"' in browser(Role.NATIONAL_POC).get("/experts").text
    assert 'href="/experts/import"' not in browser(Role.RESPONDER).get("/experts").text
    assert browser(Role.RESPONDER).get("/experts/import").status_code == 403


def test_the_templates_download_from_the_page_with_the_session(browser):
    client = browser(Role.NATIONAL_POC)
    xlsx = client.get("/api/v1/experts/import/template.xlsx")
    assert xlsx.status_code == 200 and "attachment" in xlsx.headers["content-disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert [c.value for c in sheet[1]] == list(importer.COLUMNS)
    assert client.get("/api/v1/experts/import/template.csv").text.startswith('"name","email"')


def test_a_clean_file_is_shown_row_by_row_and_imported_once_confirmed(browser, database):
    nominate(database, "EE", "Same Person", skills={"cloud": 2}, languages=("et",))
    nominate(database, "EE", "Moved On", skills={"cloud": 1}, languages=("et",))
    client = browser(Role.NATIONAL_POC)
    content = _csv(NEW_ROW, "Same Person,same.person@ee.example,cloud:2,et,,",
                   "Moved On,moved.on@ee.example,cloud:3,et,,")
    report = _check(client, content)
    assert report.status_code == 200
    assert _rows(report.text) == [("2", "Liis Import", "new"), ("3", "Same Person", "unchanged"),
                                  ("4", "Moved On", "update")]
    assert pool_size(database, "EE") == 2  # nothing changed yet
    fields = _confirmation(report.text)
    assert fields["upload"] == hashlib.sha256(content).hexdigest()
    assert (fields["org"], fields["filename"]) == ("EE", "experts.csv")

    done = client.post("/experts/import/confirm", data=fields, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == "/experts?org=EE&imported=1&added=1&updated=1"
    pool = client.get(done.headers["location"])
    assert "1 expert was added. 1 expert was updated." in pool.text
    assert listed(pool.text) == {"Liis Import", "Same Person", "Moved On"}
    with database.session() as db:
        imports = db.scalars(select(AuditEvent).where(AuditEvent.action == "expert.import"))
        assert [e.changes["created"] for e in imports] == [1]


def test_a_checked_file_waits_apart_and_leaves_once_imported_or_after_a_day(browser, settings,
                                                                           database):
    import os
    from datetime import timedelta

    from crrt.core import clock
    from crrt.core.files import staging_for
    from crrt.experts.jobs import STAGING_AREA
    from crrt.jobs import service as jobs

    client = browser(Role.NATIONAL_POC)
    staging = staging_for(settings, STAGING_AREA)
    kept = _confirmation(_check(client, _csv(NEW_ROW)).text)
    assert staging.exists(kept["upload"])
    assert not store_for(settings).exists(kept["upload"])  # never among the kept files
    a_day_ago = (clock.now() - timedelta(days=1, minutes=1)).timestamp()
    os.utime(staging.path_of(kept["upload"]), (a_day_ago, a_day_ago))
    again = _confirmation(_check(client, _csv(NEW_ROW)).text)  # checked again: a new day
    assert again["upload"] == kept["upload"]
    assert staging.path_of(kept["upload"]).stat().st_mtime > a_day_ago + 3600
    os.utime(staging.path_of(kept["upload"]), (a_day_ago, a_day_ago))
    later = _confirmation(_check(client, _csv(NEW_ROW.replace("Liis", "Laura"))).text)
    jobs.run_due(database, settings, worker_id="test")  # the worker's hourly pass
    assert not staging.exists(kept["upload"])  # a day unconfirmed: gone
    assert staging.exists(later["upload"])
    assert client.post("/experts/import/confirm", data=later,
                       follow_redirects=False).status_code == 303
    assert not staging.exists(later["upload"])  # imported: gone


def test_a_rejected_row_is_shown_with_its_problems_by_column_and_cannot_be_confirmed(
        browser, database):
    client = browser(Role.NATIONAL_POC)
    report = _check(client, _csv(NEW_ROW, "Bad Row,not-an-email,cloud:7,xx,,31.12.2027"))
    assert report.status_code == 422
    assert _rows(report.text) == [("2", "Liis Import", "new"), ("3", "Bad Row", "rejected")]
    bad = report.text[report.text.index('import-row--rejected'):]
    bad = bad[:bad.index("</tr>")]
    for column in ("email", "skills", "languages", "clearance_expires_on"):
        assert f"<code>{column}</code>" in bad
    assert 'action="/experts/import/confirm"' not in report.text
    assert 'role="alert"' in report.text
    assert pool_size(database, "EE") == 0


def test_a_rejected_rows_problems_are_worded_as_the_forms_are_in_the_readers_language(
        browser):
    from crrt.web import i18n

    client = browser(Role.NATIONAL_POC)
    bad_row = "Bad Row,not-an-email,cloud:2,et,,"
    english = _check(client, _csv(bad_row)).text
    assert "Enter an email address such as name@example.org." in english
    client.headers["Accept-Language"] = "lt"
    lithuanian = _check(client, _csv(bad_row)).text
    assert i18n.catalogue("lt").gettext("Enter an email address such as name@example.org.") \
        in lithuanian
    assert "not a valid email" not in lithuanian


def test_an_xlsx_file_is_checked_as_a_csv_is(browser):
    book = openpyxl.Workbook()
    book.active.append(["name", "email", "skills"])
    book.active.append(["Mart Kask", "mart.kask@ee.example", "ot_ics:2"])
    out = io.BytesIO()
    book.save(out)
    report = _check(browser(Role.NATIONAL_POC), out.getvalue(), filename="roster.xlsx")
    assert report.status_code == 200
    assert _rows(report.text) == [("2", "Mart Kask", "new")]


@pytest.mark.parametrize(("filename", "content", "says"), [
    ("experts.ods", b"name,email,skills\n", "Import a .csv or an .xlsx file."),
    ("experts.csv", b"name,email,shoe_size\n", "columns the import does not read: shoe_size"),
    ("experts.csv", b"name,email\n", "must name the columns skills"),
    ("experts.csv", b"\xff\xfe\x00bad", "The CSV file is not UTF-8 text."),
    ("experts.csv", b"x" * (importer.MAX_BYTES + 1), "larger than 5 MiB"),
])
def test_a_file_that_cannot_be_imported_is_told_by_the_file_field(browser, filename, content,
                                                                    says):
    page = _check(browser(Role.NATIONAL_POC), content, filename=filename)
    assert page.status_code == 422
    assert 'id="file-error"' in page.text and says in page.text
    assert 'aria-invalid="true"' in page.text and 'aria-describedby="file-hint file-error"' \
        in page.text
    assert 'href="#file"' in page.text  # the summary leads to the field


def test_no_file_and_no_nation_are_told_by_their_fields(browser):
    client = browser(Role.COORDINATOR)
    token = csrf_of(client.get("/experts/import").text)
    page = client.post("/experts/import", data={"csrf_token": token, "org": ""},
                       files={"file": ("", b"", "application/octet-stream")})
    assert page.status_code == 422
    assert 'id="org-error"' in page.text and 'id="file-error"' in page.text


def test_the_upload_form_needs_its_csrf_token(browser):
    page = browser(Role.NATIONAL_POC).post("/experts/import",
                                           files={"file": ("x.csv", _csv(NEW_ROW), "text/csv")})
    assert page.status_code == 403


def test_a_confirmation_of_an_upload_not_checked_by_the_viewer_is_refused(browser, database,
                                                                          settings):
    coordinator, poc = browser(Role.COORDINATOR), browser(Role.NATIONAL_POC)
    report = _check(coordinator, _csv(NEW_ROW), org="EE")
    fields = _confirmation(report.text)
    token = csrf_of(poc.get("/experts/import").text)
    stolen = poc.post("/experts/import/confirm", data={**fields, "csrf_token": token},
                      follow_redirects=False)
    assert stolen.status_code == 422 and 'id="file-error"' in stolen.text
    # evidence or a report in the same store is not an import, whatever its digest
    other = store_for(settings).save_bytes(_csv(NEW_ROW, header="name,email,skills"),
                                           limit=1000)
    for upload in (other.sha256, "../../etc/passwd", "0" * 64):
        forged = poc.post("/experts/import/confirm", follow_redirects=False, data={
            **fields, "csrf_token": token, "upload": upload})
        assert forged.status_code == 422
    assert pool_size(database, "EE") == 0


def test_a_poc_cannot_import_into_another_nation(browser, database):
    coordinator, poc = browser(Role.COORDINATOR), browser(Role.NATIONAL_POC)
    report = _check(coordinator, _csv(NEW_ROW.replace("et,", "es,")), org="ES")
    token = csrf_of(poc.get("/experts/import").text)
    page = poc.post("/experts/import/confirm", follow_redirects=False,
                    data={**_confirmation(report.text), "csrf_token": token})
    assert page.status_code == 422
    assert pool_size(database, "ES") == 0


def test_a_row_rejected_by_a_change_since_the_check_stops_the_confirmation(browser, database):
    institution = add_institution(database, "EE", "CERT-EE")
    client = browser(Role.NATIONAL_POC)
    report = _check(client, _csv("Liis Import,liis.import@ee.example,cloud:2,CERT-EE",
                                 header="name,email,skills,institution"))
    assert _rows(report.text) == [("2", "Liis Import", "new")]
    with database.session() as db:  # the institution is removed before the confirmation
        org_service.delete_institution(db=db, actor=SYSTEM, code="EE",
                                       institution_id=institution)
    page = client.post("/experts/import/confirm", data=_confirmation(report.text),
                       follow_redirects=False)
    assert page.status_code == 422
    assert _rows(page.text) == [("2", "Liis Import", "rejected")]
    assert "<code>institution</code>" in page.text
    assert 'action="/experts/import/confirm"' not in page.text
    assert pool_size(database, "EE") == 0
