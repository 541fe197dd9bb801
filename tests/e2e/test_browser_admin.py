"""The administration pages in Chromium, each driven as the role that uses it, by keyboard,
at desktop and phone width: an admin adds and manages an account, a coordinator reads and
verifies the audit log, a POC edits, confirms and withdraws its nation's experts."""

from __future__ import annotations

import re

import pytest

from tests.e2e.browser import (
    COORDINATOR_EMAIL,
    PASSWORD,
    POC_EMAIL,
    Server,
    no_horizontal_scroll,
    serious_violations,
    shoot,
    sign_in,
    tab_to,
)

pytestmark = pytest.mark.browser

ADMIN_EMAIL = "admin@crrt.example"  # the demo's admin (password: the demo's)
WIDTHS = [1280, 360]


def _checked(page, name: str, *, axe: bool = False) -> None:
    """The page as it stands fits the screen and is kept for a person to see; with ``axe``,
    it passes axe too (the pages test_browser.py sweeps are not checked twice)."""
    assert no_horizontal_scroll(page), f"{page.url} scrolls sideways"
    if axe:
        assert serious_violations(page) == [], page.url
    shoot(page, f"crrt-{name}.png")


def _type_into(page, element_id: str, text: str) -> None:
    tab_to(page, element_id)
    page.keyboard.press("Control+A")
    page.keyboard.type(text)


def _demo_password() -> str:
    from crrt.demo.data import DEMO_PASSWORD

    return DEMO_PASSWORD


def _sign_in_as_admin(page, server: Server) -> None:
    page.goto(f"{server.url}/users")
    page.get_by_label("Email address").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(_demo_password())
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}/users")


@pytest.mark.parametrize("width", WIDTHS)
def test_an_admin_adds_an_account_changes_its_role_and_deactivates_it(axe_page, server,
                                                                       width):
    page = axe_page
    page.set_viewport_size({"width": width, "height": 900})
    _sign_in_as_admin(page, server)
    _checked(page, f"users-{width}")
    page.get_by_role("link", name="Add a user").click()
    page.wait_for_url(f"{server.url}/users/new")
    _type_into(page, "email", f"new.poc.{width}@ee.example")
    _type_into(page, "name", f"Uus Kontakt {width}")
    tab_to(page, "role")
    page.locator("#role").select_option("national_poc")
    tab_to(page, "org")
    page.locator("#org").select_option("EE")
    _type_into(page, "password", PASSWORD)
    _type_into(page, "password_again", PASSWORD)
    _type_into(page, "my_password", _demo_password())  # an admin's own, given again
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/users/\d+\?saved=created$"))
    assert page.get_by_role("heading", name=f"Uus Kontakt {width}").is_visible()
    _checked(page, f"user-{width}", axe=True)  # with its notice

    page.locator("#role").select_option("responder")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(r"\?saved=details$"))
    assert page.locator("#role").input_value() == "responder"
    with page.expect_navigation():  # the next page, not this one
        page.get_by_role("button", name="Deactivate", exact=True).click()
    assert page.get_by_text("Deactivated", exact=True).first.is_visible()
    assert page.get_by_role("button", name="Reactivate", exact=True).is_visible()


@pytest.mark.parametrize("width", WIDTHS)
def test_a_coordinator_filters_the_audit_log_and_verifies_the_chain(axe_page, server, width):
    page = axe_page
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, server, COORDINATOR_EMAIL, "/audit")
    panel = page.locator("details.filter-panel")
    assert panel.evaluate("d => d.open") == (width > 640)  # folded away on a phone
    if width <= 640:
        page.get_by_text("Filter the audit log").click()
    _type_into(page, "action", "expert.nominate")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"action=expert.nominate"))
    actions = page.locator("table td").filter(has_text="expert.")
    assert actions.count() > 0
    assert all(text.strip() == "expert.nominate"
               for text in page.locator("table tbody tr > :nth-child(4)").all_text_contents())
    with page.expect_navigation():  # the next page, not this one
        page.get_by_role("button", name="Verify the chain").click()
    assert page.get_by_text(re.compile(r"^Intact: [\d,]+ events verified")).is_visible()
    _checked(page, f"audit-verified-{width}", axe=True)


def _open_expert(page, server: Server, name: str) -> str:
    page.goto(f"{server.url}/experts?q={name.split()[-1]}")
    page.get_by_role("link", name=name).click()
    page.wait_for_url(re.compile(r"/experts/[0-9a-f-]{36}$"))
    return page.url


@pytest.mark.parametrize(("width", "name"), [(1280, "Andres Sepp"), (360, "Liis Mägi")])
def test_a_poc_edits_an_expert_by_keyboard_and_confirms_a_stale_record(axe_page, server,
                                                                       width, name):
    page = axe_page
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, server, POC_EMAIL, "/experts")
    record = _open_expert(page, server, name)  # a demo record stale for over a year
    assert page.get_by_text("Stale", exact=True).is_visible()
    page.get_by_role("button", name="Confirm the record is current").click()
    page.wait_for_url(f"{record}?saved=confirmed")
    assert page.get_by_text("confirmed current for another year").is_visible()
    page.get_by_role("link", name="Edit the record").click()
    page.wait_for_url(f"{record}/edit")
    _checked(page, f"expert-edit-{width}")
    _type_into(page, "phone", "+372 5123 4567")
    _type_into(page, "messenger", f"Threema: EXPERT{width}")
    page.keyboard.press("Enter")  # Enter in a text field sends the form
    page.wait_for_url(f"{record}?saved=details")
    assert page.get_by_text("Your changes are saved.").is_visible()
    assert page.get_by_text(f"Threema: EXPERT{width}").is_visible()
    _checked(page, f"expert-saved-{width}", axe=True)  # with its notice


def test_a_poc_withdraws_a_nomination_after_being_asked(axe_page, server):
    page = axe_page
    sign_in(page, server, POC_EMAIL, "/experts")
    _open_expert(page, server, "Rein Lahkuja")
    page.get_by_role("link", name="Withdraw the nomination").click()
    page.wait_for_url(re.compile(r"/withdraw$"))
    _checked(page, "expert-withdraw")
    page.get_by_role("button", name="Withdraw the nomination").click()
    page.wait_for_url(f"{server.url}/experts?withdrawn=1")
    assert page.get_by_text("The nomination is withdrawn").is_visible()
    page.goto(f"{server.url}/experts?q=Lahkuja")
    assert page.get_by_text("No expert matches these filters.").is_visible()
