"""Dispatch through the API only, on both databases and a real SMTP server (aiosmtpd): from a
request's submission to a deployed team with every call-out answered; silence escalating on
the clock abstraction, never on sleeps; the signed link; who sees the team; the deployment's
states, its mission arrangement and its costs."""

from __future__ import annotations

import re
import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from crrt.access.enums import Role
from crrt.assistance import deployments, dispatch
from crrt.assistance.enums import Outcome, Source
from crrt.assistance.models import Deployment, DeploymentMember
from crrt.assistance.schemas import DecisionIn
from crrt.core import clock
from crrt.experts.enums import Skill
from crrt.experts.models import Expert, ExpertSkill
from crrt.jobs import service as jobs
from crrt.notify import service as notify
from crrt.notify.models import OutboxMessage
from crrt.organisations.models import Organisation
from tests.assistance.test_api import API, RECEIVED, _ask, _problem
from tests.support import MailServer

LINK = re.compile(r"/callouts/([0-9a-f-]{36})/([0-9a-f-]{36})\?token=([0-9a-f]{64})")


def _expert(database, org: str, name: str, *skills: Skill, email: str | None = None,
            on_site: bool = False) -> str:
    with database.session() as db:
        org_id = db.scalars(select(Organisation.id).where(Organisation.code == org)).one()
        expert = Expert(organisation_id=org_id, name=name, on_site=on_site, email=email or
                        f"{name.lower().replace(' ', '.')}@{org.lower()}.example")
        for level, skill in enumerate(skills):
            expert.skills.append(ExpertSkill(skill=skill, level=3 - min(level, 2)))
        db.add(expert)
        db.flush()
        return str(expert.public_id)


@pytest.fixture
def pool(database, world) -> dict[str, str]:
    """Estonia's experts: a lead, incident handlers (one the responder account's own, by its
    e-mail), a network forensics expert, and spares for the seats that open again."""
    h = Skill.INCIDENT_HANDLING
    return {
        "lead": _expert(database, "EE", "Kadri Lead", Skill.TEAM_LEAD, h, on_site=True),
        "own": _expert(database, "EE", "Rein Responder", h, email="responder@test.example"),
        "h2": _expert(database, "EE", "Mari Handler", h),
        "net": _expert(database, "EE", "Toomas Net", Skill.NETWORK_FORENSICS, h),
        "spare": _expert(database, "EE", "Liis Spare", h, Skill.NETWORK_FORENSICS),
    }


@pytest.fixture
def smtp(settings):
    server = MailServer().start()
    settings.smtp_url = server.url
    settings.public_url = "https://crrt.test.example"
    yield server
    server.stop()


def _activated(client, world, team_size: int = 4, **ask) -> tuple[dict, str]:
    asked = _ask(client, world, **({"services": ["incident_response"]} | ask)).json()
    coordinator = world.headers(Role.COORDINATOR)
    triaged = client.post(f"{API}/requests/{asked['id']}/triage", headers=coordinator,
                          json={})
    assert triaged.status_code == 200, triaged.text
    decided = client.post(f"{API}/requests/{asked['id']}/decision", headers=coordinator,
                          json={"outcome": "activate", "team_size": team_size})
    assert decided.status_code == 200, decided.text
    body = decided.json()
    assert body["status"] == "activated" and body["deployment_id"]
    return body, body["deployment_id"]


def _deployment(client, world, deployment_id: str, role: Role = Role.COORDINATOR) -> dict:
    got = client.get(f"{API}/deployments/{deployment_id}", headers=world.headers(role))
    assert got.status_code == 200, got.text
    return got.json()


def _consent(client, world, deployment_id: str, expert_id: str, yes: bool = True,
             caveat: str = ""):
    return client.post(f"{API}/deployments/{deployment_id}/consents",
                       headers=world.headers(Role.NATIONAL_POC),
                       json={"expert_id": expert_id, "consent": yes, "caveat": caveat})


def _deliver(database, settings) -> None:
    """What the worker's outbox job does, until nothing is left to send."""
    while notify.deliver_due(database, settings=settings):
        pass
    with database.session(read_only=True) as db:
        left = [m.last_error for m in db.scalars(select(OutboxMessage))
                if m.delivered_at is None]
    assert left == [], left


