"""The request pages as browsers get them: a requester asks and follows up, a field's problem
is shown by the field, a partner without an arrangement is told why, and the Council works
from the request's page (triage, a position, a decision held back by an objection)."""

from __future__ import annotations

import re

from crrt.access.enums import Role
from tests.web.conftest import post_form

FORM = {"contact_name": "Jana Novak", "contact_email": "jana.novak@cert.example",
        "affected_entity": "National grid operator", "sector": "energy",
        "description": "Ransomware on the SCADA jump hosts.", "severity": "3",
        "services": ["incident_response", "digital_forensics"], "mode": "remote",
        "tlp": "amber"}


def _invalid(html: str, field: str) -> bool:
    return re.search(rf'id="{field}"[^>]*aria-invalid="true"', html) is not None \
        or f'id="{field}-error"' in html


def test_a_requester_asks_and_follows_up(browser):
    requester = browser(Role.REQUESTER)
    page = requester.get("/requests/new").text
    assert 'name="org"' not in page  # a requester asks for its own organisation
    sent = post_form(requester, "/requests/new", "/requests/new", FORM)
    assert sent.status_code == 303, sent.text
    follow = requester.get(sent.headers["location"]).text
    assert "The request is received" in follow and "RFA-" in follow
    assert follow.count('class="clock clock--running"') == 3
    assert "RFA-" in requester.get("/requests").text


def test_a_fields_problem_is_shown_by_the_field(browser):
    requester = browser(Role.REQUESTER)
    answer = post_form(requester, "/requests/new", "/requests/new",
                       FORM | {"description": "", "services": [], "mode": "on_site"})
    assert answer.status_code == 422
    for field in ("description", "services"):
        assert _invalid(answer.text, field), field
    answer = post_form(requester, "/requests/new", "/requests/new", FORM | {"mode": "on_site"})
    assert answer.status_code == 422 and _invalid(answer.text, "location")
    assert "names its location" in answer.text


def test_a_partner_without_an_arrangement_is_told_why(browser, client, world):
    client.post("/api/v1/organisations", headers=world.headers(Role.COORDINATOR),
                json={"code": "ua-cert", "name": "CERT-UA", "kind": "partner"})
    coordinator = browser(Role.COORDINATOR)
    page = coordinator.get("/requests/new").text
    assert 'name="org"' in page and 'name="channel"' in page
    answer = post_form(coordinator, "/requests/new", "/requests/new",
                       FORM | {"org": "ua-cert", "channel": "phone"})
    assert answer.status_code == 403
    assert "no arrangement with the project in force" in answer.text and _invalid(answer.text,
                                                                                  "org")


def test_the_council_works_from_the_requests_page(browser):
    requester, coordinator, poc = (browser(Role.REQUESTER), browser(Role.COORDINATOR),
                                   browser(Role.NATIONAL_POC))
    url = post_form(requester, "/requests/new", "/requests/new", FORM).headers["location"]
    url = url.split("?")[0]
    assert "Triaged: put it before the Council" in coordinator.get(url).text
    triaged = post_form(coordinator, url, f"{url}/triage", {"note": "ransomware"})
    assert triaged.status_code == 303
    assert "Record the position" in poc.get(url).text
    assert post_form(poc, url, f"{url}/position", {"position": "object"}).status_code == 303
    held = post_form(coordinator, url, f"{url}/decision", {"outcome": "activate"})
    assert held.status_code == 409 and "EE object" in held.text
    post_form(poc, url, f"{url}/position", {"position": "support"})
    done = post_form(coordinator, url, f"{url}/decision", {"outcome": "activate"})
    assert done.status_code == 303
    page = requester.get(url).text
    assert "Activated" in page and "Memorandum of Understanding" in page
