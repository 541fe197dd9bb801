"""The dispatch pages as browsers get them: an activation on the request's page opens the
deployment, a nation's POC confirms and declines its experts, the coordination cell's forms
show a problem by its field and change nothing, the call-out's signed link answers without
signing in (and a wrong one shows nothing), a responder answers in the app, and requesters
and observers see only what they may."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from crrt.access.enums import Role
from crrt.experts.enums import Skill
from crrt.experts.models import Expert, ExpertSkill
from crrt.notify.models import OutboxMessage
from crrt.organisations.models import Organisation
from crrt.web.templating import LABELS
from tests.web.conftest import csrf_of, open_session, post_form

API = "/api/v1"
ASK = {"contact_name": "Jana Novak", "contact_email": "jana.novak@cert.example",
       "affected_entity": "National grid operator", "sector": "energy",
       "description": "Ransomware on the SCADA jump hosts.", "severity": 3,
       "services": ["incident_response"], "mode": "remote"}
LINK = re.compile(r"/callouts/[0-9a-f-]{36}/[0-9a-f-]{36}\?token=[0-9a-f]{64}")
RESPONDER_EMAIL = "responder@test.example"  # the world's responder account


def _expert(database, name: str, skills: dict[Skill, int], email: str | None = None) -> str:
    with database.session() as db:
        org_id = db.scalars(select(Organisation.id).where(Organisation.code == "EE")).one()
        expert = Expert(organisation_id=org_id, name=name, on_site=True,
                        email=email or f"{name.lower().replace(' ', '.')}@ee.example")
        expert.skills.extend(ExpertSkill(skill=s, level=lvl) for s, lvl in skills.items())
        db.add(expert)
        db.flush()
        return str(expert.public_id)


@pytest.fixture
def pool(database, world) -> dict[str, str]:
    """Estonia's experts, no rotation on duty: the team comes from the pool, best first. The
    responder account's own (by its e-mail) is the best incident handler."""
    h, net = Skill.INCIDENT_HANDLING, Skill.NETWORK_FORENSICS
    return {"lead": _expert(database, "Kadri Lead", {Skill.TEAM_LEAD: 3, h: 1}),
            "own": _expert(database, "Rein Responder", {h: 3}, email=RESPONDER_EMAIL),
            "net": _expert(database, "Toomas Net", {net: 3}),
            "spare": _expert(database, "Liis Spare", {h: 2, net: 2})}


def _deployment(client, world, team_size: int = 3, **ask) -> str:
    """A request asked, triaged and activated through the API: its deployment's page."""
    asked = client.post(f"{API}/requests", headers=world.headers(Role.REQUESTER),
                        json=ASK | ask).json()
    coordinator = world.headers(Role.COORDINATOR)
    client.post(f"{API}/requests/{asked['id']}/triage", headers=coordinator, json={})
    decided = client.post(f"{API}/requests/{asked['id']}/decision", headers=coordinator,
                          json={"outcome": "activate", "team_size": team_size}).json()
    return f"/deployments/{decided['deployment_id']}"


def _invalid(html: str, field: str) -> bool:
    return re.search(rf'id="{field}"[^>]*aria-invalid="true"', html) is not None \
        and f'id="{field}-error"' in html


def _row(html: str, name: str) -> str:
    """The team table's row of the member named ``name``."""
    found = re.search(rf"<tr>(?:(?!</tr>).)*{re.escape(name)}(?:(?!</tr>).)*</tr>", html, re.S)
    assert found, f"{name} is not in the team"
    return found.group(0)


def _link(database, email: str) -> str:
    """The answer link of the newest call-out e-mailed to ``email``."""
    with database.session(read_only=True) as db:
        bodies = db.scalars(select(OutboxMessage.body).where(
            OutboxMessage.recipient == email, OutboxMessage.subject.startswith("crrt call-out"))
            .order_by(OutboxMessage.id.desc())).all()
    found = LINK.search(bodies[0]) if bodies else None
    assert found, f"no call-out link went to {email}"
    return found.group(0)


def _signed_in(app, database, email: str) -> TestClient:
    client = TestClient(app, raise_server_exceptions=False)
    client.cookies.set("crrt_session", open_session(database, email))
    return client


