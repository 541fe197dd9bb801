import json
from datetime import date

import pytest
from sqlalchemy import select

from crrt.access.enums import Role
from crrt.audit import service as audit
from crrt.audit.models import AuditEvent
from crrt.core.errors import Conflict, Forbidden, NotFound
from crrt.experts import service
from crrt.experts.schemas import ExpertFilter, ExpertPatch, UnavailabilityIn

COORDINATOR, POC = Role.COORDINATOR, Role.NATIONAL_POC


def _prepare(database, world, nominate) -> int:
    expert_id = nominate(user_email="responder@test.example")
    with database.session() as db:
        actor = world.principals[POC]
        service.update(db=db, actor=actor, expert_id=expert_id,
                       data=ExpertPatch(phone="+372 1234567"))
        service.add_unavailability(db=db, actor=actor, expert_id=expert_id, data=UnavailabilityIn(
            starts_on=date(2027, 8, 2), ends_on=date(2027, 8, 6), reason="Family leave"))
    return expert_id


def test_the_export_holds_everything_about_the_expert(database, world, nominate):
    expert_id = _prepare(database, world, nominate)
    with database.session() as db:
        document = service.export_personal_data(db=db, actor=world.principals[POC],
                                                expert_id=expert_id)
    json.dumps(document)  # JSON-ready as it is
    assert document["format"] == "crrt.personal-data/2"
    assert document["exported_at"]
    assert set(document["parts"]) == {"experts"}  # a POC does not manage accounts
    [expert] = document["parts"]["experts"]
    assert (expert["id"], expert["org"], expert["name"], expert["email"], expert["phone"]) == \
        (str(expert_id), "EE", "Kadri Saar", "kadri.saar@ria.ee.example", "+372 1234567")
    assert (expert["notes"], expert["time_zone"], expert["erased_at"]) == \
        ("Prefers night shifts.", "Europe/Tallinn", None)
    assert expert["skills"] == [{"skill": "incident_handling", "level": 3},
                                {"skill": "malware_analysis", "level": 1}]
    assert sorted(expert["languages"]) == ["en", "et"]
    assert expert["unavailability"] == [{"starts_on": "2027-08-02", "ends_on": "2027-08-06",
                                         "reason": "Family leave"}]
    with database.session() as db:
        by_admin = service.export_personal_data(db=db, actor=world.principals[Role.ADMIN],
                                                expert_id=expert_id)
    assert set(by_admin["parts"]) == {"experts", "accounts"}  # the account changed nothing
    [account] = by_admin["parts"]["accounts"]
    assert (account["email"], account["role"]) == ("responder@test.example", "responder")
    assert [t["name"] for t in account["api_tokens"]] == ["tests"]
    assert "token" not in str(account["api_tokens"]).replace("api_tokens", "")
    trail = [(e["action"], e["actor"], e["fields"]) for e in expert["audit"]]
    coordinator, poc = (f"user:{world.users[r]}" for r in (Role.COORDINATOR, POC))
    assert trail[0][:2] == ("expert.nominate", coordinator)
    assert trail[1:] == [("expert.update", poc, ["phone"]),
                         ("expert.unavailability.add", poc,
                          ["period", "reason", "unavailability_id"])]
    with database.session() as db:
        exports = db.scalars(select(AuditEvent).where(AuditEvent.action == "expert.export"))
        assert [e.object_id for e in exports] == [str(expert_id)] * 2  # the POC, the admin


def test_only_the_nation_and_central_roles_export_personal_data(database, world, nominate):
    estonian = nominate(user_email="responder@test.example")
    spanish = nominate(org="ES")
    with database.session() as db:
        with pytest.raises(NotFound):
            service.export_personal_data(db=db, actor=world.principals[POC], expert_id=spanish)
        with pytest.raises(Forbidden):
            service.export_personal_data(db=db, actor=world.principals[Role.RESPONDER],
                                         expert_id=estonian)
        with pytest.raises(Forbidden):
            service.erase(db=db, actor=world.principals[Role.REQUESTER], expert_id=estonian)


