"""A real Chromium through the organisation pages: a coordinator plans a membership change by
keyboard, a POC keeps its nation's contact card, and every new page passes axe and fits a
phone. Screenshots go to ``SHOTS / "crrt-org-*.png"`` for a person to look at.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from crrt.core import clock
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


def test_a_coordinator_plans_a_membership_change_by_keyboard(page, server):
    sign_in(page, server, COORDINATOR_EMAIL, "/organisations/DE")
    # a first try with no change chosen is told by the field, the summary taking the focus
    tab_to(page, "effective_on")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server.url}/organisations/DE/membership")
    assert page.get_by_role("alert").filter(has_text="There is a problem").is_visible()
    assert page.evaluate("() => document.activeElement.classList.contains('error-summary')")
    change = page.get_by_role("combobox", name="Change (required)")
    assert change.get_attribute("aria-invalid") == "true"

    day = clock.today() + timedelta(days=40)
    tab_to(page, "membership")
    page.keyboard.press("ArrowDown")  # change role to lead nation
    page.keyboard.press("ArrowDown")  # change role to participant
    assert change.input_value() == "participant"
    tab_to(page, "effective_on")
    page.keyboard.type(day.strftime("%m%d%Y"))  # the date field's segments: month, day, year
    assert page.get_by_label("Takes effect on").input_value() == day.isoformat()
    tab_to(page, "note")
    page.keyboard.type("Council decision")
    page.keyboard.press("Tab")  # to the button
    page.keyboard.press("Enter")

    page.wait_for_url(f"{server.url}/organisations/DE?saved=planned#membership-history")
    assert page.get_by_role("status").inner_text() == (
        "The membership change is recorded; it takes effect on its day.")
    planned = page.locator("#membership-history li").filter(has_text="Council decision")
    assert "Planned" in planned.inner_text()
    cancel = planned.get_by_role("button", name="Cancel this planned change")
    assert cancel.is_visible()
    shoot(page, "crrt-org-keyboard-planned-1280.png")
    page.set_viewport_size({"width": 360, "height": 780})
    assert no_horizontal_scroll(page)
    shoot(page, "crrt-org-keyboard-planned-360.png")

    cancel.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server.url}/organisations/DE?saved=cancelled#membership-history")
    assert page.locator("#membership-history li").filter(has_text="Council decision").count() \
        == 0


def test_a_poc_keeps_its_nations_contact_card(page, server):
    sign_in(page, server, POC_EMAIL, "/organisations/EE")
    page.get_by_role("link", name="Edit the contact card").click()
    page.wait_for_url(f"{server.url}/organisations/EE/edit")
    assert page.get_by_label("Name").count() == 0  # a POC renames nothing
    page.get_by_label("24/7 hotline").fill("+372 600 0099")
    page.get_by_label("PGP key fingerprint").fill("not a key")
    with page.expect_navigation():  # the next page, not this one
        page.get_by_role("button", name="Save changes").click()
    fingerprint = page.get_by_label("PGP key fingerprint")
    assert fingerprint.get_attribute("aria-invalid") == "true"
    assert page.get_by_label("24/7 hotline").input_value() == "+372 600 0099"  # kept as typed
    shoot(page, "crrt-org-card-errors-1280.png")

    fingerprint.fill("3aa5 c343 7156 7bd2 2282 0f3d 26bb 7d48 d5df 47e1")
    page.get_by_label("Shares by default as").select_option("green")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(f"{server.url}/organisations/EE?saved=details#contact")
    card = page.locator("#contact")
    assert card.get_by_role("link", name="+372 600 0099").get_attribute("href") == \
        "tel:+3726000099"
    assert "3AA5 C343 7156 7BD2 2282 0F3D 26BB 7D48 D5DF 47E1" in card.inner_text()
    assert card.get_by_text("TLP:GREEN").is_visible()
    shoot(page, "crrt-org-card-1280.png")
    page.set_viewport_size({"width": 360, "height": 780})
    assert no_horizontal_scroll(page)
    shoot(page, "crrt-org-card-360.png")


def _institution_edit(page, server) -> str:
    page.goto(f"{server.url}/organisations/EE")
    return page.locator("a[href*='/institutions/'][href$='/edit']").first.get_attribute("href")


def _with_errors(page, server, path: str, button: str, clear: tuple[str, ...] = ()) -> None:
    """Open a form, empty the fields with these ids, and send it."""
    page.goto(f"{server.url}{path}")
    for field in clear:
        page.locator(f"#{field}").fill("")
    with page.expect_navigation():  # the next page, not this one
        page.get_by_role("button", name=button).click()


@pytest.mark.parametrize("width", [1280, 360])
def test_the_organisation_pages_pass_axe_and_fit_the_screen(axe_page, server, width):
    page = axe_page
    page.set_viewport_size({"width": width, "height": 800})
    sign_in(page, server, COORDINATOR_EMAIL)
    institution = _institution_edit(page, server)
    pages = {"list": "/organisations", "lead": "/organisations/LT",
             "planned": "/organisations/SI", "partner": "/organisations/ua-cert",
             "edit": "/organisations/EE/edit", "new": "/organisations/new",
             "institution-new": "/organisations/EE/institutions/new",
             "institution-edit": institution}
    found, wide = {}, []

    def check(name: str) -> None:
        found[name] = serious_violations(page)
        if not no_horizontal_scroll(page):
            wide.append(name)
        shoot(page, f"crrt-org-{name}-{width}.png")

    for name, path in pages.items():
        page.goto(f"{server.url}{path}")
        check(name)
    _with_errors(page, server, "/organisations/new", "Add the organisation", ("code", "name"))
    check("new-errors")
    _with_errors(page, server, "/organisations/EE/edit", "Save changes", ("name",))
    check("edit-errors")
    _with_errors(page, server, "/organisations/EE/institutions/new", "Add the institution")
    check("institution-errors")
    _with_errors(page, server, "/organisations/LT", "Record the change")
    check("membership-errors")
    assert {name: v for name, v in found.items() if v} == {}
    assert wide == [], f"these pages scroll sideways at {width}px: {wide}"


def test_the_tlp_labels_keep_their_contrast(axe_page, server):
    """Each TLP colour on its black ground passes axe's contrast check."""
    sign_in(axe_page, server, COORDINATOR_EMAIL)
    axe_page.goto(f"{server.url}/organisations/EE")
    card = axe_page.locator("#contact dd").last
    for tlp in ("red", "amber", "amber-strict", "green", "clear"):
        card.evaluate("(dd, tlp) => dd.innerHTML += ` <span class='tlp tlp--${tlp}'>TLP</span>`",
                      tlp)
    assert axe_page.locator(".tlp").count() >= 5
    assert [v for v in serious_violations(axe_page) if re.match("color-contrast", v)] == []
