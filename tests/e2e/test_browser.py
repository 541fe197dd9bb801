"""A real Chromium through the web shell: sign in as a POC, nominate, find the expert again.

The app runs under uvicorn on a free local port, on a migrated SQLite copy holding the demo
picture; Chromium is the system one (``/usr/bin/chromium``), never a download. Screenshots go
to ``/tmp/crrt-*.png`` (or ``$CRRT_SCREENSHOTS``) for a person to look at.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from crrt.access.enums import Role
from crrt.api import create_app
from crrt.audit import service as audit
from crrt.auth import service as auth_service
from crrt.auth.schemas import UserIn
from crrt.core.config import Settings
from crrt.core.db import Database
from crrt.demo import load as demo
from crrt.experts import service as expert_service
from crrt.experts.schemas import ExpertIn
from tests.conftest import AUDIT_KEY, SYSTEM

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
POC_EMAIL = "browser-poc@test.example"
COORDINATOR_EMAIL = "browser-coordinator@test.example"
RESPONDER_EMAIL = "browser-responder@test.example"
RESPONDER_NAME = "Riin Responder"
PASSWORD = "a browser test password"
SHOTS = Path(os.environ.get("CRRT_SCREENSHOTS", tempfile.gettempdir()))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str


@pytest.fixture(scope="module")
def server(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """crrt under uvicorn in a thread, on a migrated SQLite database with the demo data."""
    import uvicorn

    folder = tmp_path_factory.mktemp("browser")
    path = folder / "crrt.db"
    shutil.copyfile(sqlite_template, path)
    database = audit.bind_key(Database(f"sqlite:///{path}"), AUDIT_KEY)
    with database.session() as db:
        demo.load(db)
        for email, role, org in ((POC_EMAIL, Role.NATIONAL_POC, "EE"),
                                 (COORDINATOR_EMAIL, Role.COORDINATOR, "LT"),
                                 (RESPONDER_EMAIL, Role.RESPONDER, "EE")):
            auth_service.create_user(db=db, actor=SYSTEM, data=UserIn(
                email=email, name=f"Browser {role.value.replace('_', ' ').title()}", role=role,
                org=org, password=PASSWORD))
        # the responder's own record, linked to their account
        expert_service.nominate(db=db, actor=SYSTEM, data=ExpertIn.model_validate({
            "org": "EE", "name": RESPONDER_NAME, "email": "riin.responder@ee.example",
            "skills": [{"skill": "incident_handling", "level": 2}], "languages": ["et", "en"],
            "time_zone": "Europe/Tallinn", "user_email": RESPONDER_EMAIL}))
    settings = Settings(database_url=database.url, data_dir=folder / "data",
                        secret_key="browser-test-secret-key")
    port = _free_port()
    uv = uvicorn.Server(uvicorn.Config(create_app(settings, database=database), host="127.0.0.1",
                                       port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield Server(url=f"http://127.0.0.1:{port}")
    uv.should_exit = True
    thread.join(timeout=10)
    database.dispose()


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    if not CHROMIUM.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {CHROMIUM} is missing: the browser tests must run")
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, server):
    """A fresh browser context (no cookies) that fails the test on a CSP violation, a script
    error or a stylesheet or image that did not load (error pages themselves are fine)."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    problems: list[str] = []

    def on_console(message) -> None:
        if message.type == "error" and "Failed to load resource" not in message.text:
            problems.append(message.text)

    def on_response(response) -> None:
        if response.request.resource_type != "document" and response.status >= 400:
            problems.append(f"{response.status} {response.url}")

    tab.on("console", on_console)
    tab.on("response", on_response)
    tab.on("pageerror", lambda exc: problems.append(str(exc)))
    yield tab
    context.close()
    assert not problems, f"the browser reported errors: {problems}"


def sign_in(page, server: Server, email: str, next_path: str = "/") -> None:
    page.goto(f"{server.url}{next_path}")
    assert "/login" in page.url
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}{next_path}")


def no_horizontal_scroll(page) -> bool:
    return bool(page.evaluate(
        "() => document.documentElement.scrollWidth <= window.innerWidth"
        " && document.body.scrollWidth <= window.innerWidth"))


