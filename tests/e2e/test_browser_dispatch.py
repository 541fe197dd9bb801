"""A real Chromium from a request to a team on its way: a requester asks, the coordinator
triages and activates, Estonia's POC consents for its two experts, the team lead accepts
through the e-mail's signed link without signing in, the responder accepts in the app, and
the coordinator sends the team off. Every page passes axe and fits a phone.

The team is proposed from the rotation on duty, then from the pool: on this module's copy of
the demo the rest of the pool is away at an exercise this week, so Estonia's team lead and the
responder's own record are the two proposed, whatever the solver seated in the rotation.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from crrt.core import clock
from crrt.core.db import Database
from crrt.experts.models import Expert, Unavailability
from crrt.notify.models import OutboxMessage
from tests.e2e.browser import (
    COORDINATOR_EMAIL,
    POC_EMAIL,
    REQUESTER_EMAIL,
    RESPONDER_EMAIL,
    RESPONDER_NAME,
    no_horizontal_scroll,
    serious_violations,
    shoot,
    sign_in,
)

pytestmark = pytest.mark.browser

LEAD = "Kadri Saar"  # the demo's Estonian team lead
LEAD_EMAIL = "kadri.saar@ria.ee.example"
LINK = re.compile(r"/callouts/[0-9a-f-]{36}/[0-9a-f-]{36}\?token=[0-9a-f]{64}")
DATABASE: dict[str, str] = {}  # where this module's server keeps its data (its outbox)


@pytest.fixture(scope="module")
def prepare_database():
    def away_but_two(db: Session) -> None:
        DATABASE["url"] = db.get_bind().engine.url.render_as_string(hide_password=False)
        today = clock.today()
        for expert in db.scalars(select(Expert).where(Expert.name.not_in([LEAD,
                                                                          RESPONDER_NAME]))):
            db.add(Unavailability(expert_id=expert.id, starts_on=today,
                                  ends_on=today + timedelta(days=6), reason="Exercise"))
    return away_but_two


def _fits(page, name: str) -> None:
    """No serious WCAG violation, and no sideways scroll on a phone; kept for a person."""
    assert serious_violations(page) == []
    shoot(page, f"crrt-{name}-1280.png")
    page.set_viewport_size({"width": 360, "height": 780})
    assert no_horizontal_scroll(page)
    shoot(page, f"crrt-{name}-360.png")
    page.set_viewport_size({"width": 1280, "height": 900})


def _mailed_link(email: str) -> str:
    """The answer link of the call-out e-mailed to ``email``, read from the outbox as the
    mail would carry it."""
    database = Database(DATABASE["url"])
    try:
        with database.session(read_only=True) as db:
            bodies = db.scalars(select(OutboxMessage.body).where(
                OutboxMessage.recipient == email,
                OutboxMessage.subject.startswith("crrt call-out"))).all()
    finally:
        database.dispose()
    found = [m.group(0) for body in bodies if (m := LINK.search(body))]
    assert len(found) == 1, bodies
    return found[0]


def _sign_out(page) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()


def test_from_a_request_to_a_team_called_out(axe_page, server):
    page = axe_page
    sign_in(page, server, REQUESTER_EMAIL, "/requests/new")
    page.get_by_label("Name").fill("Jana Novak")
    page.get_by_label("Email address").fill("jana.novak@cert.example")
    page.get_by_label("Affected entity").fill("An agency of the Union")
    page.get_by_label("Sector").fill("public administration")
    page.get_by_label("What happened").fill("Ransomware on the file servers.")
    page.get_by_label("Incident response").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Send the request").click()
    request_path = re.sub(r"^https?://[^/]+|\?.*$", "", page.url)
    assert re.fullmatch(r"/requests/[0-9a-f-]{36}", request_path)
    _sign_out(page)

    sign_in(page, server, COORDINATOR_EMAIL, request_path)
    with page.expect_navigation():
        page.get_by_role("button", name="Triaged: put it before the Council").click()
    page.get_by_label("The Council's decision").select_option("activate")
    page.get_by_label("Team size").fill("2")
    with page.expect_navigation():
        page.get_by_role("button", name="Record the decision").click()
    with page.expect_navigation():
        page.get_by_role("link", name="The deployment and its team").click()
    deployment_path = re.sub(r"^https?://[^/]+", "", page.url)
    assert re.fullmatch(r"/deployments/[0-9a-f-]{36}", deployment_path)
    team = page.get_by_role("table", name="The team")
    assert team.get_by_role("row", name=re.compile(LEAD)).is_visible()
    assert team.get_by_role("row", name=re.compile(RESPONDER_NAME)).is_visible()
    _fits(page, "deployment-proposed")
    _sign_out(page)

    sign_in(page, server, POC_EMAIL, deployment_path)
    assert page.get_by_role("heading", name="Your nation's consent").is_visible()
    _fits(page, "deployment-consent")
    lead = page.get_by_role("form", name=re.compile(LEAD))
    with page.expect_navigation():
        lead.get_by_role("button", name="Confirm").click()
    assert page.get_by_role("status").is_visible()
    own = page.get_by_role("form", name=re.compile(RESPONDER_NAME))
    own.get_by_label("Caveat (optional)").fill("remote only")
    with page.expect_navigation():
        own.get_by_role("button", name="Confirm").click()
    assert page.get_by_role("form", name=re.compile(RESPONDER_NAME)).count() == 0
    row = page.get_by_role("table", name="The team").get_by_role(
        "row", name=re.compile(RESPONDER_NAME))
    assert "remote only" in row.inner_text() and "Sent" in row.inner_text()
    _sign_out(page)

    page.goto(server.url + _mailed_link(LEAD_EMAIL))  # signed out: the link is enough
    assert page.get_by_role("heading", name="Your call-out").is_visible()
    assert page.get_by_role("button", name="Sign out").count() == 0
    _fits(page, "callout-link")
    page.get_by_role("button", name="Accept the call-out").click()
    page.wait_for_load_state()
    assert page.get_by_role("status").is_visible()
    assert page.get_by_role("button", name="Accept the call-out").count() == 0
    assert "token=" not in page.url

    sign_in(page, server, RESPONDER_EMAIL, "/callouts")
    assert page.get_by_role("link", name="Call-outs").get_attribute("aria-current") == "page"
    _fits(page, "callouts")
    with page.expect_navigation():
        page.get_by_role("button", name="Accept the call-out").click()
    assert page.url.endswith("/callouts?saved=accepted")
    assert page.get_by_role("button", name="Accept the call-out").count() == 0
    assert serious_violations(page) == []
    with page.expect_navigation():
        page.get_by_role("link", name="The deployment and its team").click()
    row = page.get_by_role("table", name="The team").get_by_role(
        "row", name=re.compile(RESPONDER_NAME))
    assert "Accepted" in row.inner_text()
    _sign_out(page)

    sign_in(page, server, COORDINATOR_EMAIL, deployment_path)
    assert "2 of 2 accepted" in page.locator("dl.facts").first.inner_text()
    with page.expect_navigation():
        page.get_by_role("button", name="The team is on its way").click()
    assert "On its way" in page.locator("dl.facts").first.inner_text()
    page.get_by_text("Change the logistics").click()
    page.get_by_label("Location").fill("Brussels")
    with page.expect_navigation():
        page.get_by_role("button", name="Save the logistics").click()
    page.get_by_label("Amount").fill("abc")
    with page.expect_navigation():
        page.get_by_role("button", name="Record the cost").click()
    assert page.get_by_label("Amount").get_attribute("aria-invalid") == "true"
    _fits(page, "deployment-coordinator")
    with page.expect_navigation():
        page.get_by_role("link", name="Deployments", exact=True).first.click()
    assert page.get_by_role("link", name=re.compile(r"RFA-")).count() == 1
    _fits(page, "deployments")