def test_from_submission_to_a_deployed_team(client, world, database, settings, pool, smtp):
    """Submitted, triaged, activated; Estonia declines one expert and confirms the rest (one
    remote only); each is called out by e-mail; they accept by the signed link or signed in;
    the team goes out and arrives; the timeline tells it all."""
    request, deployment_id = _activated(client, world)
    proposed = _deployment(client, world, deployment_id)
    assert proposed["status"] == "planned" and proposed["team_size"] == 4
    members = {m["expert_id"]: m for m in proposed["members"]}
    assert set(members) == {pool["lead"], pool["own"], pool["h2"], pool["net"]}
    assert members[pool["lead"]]["lead"] and members[pool["lead"]]["skill"] == "team_lead"
    assert all(m["consent"] == "pending" and m["callout"] == "pending"
               for m in members.values())

    assert _consent(client, world, deployment_id, pool["h2"], yes=False).status_code == 200
    after = {m["expert_id"]: m for m in _deployment(client, world, deployment_id)["members"]}
    assert after[pool["h2"]]["active"] is False and after[pool["h2"]]["consent"] == "declined"
    assert after[pool["spare"]]["consent"] == "pending"  # the next qualified candidate
    for key in ("lead", "own", "net", "spare"):
        given = _consent(client, world, deployment_id, pool[key],
                         caveat="remote only" if key == "net" else "")
        assert given.status_code == 200, given.text
        assert given.json()["callout"] == "sent"
    again = _consent(client, world, deployment_id, pool["lead"])
    assert "already" in _problem(again, 409)["detail"]

    _deliver(database, settings)
    callouts = [m for m in smtp.messages if m["Subject"].startswith("crrt call-out")]
    assert sorted(m["To"] for m in callouts) == sorted(
        ["kadri.lead@ee.example", "responder@test.example", "toomas.net@ee.example",
         "liis.spare@ee.example"])  # one each, no one twice
    net = next(m for m in callouts if m["To"] == "toomas.net@ee.example")
    assert "remote only" in net.get_content()
    links = {m["To"]: LINK.search(m.get_content()) for m in callouts}
    assert all(links.values())

    responder = world.headers(Role.RESPONDER)
    mine = client.get(f"{API}/callouts", headers=responder).json()
    assert [(c["deployment_id"], c["callout"]) for c in mine] == [(deployment_id, "sent")]
    accepted = client.post(
        f"{API}/deployments/{deployment_id}/callouts/{pool['own']}/answer",
        headers=responder, json={"accept": True})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["callout"] == "accepted"
    for address in ("kadri.lead@ee.example", "toomas.net@ee.example", "liis.spare@ee.example"):
        dep, expert, token = links[address].groups()
        answered = client.post(f"{API}/deployments/{dep}/callouts/{expert}/answer",
                               json={"accept": True, "token": token})  # no sign-in
        assert answered.status_code == 200, answered.text
    team = _deployment(client, world, deployment_id)
    assert sorted(m["callout"] for m in team["members"] if m["active"]) == ["accepted"] * 4

    coordinator = world.headers(Role.COORDINATOR)
    for status in ("deploying", "deployed"):
        moved = client.post(f"{API}/deployments/{deployment_id}/status", headers=coordinator,
                            json={"status": status})
        assert moved.status_code == 200, moved.text
    assert _deployment(client, world, deployment_id)["status"] == "deployed"
    done = client.get(f"{API}/requests/{request['id']}", headers=coordinator).json()
    response_clock = next(c for c in done["clocks"] if c["name"] == "response")
    assert response_clock["state"] == "met"
    events = [e["action"] for e in client.get(f"{API}/requests/{request['id']}/timeline",
                                              headers=coordinator).json()["events"]]
    assert events[:3] == ["request.submitted", "request.triage", "request.activate"]
    assert {"deployment.opened", "deployment.proposed", "deployment.consent",
            "deployment.replacement", "deployment.callout", "deployment.answer",
            "deployment.start", "deployment.arrive"} <= set(events)
    trail = client.get(f"{API}/audit", headers=world.headers(Role.ADMIN),
                       params={"object_type": "deployment", "limit": 100})
    assert trail.status_code == 200, trail.text
    _deliver(database, settings)
    assert len([m for m in smtp.messages if m["Subject"].startswith("crrt call-out")]) == 4


