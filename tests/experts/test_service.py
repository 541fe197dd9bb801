from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from crrt.access.enums import Role
from crrt.access.principal import Principal
from crrt.audit import service as audit
from crrt.audit.models import AuditEvent
from crrt.core import clock
from crrt.core.errors import Conflict, Forbidden, Invalid, NotFound
from crrt.experts import service
from crrt.experts.enums import Clearance, Deployability, Skill
from crrt.experts.schemas import ExpertFilter, ExpertIn, ExpertPatch, UnavailabilityIn
from tests.support import add_institution

COORDINATOR, POC, RESPONDER = Role.COORDINATOR, Role.NATIONAL_POC, Role.RESPONDER


def _events(db, action):
    audit.seal(db)  # the events recorded in this transaction so far join the chain
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)
                           .order_by(AuditEvent.seq)))


def _ids(database, world, role=COORDINATOR, **filters):
    with database.session() as db:
        experts, _ = service.list_experts(db=db, actor=world.principals[role],
                                          filters=ExpertFilter(**filters), limit=200, cursor=None)
        return [e.public_id for e in experts]


def test_a_nomination_is_audited_without_personal_values(database, world, nominate):
    expert_id = nominate()
    with database.session() as db:
        event = _events(db, "expert.nominate")[0]
        coordinator = world.principals[COORDINATOR]
        expert = service.expert_out(db, coordinator, service.get(db=db, actor=coordinator,
                                                                 expert_id=expert_id))
    assert event.object_id == str(expert_id)  # the public id
    assert event.changes["name"] == event.changes["email"] == audit.PERSONAL
    assert event.changes["phone"] == event.changes["notes"] == audit.PERSONAL
    assert event.changes["skills"] == [None, {"incident_handling": 3, "malware_analysis": 1}]
    assert event.changes["org"] == [None, "EE"]
    stored = audit.canonical(event.changes)
    assert "Kadri" not in stored and "ria.ee" not in stored and "5550" not in stored
    assert expert.languages == ["en", "et"] and expert.available_today


def test_a_poc_nominates_for_their_own_nation_only(database, world, nominate):
    assert nominate(POC, org="EE")
    with pytest.raises(Forbidden):
        nominate(POC, org="ES")


@pytest.mark.parametrize("role", [Role.RESPONDER, Role.REQUESTER, Role.OBSERVER])
def test_other_roles_cannot_nominate(database, world, nominate, role):
    with pytest.raises(Forbidden):
        nominate(role)


def test_an_email_is_nominated_once_per_nation_in_any_case(database, world, nominate):
    nominate(email="kadri.saar@ria.ee.example")
    with pytest.raises(Conflict):
        nominate(email="Kadri.Saar@RIA.ee.example")
    assert nominate(org="ES", email="kadri.saar@ria.ee.example")


@pytest.mark.parametrize(("org", "field"), [("cert-eu", "org"), ("XX", "org")])
def test_only_a_known_nation_nominates(database, world, nominate, org, field):
    with pytest.raises(Invalid) as exc:
        nominate(org=org)
    assert exc.value.errors[0].loc == [field]


def test_the_institution_must_be_one_of_the_nation(database, world, nominate):
    spanish = add_institution(database, "ES", "INCIBE-CERT")
    estonian = add_institution(database, "EE", "CERT-EE")
    with pytest.raises(Invalid) as exc:
        nominate(institution_id=spanish)
    assert exc.value.errors[0].loc == ["institution_id"]
    expert_id = nominate(institution_id=estonian)
    with database.session() as db:
        [nominated] = _events(db, "expert.nominate")
        assert nominated.changes["institution_id"] == [None, str(estonian)]  # its public id
        coordinator = world.principals[COORDINATOR]
        out = service.expert_out(db, coordinator, service.get(db=db, actor=coordinator,
                                                              expert_id=expert_id))
    assert (out.institution_id, out.institution) == (estonian, "CERT-EE")


def test_only_admins_and_coordinators_link_a_user_account(database, world, nominate):
    with pytest.raises(Forbidden):
        nominate(POC, user_email="responder@test.example")
    with pytest.raises(Invalid, match="No user"):
        nominate(user_email="nobody@test.example")
    with pytest.raises(Invalid, match="does not belong"):
        nominate(org="ES", user_email="responder@test.example")
    nominate(user_email="responder@test.example")
    with pytest.raises(Conflict, match="linked to another"):
        nominate(email="second@ria.ee.example", user_email="responder@test.example")


