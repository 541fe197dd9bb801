import json
from datetime import date

import pytest
from sqlalchemy import select

from crrt.audit import service as audit
from crrt.audit.models import AuditEvent
from crrt.auth.enums import Role
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
    assert document["format"] == "crrt.expert-personal-data/1"
    assert document["exported_at"]
    expert = document["expert"]
    assert (expert["id"], expert["org"], expert["name"], expert["email"], expert["phone"]) == \
        (expert_id, "EE", "Kadri Saar", "kadri.saar@ria.ee.example", "+372 1234567")
    assert (expert["notes"], expert["time_zone"], expert["erased_at"]) == \
        ("Prefers night shifts.", "Europe/Tallinn", None)
    assert document["skills"] == [{"skill": "incident_handling", "level": 3},
                                  {"skill": "malware_analysis", "level": 1}]
    assert sorted(document["languages"]) == ["en", "et"]
    assert document["unavailability"] == [{"starts_on": "2027-08-02", "ends_on": "2027-08-06",
                                           "reason": "Family leave"}]
    assert document["user"] == {"email": "responder@test.example", "role": "responder"}
    trail = [(e["action"], e["actor"], e["fields"]) for e in document["audit"]]
    coordinator, poc = (f"user:{world.users[r]}" for r in (Role.COORDINATOR, POC))
    assert trail[0][:2] == ("expert.nominate", coordinator)
    assert trail[1:] == [("expert.update", poc, ["phone"]),
                         ("expert.unavailability.add", poc,
                          ["period", "reason", "unavailability_id"])]
    with database.session() as db:
        exports = db.scalars(select(AuditEvent).where(AuditEvent.action == "expert.export"))
        assert [e.object_id for e in exports] == [str(expert_id)]


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
        out = service.expert_out(service.get(db=db, actor=world.principals[COORDINATOR],
                                             expert_id=expert_id))
        assert (out.name, out.email, out.phone, out.notes) == \
            (f"Erased expert #{expert_id}", None, None, "")
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
                                                  "phone", "unavailability", "user"]}


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
        assert [e.id for e in listed] == [again]
        assert [e.id for e in everyone] == [expert_id, again]
        assert ("EE", "Estonia", 1) in service.counts_by_nation(db=db, actor=actor)
        assert dict(service.counts_by_skill(db=db, actor=actor))["incident_handling"] == 1