def test_silence_escalates_to_the_next_candidate_on_the_clock(client, world, database,
                                                              settings, pool, smtp):
    settings.callout_minutes = 30
    with clock.frozen(RECEIVED):
        _request, deployment_id = _activated(client, world, team_size=2)
        lead, handler = pool["lead"], pool["own"]
        for expert in (lead, handler):
            assert _consent(client, world, deployment_id, expert).status_code == 200
        _deliver(database, settings)
        dep, expert, token = LINK.search(next(
            m for m in smtp.messages if m["To"] == "kadri.lead@ee.example"
        ).get_content()).groups()
        assert client.post(f"{API}/deployments/{dep}/callouts/{expert}/answer",
                           json={"accept": True, "token": token}).status_code == 200
        clock.advance(timedelta(minutes=29))
        jobs.run_due(database, settings, worker_id="test")
        still = {m["expert_id"]: m for m in _deployment(client, world, deployment_id)["members"]}
        assert still[handler]["callout"] == "sent"  # not yet due
        clock.advance(timedelta(minutes=2))
        jobs.run_due(database, settings, worker_id="other")
        jobs.run_due(database, settings, worker_id="test")  # a second pass fires nothing
        after = {m["expert_id"]: m for m in _deployment(client, world, deployment_id)["members"]}
        assert after[handler]["callout"] == "escalated" and after[handler]["active"] is False
        nxt = [m for m in after.values() if m["active"] and m["consent"] == "pending"]
        assert [m["expert_id"] for m in nxt] == [pool["h2"]]  # the next qualified candidate
        late = client.post(f"{API}/deployments/{deployment_id}/callouts/{handler}/answer",
                           headers=world.headers(Role.RESPONDER), json={"accept": True})
        assert "passed on" in _problem(late, 409)["detail"]
        _deliver(database, settings)
    with database.session(read_only=True) as db:
        told = [(m.recipient, m.subject) for m in db.scalars(select(OutboxMessage))
                if "team" in m.subject and "call-out" not in m.subject]
    assert ("kadri.lead@ee.example", f"crrt: {_request['reference']} team") in told
    escalations = [m for m in smtp.messages if m["To"] == "national-poc@test.example"
                   and "asks for your experts" in m["Subject"]]
    assert len(escalations) == 2  # the first team, then the replacement


def test_a_signed_link_is_good_for_its_own_call_out_only(client, world, database, settings,
                                                         pool, smtp):
    _request, deployment_id = _activated(client, world, team_size=2)
    for expert in (pool["lead"], pool["own"]):
        _consent(client, world, deployment_id, expert)
    _deliver(database, settings)
    dep, lead, token = LINK.search(next(m for m in smtp.messages
                                        if m["To"] == "kadri.lead@ee.example").get_content()
                                   ).groups()
    url = f"{API}/deployments/{dep}/callouts/{{}}/answer"
    other = client.post(url.format(pool["own"]), json={"accept": True, "token": token})
    _problem(other, 403)  # the lead's token does not answer another's call-out
    forged = client.post(url.format(lead), json={"accept": True, "token": "0" * 64})
    _problem(forged, 403)
    anonymous = client.post(url.format(lead), json={"accept": True})
    _problem(anonymous, 401)
    someone = client.post(url.format(lead), headers=world.headers(Role.RESPONDER),
                          json={"accept": True})  # signed in, but not the lead
    _problem(someone, 403)
    declined = client.post(url.format(lead), json={"accept": False, "token": token,
                                                   "reason": "On leave from today."})
    assert declined.json()["callout"] == "declined"
    team = {m["expert_id"]: m for m in _deployment(client, world, deployment_id)["members"]}
    assert team[lead]["reason"] == "On leave from today." and not team[lead]["active"]
    assert any(m["lead"] and m["active"] and m["consent"] == "pending"
               for m in team.values()) is False  # no other team lead in the pool


def test_who_sees_a_deployment_and_its_team(client, world, pool):
    _request, deployment_id = _activated(client, world, team_size=2)
    requester = _deployment(client, world, deployment_id, Role.REQUESTER)
    assert all(m["name"] is None for m in requester["members"])  # names stay with the team
    poc = _deployment(client, world, deployment_id, Role.NATIONAL_POC)
    assert {m["name"] for m in poc["members"]} == {"Kadri Lead", "Rein Responder"}
    # the responder is not called out yet: the team is not theirs to see
    assert client.get(f"{API}/deployments/{deployment_id}",
                      headers=world.headers(Role.RESPONDER)).status_code == 404
    assert client.get(f"{API}/deployments/{deployment_id}",
                      headers=world.headers(Role.OBSERVER)).status_code == 403
    assert client.get(f"{API}/deployments",
                      headers=world.headers(Role.OBSERVER)).status_code == 403
    _consent(client, world, deployment_id, pool["own"])
    mine = _deployment(client, world, deployment_id, Role.RESPONDER)
    assert "Rein Responder" in {m["name"] for m in mine["members"]}
    refused = client.post(f"{API}/deployments/{deployment_id}/consents",
                          headers=world.headers(Role.COORDINATOR),
                          json={"expert_id": pool["lead"], "consent": True})
    _problem(refused, 403)  # a nation's consent is its POC's


