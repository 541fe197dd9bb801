"""A real Chromium through the spreadsheet import and an expert's personal data.

Screenshots go to ``/tmp/crrt-import-*.png`` and ``/tmp/crrt-privacy-*.png`` (or
``$CRRT_SCREENSHOTS``) for a person to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.browser import (
    COORDINATOR_EMAIL,
    POC_EMAIL,
    no_horizontal_scroll,
    serious_violations,
    shoot,
    sign_in,
    tab_to,
)

pytestmark = pytest.mark.browser

HEADER = "name,email,skills,languages,clearance,clearance_expires_on,messenger"


def _sheet(folder: Path, name: str, *rows: str) -> Path:
    path = folder / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def _check(page, server, sheet: Path) -> None:
    """Choose the file on the import form and check it."""
    page.goto(f"{server.url}/experts/import")
    if page.locator("select#org").count():  # a coordinator chooses the nation
        page.get_by_label("Nation").select_option("EE")
    page.get_by_label("Spreadsheet").set_input_files(str(sheet))
    with page.expect_navigation():  # the next page, not this one
        page.get_by_role("button", name="Check the file").click()


def _import(page, server, folder: Path, name: str, email: str) -> str:
    """Import one expert through the pages; returns the path of their record."""
    _check(page, server, _sheet(folder, f"{email}.csv", f"{name},{email},cloud:2,et,,,"))
    page.get_by_role("button", name="Confirm the import").click()
    page.wait_for_url("**/experts?org=EE&imported=1*")
    return str(page.get_by_role("link", name=name).get_attribute("href"))


def test_a_poc_imports_a_spreadsheet_and_finds_the_expert_in_the_pool(page, server, tmp_path):
    sign_in(page, server, POC_EMAIL, "/experts")
    page.get_by_role("link", name="Import a spreadsheet").click()
    page.wait_for_url(f"{server.url}/experts/import")
    assert page.get_by_text("Estonia (EE)").is_visible()

    bad = _sheet(tmp_path, "bad.csv",
                 "Ülle Importer,ulle.importer@ee.example,cloud:2,et,SECRET UE,2027-06-30,",
                 "Broken Row,not-an-email,cloud:7,xx,,31.06.2027,")
    _check(page, server, bad)
    assert page.get_by_role("heading", name="Check the import").is_visible()
    assert page.get_by_role("alert").filter(has_text="1 row is rejected").is_visible()
    broken = page.locator("tr", has_text="Broken Row")
    assert "Rejected" in broken.inner_text() and "clearance_expires_on" in broken.inner_text()
    assert "New" in page.locator("tr", has_text="Ülle Importer").inner_text()
    assert page.get_by_role("button", name="Confirm the import").count() == 0
    shoot(page, "crrt-import-report-rejected.png")

    page.get_by_role("link", name="Choose another file").first.click()
    page.wait_for_url(f"{server.url}/experts/import?org=EE")
    good = _sheet(tmp_path, "good.csv",
                  "Ülle Importer,ulle.importer@ee.example,cloud:2,et,SECRET UE,2027-06-30,"
                  "Signal +372 5550 1101")
    _check(page, server, good)
    shoot(page, "crrt-import-report.png")
    page.get_by_role("button", name="Confirm the import").click()
    page.wait_for_url("**/experts?org=EE&imported=1&added=1&updated=0")
    assert page.get_by_role("status").filter(has_text="1 expert was added.").is_visible()
    row = page.locator("table tbody tr", has_text="Ülle Importer")
    assert row.count() == 1 and "Cloud" in row.inner_text()
    page.get_by_role("link", name="Ülle Importer").click()
    assert page.get_by_text("Signal +372 5550 1101").is_visible()


def test_the_wrong_file_is_told_by_its_field(page, server, tmp_path):
    sign_in(page, server, POC_EMAIL, "/experts/import")
    odd = tmp_path / "experts.ods"
    odd.write_bytes(b"not a sheet")
    _check(page, server, odd)
    assert page.get_by_role("alert").filter(has_text="There is a problem").is_visible()
    assert page.get_by_label("Spreadsheet").get_attribute("aria-invalid") == "true"
    assert page.locator("#file-error").inner_text().endswith("Import a .csv or an .xlsx file.")
    shoot(page, "crrt-import-errors.png")


def test_erasure_is_confirmed_by_typing_the_name_with_the_keyboard(page, server, tmp_path):
    sign_in(page, server, POC_EMAIL, "/experts")
    record = _import(page, server, tmp_path, "Erik Erasable", "erik.erasable@ee.example")
    page.goto(f"{server.url}{record}")
    erase_link = page.get_by_role("link", name="Erase personal data")
    erase_link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server.url}{record}/erase")

    tab_to(page, "confirmation")
    page.keyboard.type("Erik Somebody")
    with page.expect_navigation():  # the next page, not this one
        page.keyboard.press("Enter")
    assert page.get_by_label("Type the expert's name to confirm").get_attribute(
        "aria-invalid") == "true"
    assert page.evaluate("() => document.activeElement.classList.contains('error-summary')")
    shoot(page, "crrt-privacy-erase-error.png")

    tab_to(page, "confirmation")
    page.keyboard.press("Control+A")
    page.keyboard.type("erik erasable")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server.url}{record}?saved=erased")
    assert page.get_by_role("status").filter(has_text="The personal data is erased").is_visible()
    assert page.get_by_role("heading", name="Erased expert", exact=False).is_visible()
    assert page.get_by_role("link", name="Erase personal data").count() == 0


def _pages(page, server, folder: Path, width: int) -> list[tuple[str, str]]:
    """Each new page at this width, left open in turn: (its name, what to check)."""
    record = _import(page, server, folder, f"Wide Check {width}", f"wide.{width}@ee.example")
    return [("import-form", "/experts/import"), ("privacy-data", f"{record}/personal-data"),
            ("privacy-erase", f"{record}/erase")]


@pytest.mark.parametrize("width", [1280, 360])
def test_the_new_pages_pass_the_accessibility_checks_and_fit(axe_page, server, tmp_path, width):
    page = axe_page
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, server, COORDINATOR_EMAIL, "/experts")
    wrong: list[str] = []

    def look(name: str) -> None:
        if not no_horizontal_scroll(page):
            wrong.append(f"{name} scrolls sideways at {width}px")
        wrong.extend(f"{name}: {v}" for v in serious_violations(page))
        shoot(page, f"crrt-{name}-{width}.png")

    for name, path in _pages(page, server, tmp_path, width):
        page.goto(f"{server.url}{path}")
        look(name)
    _check(page, server, _sheet(tmp_path, "mixed.csv",
                                "Mixed Good,mixed.good@ee.example,cloud:1,et,,,",
                                "Mixed Bad,mixed bad,cloud:9,xx,,2027-02-30,"))
    look("import-report-rejected")
    page.goto(f"{server.url}/experts/import")
    with page.expect_navigation():  # the next page, not this one
        page.get_by_role("button", name="Check the file").click()
    look("import-errors")
    assert not wrong, "\n".join(wrong)
