"""A real Chromium through the web shell: sign in as a POC, nominate, find the expert again.

Screenshots go to ``/tmp/crrt-*.png`` (or ``$CRRT_SCREENSHOTS``) for a person to look at.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.browser import (
    COORDINATOR_EMAIL,
    PASSWORD,
    POC_EMAIL,
    RESPONDER_EMAIL,
    RESPONDER_NAME,
    no_horizontal_scroll,
    serious_violations,
    shoot,
    sign_in,
    tab_to,
)

pytestmark = pytest.mark.browser


def test_poc_nominates_an_expert_and_finds_them_in_the_pool(page, server):
    page.goto(f"{server.url}/login")
    shoot(page, "crrt-login.png", full=False)
    sign_in(page, server, POC_EMAIL, "/experts")
    assert page.get_by_role("heading", name="Expert pool").is_visible()
    shoot(page, "crrt-experts.png")

    page.get_by_role("link", name="Nominate an expert").click()
    page.wait_for_url(f"{server.url}/experts/new")
    assert page.get_by_text("Estonia (EE)").is_visible()
    page.get_by_label("Full name").fill("Liis Browsertest")
    page.get_by_label("Email address").fill("liis.browsertest@ee.example")
    page.get_by_label("Phone").fill("+372 5123 4567")
    page.get_by_label("Malware analysis").select_option("3")
    page.get_by_label("Digital forensics").select_option("2")
    page.get_by_label("Working languages").fill("et, en")
    page.get_by_label("Security clearance").select_option("SECRET UE")
    page.get_by_label("On site").check()
    page.get_by_label("Time zone").fill("Europe/Tallinn")
    page.get_by_role("button", name="Nominate").click()

    page.wait_for_url("**/experts/*?nominated=1")
    assert page.get_by_text("Nomination recorded.").is_visible()
    assert page.get_by_role("heading", name="Liis Browsertest").is_visible()

    page.goto(f"{server.url}/experts")
    page.get_by_label("Name contains").fill("browsertest")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/experts?*q=browsertest*")
    rows = page.locator("table tbody tr")
    assert rows.count() == 1
    assert "Liis Browsertest" in rows.first.inner_text()
    assert "Malware analysis" in rows.first.inner_text()


def test_nomination_errors_are_announced_beside_the_fields(page, server):
    sign_in(page, server, POC_EMAIL, "/experts/new")
    page.get_by_label("Full name").fill("No Skills Given")
    with page.expect_navigation():  # the next page, not this one
        page.get_by_role("button", name="Nominate").click()
    assert page.get_by_role("alert").filter(has_text="There is a problem").is_visible()
    email = page.get_by_label("Email address")
    assert email.get_attribute("aria-invalid") == "true"
    assert page.locator("#email-error").inner_text().endswith("Enter the expert's email address.")
    assert page.get_by_label("Full name").input_value() == "No Skills Given"
    shoot(page, "crrt-nominate-errors.png")


def test_pages_fit_a_phone_screen(page, server):
    page.set_viewport_size({"width": 360, "height": 780})
    sign_in(page, server, COORDINATOR_EMAIL)
    for path, shot in (("/", "crrt-dashboard-360.png"), ("/experts", "crrt-experts-360.png"),
                       ("/experts/new", "crrt-nominate-360.png"),
                       ("/organisations", "crrt-organisations-360.png"),
                       ("/organisations/PL", "crrt-organisation-360.png")):
        page.goto(f"{server.url}{path}")
        assert no_horizontal_scroll(page), f"{path} scrolls sideways at 360px"
        shoot(page, shot)


def test_dashboard_draws_the_pool_for_a_coordinator(page, server):
    sign_in(page, server, COORDINATOR_EMAIL)
    charts = page.locator("figure.chart")
    assert charts.count() == 4
    assert charts.nth(2).locator("figcaption").text_content() == "Experts by nation"
    # the charts' hidden data tables take no room: the page ends with its footer
    gap = page.evaluate("() => document.documentElement.scrollHeight - "
                        "(document.querySelector('footer').getBoundingClientRect().bottom"
                        " + window.scrollY)")
    assert gap <= 1, f"{gap}px of empty page under the footer"
    shoot(page, "crrt-dashboard.png")
    # each bar leads to the list it counts; at phone width its label keeps the page's size
    page.set_viewport_size({"width": 360, "height": 800})
    label = page.locator("#chart-skill .bars__label").first
    assert float(label.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 14
    # who can deploy reads skill by skill: every count of a row in sight, none scrolled away
    counts = page.locator(".table--ready tbody tr").first.locator("td")
    assert counts.count() == 4
    for i in range(4):
        box = counts.nth(i).bounding_box()
        assert box is not None and box["x"] + box["width"] <= 360
    page.locator("#chart-nation a", has_text="Estonia (EE)").click()
    page.wait_for_url(f"{server.url}/experts?org=EE")
    assert page.get_by_role("heading", name="Expert pool").is_visible()


def test_keyboard_reaches_the_skip_link_first(page, server):
    sign_in(page, server, COORDINATOR_EMAIL)
    page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement.textContent.trim()")
    assert focused == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"


ERROR_RED = "rgb(185, 28, 28)"  # --error


def test_fields_in_error_turn_red_on_the_sign_in_and_nomination_forms(page, server):
    page.goto(f"{server.url}/login")
    page.get_by_label("Email address").fill(POC_EMAIL)
    page.get_by_label("Password").fill("not the password at all")
    with page.expect_navigation():  # the next page, not this one
        page.get_by_role("button", name="Sign in").click()
    email = page.get_by_label("Email address")
    assert email.get_attribute("aria-invalid") == "true"
    assert email.evaluate("e => getComputedStyle(e).borderTopColor") == ERROR_RED
    sign_in(page, server, POC_EMAIL, "/experts/new")
    with page.expect_navigation():  # the next page, not this one
        page.get_by_role("button", name="Nominate").click()
    name = page.get_by_label("Full name")
    assert name.get_attribute("aria-invalid") == "true"
    assert name.evaluate("e => getComputedStyle(e).borderTopColor") == ERROR_RED


def test_a_person_chooses_lithuanian_and_their_zone_by_keyboard(page, server):
    from crrt.web import i18n

    lithuanian = i18n.catalogue("lt")
    sign_in(page, server, COORDINATOR_EMAIL)
    page.get_by_role("link", name="My account").click()
    page.wait_for_url(f"{server.url}/account")
    page.get_by_label("Language of the pages").focus()
    page.keyboard.press("End")  # the last language... then the one wanted, by its name
    page.get_by_label("Language of the pages").select_option("lt")
    page.get_by_label("Time zone").fill("Europe/Vilnius")
    page.get_by_label("Time zone").press("Enter")
    page.wait_for_url(f"{server.url}/account?saved=1")
    assert page.locator("html").get_attribute("lang") == "lt"
    assert page.get_by_role("status").inner_text() == \
        lithuanian.gettext("Your changes are saved.")
    shoot(page, "crrt-account-lt.png")
    for path, shot in (("/", "crrt-dashboard-lt.png"), ("/experts", "crrt-experts-lt.png"),
                       ("/experts/new", "crrt-nominate-lt.png")):
        page.goto(f"{server.url}{path}")
        assert page.locator("html").get_attribute("lang") == "lt"
        shoot(page, shot)
    assert "Europe/Vilnius" in page.locator("footer").inner_text()
    page.set_viewport_size({"width": 360, "height": 780})
    page.goto(f"{server.url}/account")
    assert no_horizontal_scroll(page)
    shoot(page, "crrt-account-lt-360.png")
    # back to English for the other tests of this module's server
    page.get_by_label(lithuanian.gettext("Language of the pages")).select_option("")
    page.get_by_label(lithuanian.gettext("Time zone")).fill("")
    page.get_by_role("button", name=lithuanian.gettext("Save")).click()
    page.wait_for_url(f"{server.url}/account?saved=1")
    assert page.locator("html").get_attribute("lang") == "en"


def test_the_sign_in_page_offers_every_language_by_its_own_name(page, server):
    page.goto(f"{server.url}/login")
    switch = page.get_by_role("navigation", name="Language")
    assert switch.get_by_role("link").count() == 13
    switch.get_by_role("link", name="Eesti").click()
    page.wait_for_url(f"{server.url}/login")
    assert page.locator("html").get_attribute("lang") == "et"
    shoot(page, "crrt-login-et.png")
    page.set_viewport_size({"width": 360, "height": 780})
    assert no_horizontal_scroll(page)
    shoot(page, "crrt-login-et-360.png")


ACCESSIBLE_PAGES = ["/", "/experts", "/experts?skill=cloud&min_level=7", "/experts/new",
                    "/organisations", "/organisations/PL", "/account", "/account/password",
                    "/account/tokens", "/nowhere", "/audit",
                    "/audit?since=nonsense", "/users", "/users/new", "/users/1"]


@pytest.mark.parametrize("width", [1280, 360])
def test_no_page_has_a_serious_or_critical_wcag_violation(axe_page, server, width):
    page = axe_page
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"{server.url}/login")
    found = {"/login": serious_violations(page)}
    sign_in(page, server, COORDINATOR_EMAIL)
    page.goto(f"{server.url}/experts")
    expert = page.locator("table a[href^='/experts/']").first.get_attribute("href")
    for path in [*ACCESSIBLE_PAGES, expert, f"{expert}/edit", f"{expert}/withdraw"]:
        page.goto(f"{server.url}{path}")
        found[path] = serious_violations(page)
    page.goto(f"{server.url}/experts/new")
    with page.expect_navigation():  # the next page, not this one
        page.get_by_role("button", name="Nominate").click()  # a form with its errors shown
    found["/experts/new (errors)"] = serious_violations(page)
    assert {path: v for path, v in found.items() if v} == {}


def test_the_accessibility_check_is_not_blind(axe_page, server):
    axe_page.goto(f"{server.url}/login")
    axe_page.set_content('<html lang="en"><title>t</title><main><input type="text">'
                         '<p style="color:#bbb;background:#fff">faint</p></main></html>')
    found = " ".join(serious_violations(axe_page))
    assert "label" in found and "color-contrast" in found


def test_responder_records_their_own_unavailability_by_keyboard(page, server):
    sign_in(page, server, RESPONDER_EMAIL, "/experts")
    page.get_by_role("link", name=RESPONDER_NAME).click()  # their own record, the one listed
    page.wait_for_url(re.compile(r".*/experts/[0-9a-f-]{36}$"))
    own = page.url
    assert page.get_by_role("heading", name=RESPONDER_NAME).is_visible()
    assert page.get_by_role("link", name="Edit the record").count() == 0

    # from here on only the keyboard: a first try without the first day is told by the field
    tab_to(page, "starts_on")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{own}/unavailability")
    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    assert summary.is_visible()
    assert page.evaluate("() => document.activeElement.classList.contains('error-summary')")
    assert page.get_by_label("First day").get_attribute("aria-invalid") == "true"
    shoot(page, "crrt-unavailability-errors.png")

    tab_to(page, "starts_on")
    page.keyboard.type("03102031")  # the date field's segments: month, day, year
    assert page.get_by_label("First day").input_value() == "2031-03-10"
    tab_to(page, "ends_on")
    page.keyboard.type("03142031")
    assert page.get_by_label("Last day").input_value() == "2031-03-14"
    tab_to(page, "reason")
    page.keyboard.type("Annual leave")
    page.keyboard.press("Enter")

    page.wait_for_url(f"{own}?saved=period#unavailability")
    assert page.get_by_role("status").inner_text() == "The period of unavailability is recorded."
    period = page.locator("#unavailability li").filter(has_text="Annual leave")
    assert "Mar 10, 2031 to Mar 14, 2031" in period.inner_text()
    assert period.get_by_role("button",
                              name="Remove the period Mar 10, 2031 to Mar 14, 2031").is_visible()
    shoot(page, "crrt-unavailability.png")
    page.set_viewport_size({"width": 360, "height": 780})
    assert no_horizontal_scroll(page), "the expert page scrolls sideways at 360px"
    shoot(page, "crrt-unavailability-360.png")


def test_the_coordinators_dashboard_shows_the_absence_a_responder_records(page, server):
    from datetime import timedelta

    from babel.dates import format_date

    from crrt.core import clock

    start, end = clock.today() + timedelta(days=10), clock.today() + timedelta(days=12)
    sign_in(page, server, RESPONDER_EMAIL, "/")
    page.get_by_role("link", name="Record when you are not available").click()
    page.get_by_label("First day").fill(start.isoformat())
    page.get_by_label("Last day").fill(end.isoformat())
    page.get_by_role("button", name="Record the period").click()
    page.wait_for_url(re.compile(r".*\?saved=period#unavailability$"))
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{server.url}/login")
    sign_in(page, server, COORDINATOR_EMAIL)
    away = page.locator("section").filter(has=page.get_by_role("heading",
                                                                name="Away in the next 30 days"))
    entry = away.get_by_role("listitem").filter(has_text=RESPONDER_NAME)
    shown = (f"{format_date(start, 'medium', locale='en')} to "
             f"{format_date(end, 'medium', locale='en')}")
    assert shown in entry.inner_text()
    shoot(page, "crrt-dashboard-away.png")


def test_a_coordinator_creates_an_api_token_and_sees_it_once(page, server):
    sign_in(page, server, COORDINATOR_EMAIL, "/account")
    page.get_by_role("link", name="My API tokens").click()
    page.wait_for_url(f"{server.url}/account/tokens")
    page.get_by_label("Name").fill("nightly export")
    page.get_by_label("Expires after (days)").fill("30")
    page.get_by_label("Your password").fill(PASSWORD)
    with page.expect_navigation():  # the next page, not this one
        page.get_by_role("button", name="Create the token").click()
    shown = page.get_by_role("status").locator("code")
    secret = shown.inner_text()
    assert len(secret) > 20 and secret not in page.url
    assert page.get_by_label("Your password").input_value() == ""  # never echoed back
    shoot(page, "crrt-account-token.png")
    page.set_viewport_size({"width": 360, "height": 780})
    assert no_horizontal_scroll(page), "the new token scrolls sideways at 360px"
    shoot(page, "crrt-account-token-360.png")
    page.goto(f"{server.url}/account/tokens")
    assert secret not in page.content()
    assert page.get_by_role("button", name="Revoke “nightly export”").count() == 1
    assert no_horizontal_scroll(page), "the token list scrolls sideways at 360px"


def test_a_form_sent_after_the_session_ended_comes_back_filled_after_signing_in(page, server):
    from crrt.auth.identify import SESSION_COOKIE

    sign_in(page, server, COORDINATOR_EMAIL, "/experts/new")
    page.get_by_label("Nation").select_option("EE")
    page.get_by_label("Full name").fill("Kert Kallas")
    page.get_by_label("Email address").fill("kert.kallas@ee.example")
    page.get_by_label("Notes").fill("Typed before the session ended.")
    page.context.clear_cookies(name=SESSION_COOKIE)  # the session is gone
    page.get_by_role("button", name="Nominate").click()
    page.wait_for_url(re.compile(r"/login\?next=%2Fexperts%2Fnew&ended=1$"))
    assert page.get_by_text("nothing was saved").is_visible()
    page.get_by_label("Email address").fill(COORDINATOR_EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}/experts/new")
    assert page.get_by_text("back in the form").is_visible()
    assert page.get_by_label("Full name").input_value() == "Kert Kallas"
    assert page.get_by_label("Email address").input_value() == "kert.kallas@ee.example"
    assert page.get_by_label("Notes").input_value() == "Typed before the session ended."
    assert page.get_by_label("Nation").input_value() == "EE"
    # the next page shown forgets the draft
    page.goto(f"{server.url}/experts/new")
    assert page.get_by_label("Full name").input_value() == ""


def test_the_institution_list_offers_the_chosen_nations_institutions(page, server):
    sign_in(page, server, COORDINATOR_EMAIL, "/experts/new")
    institution = page.get_by_label("Institution")
    page.get_by_label("Nation").select_option("EE")
    offered = institution.locator("optgroup:not([hidden])")
    assert [offered.nth(i).get_attribute("label") for i in range(offered.count())] == ["Estonia"]
    institution.select_option(label="CERT-EE (Information System Authority)")
    page.get_by_label("Nation").select_option("ES")
    assert institution.input_value() == ""  # an Estonian institution is not Spain's
    offered = institution.locator("optgroup:not([hidden])")
    assert [offered.nth(i).get_attribute("label") for i in range(offered.count())] == ["Spain"]


def test_a_draft_is_never_put_back_for_someone_else_signing_in_on_that_tab(page, server):
    from crrt.auth.identify import SESSION_COOKIE

    sign_in(page, server, POC_EMAIL, "/experts/new")
    page.get_by_label("Full name").fill("Someone Confidential")
    page.context.clear_cookies(name=SESSION_COOKIE)
    page.get_by_role("button", name="Nominate").click()
    page.wait_for_url(re.compile(r"/login\?next=%2Fexperts%2Fnew&ended=1$"))
    page.get_by_label("Email address").fill(COORDINATOR_EMAIL)  # another person, same tab
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}/experts/new")
    assert page.get_by_label("Full name").input_value() == ""
    assert not page.locator("#form-restored").is_visible()