def test_each_role_reads_its_own_scope_of_the_pool(database, world, nominate):
    estonian = nominate(user_email="responder@test.example")
    other_estonian = nominate(email="mart@mil.ee.example")
    spanish = nominate(org="ES", email="ana@incibe.es.example")
    assert _ids(database, world, COORDINATOR) == [estonian, other_estonian, spanish]
    assert _ids(database, world, POC) == [estonian, other_estonian]
    assert _ids(database, world, RESPONDER) == [estonian]
    with database.session() as db:
        for role, hidden in ((POC, spanish), (RESPONDER, other_estonian)):
            with pytest.raises(NotFound):
                service.get(db=db, actor=world.principals[role], expert_id=hidden)


@pytest.mark.parametrize("role", [Role.REQUESTER, Role.OBSERVER])
def test_requesters_and_observers_may_not_read_the_pool(database, world, nominate, role):
    expert_id = nominate()
    with database.session() as db:
        with pytest.raises(Forbidden):
            service.list_experts(db=db, actor=world.principals[role], filters=ExpertFilter(),
                                 limit=None, cursor=None)
        with pytest.raises(Forbidden):
            service.get(db=db, actor=world.principals[role], expert_id=expert_id)


def test_filters_narrow_the_pool(database, world, nominate):
    handler = nominate(name="Kadri Saar", email="a@ee.example",
                       skills=[{"skill": "incident_handling", "level": 3}], languages=["et"],
                       clearance="SECRET UE", deployability=["remote"])
    forensic = nominate(name="Mart Kask", email="b@ee.example",
                        skills=[{"skill": "incident_handling", "level": 1},
                                {"skill": "digital_forensics", "level": 3}],
                        languages=["en"], clearance="RESTREINT UE", deployability=["on_site"])
    spanish = nominate(org="ES", name="Ana Saari", email="c@es.example",
                       skills=[{"skill": "cloud", "level": 2}], languages=["es", "en"],
                       clearance="none", deployability=["remote", "on_site"])
    with database.session() as db:
        service.add_unavailability(db=db, actor=world.principals[COORDINATOR], expert_id=forensic,
                                   data=UnavailabilityIn(starts_on=date(2027, 3, 1),
                                                         ends_on=date(2027, 3, 10)))
    assert _ids(database, world, skill=Skill.INCIDENT_HANDLING) == [handler, forensic]
    assert _ids(database, world, skill=Skill.INCIDENT_HANDLING, min_level=2) == [handler]
    assert _ids(database, world, min_level=3) == [handler, forensic]
    assert _ids(database, world, language="en") == [forensic, spanish]
    assert _ids(database, world, clearance=Clearance.RESTREINT_UE) == [handler, forensic]
    assert _ids(database, world, clearance=Clearance.SECRET_UE) == [handler]
    assert _ids(database, world, deployability=Deployability.ON_SITE) == [forensic, spanish]
    assert _ids(database, world, deployability=Deployability.REMOTE) == [handler, spanish]
    assert _ids(database, world, available_on=date(2027, 3, 10)) == [handler, spanish]
    assert _ids(database, world, available_on=date(2027, 3, 11)) == [handler, forensic, spanish]
    assert _ids(database, world, q="SAAR") == [handler, spanish]
    assert _ids(database, world, q="%") == []
    assert _ids(database, world, org="es") == [spanish]
    assert _ids(database, world, org="ES", language="en", q="ana") == [spanish]
    with pytest.raises(Invalid):
        _ids(database, world, org="XX")


def test_an_expired_clearance_counts_as_none_in_the_filter_and_the_dashboard(database, world,
                                                                            nominate):
    today = clock.today()
    lasting = nominate(name="No Expiry", email="a@ee.example", clearance="SECRET UE")
    soon = nominate(name="Soon Expiring", email="b@ee.example", clearance="SECRET UE",
                    clearance_expires_on=(today + timedelta(days=10)).isoformat())
    nominate(name="Expired", email="c@ee.example", clearance="SECRET UE",
             clearance_expires_on=(today - timedelta(days=1)).isoformat())
    nominate(name="Uncleared", email="d@ee.example", clearance="none")
    assert _ids(database, world, clearance=Clearance.RESTREINT_UE) == [lasting, soon]
    # cleared for the whole span asked for, not only today
    assert _ids(database, world, clearance=Clearance.RESTREINT_UE,
                available_on=today, available_until=today + timedelta(days=20)) == [lasting]
    assert _ids(database, world, clearance=Clearance.RESTREINT_UE,
                available_on=today + timedelta(days=10)) == [lasting, soon]
    assert len(_ids(database, world, clearance=Clearance.NONE)) == 4  # no clearance asked
    with database.session(read_only=True) as db:
        rows = {row.skill: row for row in service.deployable_by_skill(
            db=db, actor=world.principals[COORDINATOR], first=today,
            last=today + timedelta(days=2))}
        later = {row.skill: row for row in service.deployable_by_skill(
            db=db, actor=world.principals[COORDINATOR], first=today,
            last=today + timedelta(days=11))}
    skill = Skill.INCIDENT_HANDLING  # every one of them has it
    assert (rows[skill].any_level, rows[skill].cleared) == (4, 2)
    assert later[skill].cleared == 1