def test_on_site_needs_a_mission_arrangement_and_states_move_in_order(client, world, pool,
                                                                      database, settings,
                                                                      smtp):
    request, deployment_id = _activated(client, world, team_size=1, mode="on_site",
                                        location="Tallinn")
    coordinator = world.headers(Role.COORDINATOR)
    status = f"{API}/deployments/{deployment_id}/status"
    skipped = client.post(status, headers=coordinator, json={"status": "deployed"})
    assert "may go to" in _problem(skipped, 409)["detail"]
    _consent(client, world, deployment_id, pool["lead"])
    _deliver(database, settings)
    dep, lead, token = next(LINK.search(m.get_content()).groups() for m in smtp.messages
                            if LINK.search(m.get_content()))
    client.post(f"{API}/deployments/{dep}/callouts/{lead}/answer",
                json={"accept": True, "token": token})
    unarranged = client.post(status, headers=coordinator, json={"status": "deploying"})
    assert "mission arrangement" in _problem(unarranged, 409)["detail"]
    terms = {"scope": "Forensics at the operator's site.", "liability": "Each nation its own.",
             "data_handling": "Evidence stays on site.", "cost_terms": "Costs lie where they fall."}
    _problem(client.put(f"{API}/deployments/{deployment_id}/arrangement",
                        headers=coordinator, json=terms | {"scope": ""}), 422)
    attached = client.put(f"{API}/deployments/{deployment_id}/arrangement",
                          headers=coordinator, json=terms)
    assert attached.json()["arrangement"]["legal_basis"] == "Memorandum of Understanding"
    _problem(client.post(status, headers=world.headers(Role.NATIONAL_POC),
                         json={"status": "deploying"}), 403)
    for step in ("deploying", "deployed", "completed"):
        assert client.post(status, headers=coordinator,
                           json={"status": step}).status_code == 200
    closed = _deployment(client, world, deployment_id)
    assert closed["report_due_on"] and closed["report_late"] is False
    with clock.frozen(clock.now() + timedelta(days=40)):
        assert _deployment(client, world, deployment_id)["report_late"] is True
        filed = client.post(f"{API}/deployments/{deployment_id}/report", headers=coordinator,
                            json={"summary": "Contained; two hosts rebuilt."})
        assert filed.status_code == 200 and filed.json()["report_late"] is False
    _problem(client.post(status, headers=coordinator, json={"status": "cancelled",
                                                            "reason": "x"}), 409)
    assert request["deployment_id"] == deployment_id


def test_a_cancelled_deployment_releases_its_team(client, world, pool, database, settings):
    _request, deployment_id = _activated(client, world, team_size=2)
    _consent(client, world, deployment_id, pool["lead"])
    status = f"{API}/deployments/{deployment_id}/status"
    coordinator = world.headers(Role.COORDINATOR)
    _problem(client.post(status, headers=coordinator, json={"status": "cancelled"}), 422)
    cancelled = client.post(status, headers=coordinator, json={
        "status": "cancelled", "reason": "The operator restored from backups."}).json()
    assert cancelled["status"] == "cancelled" and cancelled["reason"]
    after = client.get(f"{API}/requests/{_request['id']}", headers=coordinator).json()
    assert (after["status"], after["deployment_status"], after["not_deployed_reason"]) == (
        "activated", "cancelled", "The operator restored from backups.")
    assert not any(m["active"] for m in cancelled["members"])
    with clock.frozen(clock.now() + timedelta(hours=2)):
        jobs.run_due(database, settings, worker_id="test")  # the timer finds nothing to do
    assert _deployment(client, world, deployment_id)["members"][0]["callout"] == "sent"