def test_an_activation_on_the_requests_page_opens_the_deployment(browser, client, world, pool):
    asked = client.post(f"{API}/requests", headers=world.headers(Role.REQUESTER),
                        json=ASK).json()
    coordinator = browser(Role.COORDINATOR)
    url = f"/requests/{asked['id']}"
    assert post_form(coordinator, url, f"{url}/triage", {}).status_code == 303
    decided = post_form(coordinator, url, f"{url}/decision",
                        {"outcome": "activate", "team_size": "3"})
    assert decided.status_code == 303, decided.text
    page = coordinator.get(url).text
    found = re.search(r'href="(/deployments/[0-9a-f-]{36})"', page)
    assert found, "the request's page links to its deployment"
    team = coordinator.get(found.group(1)).text
    for name in ("Kadri Lead", "Rein Responder", "Toomas Net"):
        assert LABELS["pending"] in _row(team, name)
    assert "Liis Spare" not in team
    listed = coordinator.get("/deployments").text
    assert found.group(1) in listed and 'data-accepted="0" data-size="3"' in listed


def test_a_poc_confirms_one_expert_with_a_caveat_and_declines_another(browser, client, world,
                                                                      pool):
    url = _deployment(client, world)
    poc = browser(Role.NATIONAL_POC)
    page = poc.get(url).text
    assert page.count('action="' + url + '/consent"') == 3  # one form per proposed expert
    confirmed = post_form(poc, url, f"{url}/consent", {
        "expert_id": pool["own"], "consent": "confirm", "caveat": "remote only"})
    assert confirmed.status_code == 303
    assert confirmed.headers["location"].endswith("?saved=consent#consent")
    declined = post_form(poc, url, f"{url}/consent",
                         {"expert_id": pool["net"], "consent": "decline"})
    assert declined.status_code == 303
    page = poc.get(url).text
    own = _row(page, "Rein Responder")
    assert LABELS["confirmed"] in own and "remote only" in own and LABELS["sent"] in own
    assert f'value="{pool["own"]}"' not in page  # no consent asked again
    passed = page.split('id="passed-caption"')[1]
    assert "Toomas Net" in passed and "declined by EE" in passed
    assert LABELS["pending"] in _row(page, "Liis Spare")  # the next candidate, asked in turn
    again = post_form(poc, url, f"{url}/consent",
                      {"expert_id": pool["own"], "consent": "decline"})
    assert again.status_code == 409 and "given already" in again.text
    spanish = browser(Role.NATIONAL_POC, org="ES").get(url).text  # a Council nation reads it
    assert "/consent" not in spanish and "Rein Responder" not in spanish


def test_the_coordinators_forms_show_a_problem_by_its_field_and_change_nothing(browser, client,
                                                                                world, pool):
    url = _deployment(client, world)
    coordinator = browser(Role.COORDINATOR)
    cancel = post_form(coordinator, url, f"{url}/status", {"status": "cancelled", "reason": ""})
    assert cancel.status_code == 422 and _invalid(cancel.text, "reason")
    early = post_form(coordinator, url, f"{url}/logistics", {
        "location": "Tallinn", "starts_at": "2030-05-02T09:00", "ends_at": "2030-05-01T09:00",
        "logistics": ""})
    assert early.status_code == 422 and _invalid(early.text, "ends_at")
    cost = post_form(coordinator, url, f"{url}/costs", {
        "kind": "travel", "amount": "12,345", "currency": "EURO", "paid_by": "EE"})
    assert cost.status_code == 422
    assert _invalid(cost.text, "amount") and _invalid(cost.text, "currency")
    terms = post_form(coordinator, url, f"{url}/arrangement", {
        "scope": "", "liability": "Each nation its own.", "data_handling": "Kept by the "
        "requester.", "cost_terms": "Costs lie where they fall."})
    assert terms.status_code == 422 and _invalid(terms.text, "scope")
    for key in ("", "EE two"):
        shared = post_form(coordinator, url, f"{url}/sharing",
                           {"policy": "common_budget", "key": key})
        assert shared.status_code == 422 and _invalid(shared.text, "key"), key
    page = coordinator.get(url).text
    assert LABELS["planned"] in page and "Tallinn" not in page  # nothing changed
    assert 'id="cost-items-caption"' not in page and LABELS["common_budget"] not in \
        page.split('id="costs-title"')[1].split("<form")[0]

    started = post_form(coordinator, url, f"{url}/status", {"status": "deploying"})
    assert started.status_code == 409 and "No member has accepted" in started.text
    assert post_form(coordinator, url, f"{url}/logistics", {
        "location": "Tallinn", "starts_at": "2030-05-01T09:00", "ends_at": "2030-05-03T17:00",
        "logistics": "Flights booked."}).status_code == 303
    assert post_form(coordinator, url, f"{url}/costs", {
        "kind": "travel", "amount": "120.50", "currency": "eur", "paid_by": "EE",
        "description": "Flights"}).status_code == 303
    assert post_form(coordinator, url, f"{url}/sharing", {
        "policy": "common_budget", "key": "EE 1, LT 1"}).status_code == 303
    page = coordinator.get(url).text
    assert "Tallinn" in page and "Flights booked." in page
    sums = page.split('id="cost-sums-caption"')[1]
    assert "€120.50" in sums and sums.count("€60.25") == 2  # each owes half


