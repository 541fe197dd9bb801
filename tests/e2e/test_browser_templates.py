"""A real Chromium through the team template pages: a coordinator makes a template of three
slots, is first told what does not fit, and finds it listed. Both pages pass axe and fit a
phone."""

from __future__ import annotations

import pytest

from tests.e2e.browser import (
    COORDINATOR_EMAIL,
    no_horizontal_scroll,
    serious_violations,
    shoot,
    sign_in,
)

pytestmark = pytest.mark.browser

SLOTS = (("Team lead", "2", "1", "None", True),
         ("Digital forensics", "3", "2", "RESTREINT UE", False),
         ("Malware analysis", "1", "1", "None", False))


def _fill_slot(page, number: int, skill: str, level: str, seats: str, clearance: str,
               lead: bool) -> None:
    row = page.get_by_role("group", name=f"Slot {number}", exact=True)
    row.get_by_label("Skill").select_option(label=skill)
    row.get_by_label("Minimum level").select_option(value=level)
    row.get_by_label("Seats").select_option(value=seats)
    row.get_by_label("Clearance").select_option(label=clearance)
    row.get_by_label("Lead").set_checked(lead)


def test_a_coordinator_makes_a_team_template(axe_page, server):
    page = axe_page
    sign_in(page, server, COORDINATOR_EMAIL, "/rotations")
    page.get_by_role("link", name="Team templates").click()
    page.wait_for_url(f"{server.url}/rotations/templates")
    page.get_by_role("link", name="New template").click()
    page.wait_for_url(f"{server.url}/rotations/templates/new")
    assert serious_violations(page) == []
    page.set_viewport_size({"width": 360, "height": 780})
    assert no_horizontal_scroll(page)
    shoot(page, "crrt-template-form-360.png")
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_label("Name").fill("Forensic response team")
    page.get_by_label("Smallest team").fill("3")
    page.get_by_label("Largest team").fill("4")
    page.get_by_label("Nations, at least").fill("2")
    page.get_by_label("Experts of one nation, at most").fill("2")
    page.get_by_label("Working languages").fill("en, fr")
    for number, slot in enumerate(SLOTS, start=1):
        _fill_slot(page, number, *slot)
    page.get_by_role("group", name="Slot 3", exact=True).get_by_label("Lead").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Create the template").click()
    summary = page.get_by_role("alert")
    assert summary.is_visible()
    assert page.evaluate("() => document.activeElement.classList.contains('error-summary')")
    assert page.locator("#slots-error").is_visible()
    assert serious_violations(page) == []
    shoot(page, "crrt-template-form-error-1280.png")

    page.get_by_role("group", name="Slot 3", exact=True).get_by_label("Lead").uncheck()
    with page.expect_navigation():
        page.get_by_role("button", name="Create the template").click()
    assert page.url.startswith(f"{server.url}/rotations/templates?saved=")
    assert "Forensic response team" in page.get_by_role("status").inner_text()
    table = page.get_by_role("table", name="The slots of Forensic response team")
    assert table.locator("tbody tr").count() == 3
    assert table.get_by_role("rowheader").all_inner_texts() == [s[0] for s in SLOTS]
    assert serious_violations(page) == []
    shoot(page, "crrt-templates-1280.png")
    page.set_viewport_size({"width": 360, "height": 780})
    assert no_horizontal_scroll(page)
    shoot(page, "crrt-templates-360.png")

    page.get_by_role("link", name="Edit Forensic response team").click()
    page.wait_for_url(f"{server.url}/rotations/templates/*/edit")
    assert page.get_by_label("Name").input_value() == "Forensic response team"
    assert no_horizontal_scroll(page)
    assert serious_violations(page) == []
    page.set_viewport_size({"width": 1280, "height": 900})
    shoot(page, "crrt-template-edit-1280.png")