def test_a_closed_deployment_frees_its_experts_for_the_next(client, world, pool):
    """An expert is held by one open deployment at a time: a second activation passes over
    the first team, and once the first is cancelled its experts may be proposed again."""
    _first, first_id = _activated(client, world, team_size=2)
    held = {m["expert_id"] for m in _deployment(client, world, first_id)["members"]}
    _second, second_id = _activated(client, world, team_size=2)
    second = {m["expert_id"] for m in _deployment(client, world, second_id)["members"]}
    assert held and not held & second
    client.post(f"{API}/deployments/{first_id}/status", headers=world.headers(Role.COORDINATOR),
                json={"status": "cancelled", "reason": "Resolved by the operator."})
    client.post(f"{API}/deployments/{second_id}/status",
                headers=world.headers(Role.COORDINATOR),
                json={"status": "cancelled", "reason": "Resolved by the operator."})
    _third, third_id = _activated(client, world, team_size=2)
    assert {m["expert_id"] for m in _deployment(client, world, third_id)["members"]} == held


def test_proposals_side_by_side_never_share_an_expert(client, world, database, settings, pool):
    """Two activations at once on PostgreSQL: while the first still holds its team
    uncommitted, the second passes over those experts (locked, skipped, without waiting for
    the first) and the two teams share nobody. On both databases, the database itself refuses
    a second engagement of an expert."""
    _expert(database, "EE", "Second Lead", Skill.TEAM_LEAD, Skill.INCIDENT_HANDLING)
    asked = []
    for _ in range(2):
        one = _ask(client, world, services=["incident_response"]).json()
        client.post(f"{API}/requests/{one['id']}/triage",
                    headers=world.headers(Role.COORDINATOR), json={})
        asked.append(uuid.UUID(one["id"]))
    actor = world.principals[Role.COORDINATOR]
    links = dispatch.Links(base="", secret="test", callout_minutes=30)

    def decide(request_id: uuid.UUID) -> tuple[int, set[int]]:
        with database.session() as db:
            _request, deployment = dispatch.decide(
                db=db, actor=actor, request_id=request_id, links=links,
                data=DecisionIn(outcome=Outcome.ACTIVATE, team_size=2),
                rule=settings.council_rule)
            assert deployment is not None
            return deployment.id, {m.expert_id for m in deployments.members_of(db, deployment)}

    if database.engine.dialect.name == "postgresql":
        second: dict[str, tuple[int, set[int]]] = {}
        with database.session() as db:
            _request, first = dispatch.decide(
                db=db, actor=actor, request_id=asked[0], links=links,
                data=DecisionIn(outcome=Outcome.ACTIVATE, team_size=2),
                rule=settings.council_rule)
            assert first is not None
            held = {m.expert_id for m in deployments.members_of(db, first)}
            beside = threading.Thread(target=lambda: second.update(got=decide(asked[1])))
            beside.start()
            beside.join(timeout=30)
            assert not beside.is_alive(), "the second proposal waited for the first"
            first_id = first.id
        assert len(held) == len(second["got"][1]) == 2 and not held & second["got"][1]
    else:
        first_id, held = decide(asked[0])
        decide(asked[1])
    taken = min(held)
    with pytest.raises(IntegrityError), database.session() as db:
        other = db.scalar(select(Deployment.id).where(Deployment.id != first_id))
        db.add(DeploymentMember(deployment_id=other, expert_id=taken, organisation_id=db.scalar(
            select(Expert.organisation_id).where(Expert.id == taken)), skill="team_lead",
            source=Source.POOL))


