"""The CRRT Council through the API, on both databases: triage opens it, each participating
nation's POC records a position, the coordinator records the decision under the Council's
rule, and the clocks that run on through the Council alert once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from crrt.access.enums import Role
from crrt.auth import service as auth_service
from crrt.auth.schemas import TokenIn, UserIn
from crrt.core import clock
from crrt.jobs import service as jobs
from crrt.notify.models import OutboxMessage
from tests.assistance.test_api import API, RECEIVED, _ask, _problem
from tests.conftest import SYSTEM


def _triaged(client, world, **changes) -> dict:
    asked = _ask(client, world, **changes).json()
    response = client.post(f"{API}/requests/{asked['id']}/triage",
                           headers=world.headers(Role.COORDINATOR), json={"note": "ransomware"})
    assert response.status_code == 200, response.text
    return response.json()


def _position(client, headers, request_id, position, comment=""):
    return client.post(f"{API}/requests/{request_id}/positions", headers=headers,
                       json={"position": position, "comment": comment})


def _poc_of(database, code: str) -> dict[str, str]:
    """A POC account of ``code`` with a token (the world has Estonia's only)."""
    with database.session() as db:
        user = auth_service.create_user(db=db, actor=SYSTEM, data=UserIn(
            email=f"poc-{code.lower()}@test.example", name=f"POC {code}",
            role=Role.NATIONAL_POC, org=code))
        _token, secret = auth_service.create_token(db=db, actor=SYSTEM, user=user,
                                                   data=TokenIn(name="council"))
    return {"Authorization": f"Bearer {secret}"}


def test_triage_opens_the_council_and_asks_the_participants(client, world, database):
    request = _triaged(client, world)
    assert request["status"] == "council"
    triage = next(c for c in request["clocks"] if c["name"] == "triage")
    assert triage["met_at"] is not None and triage["state"] == "met"
    with database.session(read_only=True) as db:
        asked = [m.recipient for m in db.scalars(select(OutboxMessage))
                 if "before the Council" in m.subject]
    assert asked == ["national-poc@test.example"]  # Estonia's POC; LT and ES have none
    again = client.post(f"{API}/requests/{request['id']}/triage",
                        headers=world.headers(Role.COORDINATOR), json={})
    assert "council" in _problem(again, 409)["detail"]


def test_a_poc_records_and_changes_its_nations_position(client, world):
    request = _triaged(client, world)
    poc = world.headers(Role.NATIONAL_POC)
    first = _position(client, poc, request["id"], "object", "Legal review pending.")
    assert first.status_code == 200, first.text
    changed = _position(client, poc, request["id"], "support").json()
    by_nation = {p["org"]: p for p in changed}
    assert set(by_nation) == {"EE", "ES", "LT"}  # the lead and the participants
    assert by_nation["EE"]["position"] == "support" and by_nation["EE"]["comment"] == ""
    assert by_nation["LT"]["position"] is None
    listed = client.get(f"{API}/requests/{request['id']}/positions",
                        headers=world.headers(Role.REQUESTER)).json()
    assert listed == changed


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.REQUESTER, Role.ADMIN])
def test_only_a_pocs_word_is_a_position(client, world, role):
    request = _triaged(client, world)
    _problem(_position(client, world.headers(role), request["id"], "support"), 403)


def test_positions_are_recorded_while_the_council_sits(client, world):
    asked = _ask(client, world).json()  # not triaged yet
    body = _problem(_position(client, world.headers(Role.NATIONAL_POC), asked["id"],
                              "support"), 409)
    assert "while the Council sits" in body["detail"]


def test_an_objection_holds_back_an_activation_under_the_default_rule(client, world,
                                                                      database):
    request = _triaged(client, world)
    poc = world.headers(Role.NATIONAL_POC)
    _position(client, poc, request["id"], "object")
    coordinator = world.headers(Role.COORDINATOR)
    url = f"{API}/requests/{request['id']}/decision"
    refused = _problem(client.post(url, headers=coordinator, json={"outcome": "activate"}), 409)
    assert refused["objecting"] == ["EE"] and "EE object" in refused["detail"]
    _position(client, poc, request["id"], "support")
    decided = client.post(url, headers=coordinator, json={
        "outcome": "activate", "scope": "Remote forensics of two hosts."})
    assert decided.status_code == 200, decided.text
    body = decided.json()
    assert body["status"] == "activated"
    assert body["decision"]["legal_basis"] == "Memorandum of Understanding"
    decision = next(c for c in body["clocks"] if c["name"] == "decision")
    assert decision["state"] == "met"
    with database.session(read_only=True) as db:
        told = [m.recipient for m in db.scalars(select(OutboxMessage))
                if m.subject.endswith("activated")]
    assert "jana.novak@cert.example" in told and "coordinator@test.example" in told


def test_a_decline_gives_its_reason(client, world):
    asked = _ask(client, world).json()
    url = f"{API}/requests/{asked['id']}/decision"
    coordinator = world.headers(Role.COORDINATOR)
    _problem(client.post(url, headers=coordinator, json={"outcome": "decline"}), 422)
    declined = client.post(url, headers=coordinator, json={
        "outcome": "decline", "reason": "Covered by the EU Cybersecurity Reserve."}).json()
    assert declined["status"] == "declined"
    assert declined["decision"]["reason"] == "Covered by the EU Cybersecurity Reserve."
    states = {c["name"]: c["state"] for c in declined["clocks"]}
    assert states == {"triage": "met", "decision": "met", "response": "stopped"}
    _problem(client.post(url, headers=coordinator, json={"outcome": "activate"}), 409)


def test_the_majority_rule_counts_support_against_objections(client, world, database, app):
    app.state.settings.council_rule = "majority"
    try:
        request = _triaged(client, world)
        lt, es = _poc_of(database, "LT"), _poc_of(database, "ES")
        _position(client, world.headers(Role.NATIONAL_POC), request["id"], "object")
        _position(client, lt, request["id"], "support")
        url = f"{API}/requests/{request['id']}/decision"
        coordinator = world.headers(Role.COORDINATOR)
        _problem(client.post(url, headers=coordinator, json={"outcome": "activate"}), 409)
        _position(client, es, request["id"], "support")
        assert client.post(url, headers=coordinator, json={"outcome": "activate"}).json()[
            "status"] == "activated"
    finally:
        app.state.settings.council_rule = "no_objection"


def test_a_clock_running_through_the_council_alerts_once(client, world, database, settings):
    with clock.frozen(RECEIVED):
        asked = _ask(client, world, severity=4).json()  # a decision within 12 hours
    with clock.frozen(RECEIVED + timedelta(minutes=20)):
        client.post(f"{API}/requests/{asked['id']}/triage",
                    headers=world.headers(Role.COORDINATOR), json={})
    for hours in (10, 11, 13, 14):
        with clock.frozen(RECEIVED + timedelta(hours=hours)):
            jobs.run_due(database, settings, worker_id="test")
    with database.session(read_only=True) as db:
        subjects = [m.subject for m in db.scalars(select(OutboxMessage))
                    if m.recipient == "coordinator@test.example"]
    reference = asked["reference"]
    assert subjects.count(f"crrt: {reference} decision due soon") == 1
    assert subjects.count(f"crrt: {reference} decision breached") == 1
    assert not any("triage" in s for s in subjects)  # met in time