def test_poc_nominates_an_expert_and_finds_them_in_the_pool(page, server):
    page.goto(f"{server.url}/login")
    page.screenshot(path=str(SHOTS / "crrt-login.png"))
    sign_in(page, server, POC_EMAIL, "/experts")
    assert page.get_by_role("heading", name="Expert pool").is_visible()
    page.screenshot(path=str(SHOTS / "crrt-experts.png"), full_page=True)

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
    page.get_by_role("button", name="Nominate").click()
    page.wait_for_load_state()
    assert page.get_by_role("alert").filter(has_text="There is a problem").is_visible()
    email = page.get_by_label("Email address")
    assert email.get_attribute("aria-invalid") == "true"
    assert page.locator("#email-error").inner_text().endswith("Enter the expert's email address.")
    assert page.get_by_label("Full name").input_value() == "No Skills Given"
    page.screenshot(path=str(SHOTS / "crrt-nominate-errors.png"), full_page=True)


def test_pages_fit_a_phone_screen(page, server):
    page.set_viewport_size({"width": 360, "height": 780})
    sign_in(page, server, COORDINATOR_EMAIL)
    for path, shot in (("/", "crrt-dashboard-360.png"), ("/experts", "crrt-experts-360.png"),
                       ("/experts/new", "crrt-nominate-360.png"),
                       ("/organisations", "crrt-organisations-360.png"),
                       ("/organisations/PL", "crrt-organisation-360.png")):
        page.goto(f"{server.url}{path}")
        assert no_horizontal_scroll(page), f"{path} scrolls sideways at 360px"
        page.screenshot(path=str(SHOTS / shot), full_page=True)


def test_dashboard_draws_the_pool_for_a_coordinator(page, server):
    sign_in(page, server, COORDINATOR_EMAIL)
    charts = page.locator("svg[role='img']")
    assert charts.count() == 4
    assert "Experts by nation" in (charts.nth(2).locator("title").text_content() or "")
    # the charts' hidden data tables take no room: the page ends with its footer
    gap = page.evaluate("() => document.documentElement.scrollHeight - "
                        "(document.querySelector('footer').getBoundingClientRect().bottom"
                        " + window.scrollY)")
    assert gap <= 1, f"{gap}px of empty page under the footer"
    page.screenshot(path=str(SHOTS / "crrt-dashboard.png"), full_page=True)


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
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    email = page.get_by_label("Email address")
    assert email.get_attribute("aria-invalid") == "true"
    assert email.evaluate("e => getComputedStyle(e).borderTopColor") == ERROR_RED
    sign_in(page, server, POC_EMAIL, "/experts/new")
    page.get_by_role("button", name="Nominate").click()
    page.wait_for_load_state()
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
    page.screenshot(path=str(SHOTS / "crrt-account-lt.png"), full_page=True)
    for path, shot in (("/", "crrt-dashboard-lt.png"), ("/experts", "crrt-experts-lt.png"),
                       ("/experts/new", "crrt-nominate-lt.png")):
        page.goto(f"{server.url}{path}")
        assert page.locator("html").get_attribute("lang") == "lt"
        page.screenshot(path=str(SHOTS / shot), full_page=True)
    assert "Europe/Vilnius" in page.locator("footer").inner_text()
    page.set_viewport_size({"width": 360, "height": 780})
    page.goto(f"{server.url}/account")
    assert no_horizontal_scroll(page)
    page.screenshot(path=str(SHOTS / "crrt-account-lt-360.png"), full_page=True)
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
    page.screenshot(path=str(SHOTS / "crrt-login-et.png"), full_page=True)
    page.set_viewport_size({"width": 360, "height": 780})
    assert no_horizontal_scroll(page)
    page.screenshot(path=str(SHOTS / "crrt-login-et-360.png"), full_page=True)


# --- accessibility: axe-core (the npm package, injected) on every page -------------------------

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@pytest.fixture
def axe_page(chromium, server):
    """A tab that lets a test inject axe-core: the pages' CSP refuses any script, so this
    context (and only this one) bypasses it."""
    if not AXE.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {AXE} is missing: run npm ci (make test does)")
        pytest.skip("the accessibility checks need axe-core: npm ci")
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    yield context.new_page()
    context.close()


