"""Requests for assistance through the API, on both databases: who may ask (and the refusal
that says why not), what a request carries back (its clocks), who reads it under its TLP, its
timeline, a withdrawal, and the clocks' warnings and breaches reaching the coordinators
through the outbox when the workers run the deadlines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from crrt.access.enums import Role
from crrt.core import clock
from crrt.jobs import service as jobs
from crrt.notify.models import OutboxMessage

API = "/api/v1"
RECEIVED = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
ASK = {"contact_name": "Jana Novak", "contact_email": "jana.novak@cert.example",
       "affected_entity": "National grid operator", "sector": "energy",
       "essential_entity": True, "description": "Ransomware on the SCADA jump hosts.",
       "severity": 3, "services": ["incident_response", "digital_forensics"],
       "mode": "remote"}


def _ask(client, world, role: Role = Role.REQUESTER, **changes):
    return client.post(f"{API}/requests", headers=world.headers(role), json=ASK | changes)


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- intake --------------------------------------------------------------------------------------

def test_a_requester_asks_and_gets_its_clocks(client, world):
    with clock.frozen(RECEIVED):
        response = _ask(client, world)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["status"], body["org"], body["category"], body["channel"]) == (
        "submitted", "cert-eu", "eu_institution", "api")
    assert body["reference"] == f"RFA-{RECEIVED:%Y}-00001"
    assert _at(body["received_at"]) == RECEIVED
    assert _at(body["response_due_at"]) == RECEIVED + timedelta(hours=72)
    clocks = {c["name"]: c for c in body["clocks"]}
    assert _at(clocks["triage"]["due_at"]) == RECEIVED + timedelta(hours=2)  # severity 3
    assert _at(clocks["decision"]["due_at"]) == RECEIVED + timedelta(hours=24)
    assert all(c["met_at"] is None for c in clocks.values())
    assert body["tlp"] == "amber" and body["priority"] == 3 * 100 + 30 + 10


def test_a_csdp_mission_asks_as_one(client, world):
    body = _ask(client, world, csdp_mission=True).json()
    assert body["category"] == "csdp_mission"


def test_a_coordinator_enters_a_request_received_by_phone(client, world):
    missing = _ask(client, world, Role.COORDINATOR, org="EE")
    assert _problem(missing, 422)["errors"][0]["loc"][-1] == "channel"
    response = _ask(client, world, Role.COORDINATOR, org="EE", channel="phone")
    assert response.status_code == 201, response.text
    assert (response.json()["category"], response.json()["channel"]) == ("participant", "phone")
    de = _ask(client, world, Role.COORDINATOR, org="DE", channel="email").json()
    assert de["category"] == "member_state"  # an observer, and an EU member state


def test_a_partner_asks_only_under_an_arrangement_in_force(client, world):
    coordinator = world.headers(Role.COORDINATOR)
    made = client.post(f"{API}/organisations", headers=coordinator,
                       json={"code": "ua-cert", "name": "CERT-UA", "kind": "partner"})
    assert made.status_code == 201, made.text
    refused = _problem(_ask(client, world, Role.COORDINATOR, org="ua-cert", channel="email"),
                       403)
    assert "no arrangement with the project in force" in refused["detail"]
    expired = client.post(f"{API}/organisations/ua-cert/arrangements", headers=coordinator,
                          json={"reference": "MoU 2019", "signed_on": "2019-01-01",
                                "expires_on": "2020-01-01"})
    assert expired.status_code == 201 and expired.json()["in_force"] is False
    _problem(_ask(client, world, Role.COORDINATOR, org="ua-cert", channel="email"), 403)
    client.post(f"{API}/organisations/ua-cert/arrangements", headers=coordinator,
                json={"reference": "Arrangement 2026/4", "signed_on": "2026-01-01"})
    allowed = _ask(client, world, Role.COORDINATOR, org="ua-cert", channel="email")
    assert allowed.status_code == 201 and allowed.json()["category"] == "partner"
    listed = client.get(f"{API}/organisations/ua-cert/arrangements", headers=coordinator)
    assert [a["in_force"] for a in listed.json()] == [False, True]


@pytest.mark.parametrize("role", [Role.NATIONAL_POC, Role.RESPONDER, Role.OBSERVER, Role.ADMIN])
def test_only_requesters_and_coordinators_submit(client, world, role):
    _problem(_ask(client, world, role, org="cert-eu", channel="phone"), 403)


def test_a_requester_asks_for_its_own_organisation_only(client, world):
    _problem(_ask(client, world, org="EE"), 403)


@pytest.mark.parametrize(("change", "field"), [
    ({"severity": 5}, "severity"),
    ({"services": []}, "services"),
    ({"mode": "on_site"}, "body"),
    ({"description": "x" * 10_001}, "description"),
    ({"tlp": "purple"}, "tlp"),
    ({"surprise": 1}, "surprise"),
])
def test_bad_input_is_refused_by_its_field(client, world, change, field):
    body = _problem(_ask(client, world, **change), 422)
    locations = [e["loc"][-1] if e["loc"] else "body" for e in body["errors"]]
    assert field in locations or (field == "body" and "location" in body["detail"]), body


# --- who reads a request -------------------------------------------------------------------------

def test_an_amber_request_reaches_the_council_and_the_requester_not_others(client, world):
    asked = _ask(client, world).json()
    entered = _ask(client, world, Role.COORDINATOR, org="EE", channel="phone").json()
    url = f"{API}/requests/{asked['id']}"
    for role in (Role.REQUESTER, Role.COORDINATOR, Role.NATIONAL_POC, Role.ADMIN):
        assert client.get(url, headers=world.headers(role)).status_code == 200, role
    for role in (Role.RESPONDER, Role.OBSERVER):
        assert client.get(url, headers=world.headers(role)).status_code == 403, role
    # another organisation's request is not the requester's to see
    _problem(client.get(f"{API}/requests/{entered['id']}", headers=world.headers(
        Role.REQUESTER)), 404)
    mine = client.get(f"{API}/requests", headers=world.headers(Role.REQUESTER)).json()
    assert [r["id"] for r in mine] == [asked["id"]]
    council = client.get(f"{API}/requests", headers=world.headers(Role.NATIONAL_POC)).json()
    assert {r["id"] for r in council} == {asked["id"], entered["id"]}


def test_a_red_request_is_for_the_named_only(client, world):
    asked = _ask(client, world, tlp="red").json()
    url = f"{API}/requests/{asked['id']}"
    assert client.get(url, headers=world.headers(Role.REQUESTER)).status_code == 200
    assert client.get(url, headers=world.headers(Role.COORDINATOR)).status_code == 200
    _problem(client.get(url, headers=world.headers(Role.NATIONAL_POC)), 404)
    _problem(client.get(url, headers=world.headers(Role.ADMIN)), 404)
    # before the Council, its POCs are named, by name: they decide on what they read
    client.post(f"{url}/triage", headers=world.headers(Role.COORDINATOR), json={})
    assert client.get(url, headers=world.headers(Role.NATIONAL_POC)).status_code == 200
    assert client.post(f"{url}/positions", headers=world.headers(Role.NATIONAL_POC),
                       json={"position": "support"}).status_code == 200
    _problem(client.get(url, headers=world.headers(Role.ADMIN)), 404)
    _problem(client.get(url, headers=world.headers(Role.RESPONDER)), 403)


def test_the_most_urgent_request_comes_first(client, world):
    low = _ask(client, world, severity=1).json()
    high = _ask(client, world, severity=4, mitigation="Isolated the site.").json()
    listed = client.get(f"{API}/requests", headers=world.headers(Role.COORDINATOR)).json()
    assert [r["id"] for r in listed] == [high["id"], low["id"]]


# --- the timeline, a withdrawal, the clocks -------------------------------------------------------

def test_the_timeline_holds_every_event_and_no_personal_data(client, world):
    asked = _ask(client, world).json()
    withdrawn = client.post(f"{API}/requests/{asked['id']}/withdraw",
                            headers=world.headers(Role.REQUESTER))
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    again = _problem(client.post(f"{API}/requests/{asked['id']}/withdraw",
                                 headers=world.headers(Role.REQUESTER)), 409)
    assert "withdrawn" in again["detail"]
    timeline = client.get(f"{API}/requests/{asked['id']}/timeline",
                          headers=world.headers(Role.COORDINATOR)).json()
    assert [e["action"] for e in timeline["events"]] == ["request.submitted",
                                                         "request.withdraw"]
    assert "Jana" not in str(timeline["events"]) and "jana" not in str(timeline["events"])
    assert {c["name"]: c["state"] for c in timeline["clocks"]} == {
        "triage": "stopped", "decision": "stopped", "response": "stopped"}


def _outbox(database) -> list[OutboxMessage]:
    with database.session(read_only=True) as db:
        return list(db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_a_clock_warns_then_breaches_to_the_coordinators(client, world, database, settings):
    with clock.frozen(RECEIVED):
        asked = _ask(client, world, severity=4).json()  # triage within one hour
    told = [m for m in _outbox(database) if m.recipient == "coordinator@test.example"]
    assert [m.subject for m in told] == [f"crrt: new request {asked['reference']} "
                                         "(severity 4)"]
    url = f"{API}/requests/{asked['id']}"
    headers = world.headers(Role.COORDINATOR)
    with clock.frozen(RECEIVED + timedelta(minutes=31)):
        jobs.run_due(database, settings, worker_id="test")
        triage = next(c for c in client.get(url, headers=headers).json()["clocks"]
                      if c["name"] == "triage")
    assert triage["state"] == "due_soon"
    with clock.frozen(RECEIVED + timedelta(minutes=61)):
        jobs.run_due(database, settings, worker_id="test")
        triage = next(c for c in client.get(url, headers=headers).json()["clocks"]
                      if c["name"] == "triage")
    assert triage["state"] == "breached" and triage["seconds_left"] == -60
    subjects = [m.subject for m in _outbox(database) if m.recipient == "coordinator@test.example"]
    assert subjects[1:] == [f"crrt: {asked['reference']} triage due soon",
                            f"crrt: {asked['reference']} triage breached"]


def test_a_withdrawn_request_raises_no_alarm(client, world, database, settings):
    with clock.frozen(RECEIVED):
        asked = _ask(client, world, severity=4).json()
        client.post(f"{API}/requests/{asked['id']}/withdraw",
                    headers=world.headers(Role.REQUESTER))
    with clock.frozen(RECEIVED + timedelta(hours=80)):
        jobs.run_due(database, settings, worker_id="test")
    assert [m.subject for m in _outbox(database)
            if m.recipient == "coordinator@test.example"] == [
        f"crrt: new request {asked['reference']} (severity 4)"]


def test_concurrent_requests_are_ranked_and_a_coordinator_may_override_with_a_reason(
        client, world, database):
    low = _ask(client, world, severity=1, essential_entity=False).json()
    mitigated = _ask(client, world, severity=3, mitigation="Isolated the hosts.").json()
    spilling = _ask(client, world, severity=3, cross_border=True).json()
    coordinator = world.headers(Role.COORDINATOR)
    ranked = [r["id"] for r in client.get(f"{API}/requests", headers=coordinator).json()]
    assert ranked == [spilling["id"], mitigated["id"], low["id"]]
    url = f"{API}/requests/{low['id']}/priority"
    assert _problem(client.post(url, headers=coordinator, json={"priority": 900}),
                    422)["errors"]
    _problem(client.post(url, headers=world.headers(Role.REQUESTER),
                         json={"priority": 900, "rationale": "Ours first."}), 403)
    raised = client.post(url, headers=coordinator,
                         json={"priority": 900, "rationale": "Election day on Sunday."})
    assert raised.status_code == 200, raised.text
    body = raised.json()
    assert (body["priority"], body["computed_priority"]) == (900, 100 + 10)
    assert body["override"] == {"priority": 900, "rationale": "Election day on Sunday."}
    ranked = [r["id"] for r in client.get(f"{API}/requests", headers=coordinator).json()]
    assert ranked[0] == low["id"]
    events = client.get(f"{API}/requests/{low['id']}/timeline", headers=coordinator).json()
    ranked_event = next(e for e in events["events"] if e["action"] == "request.ranked")
    assert ranked_event["changes"]["rationale"] == "Election day on Sunday."
    cleared = client.post(url, headers=coordinator, json={"priority": None}).json()
    assert cleared["override"] is None and cleared["priority"] == 110


def test_files_go_with_a_request_and_come_back_as_downloads(client, world):
    asked = _ask(client, world).json()
    url = f"{API}/requests/{asked['id']}/attachments"
    requester = world.headers(Role.REQUESTER)
    sent = client.post(url, headers=requester, files={"file": (
        "../../etc/ransom\u202enote.txt", b"Your files are encrypted.", "text/html")})
    assert sent.status_code == 201, sent.text
    body = sent.json()
    assert body["filename"] == "ransomnote.txt" and body["size"] == 25
    assert body["content_type"] == "text/html"
    listed = client.get(url, headers=world.headers(Role.NATIONAL_POC)).json()
    assert [a["id"] for a in listed] == [body["id"]]
    got = client.get(f"{url}/{body['id']}", headers=world.headers(Role.COORDINATOR))
    assert got.content == b"Your files are encrypted."
    assert got.headers["content-type"] == "application/octet-stream"  # never rendered
    assert got.headers["content-disposition"].startswith("attachment;")
    _problem(client.post(url, headers=requester, files={"file": ("empty.txt", b"")}), 422)
    _problem(client.post(url, headers=world.headers(Role.NATIONAL_POC),
                         files={"file": ("x.txt", b"x")}), 403)
    _problem(client.get(url, headers=world.headers(Role.OBSERVER)), 403)
    _problem(client.get(f"{url}/{asked['id']}", headers=requester), 404)