def test_the_list_pages_through_every_expert_once(database, world, nominate):
    made = [nominate(email=f"expert{n}@ee.example") for n in range(5)]
    seen, cursor = [], None
    with database.session() as db:
        for _ in range(3):
            page, cursor = service.list_experts(db=db, actor=world.principals[POC],
                                                filters=ExpertFilter(), limit=2, cursor=cursor)
            seen += [e.public_id for e in page]
    assert seen == made and cursor is None


def test_an_update_changes_the_expert_and_audits_a_masked_diff(database, world, nominate):
    with clock.frozen(datetime(2027, 1, 1, 9, tzinfo=UTC)):
        expert_id = nominate()
    with clock.frozen(datetime(2027, 2, 1, 9, tzinfo=UTC)), database.session() as db:
        expert = service.update(db=db, actor=world.principals[POC], expert_id=expert_id,
                                data=ExpertPatch(name="Kadri Saar-Tamm", phone=None,
                                                 skills=[{"skill": "cloud", "level": 2}],
                                                 languages=["et", "fi"], clearance="none"))
        out = service.expert_out(db, world.principals[COORDINATOR], expert)
        event = _events(db, "expert.update")[0]
    assert (out.name, out.phone, out.languages) == ("Kadri Saar-Tamm", None, ["et", "fi"])
    assert [s.skill for s in out.skills] == [Skill.CLOUD]
    assert out.email == "kadri.saar@ria.ee.example"
    assert out.updated_at == datetime(2027, 2, 1, 9, tzinfo=UTC) > out.created_at
    assert event.changes == {"name": audit.PERSONAL, "phone": audit.PERSONAL,
                             "skills": [{"incident_handling": 3, "malware_analysis": 1},
                                        {"cloud": 2}],
                             "languages": audit.PERSONAL,
                             "clearance": ["RESTREINT UE", "none"]}


def test_an_update_that_changes_nothing_is_not_audited(database, world, nominate):
    expert_id = nominate()
    with database.session() as db:
        service.update(db=db, actor=world.principals[POC], expert_id=expert_id,
                       data=ExpertPatch(name="Kadri Saar"))
        assert _events(db, "expert.update") == []


def test_an_update_cannot_take_an_email_in_use(database, world, nominate):
    nominate(email="first@ee.example")
    second = nominate(email="second@ee.example")
    with database.session() as db, pytest.raises(Conflict):
        service.update(db=db, actor=world.principals[POC], expert_id=second,
                       data=ExpertPatch(email="FIRST@ee.example"))


def test_responders_read_their_record_but_do_not_edit_it(database, world, nominate):
    expert_id = nominate(user_email="responder@test.example")
    with database.session() as db:
        assert service.get(db=db, actor=world.principals[RESPONDER], expert_id=expert_id)
        with pytest.raises(Forbidden):
            service.update(db=db, actor=world.principals[RESPONDER], expert_id=expert_id,
                           data=ExpertPatch(name="Me"))


def test_a_poc_cannot_touch_another_nations_expert(database, world, nominate):
    spanish = nominate(org="ES")
    with database.session() as db:
        with pytest.raises(NotFound):
            service.update(db=db, actor=world.principals[POC], expert_id=spanish,
                           data=ExpertPatch(name="X"))
        with pytest.raises(NotFound):
            service.withdraw(db=db, actor=world.principals[POC], expert_id=spanish)


def test_moving_an_expert_needs_write_permission_on_both_nations(database, world, nominate):
    institution = add_institution(database, "EE", "CERT-EE")
    expert_id = nominate(institution_id=institution, user_email="responder@test.example")
    with database.session() as db:
        with pytest.raises(Forbidden):
            service.update(db=db, actor=world.principals[POC], expert_id=expert_id,
                           data=ExpertPatch(org="ES"))
        moved = service.update(db=db, actor=world.principals[COORDINATOR], expert_id=expert_id,
                               data=ExpertPatch(org="ES"))
        out = service.expert_out(db, world.principals[COORDINATOR], moved)
        assert (out.org, out.institution_id, moved.user_id) == ("ES", None, None)
        assert _events(db, "expert.update")[0].changes["org"] == ["EE", "ES"]