def test_costs_totals_and_a_common_budget(client, world, pool):
    _request, deployment_id = _activated(client, world, team_size=1)
    url = f"{API}/deployments/{deployment_id}/costs"
    coordinator, poc = world.headers(Role.COORDINATOR), world.headers(Role.NATIONAL_POC)
    for headers, item in ((poc, {"kind": "travel", "amount": "420.50", "currency": "EUR",
                                 "paid_by": "EE"}),
                          (coordinator, {"kind": "licences", "amount": "100.00",
                                         "currency": "EUR", "paid_by": "LT"}),
                          (coordinator, {"kind": "per_diem", "amount": "80", "currency": "USD",
                                         "paid_by": "LT"})):
        added = client.post(url, headers=headers, json=item)
        assert added.status_code == 201, added.text
    _problem(client.post(url, headers=poc, json={"kind": "travel", "amount": "1",
                                                 "currency": "EUR", "paid_by": "LT"}), 403)
    _problem(client.post(url, headers=coordinator, json={"kind": "travel", "amount": "1",
                                                         "currency": "XYZ",
                                                         "paid_by": "LT"}), 422)
    _problem(client.post(url, headers=coordinator, json={"kind": "travel", "amount": "-1",
                                                         "currency": "EUR",
                                                         "paid_by": "LT"}), 422)
    sheet = client.get(url, headers=coordinator).json()
    assert sheet["total"] == {"EUR": "520.50", "USD": "80.00"}
    assert sheet["owed"] == sheet["paid"] == {"EE": {"EUR": "420.50"},
                                              "LT": {"EUR": "100.00", "USD": "80.00"}}
    shared = client.put(f"{API}/deployments/{deployment_id}/cost-sharing", headers=coordinator,
                        json={"policy": "common_budget", "key": {"LT": 1, "EE": 1, "ES": 1}})
    assert shared.status_code == 200, shared.text
    owed = shared.json()["owed"]
    assert {c: v["EUR"] for c, v in owed.items()} == {"LT": "173.50", "EE": "173.50",
                                                     "ES": "173.50"}
    assert sum(float(v["USD"]) for v in owed.values()) == 80.0
    requester_pays = client.put(f"{API}/deployments/{deployment_id}/cost-sharing",
                                headers=coordinator, json={"policy": "requester_pays"}).json()
    assert requester_pays["owed"] == {"cert-eu": {"EUR": "520.50", "USD": "80.00"}}
    first = sheet["items"][0]["id"]
    _problem(client.delete(f"{url}/{sheet['items'][1]['id']}", headers=poc), 403)
    assert client.delete(f"{url}/{first}", headers=poc).status_code == 204


def test_a_team_members_part_is_theirs_to_export_and_holds_their_nomination(client, world,
                                                                           pool):
    _request, deployment_id = _activated(client, world, team_size=2)
    _consent(client, world, deployment_id, pool["own"], caveat="remote only")
    coordinator = world.headers(Role.COORDINATOR)
    refused = _problem(client.delete(f"{API}/experts/{pool['own']}", headers=coordinator), 409)
    assert _request["reference"] in refused["detail"]
    exported = client.get(f"{API}/experts/{pool['own']}/personal-data",
                          headers=coordinator).json()
    mine = exported["parts"]["deployments"]["deployments"]
    assert [(d["reference"], d["caveat"], d["callout"]) for d in mine] == [
        (_request["reference"], "remote only", "sent")]
    assert client.post(f"{API}/experts/{pool['own']}/erase",
                       headers=coordinator).status_code == 200
    team = _deployment(client, world, deployment_id)["members"]
    erased = next(m for m in team if m["expert_id"] == pool["own"])
    assert erased["caveat"] == "" and erased["name"] != "Rein Responder"


def test_a_new_request_alerts_the_lead_nations_coordinators(client, world, database):
    from crrt.auth import service as auth_service
    from crrt.auth.schemas import UserIn
    from tests.conftest import SYSTEM

    with database.session() as db:
        auth_service.create_user(db=db, actor=SYSTEM, data=UserIn(
            email="coordinator-es@test.example", name="Coordinator ES",
            role=Role.COORDINATOR, org="ES"))
    asked = _ask(client, world).json()
    with database.session(read_only=True) as db:
        told = [m.recipient for m in db.scalars(select(OutboxMessage))
                if m.subject.startswith(f"crrt: new request {asked['reference']}")]
    assert told == ["coordinator@test.example"]  # Lithuania leads; Spain's is not woken


def test_a_call_out_reaches_the_nations_endpoint_signed(client, world, database, settings,
                                                        pool, smtp, receiver):
    from crrt.notify import webhooks
    from tests.conftest import SYSTEM

    with database.session() as db:
        ee = db.scalars(select(Organisation).where(Organisation.code == "EE")).one()
        _endpoint, secret = webhooks.add_endpoint(
            db=db, actor=SYSTEM, organisation_id=ee.id, organisation_code="EE",
            name="Estonia on call", url=receiver.url,
            secret_key=settings.resolved_secret_key())
    receiver.secret = secret
    _request, deployment_id = _activated(client, world, team_size=2)
    _consent(client, world, deployment_id, pool["own"])
    _deliver(database, settings)
    [delivery] = receiver.deliveries
    assert delivery.refusal == ""  # the Standard Webhooks verifier accepts its signature
    assert delivery.payload["type"] == "deployment.callout"
    data = delivery.payload["data"]
    assert (data["deployment_id"], data["expert_id"]) == (deployment_id, pool["own"])
    assert LINK.search(data["answer_url"]) and delivery.headers["webhook-id"]
