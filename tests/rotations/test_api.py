"""The rotations API: templates, commitments, plans, publishing, the rotation on duty and
replacements, with their refusals as problem+json."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from crrt.access.enums import Role
from crrt.core import clock
from tests.rotations.test_service import (
    HANDLER,
    LEAD,
    SMALL,
    START,
    add_away,
    add_expert,
    events,
    small_pool,
)

API = "/api/v1"
PROBLEM = "application/problem+json"


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    return response.json()


def _template(client, world, body: dict | None = None, role: Role = Role.COORDINATOR):
    return client.post(f"{API}/team-templates", json=body or SMALL, headers=world.headers(role))


def _plan(client, world, template_id: str, *, periods: int = 1, start: date = START) -> dict:
    response = client.post(f"{API}/rotations/plan", headers=world.headers(Role.COORDINATOR),
                           json={"template_id": template_id, "start": start.isoformat(),
                                 "periods": periods, "period_months": 1, "seconds": 2})
    assert response.status_code == 201, response.text
    return response.json()


def _publish(client, world, plan_id: str):
    return client.post(f"{API}/rotations/plans/{plan_id}/publish",
                       headers=world.headers(Role.COORDINATOR))


def _published(client, world, database) -> tuple[dict[str, uuid.UUID], dict, dict]:
    pool = small_pool(database)
    plan = _plan(client, world, _template(client, world).json()["id"])
    response = _publish(client, world, plan["id"])
    assert response.status_code == 200, response.text
    [rotation] = response.json()
    return pool, plan, rotation


# --- templates -----------------------------------------------------------------------------------

def test_a_coordinator_creates_a_template(client, world, database):
    response = _template(client, world)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["name"], body["size"], body["min_size"], body["max_size"]) == (
        "Small team", 3, 3, 4)
    assert body["slots"] == [
        {"skill": "team_lead", "min_level": 1, "count": 1, "clearance": "none", "lead": True},
        {"skill": "incident_handling", "min_level": 1, "count": 2, "clearance": "none",
         "lead": False}]
    listed = client.get(f"{API}/team-templates", headers=world.headers(Role.RESPONDER)).json()
    assert [t["id"] for t in listed] == [body["id"]]
    got = client.get(f"{API}/team-templates/{body['id']}",
                     headers=world.headers(Role.RESPONDER))
    assert got.json() == body
    [event] = events(database, "team_template.created")
    assert event.object_id == body["id"]


@pytest.mark.parametrize(("change", "message"), [
    ({"min_size": 5, "max_size": 4}, "min_size is above max_size"),
    ({"min_size": 4}, "The slots hold 3 seats; the team takes 4 to 4"),
    ({"max_size": 2, "min_size": 2}, "The slots hold 3 seats; the team takes 2 to 2"),
    ({"slots": [{"skill": "team_lead", "count": 2}, {"skill": "incident_handling"}]},
     "one lead seat at most"),
    ({"slots": [{"skill": "team_lead"}, {"skill": "cloud", "lead": True},
                {"skill": "incident_handling"}]}, "one lead seat at most"),
    ({"slots": [{"skill": "team_lead"}, {"skill": "incident_handling"},
                {"skill": "incident_handling"}]}, "Two slots ask for the same skill"),
    ({"min_nations": 4}, "4 nations cannot share 3 seats"),
])
def test_an_incoherent_template_is_refused_naming_the_problem(client, world, change, message):
    body = _problem(_template(client, world, SMALL | change), 422)
    assert message in " ".join(e["msg"] for e in body["errors"])


def test_a_template_name_is_taken_once(client, world):
    assert _template(client, world).status_code == 201
    body = _problem(_template(client, world, SMALL | {"slots": SMALL["slots"][:1],
                                                       "min_size": 1, "min_nations": 1}), 409)
    assert "Small team" in body["detail"]


def test_a_template_change_is_checked_as_a_whole(client, world, database):
    first = _template(client, world).json()
    other = _template(client, world, SMALL | {"name": "Other"}).json()
    url = f"{API}/team-templates/{first['id']}"
    headers = world.headers(Role.COORDINATOR)
    # alone each part is valid; with the stored slots (three seats) it is not
    body = _problem(client.patch(url, json={"min_size": 4}, headers=headers), 422)
    assert "The slots hold 3 seats" in body["detail"]
    body = _problem(client.patch(url, json={"slots": [
        {"skill": "team_lead"}, {"skill": "incident_handling", "count": 4}]},
        headers=headers), 422)
    assert "The slots hold 5 seats; the team takes 3 to 4" in body["detail"]
    _problem(client.patch(url, json={"name": "Other"}, headers=headers), 409)
    assert client.get(url, headers=headers).json() == first  # nothing refused was kept
    changed = client.patch(url, json={"min_nations": 3, "languages": ["en", "fr"]},
                           headers=headers)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["min_nations"], changed.json()["languages"]) == (3, ["en", "fr"])
    assert changed.json()["name"] == "Small team" and other["name"] == "Other"
    [event] = events(database, "team_template.updated")
    assert event.changes["min_nations"] == [2, 3]


@pytest.mark.parametrize("role", [Role.NATIONAL_POC, Role.RESPONDER, Role.OBSERVER])
def test_only_the_coordination_cell_writes_templates(client, world, role):
    _problem(_template(client, world, role=role), 403)
    created = _template(client, world).json()
    _problem(client.patch(f"{API}/team-templates/{created['id']}", json={"min_nations": 1},
                          headers=world.headers(role)), 403)


# --- commitments ---------------------------------------------------------------------------------

def test_a_poc_states_its_own_nations_commitment_only(client, world, database):
    headers = world.headers(Role.NATIONAL_POC)
    put = client.put(f"{API}/commitments/EE", json={"seats_per_year": 2}, headers=headers)
    assert put.status_code == 204, put.text
    _problem(client.put(f"{API}/commitments/ES", json={"seats_per_year": 9}, headers=headers),
             403)
    _problem(client.put(f"{API}/commitments/EE", json={"seats_per_year": -1}, headers=headers),
             422)
    listed = client.get(f"{API}/commitments", params={"on": "2027-01-01"},
                        headers=world.headers(Role.RESPONDER)).json()
    assert {c["org"]: c["seats_per_year"] for c in listed} == {"EE": 2, "ES": None, "LT": None}
    assert client.delete(f"{API}/commitments/EE", headers=headers).status_code == 204
    [event, withdrawn] = events(database, "commitment.stated")
    assert (event.object_id, event.changes) == ("EE", {"seats_per_year": [None, 2]})
    assert withdrawn.changes == {"seats_per_year": [2, None]}


def test_a_commitment_is_the_nations_target_in_a_draft(client, world, database):
    small_pool(database)
    add_expert(database, "LT", "Lars Handler", HANDLER)
    put = client.put(f"{API}/commitments/ES", json={"seats_per_year": 12},
                     headers=world.headers(Role.COORDINATOR))
    assert put.status_code == 204
    plan = _plan(client, world, _template(client, world).json()["id"], periods=2)
    # two months: Spain's twelve seats a year are two; LT and EE (two qualified each) share
    # the other four
    assert plan["metrics"]["nations"]["ES"]["target"] == 2.0
    assert plan["metrics"]["nations"]["LT"]["target"] == 2.0
    assert plan["metrics"]["nations"]["EE"]["target"] == 2.0
    assert sum(n["assigned"] for n in plan["metrics"]["nations"].values()) + sum(
        u["missing"] for u in plan["unfilled"]) == 6


# --- plans ---------------------------------------------------------------------------------------

def test_a_plan_is_solved_checked_and_listed(client, world, database):
    small_pool(database)
    add_expert(database, "EE", "Liis Lead", LEAD)
    add_expert(database, "ES", "Sandra Handler", HANDLER)
    template = _template(client, world).json()
    plan = _plan(client, world, template["id"], periods=2)
    assert plan["status"] == "optimal"
    assert (plan["state"], plan["template_id"], plan["zone"]) == (
        "draft", template["id"], "Europe/Brussels")
    assert plan["violations"] == [] and plan["unfilled"] == [] and plan["explanation"] == []
    assert {"solve_seconds", "objective", "bound", "gap", "nations"} <= set(plan["metrics"])
    assert plan["metrics"]["gap"] == 0
    for rotation in plan["rotations"]:
        assert [m["lead"] for m in rotation["members"]] == [True, False, False]
        assert all(m["org"] in ("LT", "EE", "ES") for m in rotation["members"])
        assert {"expert_id", "name", "org", "slot_skill", "lead"} == set(rotation["members"][0])
    headers = world.headers(Role.COORDINATOR)
    check = client.get(f"{API}/rotations/plans/{plan['id']}/check", headers=headers)
    assert check.json() == {"violations": []}
    assert client.get(f"{API}/rotations/plans/{plan['id']}", headers=headers).json() == plan
    [summary] = client.get(f"{API}/rotations/plans", headers=headers).json()
    assert (summary["id"], summary["template"], summary["state"]) == (
        plan["id"], "Small team", "draft")


def test_a_draft_is_the_coordination_cells_alone(client, world, database):
    small_pool(database)
    plan = _plan(client, world, _template(client, world).json()["id"])
    headers = world.headers(Role.NATIONAL_POC)
    _problem(client.get(f"{API}/rotations/plans/{plan['id']}", headers=headers), 404)
    assert client.get(f"{API}/rotations/plans", headers=headers).json() == []
    _problem(client.post(f"{API}/rotations/plan", headers=headers, json={
        "template_id": plan["template_id"], "start": "2027-01-01", "seconds": 1}), 403)
    _problem(_publish(client, world, str(uuid.uuid4())), 404)


def test_an_infeasible_plan_says_what_is_missing_and_why(client, world, database):
    small_pool(database)
    template = _template(client, world, SMALL | {"max_size": 5, "slots": [
        *SMALL["slots"], {"skill": "ot_ics", "min_level": 3}]}).json()
    plan = _plan(client, world, template["id"])
    assert plan["status"] == "infeasible"
    assert len(plan["rotations"][0]["members"]) == 3
    assert plan["unfilled"] == [{
        "period": "2027-01-01 to 2027-01-31", "skill": "ot_ics", "min_level": 3,
        "clearance": 0, "count": 1, "missing": 1, "qualified": 0, "free": 0, "why": "none",
        "reason": "2027-01-01 to 2027-01-31: ot_ics level >= 3 needs 1, 0 filled: no expert "
                  "in the pool qualifies."}]
    assert plan["explanation"] == [plan["unfilled"][0]["reason"]]
    assert plan["rule_gaps"] == []


def test_a_language_nobody_speaks_is_a_rule_gap(client, world, database):
    small_pool(database)
    template = _template(client, world, SMALL | {"languages": ["en", "mt"]}).json()
    plan = _plan(client, world, template["id"])
    assert plan["status"] == "infeasible"
    assert plan["rule_gaps"] == [{"period": "2027-01-01 to 2027-01-31", "rule": "language",
                                  "have": None, "need": None, "language": "mt"}]


def test_checking_a_plan_is_for_those_who_plan(client, world, database):
    """The check reads every nation's pool, so a POC, who sees only its own, may not run it
    (it would report the others' members as violations)."""
    _pool, plan, _rotation = _published(client, world, database)
    check = client.get(f"{API}/rotations/plans/{plan['id']}/check",
                       headers=world.headers(Role.NATIONAL_POC))
    assert check.status_code == 403, check.text
    check = client.get(f"{API}/rotations/plans/{plan['id']}/check",
                       headers=world.headers(Role.COORDINATOR))
    assert check.json() == {"violations": []}


def test_an_observer_reads_no_rotation(client, world, database):
    """Observers get the community's statistics, not who is on duty (DESIGN §1)."""
    _pool, plan, rotation = _published(client, world, database)
    headers = world.headers(Role.OBSERVER)
    for url in (f"/rotations/plans/{plan['id']}", f"/rotations/plans/{plan['id']}/check",
                f"/rotations/{rotation['id']}", "/rotations", "/rotations/current",
                "/team-templates", "/me/duty"):
        assert client.get(f"{API}{url}", headers=headers).status_code == 403, url


# --- publishing ----------------------------------------------------------------------------------

def test_publishing_gives_the_rotations_and_refuses_a_second_time(client, world, database):
    _pool, plan, rotation = _published(client, world, database)
    assert (rotation["plan_id"], rotation["label"], rotation["start"], rotation["end"]) == (
        plan["id"], "2027-01-01 to 2027-01-31", "2027-01-01", "2027-01-31")
    assert {m["expert_id"] for m in rotation["members"]} == {
        m["expert_id"] for m in plan["rotations"][0]["members"]}
    assert all(m["time_zone"] for m in rotation["members"])
    body = _problem(_publish(client, world, plan["id"]), 409)
    assert "published" in body["detail"]
    got = client.get(f"{API}/rotations/plans/{plan['id']}",
                     headers=world.headers(Role.RESPONDER))  # published: every reader's
    assert got.json()["state"] == "published"
    duty = client.get(f"{API}/rotations/{rotation['id']}/duty",
                      headers=world.headers(Role.RESPONDER)).json()
    assert len(duty) == 5
    assert all(s["primary"]["expert_id"] != s["backup"]["expert_id"] for s in duty)


def test_a_draft_whose_member_became_unavailable_is_not_published(client, world, database):
    pool = small_pool(database)
    plan = _plan(client, world, _template(client, world).json()["id"])
    add_away(database, pool["lead"], date(2027, 1, 10), date(2027, 1, 12))
    body = _problem(_publish(client, world, plan["id"]), 409)
    assert body["violations"] and all("unavailable then" in v for v in body["violations"])
    assert "plan again" in body["detail"]
    headers = world.headers(Role.COORDINATOR)
    check = client.get(f"{API}/rotations/plans/{plan['id']}/check", headers=headers).json()
    assert check["violations"] == body["violations"]
    assert client.get(f"{API}/rotations", headers=headers).json() == []


def test_a_plan_over_a_published_rotation_is_not_published(client, world, database):
    _pool, plan, _rotation = _published(client, world, database)
    later = _plan(client, world, plan["template_id"], start=date(2027, 1, 15))
    body = _problem(_publish(client, world, later["id"]), 409)
    assert "2027-01-01 to 2027-01-31" in body["detail"] and "overlaps" in body["detail"]
    after = _plan(client, world, plan["template_id"], start=date(2027, 2, 1))
    assert _publish(client, world, after["id"]).status_code == 200
    listed = client.get(f"{API}/rotations", headers=world.headers(Role.RESPONDER)).json()
    assert [r["start"] for r in listed] == ["2027-01-01", "2027-02-01"]


def test_a_draft_is_discarded_once(client, world, database):
    small_pool(database)
    plan = _plan(client, world, _template(client, world).json()["id"])
    url = f"{API}/rotations/plans/{plan['id']}/discard"
    headers = world.headers(Role.COORDINATOR)
    assert client.post(url, headers=headers).status_code == 204
    _problem(client.post(url, headers=headers), 409)
    _problem(_publish(client, world, plan["id"]), 409)


# --- the rotation on duty ------------------------------------------------------------------------

def test_the_current_rotation_is_the_one_covering_today(client, world, database):
    _, _, rotation = _published(client, world, database)
    headers = world.headers(Role.RESPONDER)
    with clock.frozen(datetime(2027, 1, 15, 12, tzinfo=UTC)):
        current = client.get(f"{API}/rotations/current", headers=headers)
    assert current.status_code == 200, current.text
    assert current.json()["id"] == rotation["id"]
    with clock.frozen(datetime(2027, 2, 2, 12, tzinfo=UTC)):
        body = _problem(client.get(f"{API}/rotations/current", headers=headers), 404)
    assert "No published rotation" in body["detail"]
    _problem(client.get(f"{API}/rotations/current", headers=headers), 404)  # before it


def test_the_current_rotation_hands_over_at_midnight_in_its_own_zone(client, world, database):
    _, _, rotation = _published(client, world, database)  # Brussels, to 31 January
    headers = world.headers(Role.RESPONDER)
    with clock.frozen(datetime(2027, 1, 31, 22, 30, tzinfo=UTC)):  # 23:30 in Brussels
        assert client.get(f"{API}/rotations/current", headers=headers).json()["id"] == \
            rotation["id"]
    with clock.frozen(datetime(2027, 1, 31, 23, 30, tzinfo=UTC)):  # 1 February there
        _problem(client.get(f"{API}/rotations/current", headers=headers), 404)


def test_a_seated_expert_is_replaced_before_the_nomination_is_withdrawn(client, world,
                                                                        database):
    _pool, _, rotation = _published(client, world, database)
    coordinator = world.headers(Role.COORDINATOR)
    seated = rotation["members"][-1]["expert_id"]
    body = _problem(client.delete(f"{API}/experts/{seated}", headers=coordinator), 409)
    assert rotation["label"] in body["detail"] and "replaces them" in body["detail"]
    exported = client.get(f"{API}/experts/{seated}/personal-data", headers=coordinator).json()
    assert exported["parts"]["rotations"]["seats"][0]["label"] == rotation["label"]
    replaced = client.post(f"{API}/rotations/{rotation['id']}/replace",
                           json={"expert_id": seated, "reason": "leaves the service"},
                           headers=coordinator)
    assert replaced.status_code == 200, replaced.text
    assert client.delete(f"{API}/experts/{seated}", headers=coordinator).status_code == 204


def test_a_requester_may_not_read_rotations(client, world, database):
    _pool, plan, rotation = _published(client, world, database)
    headers = world.headers(Role.REQUESTER)
    for url in ("/rotations", "/rotations/current", f"/rotations/{rotation['id']}",
                f"/rotations/{rotation['id']}/duty", f"/rotations/plans/{plan['id']}",
                "/team-templates", "/commitments"):
        _problem(client.get(API + url, headers=headers), 403)
    assert client.get(f"{API}/rotations/{rotation['id']}",
                      headers=world.headers(Role.RESPONDER)).json() == rotation


# --- replacements --------------------------------------------------------------------------------

def test_a_withdrawn_member_is_replaced_by_a_free_qualified_expert(client, world, database):
    pool, _, rotation = _published(client, world, database)
    members = {m["expert_id"] for m in rotation["members"]}
    handlers = {str(pool[k]) for k in ("ee1", "ee2", "es1")}
    [spare] = handlers - members
    leaving = sorted(handlers & members)[0]
    url = f"{API}/rotations/{rotation['id']}/replace"
    response = client.post(url, json={"expert_id": leaving, "reason": "Deployed elsewhere"},
                           headers=world.headers(Role.COORDINATOR))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["unfilled"] == []
    [change] = body["changes"]
    assert "replaces" in change and "incident_handling" in change
    assert {m["expert_id"] for m in body["rotation"]["members"]} == members - {leaving} | {spare}
    duty = client.get(f"{API}/rotations/{rotation['id']}/duty",
                      headers=world.headers(Role.COORDINATOR)).json()
    assert all(leaving not in (s["primary"]["expert_id"], s["backup"]["expert_id"])
               for s in duty)  # every week is still ahead: all of them redone
    again = client.post(url, json={"expert_id": leaving}, headers=world.headers(Role.COORDINATOR))
    _problem(again, 404)


def test_the_changes_name_the_experts_as_the_api_does(client, world, database):
    pool, _, rotation = _published(client, world, database)
    members = {m["expert_id"]: m["name"] for m in rotation["members"]}
    leaving = next(str(pool[k]) for k in ("ee1", "ee2", "es1") if str(pool[k]) in members)
    body = client.post(f"{API}/rotations/{rotation['id']}/replace", json={"expert_id": leaving},
                       headers=world.headers(Role.COORDINATOR)).json()
    [change] = body["changes"]
    assert members[leaving] in change or leaving in change


def test_a_withdrawal_nobody_can_fill_is_explained(client, world, database):
    pool, _, rotation = _published(client, world, database)
    response = client.post(f"{API}/rotations/{rotation['id']}/replace",
                           json={"expert_id": str(pool["lead"])},
                           headers=world.headers(Role.COORDINATOR))
    assert response.status_code == 200, response.text
    body = response.json()
    [reason] = body["unfilled"]
    assert "team_lead" in reason and "2027-01-01 to 2027-01-31" in reason
    assert str(pool["lead"]) not in {m["expert_id"] for m in body["rotation"]["members"]}
    assert len(body["rotation"]["members"]) == 2


def test_replacements_are_refused_when_they_cannot_apply(client, world, database):
    pool, _, rotation = _published(client, world, database)
    url = f"{API}/rotations/{rotation['id']}/replace"
    headers = world.headers(Role.COORDINATOR)
    body = _problem(client.post(url, json={"expert_id": str(pool["de1"])}, headers=headers),
                    404)
    assert "not on this rotation" in body["detail"]
    _problem(client.post(url, json={"expert_id": str(uuid.uuid4())}, headers=headers), 404)
    _problem(client.post(url, json={"expert_id": str(pool["lead"])},
                         headers=world.headers(Role.NATIONAL_POC)), 403)
    with clock.frozen(datetime(2027, 2, 1, 12, tzinfo=UTC)):
        body = _problem(client.post(url, json={"expert_id": str(pool["lead"])},
                                    headers=headers), 409)
    assert "is over" in body["detail"]
    _problem(client.post(f"{API}/rotations/{uuid.uuid4()}/replace",
                         json={"expert_id": str(pool["lead"])}, headers=headers), 404)


# --- what a published plan survives ---------------------------------------------------------------

def test_an_erased_member_leaves_a_seat_the_next_replacement_fills(client, world, database):
    pool, _, rotation = _published(client, world, database)
    coordinator = world.headers(Role.COORDINATOR)
    handlers = [m["expert_id"] for m in rotation["members"] if m["slot_skill"] != "team_lead"]
    erased, leaving = handlers
    assert client.post(f"{API}/experts/{erased}/erase", headers=coordinator).status_code == 200
    response = client.post(f"{API}/rotations/{rotation['id']}/replace",
                           json={"expert_id": leaving, "reason": "ill"}, headers=coordinator)
    assert response.status_code == 200, response.text
    seated = {m["expert_id"] for m in response.json()["rotation"]["members"]}
    assert erased not in seated and leaving not in seated
    # one handler (the spare) is left for two seats: one filled, one said to be empty
    assert len(seated) == 2 and len(response.json()["unfilled"]) == 1
    assert str(pool["lead"]) in seated


def test_a_template_edited_after_publishing_changes_no_plan(client, world, database):
    _pool, plan, rotation = _published(client, world, database)
    coordinator = world.headers(Role.COORDINATOR)
    edited = client.patch(f"{API}/team-templates/{plan['template_id']}", headers=coordinator,
                          json={"min_size": 1, "min_nations": 1,
                                "slots": [{"skill": "cloud", "count": 1}]})
    assert edited.status_code == 200, edited.text
    check = client.get(f"{API}/rotations/plans/{plan['id']}/check", headers=coordinator)
    assert check.json() == {"violations": []}
    leaving = next(m["expert_id"] for m in rotation["members"]
                   if m["slot_skill"] == "incident_handling")
    replaced = client.post(f"{API}/rotations/{rotation['id']}/replace",
                           json={"expert_id": leaving}, headers=coordinator)
    assert replaced.status_code == 200, replaced.text
    skills = sorted(m["slot_skill"] for m in replaced.json()["rotation"]["members"])
    assert skills == ["incident_handling", "incident_handling", "team_lead"]


@pytest.mark.parametrize("start", ["9999-06-01", "1999-12-31"])
def test_a_plan_starts_in_a_sensible_century(client, world, database, start):
    template = _template(client, world).json()
    response = client.post(f"{API}/rotations/plan", headers=world.headers(Role.COORDINATOR),
                           json={"template_id": template["id"], "start": start, "periods": 2})
    assert _problem(response, 422)["errors"][0]["loc"][-1] == "start"


def test_a_withdrawal_reason_is_exported_and_erased(client, world, database):
    _pool, _, rotation = _published(client, world, database)
    coordinator = world.headers(Role.COORDINATOR)
    leaving = next(m["expert_id"] for m in rotation["members"]
                   if m["slot_skill"] == "incident_handling")
    client.post(f"{API}/rotations/{rotation['id']}/replace", headers=coordinator,
                json={"expert_id": leaving, "reason": "long illness"})
    exported = client.get(f"{API}/experts/{leaving}/personal-data", headers=coordinator).json()
    assert exported["parts"]["rotations"]["seats"][0]["reason"] == "long illness"
    assert client.post(f"{API}/experts/{leaving}/erase", headers=coordinator).status_code == 200
    again = client.get(f"{API}/experts/{leaving}/personal-data", headers=coordinator).json()
    assert again["parts"]["rotations"]["seats"][0]["reason"] == ""