def test_withdrawing_removes_the_nomination(database, world, nominate):
    expert_id = nominate()
    with database.session() as db:
        service.withdraw(db=db, actor=world.principals[POC], expert_id=expert_id)
    with database.session() as db:
        with pytest.raises(NotFound):
            service.get(db=db, actor=world.principals[COORDINATOR], expert_id=expert_id)
        assert _events(db, "expert.withdraw")[0].changes == {"org": "EE"}


def test_unavailability_periods_do_not_overlap(database, world, nominate):
    expert_id = nominate()
    coordinator = world.principals[COORDINATOR]

    def add(starts: date, days: int):
        with database.session() as db:
            return service.add_unavailability(db=db, actor=coordinator, expert_id=expert_id,
                                              data=UnavailabilityIn(
                                                  starts_on=starts,
                                                  ends_on=starts + timedelta(days=days),
                                                  reason="Leave"))

    first = add(date(2027, 5, 1), 9)
    with pytest.raises(Conflict, match="overlaps"):
        add(date(2027, 5, 10), 3)
    with pytest.raises(Conflict):
        add(date(2027, 4, 1), 60)
    add(date(2027, 5, 11), 0)
    with database.session() as db:
        service.remove_unavailability(db=db, actor=coordinator, expert_id=expert_id,
                                      unavailability_id=first.public_id)
        with pytest.raises(NotFound):
            service.remove_unavailability(db=db, actor=coordinator, expert_id=expert_id,
                                          unavailability_id=first.public_id)
    add(date(2027, 5, 1), 9)
    with database.session() as db:
        periods = service.list_unavailability(db=db, actor=coordinator, expert_id=expert_id)
        assert [(p.starts_on.day, p.ends_on.day) for p in periods] == [(1, 10), (11, 11)]
        added = _events(db, "expert.unavailability.add")[0]
        assert added.changes["reason"] == audit.PERSONAL


def test_a_responder_keeps_their_own_unavailability(database, world, nominate):
    own = nominate(user_email="responder@test.example")
    other = nominate(email="other@ee.example")
    responder = world.principals[RESPONDER]
    period = UnavailabilityIn(starts_on=clock.today(), ends_on=clock.today())
    with database.session() as db:
        added = service.add_unavailability(db=db, actor=responder, expert_id=own, data=period)
        mine = service.get(db=db, actor=responder, expert_id=own)
        assert not service.expert_out(db, responder, mine).available_today
        with pytest.raises(NotFound):
            service.add_unavailability(db=db, actor=responder, expert_id=other, data=period)
        service.remove_unavailability(db=db, actor=responder, expert_id=own,
                                      unavailability_id=added.public_id)


def test_pool_counts_cover_every_skill_and_member_nation(database, world, nominate):
    nominate(skills=[{"skill": "cloud", "level": 1}, {"skill": "ot_ics", "level": 3}])
    nominate(email="b@ee.example", skills=[{"skill": "cloud", "level": 2}])
    nominate(org="ES", email="c@es.example", skills=[{"skill": "team_lead", "level": 2}])
    with database.session() as db:
        coordinator, poc = world.principals[COORDINATOR], world.principals[POC]
        assert service.counts_by_nation(db=db, actor=coordinator) == [
            ("EE", "Estonia", 2), ("LT", "Lithuania", 0), ("ES", "Spain", 1)]
        assert service.counts_by_nation(db=db, actor=poc) == [("EE", "Estonia", 2)]
        by_skill = dict(service.counts_by_skill(db=db, actor=poc))
        assert list(by_skill) == list(Skill)
        assert (by_skill[Skill.CLOUD], by_skill[Skill.OT_ICS], by_skill[Skill.TEAM_LEAD]) == \
            (2, 1, 0)
        with pytest.raises(Forbidden):
            service.counts_by_skill(db=db, actor=world.principals[RESPONDER])


def test_the_demo_loader_contract_holds(database, world):
    """The demo loader nominates with plain strings and finds experts by org and name."""
    data = ExpertIn(org="EE", name="Kristjan Tamm", email="kristjan.tamm@ria.ee.example",
                    skills=[{"skill": "incident_handling", "level": 3}], languages=["et", "en"],
                    clearance="CONFIDENTIEL UE", deployability=["remote", "on_site"],
                    time_zone="Europe/Tallinn", user_email="responder@test.example")
    with database.session() as db:
        system = Principal.system("demo")
        service.nominate(db=db, actor=system, data=data)
        found, _ = service.list_experts(db=db, actor=system, limit=50, cursor=None,
                                        filters=ExpertFilter(org="EE", q="Kristjan Tamm"))
    assert [e.email for e in found] == ["kristjan.tamm@ria.ee.example"]