def test_erasure_anonymises_and_the_audit_chain_stays_valid(database, world, nominate):
    expert_id = _prepare(database, world, nominate)
    with database.session() as db:
        service.erase(db=db, actor=world.principals[POC], expert_id=expert_id)
    with database.session() as db:
        coordinator = world.principals[COORDINATOR]
        out = service.expert_out(db, coordinator, service.get(db=db, actor=coordinator,
                                                              expert_id=expert_id))
        assert (out.name, out.email, out.phone, out.notes) == \
            (f"Erased expert {str(expert_id)[:8]}", None, None, "")
        assert (out.languages, out.unavailability, out.erased) == ([], [], True)
        assert [s.skill.value for s in out.skills] == ["incident_handling", "malware_analysis"]
        assert service.get(db=db, actor=world.principals[COORDINATOR],
                           expert_id=expert_id).user_id is None
        assert audit.verify(db=db).ok
        events = list(db.scalars(select(AuditEvent)))
        stored = " ".join(audit.canonical(e.changes) for e in events)
        for personal in ("Kadri", "kadri.saar", "1234567", "night shifts", "Family leave"):
            assert personal not in stored
        erase_event = next(e for e in events if e.action == "expert.erase")
        assert erase_event.changes == {"erased": ["email", "languages", "name", "notes",
                                                  "phone", "time_zone", "unavailability",
                                                  "user"]}


def test_an_erased_expert_cannot_change_or_be_erased_again(database, world, nominate):
    expert_id = nominate()
    actor = world.principals[COORDINATOR]
    with database.session() as db:
        service.erase(db=db, actor=actor, expert_id=expert_id)
    with database.session() as db:
        with pytest.raises(Conflict):
            service.erase(db=db, actor=actor, expert_id=expert_id)
        with pytest.raises(Conflict):
            service.update(db=db, actor=actor, expert_id=expert_id, data=ExpertPatch(name="Back"))
        with pytest.raises(Conflict):
            service.add_unavailability(db=db, actor=actor, expert_id=expert_id,
                                       data=UnavailabilityIn(starts_on=date(2027, 1, 1),
                                                             ends_on=date(2027, 1, 2)))


def test_erased_experts_leave_lists_and_counts_and_free_their_email(database, world, nominate):
    expert_id = nominate()
    actor = world.principals[COORDINATOR]
    with database.session() as db:
        service.erase(db=db, actor=actor, expert_id=expert_id)
    again = nominate()
    with database.session() as db:
        listed, _ = service.list_experts(db=db, actor=actor, filters=ExpertFilter(), limit=None,
                                         cursor=None)
        everyone, _ = service.list_experts(db=db, actor=actor, limit=None, cursor=None,
                                           filters=ExpertFilter(include_erased=True))
        assert [e.public_id for e in listed] == [again]
        assert [e.public_id for e in everyone] == [expert_id, again]
        assert ("EE", "Estonia", 1) in service.counts_by_nation(db=db, actor=actor)
        assert dict(service.counts_by_skill(db=db, actor=actor))["incident_handling"] == 1


def _all_audit_pages(client, world) -> list[dict]:
    """Every event the audit API lists to a coordinator, following the cursor to the end."""
    items: list[dict] = []
    cursor: str | None = None
    while True:
        params = {"limit": 7, **({"cursor": cursor} if cursor else {})}
        response = client.get("/api/v1/audit", params=params,
                              headers=world.headers(COORDINATOR))
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