def serious_violations(page) -> list[str]:
    """axe-core's WCAG 2.1 A and AA violations of serious or critical impact on this page."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})",
                           WCAG_AA)
    return [f"{v['id']} ({v['impact']}): {v['help']} — "
            f"{[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


ACCESSIBLE_PAGES = ["/", "/experts", "/experts?skill=cloud&min_level=7", "/experts/new",
                    "/organisations", "/organisations/PL", "/account", "/account/password",
                    "/account/tokens", "/nowhere", "/audit",
                    "/audit?verify=1", "/audit?since=nonsense", "/users", "/users/new", "/users/1"]


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
    page.get_by_role("button", name="Nominate").click()  # a form with its errors shown
    page.wait_for_load_state()
    found["/experts/new (errors)"] = serious_violations(page)
    assert {path: v for path, v in found.items() if v} == {}


def test_the_accessibility_check_is_not_blind(axe_page, server):
    axe_page.goto(f"{server.url}/login")
    axe_page.set_content('<html lang="en"><title>t</title><main><input type="text">'
                         '<p style="color:#bbb;background:#fff">faint</p></main></html>')
    found = " ".join(serious_violations(axe_page))
    assert "label" in found and "color-contrast" in found


def _tab_to(page, element_id: str, presses: int = 80) -> None:
    """Press Tab until the element with ``element_id`` has the focus."""
    for _ in range(presses):
        if page.evaluate("() => document.activeElement.id") == element_id:
            return
        page.keyboard.press("Tab")
    pytest.fail(f"Tab never reached #{element_id}")


def test_responder_records_their_own_unavailability_by_keyboard(page, server):
    sign_in(page, server, RESPONDER_EMAIL, "/experts")
    page.get_by_role("link", name=RESPONDER_NAME).click()  # their own record, the one listed
    page.wait_for_url(re.compile(r".*/experts/[0-9a-f-]{36}$"))
    own = page.url
    assert page.get_by_role("heading", name=RESPONDER_NAME).is_visible()
    assert page.get_by_role("link", name="Edit the record").count() == 0

    # from here on only the keyboard: a first try without the first day is told by the field
    _tab_to(page, "starts_on")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{own}/unavailability")
    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    assert summary.is_visible()
    assert page.evaluate("() => document.activeElement.classList.contains('error-summary')")
    assert page.get_by_label("First day").get_attribute("aria-invalid") == "true"
    page.screenshot(path=str(SHOTS / "crrt-unavailability-errors.png"), full_page=True)

    _tab_to(page, "starts_on")
    page.keyboard.type("03102031")  # the date field's segments: month, day, year
    assert page.get_by_label("First day").input_value() == "2031-03-10"
    _tab_to(page, "ends_on")
    page.keyboard.type("03142031")
    assert page.get_by_label("Last day").input_value() == "2031-03-14"
    _tab_to(page, "reason")
    page.keyboard.type("Annual leave")
    page.keyboard.press("Enter")

    page.wait_for_url(f"{own}?saved=period#unavailability")
    assert page.get_by_role("status").inner_text() == "The period of unavailability is recorded."
    period = page.locator("#unavailability li").filter(has_text="Annual leave")
    assert "Mar 10, 2031 to Mar 14, 2031" in period.inner_text()
    assert period.get_by_role("button",
                              name="Remove the period Mar 10, 2031 to Mar 14, 2031").is_visible()
    page.screenshot(path=str(SHOTS / "crrt-unavailability.png"), full_page=True)
    page.set_viewport_size({"width": 360, "height": 780})
    assert no_horizontal_scroll(page), "the expert page scrolls sideways at 360px"
    page.screenshot(path=str(SHOTS / "crrt-unavailability-360.png"), full_page=True)


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
    page.screenshot(path=str(SHOTS / "crrt-dashboard-away.png"), full_page=True)


def test_a_coordinator_creates_an_api_token_and_sees_it_once(page, server):
    sign_in(page, server, COORDINATOR_EMAIL, "/account")
    page.get_by_role("link", name="My API tokens").click()
    page.wait_for_url(f"{server.url}/account/tokens")
    page.get_by_label("Name").fill("nightly export")
    page.get_by_label("Expires after (days)").fill("30")
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Create the token").click()
    page.wait_for_load_state()
    shown = page.get_by_role("status").locator("code")
    secret = shown.inner_text()
    assert len(secret) > 20 and secret not in page.url
    assert page.get_by_label("Your password").input_value() == ""  # never echoed back
    page.screenshot(path=str(SHOTS / "crrt-account-token.png"), full_page=True)
    page.set_viewport_size({"width": 360, "height": 780})
    assert no_horizontal_scroll(page), "the new token scrolls sideways at 360px"
    page.screenshot(path=str(SHOTS / "crrt-account-token-360.png"), full_page=True)
    page.goto(f"{server.url}/account/tokens")
    assert secret not in page.content()
    assert page.get_by_role("button", name="Revoke “nightly export”").count() == 1
    assert no_horizontal_scroll(page), "the token list scrolls sideways at 360px"