def test_a_callouts_signed_link_answers_without_signing_in(app, browser, client, database,
                                                           world, pool):
    url = _deployment(client, world)
    post_form(browser(Role.NATIONAL_POC), url, f"{url}/consent",
              {"expert_id": pool["own"], "consent": "confirm"})
    link = _link(database, RESPONDER_EMAIL)
    with TestClient(app, raise_server_exceptions=False) as anyone:
        wrong = anyone.get(link[:-1] + ("0" if link[-1] != "0" else "1"))
        assert wrong.status_code == 403 and "RFA-" not in wrong.text
        shown = anyone.get(link)
        assert shown.status_code == 200 and "RFA-" in shown.text
        assert shown.headers["referrer-policy"] == "no-referrer"
        token = link.split("token=")[1]
        assert shown.text.count(token) == 1  # in the form's hidden field only
        path = link.split("?")[0]
        answered = anyone.post(path, data={"csrf_token": csrf_of(shown.text), "token": token,
                                           "answer": "accept"}, follow_redirects=False)
        assert answered.status_code == 200 and 'role="status"' in answered.text
        assert token not in answered.headers.get("location", "")
        again = anyone.post(path, data={"csrf_token": csrf_of(shown.text), "token": token,
                                        "answer": "decline"}, follow_redirects=False)
        assert again.status_code == 409 and "accepted this call-out already" in again.text
        altered = anyone.post(path, data={"csrf_token": csrf_of(shown.text),
                                          "token": "0" * 64, "answer": "decline"})
        assert altered.status_code == 403 and "RFA-" not in altered.text
    team = browser(Role.COORDINATOR).get(url).text
    assert LABELS["accepted"] in _row(team, "Rein Responder")


def test_a_responder_answers_in_the_app(app, browser, client, database, world, pool):
    url = _deployment(client, world)
    post_form(browser(Role.NATIONAL_POC), url, f"{url}/consent",
              {"expert_id": pool["own"], "consent": "confirm"})
    with _signed_in(app, database, RESPONDER_EMAIL) as responder:
        page = responder.get("/callouts").text
        assert 'href="/callouts"' in page  # the menu offers it
        action = f"/callouts/{url.rsplit('/', 1)[1]}/{pool['own']}/answer"
        assert f'action="{action}"' in page
        assert responder.get(url).status_code == 200  # the team reads its deployment
        declined = post_form(responder, "/callouts", action,
                             {"answer": "decline", "reason": "On leave from Monday."})
        assert declined.status_code == 303
        assert declined.headers["location"] == "/callouts?saved=declined"
        assert f'action="{action}"' not in responder.get("/callouts").text
    team = browser(Role.COORDINATOR).get(url).text
    passed = team.split('id="passed-caption"')[1]
    assert "Rein Responder" in passed and "On leave from Monday." in passed
    assert LABELS["pending"] in _row(team, "Liis Spare")


def test_a_requester_and_an_observer_see_only_what_they_may(browser, client, world, pool):
    url = _deployment(client, world)
    requester = browser(Role.REQUESTER)
    page = requester.get(url).text
    assert "RFA-" in page and "Kadri Lead" not in page  # the team unnamed
    assert 'action="' + url not in page  # no form of the coordination cell or of a POC
    assert 'href="/deployments"' in page and 'href="/callouts"' not in page
    assert url in requester.get("/deployments").text
    observer = browser(Role.OBSERVER)
    assert observer.get("/deployments").status_code == 403
    assert observer.get(url).status_code == 403
    assert 'href="/deployments"' not in observer.get("/").text
    assert browser(Role.RESPONDER).get("/callouts").status_code == 200  # none yet, but its own


def test_a_cancelled_deployments_call_out_takes_no_answer(app, browser, client, database,
                                                           world, pool):
    url = _deployment(client, world)
    post_form(browser(Role.NATIONAL_POC), url, f"{url}/consent",
              {"expert_id": pool["own"], "consent": "confirm"})
    link = _link(database, RESPONDER_EMAIL)
    cancelled = post_form(browser(Role.COORDINATOR), url, f"{url}/status",
                          {"status": "cancelled", "reason": "Restored from backups."})
    assert cancelled.status_code == 303
    with TestClient(app, raise_server_exceptions=False) as anyone:
        shown = anyone.get(link)
        assert shown.status_code == 200 and 'name="answer"' not in shown.text
    with _signed_in(app, database, RESPONDER_EMAIL) as responder:
        assert 'name="answer"' not in responder.get("/callouts").text
