"""The rotations services on a real database: templates, commitments and targets, drafts read
from the pool (who may be planned, when), publishing (rotations, weekly duty, notices) and a
replacement after a withdrawal.

The helpers at the top build small pools straight through the models; the API, feed and CLI
tests of this folder use them too.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import pytest
from sqlalchemy import select

from crrt.audit.models import AuditEvent
from crrt.core import clock
from crrt.core.db import Database
from crrt.core.errors import Conflict, Invalid, NotFound
from crrt.experts.enums import Skill
from crrt.experts.models import Expert, ExpertLanguage, ExpertSkill, Unavailability
from crrt.notify.models import OutboxMessage
from crrt.organisations import service as org_service
from crrt.organisations.models import Organisation
from crrt.organisations.schemas import OrganisationPatch
from crrt.rotations import drafting, publishing, service
from crrt.rotations.models import DutyShift, Rotation
from crrt.rotations.schemas import PlanIn, PlanOut, TemplateIn, TemplatePatch
from tests.conftest import SYSTEM

START = date(2027, 1, 1)     # after the seeded world's memberships began (the day it ran)
JANUARY = (START, date(2027, 1, 31))
LEAD = {"team_lead": 2, "incident_handling": 1}
HANDLER = {"incident_handling": 2}
SMALL = {"name": "Small team", "min_size": 3, "max_size": 4, "min_nations": 2,
         "max_per_nation": 2, "languages": ["en"],
         "slots": [{"skill": "team_lead", "min_level": 1, "count": 1},
                   {"skill": "incident_handling", "min_level": 1, "count": 2}]}


# --- helpers shared by the rotations tests -------------------------------------------------------

def add_expert(database: Database, org: str, name: str, skills: Mapping[str, int], *,
               languages: Iterable[str] = ("en",), zone: str = "Europe/Brussels",
               email: bool = True, user_id: int | None = None,
               away: Iterable[tuple[date, date]] = ()) -> uuid.UUID:
    """An expert of ``org`` with ``skills`` (skill: level) and the days they are away."""
    with database.session() as db:
        organisation = db.scalars(select(Organisation).where(Organisation.code == org)).one()
        expert = Expert(organisation_id=organisation.id, name=name, time_zone=zone,
                        email=f"{name.lower().replace(' ', '.')}@{org.lower()}.example"
                        if email else None, user_id=user_id)
        expert.skills.extend(ExpertSkill(skill=Skill(s), level=n) for s, n in skills.items())
        expert.languages.extend(ExpertLanguage(code=code) for code in languages)
        expert.unavailability.extend(Unavailability(starts_on=a, ends_on=b, reason="leave")
                                     for a, b in away)
        db.add(expert)
        db.flush()
        return expert.public_id


def add_away(database: Database, expert_id: uuid.UUID, starts_on: date, ends_on: date) -> None:
    with database.session() as db:
        expert = db.scalars(select(Expert).where(Expert.public_id == expert_id)).one()
        db.add(Unavailability(expert_id=expert.id, starts_on=starts_on, ends_on=ends_on,
                              reason="leave"))


def row_id(database: Database, expert_id: uuid.UUID) -> int:
    with database.session() as db:
        return db.scalars(select(Expert.id).where(Expert.public_id == expert_id)).one()


def small_pool(database: Database) -> dict[str, uuid.UUID]:
    """One lead (LT, the only one who can lead), three handlers for two seats (EE, EE, ES:
    one to spare), and Germany's (an observer's) experts, better at everything."""
    return {
        "lead": add_expert(database, "LT", "Lina Lead", LEAD),
        "ee1": add_expert(database, "EE", "Eva Handler", HANDLER, zone="Europe/Tallinn"),
        "ee2": add_expert(database, "EE", "Egon Handler", HANDLER, zone="Europe/Tallinn"),
        "es1": add_expert(database, "ES", "Sara Handler", HANDLER, zone="Europe/Madrid",
                          email=False),
        "de1": add_expert(database, "DE", "Dora Observer",
                          {"team_lead": 3, "incident_handling": 3}),
        "de2": add_expert(database, "DE", "Dirk Observer", {"incident_handling": 3}),
    }


def make_template(database: Database, **changes: object) -> uuid.UUID:
    with database.session() as db:
        return service.create_template(db=db, actor=SYSTEM,
                                       data=TemplateIn.model_validate(SMALL | changes)).public_id


def draft(database: Database, template_id: uuid.UUID, *, periods: int = 1, months: int = 1,
          start: date = START, seconds: float = 2) -> PlanOut:
    plan_id = drafting.draft(database=database, actor=SYSTEM, data=PlanIn(
        template_id=template_id, start=start, periods=periods, period_months=months,
        seconds=seconds))
    with database.session(read_only=True) as db:
        return drafting.plan_out(db=db, actor=SYSTEM,
                                 row=drafting.get_plan(db=db, actor=SYSTEM, plan_id=plan_id))


def publish(database: Database, plan_id: uuid.UUID, base_url: str = "") -> list[uuid.UUID]:
    with database.session() as db:
        return [r.public_id for r in publishing.publish(db=db, actor=SYSTEM, plan_id=plan_id,
                                                      base_url=base_url)]


def members_of(plan: PlanOut, period: int = 0) -> set[uuid.UUID]:
    return {m.expert_id for m in plan.rotations[period].members}


def events(database: Database, action: str) -> list[AuditEvent]:
    with database.session(read_only=True) as db:
        return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)
                               .order_by(AuditEvent.seq)))


# --- templates -----------------------------------------------------------------------------------

def test_a_template_is_created_and_audited(database, world):
    template_id = make_template(database)
    with database.session(read_only=True) as db:
        template = service.get_template(db=db, actor=SYSTEM, template_id=template_id)
        out = service.template_out(template)
    assert (out.name, out.size, out.min_nations) == ("Small team", 3, 2)
    assert [(s.skill, s.count, s.lead) for s in out.slots] == [
        (Skill.TEAM_LEAD, 1, True), (Skill.INCIDENT_HANDLING, 2, False)]
    [event] = events(database, "team_template.created")
    assert event.object_id == str(template_id)
    assert event.changes["name"] == "Small team"


def test_a_template_change_is_checked_as_a_whole_and_audited(database, world):
    template_id = make_template(database)
    with database.session() as db, pytest.raises(Invalid, match="The slots hold 3 seats"):
        service.update_template(db=db, actor=SYSTEM, template_id=template_id,
                                data=TemplatePatch(min_size=4))
    with database.session() as db:
        service.update_template(db=db, actor=SYSTEM, template_id=template_id,
                                data=TemplatePatch(max_size=3, name="Tight team"))
    with database.session(read_only=True) as db:
        out = service.template_out(service.template_named(db=db, actor=SYSTEM,
                                                          name="Tight team"))
    assert (out.min_size, out.max_size) == (3, 3)
    [event] = events(database, "team_template.updated")
    assert event.changes["max_size"] == [4, 3]
    assert event.changes["name"] == ["Small team", "Tight team"]


def test_an_unknown_template_name_is_not_found(database, world):
    with database.session(read_only=True) as db, pytest.raises(NotFound, match="Nothing"):
        service.template_named(db=db, actor=SYSTEM, name="Nothing")


# --- commitments and targets ---------------------------------------------------------------------

def test_a_commitment_sets_the_nations_target_and_the_others_share_the_rest(database, world):
    small_pool(database)
    add_expert(database, "LT", "Lars Handler", HANDLER)
    with database.session() as db:
        service.set_commitment(db=db, actor=SYSTEM, code="EE", seats_per_year=1)
    plan = draft(database, make_template(database), periods=2, months=6)
    nations = plan.metrics.nations
    # six seats over a year: EE its one, LT (2 qualified) and ES (1) the other five by experts
    assert nations["EE"].target == 1.0
    assert nations["LT"].target == pytest.approx(5 * 2 / 3, abs=0.01)
    assert nations["ES"].target == pytest.approx(5 / 3, abs=0.01)
    assert "DE" not in nations
    with database.session(read_only=True) as db:
        stated = {c.org: c.seats_per_year
                  for c in service.commitments(db=db, actor=SYSTEM, day=START)}
    assert stated == {"EE": 1, "LT": None, "ES": None}


def test_a_withdrawn_commitment_makes_the_share_proportional_again(database, world):
    small_pool(database)
    with database.session() as db:
        service.set_commitment(db=db, actor=SYSTEM, code="ES", seats_per_year=4)
    with database.session() as db:
        service.set_commitment(db=db, actor=SYSTEM, code="ES", seats_per_year=None)
    nations = draft(database, make_template(database), months=12).metrics.nations
    # three seats, four qualified experts: EE has two of them
    assert {k: v.target for k, v in nations.items()} == {"EE": 1.5, "ES": 0.75, "LT": 0.75}
    assert [e.changes["seats_per_year"] for e in events(database, "commitment.stated")] == [
        [None, 4], [4, None]]


# --- drafts --------------------------------------------------------------------------------------

def test_a_small_plan_is_optimal_and_keeps_every_hard_rule(database, world):
    pool = small_pool(database)
    for name, org in (("Liis Lead", "EE"), ("Luis Lead", "ES")):
        pool[name] = add_expert(database, org, name, LEAD)
    pool["lt2"] = add_expert(database, "LT", "Lauri Handler", HANDLER)
    plan = draft(database, make_template(database), periods=2)
    assert plan.status == "optimal"
    assert plan.violations == [] and plan.unfilled == [] and plan.explanation == []
    assert [(r.label, r.start, r.end) for r in plan.rotations] == [
        ("2027-01-01 to 2027-01-31", *JANUARY),
        ("2027-02-01 to 2027-02-28", date(2027, 2, 1), date(2027, 2, 28))]
    for rotation in plan.rotations:
        assert len(rotation.members) == 3
        assert [m.lead for m in rotation.members] == [True, False, False]
        assert rotation.members[0].slot_skill == "team_lead"
        assert len({m.org for m in rotation.members}) >= 2
    assert not members_of(plan, 0) & members_of(plan, 1)  # no two periods in a row
    assert sum(n.assigned for n in plan.metrics.nations.values()) == 6
    with database.session(read_only=True) as db:
        assert drafting.check(db=db, actor=SYSTEM, plan_id=plan.id) == []
    [event] = events(database, "rotation_plan.drafted")
    assert event.changes["status"] == "optimal"


def test_an_observer_nations_experts_are_never_planned(database, world):
    pool = small_pool(database)
    plan = draft(database, make_template(database), periods=2)
    planned = members_of(plan, 0) | members_of(plan, 1)
    assert pool["lead"] in planned
    assert not {pool["de1"], pool["de2"]} & planned
    assert all(m.org != "DE" for r in plan.rotations for m in r.members)
    # Germany's lead would have filled the lead seat Lina cannot hold twice running
    assert [u.skill for u in plan.unfilled].count("team_lead") == 1


def test_a_nation_that_leaves_is_not_planned_in_the_period_after(database, world):
    lead_lt = add_expert(database, "LT", "Lina Lead", LEAD)
    lead_ee = add_expert(database, "EE", "Liis Lead", LEAD)
    add_expert(database, "LT", "Lars Handler", HANDLER)
    add_expert(database, "EE", "Eva Handler", HANDLER)
    analyst = add_expert(database, "ES", "Sara Analyst", {"malware_analysis": 3})
    with database.session() as db:
        org_service.update(db=db, actor=SYSTEM, code="ES", data=OrganisationPatch(
            membership=None, effective_on=date(2027, 2, 1)))
    template = make_template(database, slots=[
        {"skill": "team_lead", "count": 1}, {"skill": "incident_handling", "count": 1},
        {"skill": "malware_analysis", "count": 1}])
    plan = draft(database, template, periods=2)
    assert analyst in members_of(plan, 0)
    assert analyst not in members_of(plan, 1)
    assert {m.org for m in plan.rotations[1].members} <= {"LT", "EE"}
    assert {lead_lt, lead_ee} & members_of(plan, 1)
    [gap] = plan.unfilled
    assert (gap.period, gap.skill, gap.missing) == ("2027-02-01 to 2027-02-28",
                                                    "malware_analysis", 1)
    assert "unavailable then" in gap.reason
    assert plan.violations == []


def test_a_nation_out_for_part_of_a_period_is_not_planned_for_it(database, world):
    add_expert(database, "LT", "Lina Lead", LEAD)
    add_expert(database, "EE", "Eva Handler", HANDLER)
    analyst = add_expert(database, "ES", "Sara Analyst", {"malware_analysis": 3})
    for membership, day in (("observer", 10), ("participant", 20)):
        with database.session() as db:
            org_service.update(db=db, actor=SYSTEM, code="ES", data=OrganisationPatch(
                membership=membership, effective_on=date(2027, 1, day)))
    template = make_template(database, slots=[
        {"skill": "team_lead", "count": 1}, {"skill": "incident_handling", "count": 1},
        {"skill": "malware_analysis", "count": 1}])
    plan = draft(database, template)
    assert analyst not in members_of(plan)


def test_a_seat_no_one_qualifies_for_makes_the_plan_infeasible_and_explained(database, world):
    pool = small_pool(database)
    template = make_template(database, max_size=5, slots=[
        *SMALL["slots"], {"skill": "ot_ics", "min_level": 3, "count": 1}])
    plan = draft(database, template)
    assert plan.status == "infeasible"
    assert members_of(plan) >= {pool["lead"]}  # the rest is planned all the same
    assert len(plan.rotations[0].members) == 3
    [gap] = plan.unfilled
    assert (gap.skill, gap.min_level, gap.missing) == ("ot_ics", 3, 1)
    [line] = plan.explanation
    assert line.startswith("2027-01-01 to 2027-01-31: ot_ics level >= 3")
    assert "no expert in the pool qualifies" in line
    assert plan.violations == []


def test_unavailability_is_respected(database, world):
    lina = add_expert(database, "LT", "Lina Lead", LEAD, away=[(date(2027, 1, 20),
                                                                date(2027, 1, 22))])
    liis = add_expert(database, "EE", "Liis Lead", LEAD)
    for name, org in (("Lars", "LT"), ("Eva", "EE"), ("Egon", "EE"), ("Sara", "ES")):
        add_expert(database, org, f"{name} Handler", HANDLER)
    plan = draft(database, make_template(database), periods=2)
    # Lina is away three days of January: Liis leads January, so Lina must lead February
    assert plan.rotations[0].members[0].expert_id == liis
    assert plan.rotations[1].members[0].expert_id == lina
    assert plan.violations == [] and plan.unfilled == []


def test_a_discarded_draft_cannot_be_published(database, world):
    small_pool(database)
    plan = draft(database, make_template(database))
    with database.session() as db:
        drafting.discard(db=db, actor=SYSTEM, plan_id=plan.id)
    with database.session() as db, pytest.raises(Conflict, match="discarded"):
        publishing.publish(db=db, actor=SYSTEM, plan_id=plan.id)


# --- publishing ----------------------------------------------------------------------------------

def test_publishing_makes_rotations_weekly_duty_and_notices(database, world):
    pool = small_pool(database)
    # Lina (who alone can lead) is away from the day January's rotation ends: she cannot hold
    # its last week, whose hand-over falls on that day.
    add_away(database, pool["lead"], date(2027, 2, 1), date(2027, 2, 7))
    plan = draft(database, make_template(database))
    assert plan.violations == []
    [rotation_id] = publish(database, plan.id, base_url="https://crrt.example.eu")
    with database.session(read_only=True) as db:
        rotation = db.scalars(select(Rotation).where(Rotation.public_id == rotation_id)).one()
        assert (rotation.label, rotation.starts_on, rotation.ends_on, rotation.zone) == (
            "2027-01-01 to 2027-01-31", *JANUARY, "Europe/Brussels")
        members = {m.expert_id for m in rotation.members}
        assert len(members) == 3 and row_id(database, pool["lead"]) in members
        shifts = list(db.scalars(select(DutyShift).where(DutyShift.rotation_id == rotation.id)
                                 .order_by(DutyShift.starts_at)))
        outbox = list(db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    # Friday 1 January to Monday 4, four weeks, hand-overs at 09:00 in Brussels (08:00 UTC)
    assert len(shifts) == 5
    assert [s.starts_at.hour for s in shifts] == [8] * 5
    assert shifts[0].starts_at.date() == START and shifts[-1].ends_at.date() == date(2027, 2, 1)
    for earlier, later in pairwise(shifts):
        assert earlier.ends_at == later.starts_at
    for shift in shifts:
        assert shift.primary_id is not None and shift.backup_id is not None
        assert shift.primary_id != shift.backup_id
        assert {shift.primary_id, shift.backup_id} <= members
    assert row_id(database, pool["lead"]) not in (shifts[-1].primary_id, shifts[-1].backup_id)

    with database.session(read_only=True) as db:
        emails = {e.id: e.email for e in db.scalars(select(Expert))}
    expected = {emails[i] for i in members if emails[i]}
    to_members = {m.recipient for m in outbox if m.subject == "crrt: rapid response team duty"}
    assert to_members == expected
    assert all(m.channel == "email" for m in outbox)
    assert all(m.body.endswith("\n\nhttps://crrt.example.eu/rotations") for m in outbox)
    if row_id(database, pool["es1"]) in members:
        assert len(expected) == 2  # Sara has no email address: nothing is queued for her
    [poc] = [m for m in outbox if m.recipient == "national-poc@test.example"]
    assert poc.subject == "crrt: your nation's experts on rotation"
    assert "2027-01-01 to 2027-01-31" in poc.body
    ee_names = {"Eva Handler", "Egon Handler"} & set(poc.body.replace(":", "\n").splitlines())
    assert ee_names  # the Estonian POC hears of Estonia's members
    [event] = events(database, "rotation_plan.published")
    assert event.changes["rotations"] == [str(rotation_id)]
    assert event.changes["seats"] == 3
    with database.session(read_only=True) as db:
        assert drafting.check(db=db, actor=SYSTEM, plan_id=plan.id) == []


def test_publishing_twice_conflicts(database, world):
    small_pool(database)
    plan = draft(database, make_template(database))
    publish(database, plan.id)
    with database.session() as db, pytest.raises(Conflict, match="published"):
        publishing.publish(db=db, actor=SYSTEM, plan_id=plan.id)


# --- replacing after a withdrawal ---------------------------------------------------------------

def _published(database: Database) -> tuple[dict[str, uuid.UUID], uuid.UUID, PlanOut]:
    pool = small_pool(database)
    plan = draft(database, make_template(database))
    [rotation_id] = publish(database, plan.id)
    return pool, rotation_id, plan


def test_a_replacement_changes_only_the_withdrawn_members_seat(database, world):
    pool, rotation_id, plan = _published(database)
    handlers = {pool["ee1"], pool["ee2"], pool["es1"]}
    [spare] = handlers - members_of(plan)
    leaving = sorted(handlers & members_of(plan))[0]
    mid_rotation = clock.frozen(datetime(2027, 1, 13, 12, tzinfo=UTC))
    with database.session(read_only=True) as db:
        before = [(s.starts_at, s.primary_id, s.backup_id) for s in service.get_rotation(
            db=db, actor=SYSTEM, rotation_id=rotation_id).shifts]
    with mid_rotation, database.session() as db:
        rotation, changes, unfilled = publishing.replace(
            db=db, actor=SYSTEM, rotation_id=rotation_id, expert_id=leaving, reason="ill")
        assert unfilled == []
        [change] = changes
        assert "replaces" in change and "incident_handling" in change
        now = clock.now()
    with database.session(read_only=True) as db:
        rotation = service.get_rotation(db=db, actor=SYSTEM, rotation_id=rotation_id)
        out = service.rotation_out(db, SYSTEM, rotation, plan.id)
        shifts = list(rotation.shifts)
    assert {m.expert_id for m in out.members} == members_of(plan) - {leaving} | {spare}
    gone = row_id(database, leaving)
    begun = [(s.starts_at, s.primary_id, s.backup_id) for s in shifts if s.starts_at <= now]
    assert len(begun) == 3
    assert begun[:-1] == [b for b in before if b[0] <= now][:-1]  # weeks over stay as they were
    # the week under way keeps its officers but the one who left, whose role another takes
    assert gone not in begun[-1][1:] and None not in begun[-1][1:]
    kept = {b[1:] for b in before if b[0] <= now < b[0] + timedelta(days=7)} - {begun[-1][1:]}
    assert all(gone in officers for officers in kept)
    assert [s.starts_at for s in shifts] == sorted(s.starts_at for s in shifts)
    assert all(gone not in (s.primary_id, s.backup_id) for s in shifts if s.starts_at > now)
    assert any(s.starts_at > now for s in shifts)
    for earlier, later in pairwise(shifts):
        assert earlier.ends_at == later.starts_at  # weeks begun stay, the rest follow on
    assert shifts[-1].ends_at.date() == date(2027, 2, 1)
    [event] = events(database, "rotation.replaced")
    assert event.changes["withdrawn"] == str(leaving)
    assert event.changes["added"] == [str(spare)]
    with database.session(read_only=True) as db:
        told = {m.recipient: m.body
                for m in db.scalars(select(OutboxMessage).order_by(OutboxMessage.id))}
        address = {e.public_id: e.email for e in db.scalars(select(Expert))}
    if address[leaving]:  # the last word to each is the replacement's
        assert "You are no longer on the rapid response team" in told[address[leaving]]
    if address[spare]:
        assert "You are on the rapid response team" in told[address[spare]]


def test_a_withdrawal_nobody_can_fill_is_left_empty_and_explained(database, world):
    pool, rotation_id, plan = _published(database)
    with database.session() as db:
        rotation, changes, unfilled = publishing.replace(
            db=db, actor=SYSTEM, rotation_id=rotation_id, expert_id=pool["lead"])
        assert [m.lead for m in rotation.members if m.withdrawn_at is None] == [False, False]
    [reason] = unfilled
    assert reason.startswith("2027-01-01 to 2027-01-31: team_lead level >= 1 needs 1, 0 filled")
    [change] = changes
    assert "no one replaces them" in change
    with database.session(read_only=True) as db:  # the empty seat is declared, not broken
        assert drafting.check(db=db, actor=SYSTEM, plan_id=plan.id) == []