def test_no_audit_event_holds_an_erased_experts_personal_values(client, database, world,
                                                                 expert_body):
    experts = "/api/v1/experts"
    created = client.post(experts, headers=world.headers(COORDINATOR),
                          json=expert_body(user_email="responder@test.example"))
    assert created.status_code == 201, created.text
    expert_id = created.json()["id"]
    changed = client.patch(f"{experts}/{expert_id}", headers=world.headers(POC),
                           json={"languages": ["fi", "sv"], "time_zone": "Europe/Helsinki"})
    assert changed.status_code == 200, changed.text
    period = client.post(f"{experts}/{expert_id}/unavailability",
                         headers=world.headers(Role.RESPONDER),
                         json={"starts_on": "2027-08-02", "ends_on": "2027-08-06",
                               "reason": "Family leave"})
    assert period.status_code == 201, period.text
    erased = client.post(f"{experts}/{expert_id}/erase", headers=world.headers(POC))
    assert erased.status_code == 200 and erased.json()["erased"] is True

    listed = _all_audit_pages(client, world)
    with database.session() as db:
        rows = [{column.name: getattr(event, column.name)
                 for column in AuditEvent.__table__.columns}
                for event in db.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
    assert len(listed) == len(rows) > 7  # more than one page was read
    assert {e["action"] for e in listed} >= {"expert.nominate", "expert.update",
                                             "expert.unavailability.add", "expert.erase"}
    responder = f"user:{world.users[Role.RESPONDER]}"
    assert responder in {e["actor"] for e in listed}  # the responder's change is there...
    personal = {
        "name": "Kadri Saar", "email": "kadri.saar@ria.ee.example", "phone": "5550 1101",
        "notes": "night shifts", "old languages": '["en","et"]', "new languages": '["fi","sv"]',
        "a language code": '"fi"', "another": '"et"', "old time zone": "Europe/Tallinn",
        "new time zone": "Europe/Helsinki", "first day": "2027-08-02", "last day": "2027-08-06",
        "reason": "Family leave", "responder's email": "responder@test.example",
    }
    for source, events in (("GET /api/v1/audit", listed), ("audit_events", rows)):
        for event in events:
            stored = audit.canonical(event).lower()
            leaked = [what for what, value in personal.items() if value.lower() in stored]
            assert not leaked, f"{source} event {event['seq']} holds {leaked}: {stored}"


def test_an_expert_given_someone_elses_email_reveals_and_erases_nothing_of_their_account(
        database, world, nominate):
    """A POC may type any address into a nomination: the admin's, say. The export and the
    erasure of that expert must not reach the admin's account or sign-in records."""
    from crrt.auth import service as auth
    from crrt.auth.models import LoginAttempt

    for address in ("198.51.100.7", "203.0.113.9"):
        auth.login(database=database, email="admin@test.example", password="wrong password",
                   address=address, session_hours=1)
    decoy = nominate(POC, email="admin@test.example", name="Decoy")
    with database.session() as db:
        document = service.export_personal_data(db=db, actor=world.principals[POC],
                                                expert_id=decoy)
        service.erase(db=db, actor=world.principals[POC], expert_id=decoy)
    assert "198.51.100.7" not in json.dumps(document)
    assert set(document["parts"]) == {"experts"}
    with database.session() as db:
        left = db.scalars(select(LoginAttempt).where(
            LoginAttempt.email == "admin@test.example")).all()
    assert len(left) == 2


def test_a_coordinator_gets_the_audit_trail_of_the_linked_account_an_admin_the_account(
        database, world, nominate):
    expert_id = nominate(user_email="responder@test.example")
    with database.session() as db:
        service.add_unavailability(db=db, actor=world.principals[Role.RESPONDER],
                                   expert_id=expert_id, data=UnavailabilityIn(
                                       starts_on=date(2027, 1, 4), ends_on=date(2027, 1, 8)))
    with database.session() as db:
        by_coordinator = service.export_personal_data(
            db=db, actor=world.principals[COORDINATOR], expert_id=expert_id)
        by_admin = service.export_personal_data(db=db, actor=world.principals[Role.ADMIN],
                                                expert_id=expert_id)
    assert set(by_coordinator["parts"]) == {"experts", "audit"}
    assert [e["action"] for e in by_coordinator["parts"]["audit"]] == [
        "expert.unavailability.add"]
    assert set(by_admin["parts"]) == {"experts", "accounts", "audit"}
    failed = [a for a in by_admin["parts"]["accounts"][0]["sign_ins"] if not a["succeeded"]]
    assert all("address" not in a for a in failed)
