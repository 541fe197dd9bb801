"""Organisations, their dated project membership, and their institutions (service layer)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from crrt.access.enums import Role
from crrt.core import clock
from crrt.core.errors import Conflict, Forbidden, Invalid, NotFound
from crrt.organisations import service
from crrt.organisations.enums import InstitutionKind, Membership, MembershipEvent, OrgKind
from crrt.organisations.schemas import (
    InstitutionIn,
    InstitutionPatch,
    OrganisationIn,
    OrganisationPatch,
)
from tests.conftest import SYSTEM


def _create(database, **data):
    with database.session() as db:
        return service.organisation_out(service.create(db=db, actor=SYSTEM,
                                                       data=OrganisationIn(**data)))


def _update(database, code, actor=SYSTEM, **data):
    with database.session() as db:
        return service.organisation_out(service.update(db=db, actor=actor, code=code,
                                                       data=OrganisationPatch(**data)))


def _history(database, code):
    with database.session() as db:
        return [service.history_out(c) for c in service.history(db=db, actor=SYSTEM, code=code)]


@pytest.mark.parametrize(("code", "kind"), [("FI", "nation"), ("enisa", "eu_institution"),
                                            ("nato-ccdcoe", "partner")])
def test_codes_that_fit_their_kind_are_accepted(database, code, kind):
    assert _create(database, code=code, name="Somebody", kind=kind).code == code


@pytest.mark.parametrize(("code", "kind"), [
    ("XX", "nation"), ("lt", "nation"), ("LTU", "nation"), ("L1", "nation"),
    ("ENISA", "eu_institution"), ("9lives", "partner"), ("has space", "partner"),
    ("x", "partner")])
def test_codes_that_do_not_fit_their_kind_are_refused(code, kind):
    with pytest.raises(ValidationError):
        OrganisationIn(code=code, name="Somebody", kind=kind)


def test_only_a_nation_joins_the_project():
    with pytest.raises(ValidationError, match="Only a nation"):
        OrganisationIn(code="enisa", name="ENISA", kind="eu_institution",
                       membership="participant")


def test_a_nation_joining_on_creation_has_a_dated_join_in_its_history(database):
    out = _create(database, code="FI", name="Finland", kind="nation",
                  membership="participant", effective_on=date(2021, 5, 6))
    assert (out.membership, out.member_since) == (Membership.PARTICIPANT, date(2021, 5, 6))
    [joined] = _history(database, "FI")
    assert (joined.event, joined.previous, joined.membership, joined.effective_on) == (
        MembershipEvent.JOINED, None, Membership.PARTICIPANT, date(2021, 5, 6))
    assert joined.recorded_by == SYSTEM.actor


def test_join_role_change_and_leave_are_recorded_in_order(database):
    _create(database, code="FI", name="Finland", kind="nation")
    assert _history(database, "FI") == []
    _update(database, "FI", membership="observer", effective_on=date(2020, 1, 1))
    _update(database, "FI", membership="participant", effective_on=date(2022, 7, 1),
            note="Signed the notification")
    left = _update(database, "FI", membership=None, effective_on=date(2024, 12, 31))
    assert (left.membership, left.member_since) == (None, None)
    history = _history(database, "FI")
    assert [(c.event, c.previous, c.membership, c.effective_on) for c in history] == [
        (MembershipEvent.JOINED, None, Membership.OBSERVER, date(2020, 1, 1)),
        (MembershipEvent.ROLE_CHANGED, Membership.OBSERVER, Membership.PARTICIPANT,
         date(2022, 7, 1)),
        (MembershipEvent.LEFT, Membership.PARTICIPANT, None, date(2024, 12, 31)),
    ]
    assert history[1].note == "Signed the notification"


def test_history_read_in_the_same_unit_of_work_lists_each_change_once(database):
    with database.session() as db:
        service.create(db=db, actor=SYSTEM, data=OrganisationIn(
            code="FI", name="Finland", kind="nation", membership="observer"))
        service.update(db=db, actor=SYSTEM, code="FI",
                       data=OrganisationPatch(membership="participant"))
        assert [c.event for c in service.history(db=db, actor=SYSTEM, code="FI")] == [
            MembershipEvent.JOINED, MembershipEvent.ROLE_CHANGED]


def test_a_change_without_a_date_takes_today(database):
    _create(database, code="FI", name="Finland", kind="nation")
    with clock.frozen(datetime(2031, 3, 4, 10, 0, tzinfo=UTC)):
        out = _update(database, "FI", membership="participant")
    assert out.member_since == date(2031, 3, 4)


def test_setting_the_same_membership_again_records_nothing(database):
    _create(database, code="FI", name="Finland", kind="nation", membership="participant")
    _update(database, "FI", membership="participant")
    assert len(_history(database, "FI")) == 1


def test_a_second_lead_is_a_409_naming_the_current_one(database):
    _create(database, code="LT", name="Lithuania", kind="nation", membership="lead")
    _create(database, code="FI", name="Finland", kind="nation", membership="participant")
    with pytest.raises(Conflict) as caught:
        _update(database, "FI", membership="lead")
    assert caught.value.extra["lead"] == "LT"
    # the lead hands over once it has stepped down
    _update(database, "LT", membership="participant")
    assert _update(database, "FI", membership="lead").membership is Membership.LEAD


def test_a_change_dated_before_the_last_one_is_a_422_on_effective_on(database):
    _create(database, code="FI", name="Finland", kind="nation", membership="participant",
            effective_on=date(2022, 1, 1))
    with pytest.raises(Invalid) as caught:
        _update(database, "FI", membership="observer", effective_on=date(2021, 12, 31))
    assert caught.value.errors[0].loc == ["effective_on"]
    # the same day as the last change is fine
    assert _update(database, "FI", membership="observer",
                   effective_on=date(2022, 1, 1)).membership is Membership.OBSERVER


def test_a_non_nation_membership_is_a_422(database):
    _create(database, code="enisa", name="ENISA", kind="eu_institution")
    with pytest.raises(Invalid) as caught:
        _update(database, "enisa", membership="participant")
    assert caught.value.errors[0].loc == ["membership"]


def test_a_duplicate_code_is_a_409_whatever_its_case(database):
    _create(database, code="enisa", name="ENISA", kind="eu_institution")
    with pytest.raises(Conflict):
        _create(database, code="enisa", name="Again", kind="partner")


def test_renaming_keeps_the_code(database):
    _create(database, code="FI", name="Finland", kind="nation")
    assert _update(database, "fi", name="  Suomi  ").name == "Suomi"


def test_nation_codes_are_found_in_any_case_other_codes_exactly(database, world):
    observer = world.principals[Role.OBSERVER]
    with database.session() as db:
        assert service.get(db=db, actor=observer, code="ee").code == "EE"
        with pytest.raises(NotFound):
            service.get(db=db, actor=observer, code="CERT-EU")
        with pytest.raises(Invalid) as caught:
            service.get(db=db, actor=observer, code="XX", field="org")
        assert caught.value.errors[0].loc == ["org"]


def test_only_admins_and_coordinators_write_organisations(database, world):
    for role in (Role.NATIONAL_POC, Role.RESPONDER, Role.REQUESTER, Role.OBSERVER):
        with pytest.raises(Forbidden):
            _update(database, "EE", actor=world.principals[role], name="Eesti")
    assert _update(database, "EE", actor=world.principals[Role.COORDINATOR],
                   name="Eesti").name == "Eesti"


def test_list_filters_by_kind_and_membership(database, world):
    def codes(**filters):
        with database.session() as db:
            orgs, _ = service.list_organisations(db=db, actor=world.principals[Role.OBSERVER],
                                                 limit=None, cursor=None, **filters)
            return {o.code for o in orgs}

    assert codes() == {"LT", "EE", "ES", "DE", "cert-eu"}
    assert codes(kind=OrgKind.NATION) == {"LT", "EE", "ES", "DE"}
    assert codes(kind=OrgKind.EU_INSTITUTION) == {"cert-eu"}
    assert codes(membership=Membership.PARTICIPANT) == {"EE", "ES"}
    assert codes(kind=OrgKind.PARTNER) == set()


def test_all_organisations_come_by_name(database, world):
    with database.session() as db:
        names = [o.name for o in service.all_organisations(
            db=db, actor=world.principals[Role.REQUESTER])]
    assert names == sorted(names)


# --- institutions -----------------------------------------------------------------------------

def _institution(database, actor, code="EE", name="CERT-EE", kind="csirt"):
    with database.session() as db:
        return service.institution_out(service.create_institution(
            db=db, actor=actor, code=code, data=InstitutionIn(name=name, kind=kind)))


def test_institutions_are_created_listed_updated_and_deleted(database, world):
    coordinator = world.principals[Role.COORDINATOR]
    created = _institution(database, coordinator, name="  CERT-EE ")
    assert (created.org, created.name, created.kind) == ("EE", "CERT-EE", InstitutionKind.CSIRT)
    _institution(database, coordinator, name="Cyber Command", kind="military")
    with database.session() as db:
        listed = [i.name for i in service.list_institutions(db=db, actor=coordinator, code="EE")]
        assert listed == ["CERT-EE", "Cyber Command"]
        updated = service.update_institution(db=db, actor=coordinator, code="EE",
                                             institution_id=created.id,
                                             data=InstitutionPatch(kind="police"))
        assert updated.kind is InstitutionKind.POLICE
    with database.session() as db:
        service.delete_institution(db=db, actor=coordinator, code="EE",
                                   institution_id=created.id)
    with database.session() as db, pytest.raises(NotFound):
        service.get_institution(db=db, actor=coordinator, code="EE", institution_id=created.id)


def test_an_institution_name_is_unique_within_its_nation_only(database, world):
    coordinator = world.principals[Role.COORDINATOR]
    _institution(database, coordinator, name="National CSIRT")
    with pytest.raises(Conflict):
        _institution(database, coordinator, name="national csirt")
    assert _institution(database, coordinator, code="ES", name="National CSIRT").org == "ES"


def test_renaming_an_institution_to_a_taken_name_is_a_409(database, world):
    coordinator = world.principals[Role.COORDINATOR]
    first = _institution(database, coordinator, name="CERT-EE")
    _institution(database, coordinator, name="RIA")
    with pytest.raises(Conflict), database.session() as db:
        service.update_institution(db=db, actor=coordinator, code="EE", institution_id=first.id,
                                   data=InstitutionPatch(name="ria"))


def test_a_poc_writes_only_its_own_nations_institutions(database, world):
    poc = world.principals[Role.NATIONAL_POC]
    own = _institution(database, poc, code="EE", name="CERT-EE")
    spanish = _institution(database, world.principals[Role.ADMIN], code="ES", name="INCIBE")
    with pytest.raises(Forbidden):
        _institution(database, poc, code="ES", name="CCN-CERT")
    with pytest.raises(Forbidden), database.session() as db:
        service.update_institution(db=db, actor=poc, code="ES", institution_id=spanish.id,
                                   data=InstitutionPatch(name="Renamed"))
    with pytest.raises(Forbidden), database.session() as db:
        service.delete_institution(db=db, actor=poc, code="ES", institution_id=spanish.id)
    with database.session() as db:
        service.update_institution(db=db, actor=poc, code="EE", institution_id=own.id,
                                   data=InstitutionPatch(name="CERT.EE"))


def test_an_institution_is_reached_only_through_its_own_organisation(database, world):
    admin = world.principals[Role.ADMIN]
    spanish = _institution(database, admin, code="ES", name="INCIBE")
    with pytest.raises(NotFound), database.session() as db:
        service.get_institution(db=db, actor=admin, code="EE", institution_id=spanish.id)


def test_other_roles_write_no_institution(database, world):
    for role in (Role.RESPONDER, Role.REQUESTER, Role.OBSERVER):
        with pytest.raises(Forbidden):
            _institution(database, world.principals[role])


def test_deleting_an_institution_keeps_its_experts_in_the_pool(database, world):
    from crrt.experts.models import Expert
    from tests.support import add_expert

    coordinator = world.principals[Role.COORDINATOR]
    inst = _institution(database, coordinator, name="CERT-EE")
    expert_id = add_expert(database, "EE", name="Kaja Kask")
    with database.session() as db:
        expert = db.scalars(select(Expert).where(Expert.public_id == expert_id)).one()
        expert.institution_id = service.get_institution(db=db, actor=coordinator, code="EE",
                                                        institution_id=inst.id).id
    with database.session() as db:
        service.delete_institution(db=db, actor=coordinator, code="EE", institution_id=inst.id)
    with database.session() as db:
        expert = db.scalars(select(Expert).where(Expert.public_id == expert_id)).one()
        assert expert.institution_id is None


# --- dated membership ---------------------------------------------------------------------------

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
NEXT_MONTH = date(2027, 1, 1)


def _on(database, code, day):
    with database.session() as db:
        return service.membership_on(db=db, actor=SYSTEM, code=code, day=day)


def test_a_change_dated_next_month_is_planned_until_its_day(database):
    _create(database, code="FI", name="Finland", kind="nation", membership="observer",
            effective_on=date(2020, 1, 1))
    with clock.frozen(NOW):
        planned = _update(database, "FI", membership="participant", effective_on=NEXT_MONTH)
        assert planned.membership is Membership.OBSERVER
        assert [(p.membership, p.effective_on, p.planned) for p in planned.planned] == [
            (Membership.PARTICIPANT, NEXT_MONTH, True)]
        assert _history(database, "FI")[-1].planned
    with clock.frozen(datetime(2026, 12, 31, 23, 59, tzinfo=UTC)), database.session() as db:
        org = service.get(db=db, actor=SYSTEM, code="FI")
        assert (org.membership, service.organisation_out(org).planned[0].effective_on) == (
            Membership.OBSERVER, NEXT_MONTH)
    with clock.frozen(datetime(2027, 1, 1, 0, 0, tzinfo=UTC)), database.session() as db:
        out = service.organisation_out(service.get(db=db, actor=SYSTEM, code="FI"))
        assert (out.membership, out.member_since, out.planned) == (
            Membership.PARTICIPANT, NEXT_MONTH, [])
        assert not service.history_out(service.history(db=db, actor=SYSTEM,
                                                       code="FI")[-1]).planned


def test_membership_on_a_day_answers_from_the_history(database):
    _create(database, code="FI", name="Finland", kind="nation", membership="observer",
            effective_on=date(2019, 3, 1))
    _update(database, "FI", membership="participant", effective_on=date(2021, 6, 1))
    _update(database, "FI", membership=None, effective_on=date(2024, 1, 1))
    assert _on(database, "FI", date(2019, 2, 28)) is None
    assert _on(database, "FI", date(2019, 3, 1)) is Membership.OBSERVER
    assert _on(database, "FI", date(2021, 5, 31)) is Membership.OBSERVER
    assert _on(database, "FI", date(2021, 6, 1)) is Membership.PARTICIPANT
    assert _on(database, "FI", date(2023, 12, 31)) is Membership.PARTICIPANT
    assert _on(database, "FI", date(2024, 1, 1)) is None


def test_the_participants_on_a_day_are_the_lead_and_participants_of_that_day(database, world):
    with clock.frozen(NOW):
        _update(database, "DE", membership="participant", effective_on=NEXT_MONTH)
        _update(database, "ES", membership="observer", effective_on=NEXT_MONTH)
        with database.session() as db:
            today = [o.code for o in service.members_on(db=db, actor=SYSTEM,
                                                        day=clock.today())]
            then = [o.code for o in service.members_on(db=db, actor=SYSTEM, day=NEXT_MONTH)]
            observers = [o.code for o in service.members_on(
                db=db, actor=SYSTEM, day=NEXT_MONTH, memberships=(Membership.OBSERVER,))]
    assert today == ["EE", "LT", "ES"]  # by name: Estonia, Lithuania, Spain
    assert then == ["EE", "DE", "LT"]
    assert observers == ["ES"]


def test_the_list_filters_on_the_membership_of_the_day_asked(client, world):
    headers = world.headers(Role.OBSERVER)
    with clock.frozen(NOW):
        _update(client.app.state.database, "DE", membership="participant",
                effective_on=NEXT_MONTH)
        today = client.get("/api/v1/organisations", headers=headers,
                           params={"membership": "participant"}).json()["items"]
        then = client.get("/api/v1/organisations", headers=headers,
                          params={"membership": "participant", "on": "2027-01-01"}).json()
    assert sorted(o["code"] for o in today) == ["EE", "ES"]
    assert sorted(o["code"] for o in then["items"]) == ["DE", "EE", "ES"]
    assert {o["code"]: o["membership"] for o in then["items"]}["DE"] == "participant"


def test_a_planned_change_can_be_cancelled_while_it_is_the_last_and_still_planned(database,
                                                                                 world):
    with clock.frozen(NOW):
        _update(database, "DE", membership="participant", effective_on=NEXT_MONTH)
        _update(database, "DE", membership=None, effective_on=date(2027, 3, 1))
        first, second = _history(database, "DE")[-2:]
        with database.session() as db, pytest.raises(Conflict, match="last planned"):
            service.cancel_planned(db=db, actor=SYSTEM, code="DE", change_id=first.id)
        with database.session() as db, pytest.raises(Forbidden):
            service.cancel_planned(db=db, actor=world.principals[Role.NATIONAL_POC], code="DE",
                                   change_id=second.id)
        with database.session() as db:
            service.cancel_planned(db=db, actor=world.principals[Role.COORDINATOR], code="DE",
                                   change_id=second.id)
        assert [c.id for c in _history(database, "DE")][-1] == first.id
    with clock.frozen(datetime(2027, 2, 1, tzinfo=UTC)), database.session() as db, \
            pytest.raises(Conflict, match="taken effect"):
        service.cancel_planned(db=db, actor=SYSTEM, code="DE", change_id=first.id)


def test_a_change_cannot_come_before_a_planned_one(database, world):
    with clock.frozen(NOW):
        _update(database, "DE", membership="participant", effective_on=NEXT_MONTH)
        with pytest.raises(Invalid, match="cancel a planned one first"):
            _update(database, "DE", membership=None, effective_on=date(2026, 12, 15))


def test_two_leads_never_overlap_even_when_planned(database, world):
    with clock.frozen(NOW):
        with pytest.raises(Conflict) as caught:
            _update(database, "EE", membership="lead", effective_on=NEXT_MONTH)
        assert caught.value.extra["lead"] == "LT"
        # the hand-over: Lithuania steps down on the day Estonia takes over
        _update(database, "LT", membership="participant", effective_on=NEXT_MONTH)
        assert _update(database, "EE", membership="lead",
                       effective_on=NEXT_MONTH).planned[0].membership is Membership.LEAD
        # and nobody may plan to lead after Estonia while it still leads then
        with pytest.raises(Conflict) as later:
            _update(database, "ES", membership="lead", effective_on=date(2027, 6, 1))
        assert later.value.extra["lead"] == "EE"
    assert _on(database, "LT", date(2026, 12, 31)) is Membership.LEAD
    assert _on(database, "EE", NEXT_MONTH) is Membership.LEAD


def test_each_membership_move_is_audited_as_its_transition(database, world):
    from crrt.audit.models import AuditEvent

    with clock.frozen(NOW):
        _update(database, "DE", actor=world.principals[Role.COORDINATOR], membership=None,
                effective_on=NEXT_MONTH, note="Leaves")
    with database.session() as db:
        event = db.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert (event.action, event.object_id, event.changes) == (
        "membership.left", "DE", {"state": ["observer", "none"], "effective_on": "2027-01-01"})


def test_cancelling_a_leads_planned_step_down_is_refused_while_another_is_to_lead(database,
                                                                                  world):
    with clock.frozen(NOW):
        _update(database, "LT", membership="participant", effective_on=NEXT_MONTH)
        _update(database, "ES", membership="lead", effective_on=NEXT_MONTH)
        step_down = _history(database, "LT")[-1]
        with database.session() as db, pytest.raises(Conflict) as caught:
            service.cancel_planned(db=db, actor=SYSTEM, code="LT", change_id=step_down.id)
        assert caught.value.extra["lead"] == "ES"
        # once Spain's plan is withdrawn, Lithuania may stay on
        with database.session() as db:
            service.cancel_planned(db=db, actor=SYSTEM, code="ES",
                                   change_id=_history(database, "ES")[-1].id)
        with database.session() as db:
            service.cancel_planned(db=db, actor=SYSTEM, code="LT", change_id=step_down.id)
        with database.session() as db:
            leads = [o.code for o in service.members_on(db=db, actor=SYSTEM, day=NEXT_MONTH,
                                                        memberships=(Membership.LEAD,))]
    assert leads == ["LT"]


def test_planning_the_same_membership_on_another_day_is_a_409_not_a_silent_no_op(database,
                                                                                 world):
    with clock.frozen(NOW):
        _update(database, "DE", membership="participant", effective_on=NEXT_MONTH)
        with pytest.raises(Conflict, match="2027-01-01 already"):
            _update(database, "DE", membership="participant", effective_on=date(2027, 2, 1))
        # the same step on the same day again changes nothing
        _update(database, "DE", membership="participant", effective_on=NEXT_MONTH)
    assert [c.effective_on for c in _history(database, "DE")][-1] == NEXT_MONTH
    assert len([c for c in _history(database, "DE") if c.planned]) == 1


def test_two_nations_made_lead_at_the_same_moment_end_with_one_lead(database, world):
    """The second change waits for the first to commit, then sees its lead (409)."""
    import threading
    import time

    _update(database, "LT", membership="participant")
    outcome: dict[str, object] = {}

    def second() -> None:
        try:
            _update(database, "ES", membership="lead")
            outcome["es"] = "lead"
        except Conflict as exc:
            outcome["es"] = exc.extra.get("lead")

    with database.session() as db:
        service.update(db=db, actor=SYSTEM, code="EE",
                       data=OrganisationPatch(membership="lead"))
        racer = threading.Thread(target=second)
        racer.start()
        time.sleep(0.5)  # the second request is waiting now, not done
        assert "es" not in outcome
    racer.join(timeout=20)
    assert outcome == {"es": "EE"}
    with database.session() as db:
        leads = [o.code for o in service.members_on(db=db, actor=SYSTEM, day=clock.today(),
                                                    memberships=(Membership.LEAD,))]
    assert leads == ["EE"]


def test_a_leave_without_a_date_while_a_change_is_planned_is_a_409(database, world):
    with clock.frozen(NOW):
        _update(database, "DE", membership=None, effective_on=NEXT_MONTH)
        with pytest.raises(Conflict, match="already"):
            _update(database, "DE", membership=None)


# --- the contact card ---------------------------------------------------------------------------

CARD = {"hotline": "+372 600 0000", "email": "cert@cert.ee.example",
        "pgp_fingerprint": "3aa5 c343 7156 7bd2 2282 0f3d 26bb 7d48 d5df 47e1",
        "messenger": "Signal: +372 600 0001", "default_tlp": "amber"}


def test_a_poc_keeps_its_own_nations_contact_card(database, world):
    card = _update(database, "EE", actor=world.principals[Role.NATIONAL_POC],
                   contact=CARD).contact
    assert (card.hotline, card.email, card.messenger, card.default_tlp) == (
        "+372 600 0000", "cert@cert.ee.example", "Signal: +372 600 0001", "amber")
    assert card.pgp_fingerprint == "3AA5C34371567BD222820F3D26BB7D48D5DF47E1"


def test_a_poc_may_not_touch_another_nations_card(database, world):
    with pytest.raises(Forbidden):
        _update(database, "ES", actor=world.principals[Role.NATIONAL_POC], contact=CARD)


@pytest.mark.parametrize("sent", [{"name": "Eesti"}, {"membership": None},
                                  {"note": "a note"}])
def test_a_poc_may_not_rename_or_change_membership_even_with_a_card(database, world, sent):
    with pytest.raises(Forbidden):
        _update(database, "EE", actor=world.principals[Role.NATIONAL_POC],
                contact=CARD, **sent)
    assert _update(database, "EE").contact.hotline is None  # nothing of it was kept


@pytest.mark.parametrize("role", [Role.RESPONDER, Role.REQUESTER, Role.OBSERVER])
def test_other_roles_keep_no_contact_card(database, world, role):
    with pytest.raises(Forbidden):
        _update(database, world.principals[role].org_code, actor=world.principals[role],
                contact=CARD)


def test_central_roles_keep_any_card(database, world):
    for role, code in ((Role.ADMIN, "ES"), (Role.COORDINATOR, "cert-eu")):
        assert _update(database, code, actor=world.principals[role],
                       contact={"default_tlp": "green"}).contact.default_tlp == "green"


def test_a_card_change_sets_only_the_fields_sent_and_null_clears_one(database, world):
    _update(database, "EE", contact=CARD)
    card = _update(database, "EE", contact={"messenger": None, "default_tlp": "red"}).contact
    assert (card.hotline, card.messenger, card.default_tlp) == ("+372 600 0000", None, "red")
    assert _update(database, "EE", contact=None).contact.hotline is None


def test_a_card_change_is_audited_without_the_addresses(database, world):
    from crrt.audit.models import AuditEvent

    _update(database, "EE", actor=world.principals[Role.NATIONAL_POC],
            contact={"hotline": "+372 600 0000", "default_tlp": "green"})
    with database.session() as db:
        event = db.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert (event.action, event.object_id) == ("organisation.contact", "EE")
    assert event.changes == {"hotline": "(personal data)", "default_tlp": [None, "green"]}


@pytest.mark.parametrize(("field", "value"), [
    ("hotline", "call us"), ("hotline", "+" + "1" * 60), ("email", "not an address"),
    ("pgp_fingerprint", "ABCD"), ("pgp_fingerprint", "Z" * 40), ("messenger", "x" * 201),
    ("messenger", "Signal:\u202e+370"), ("default_tlp", "white"), ("fax", "+372 600 0000")])
def test_a_card_field_that_is_not_one_is_refused_by_its_name(field, value):
    with pytest.raises(ValidationError) as caught:
        OrganisationPatch.model_validate({"contact": {field: value}})
    assert caught.value.errors()[0]["loc"] == ("contact", field)
