"""From the pool to a published team: the planner's problem read from the database, drafts,
publishing (rotations, weekly duty, notices) and replacements after a withdrawal.

A draft is solved outside any write transaction (a minute of solving must not hold the
database's write lock): the problem is read in a reading session, solved, and the answer
stored in a short write. Publishing checks the draft again with the independent checker
against the pool as it is then, so a plan made before someone became unavailable is refused
with the reason rather than published wrong.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from crrt.access import policy
from crrt.access.policy import Permission
from crrt.access.principal import Principal
from crrt.audit import service as audit
from crrt.core.db import Database
from crrt.core.errors import Conflict, NotFound
from crrt.experts import service as experts
from crrt.organisations import service as organisations
from crrt.organisations.enums import Membership
from crrt.rotations import checker, planner, service
from crrt.rotations.enums import PlanState, SolveStatus
from crrt.rotations.models import Rotation, RotationPlan, TeamTemplate
from crrt.rotations.problem import (
    Assignment,
    Candidate,
    Period,
    Plan,
    Problem,
    Slot,
    Template,
    Unfilled,
)
from crrt.rotations.schemas import (
    MemberOut,
    Metrics,
    NationShare,
    PlanIn,
    PlanOut,
    PlanSummary,
    RotationDraft,
    RuleGap,
    UnfilledOut,
)

if TYPE_CHECKING:
    from crrt.experts.models import Expert

Progress = Callable[[float, float, float], None]


# --- the problem, from the database ------------------------------------------------------------

def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day where it is shorter)."""
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def periods_of(start: date, periods: int, months: int) -> tuple[Period, ...]:
    starts = [add_months(start, k * months) for k in range(periods + 1)]
    return tuple(Period(a, b - timedelta(days=1)) for a, b in itertools.pairwise(starts))


@dataclass
class Setting:
    """A problem with what it was read from: experts by id and nations' codes by id."""

    problem: Problem
    experts: dict[int, Expert]
    codes: dict[int, str]


def _offset_hours(zone: str, day: date) -> int:
    try:
        here = ZoneInfo(zone)
    except (ValueError, KeyError):
        return 0
    offset = datetime(day.year, day.month, day.day, 12, tzinfo=here).utcoffset()
    return round(offset.total_seconds() / 3600) if offset else 0


def _member_throughout(org: Any, period: Period) -> bool:
    """Lead or participant on every day of the period: no change inside it leaves the
    project or becomes an observer."""
    return all(org.membership_on(c.effective_on) in (Membership.LEAD, Membership.PARTICIPANT)
               for c in org.history if period.start < c.effective_on <= period.end)


def _clearance_rank(expert: Expert, through: date) -> int:
    """A clearance counts only if valid through the horizon's last day (conservative)."""
    expires = expert.clearance_expires_on
    return 0 if expires is not None and expires < through else expert.clearance.rank


def setting(db: Session, actor: Principal, template: Template, start: date, periods: int,
            months: int, *, seated: Collection[int] = (), open_from: int = 0) -> Setting:
    """The planner's problem over a horizon: the nations that lead or take part for a whole
    period, their experts (a period when one's nation is not in counts as away), and the
    targets (commitments where stated, else a share in proportion to qualified, free
    experts). ``seated`` experts of a published plan who are no longer in the pool (erased,
    or their nation out) come too, away from period ``open_from`` on: their seats there
    must be filled again, and the seats they held before stay as they were."""
    spans = periods_of(start, periods, months)
    planned: list[set[int]] = []
    codes: dict[int, str] = {}
    for period in spans:
        first = organisations.members_on(db=db, actor=actor, day=period.start)
        codes |= {o.id: o.code for o in first}
        planned.append({o.id for o in first if _member_throughout(o, period)})
    pool = experts.roster_pool(db=db, actor=actor, org_ids=set().union(*planned))
    candidates = []
    for e in pool:
        away = [(u.starts_on, u.ends_on) for u in e.unavailability]
        away += [(p.start, p.end) for p, nations in zip(spans, planned, strict=True)
                 if e.organisation_id not in nations]
        candidates.append(Candidate(
            id=e.id, org=codes[e.organisation_id],
            skills={s.skill.value: s.level for s in e.skills},
            languages=frozenset(lang.code for lang in e.languages),
            clearance=_clearance_rank(e, spans[-1].end), away=tuple(away),
            zone_offset=_offset_hours(e.time_zone, start)))
    known = {e.id: e for e in pool}
    gone = experts.team_cards(db=db, expert_ids=set(seated) - set(known))
    for e in gone.values():
        codes.setdefault(e.organisation_id, organisations.by_id(
            db=db, actor=actor, org_id=e.organisation_id).code)
        away = [(u.starts_on, u.ends_on) for u in e.unavailability]
        away += [(p.start, p.end) for p in spans[open_from:]]
        candidates.append(Candidate(
            id=e.id, org=codes[e.organisation_id],
            skills={s.skill.value: s.level for s in e.skills},
            languages=frozenset(lang.code for lang in e.languages),
            clearance=_clearance_rank(e, spans[-1].end), away=tuple(away)))
    problem = Problem(template, spans, tuple(candidates))
    committed = {codes[i]: n for i, n in service.seats_committed(db=db).items() if i in codes}
    problem = Problem(template, spans, tuple(candidates),
                      targets=targets(problem, committed, periods * months / 12))
    return Setting(problem, known | gone, codes)


def snapshot(template: Template) -> dict[str, Any]:
    """A template as a plan keeps it: a later edit of the template changes no plan made."""
    return {"slots": [{"skill": s.skill, "min_level": s.min_level, "count": s.count,
                       "clearance": s.clearance, "lead": s.lead} for s in template.slots],
            "min_nations": template.min_nations, "max_per_nation": template.max_per_nation,
            "languages": sorted(template.languages), "consecutive": template.consecutive}


def template_of(db: Session, row: RotationPlan) -> Template:
    """The template a plan was made with (its snapshot)."""
    kept = row.result.get("template")
    if kept is None:  # pragma: no cover - plans are stored with their template
        stored = db.get(TeamTemplate, row.template_id)
        assert stored is not None
        return service.problem_template(stored)
    return Template(slots=tuple(Slot(**s) for s in kept["slots"]),
                    min_nations=kept["min_nations"], max_per_nation=kept["max_per_nation"],
                    languages=frozenset(kept["languages"]), consecutive=kept["consecutive"])


def targets(problem: Problem, committed: dict[str, int], years: float) -> dict[str, float]:
    """Seats each nation should hold over the horizon: its commitment where stated; the seats
    left shared among the others in proportion to their experts who qualify for a seat and
    are free for some period. Commitments above the seats there are scale down."""
    seats = sum(s.count for s in problem.template.slots) * len(problem.periods)
    qualified: dict[str, int] = defaultdict(int)
    for c in problem.candidates:
        if any(c.qualifies(s) for s in problem.template.slots) and \
                any(c.free(p) for p in problem.periods):
            qualified[c.org] += 1
    fixed = {org: n * years for org, n in committed.items() if org in qualified}
    if sum(fixed.values()) > seats:
        scale = seats / sum(fixed.values())
        fixed = {org: t * scale for org, t in fixed.items()}
    rest = {org: n for org, n in qualified.items() if org not in fixed}
    left, total = seats - sum(fixed.values()), sum(rest.values())
    return fixed | {org: left * n / total for org, n in rest.items()} if total else fixed


# --- drafts --------------------------------------------------------------------------------------

def _status(plan: Plan) -> SolveStatus:
    return {"optimal": SolveStatus.OPTIMAL, "feasible": SolveStatus.FEASIBLE}.get(
        plan.status, SolveStatus.INFEASIBLE)


def _gap(plan: Plan) -> float:
    return round(abs(plan.objective - plan.bound) / max(1.0, abs(plan.objective)), 6)


def result_of(found: Setting, plan: Plan, zone: str) -> dict[str, Any]:
    """The stored answer: what the API gives, with experts named by id (names are read when
    shown, so an erasure reaches drafts too)."""
    problem = found.problem
    slots = problem.template.slots
    teams: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for a in plan.assignments:
        teams[a.period].append({"expert": a.expert, "org": a.org, "slot": a.slot,
                                "slot_skill": slots[a.slot].skill, "lead": a.lead})
    held, goals = plan.seats(), planner.targets_of(problem)
    return {
        "zone": zone,
        "template": snapshot(problem.template),
        "rotations": [{"label": p.label, "start": p.start.isoformat(),
                       "end": p.end.isoformat(),
                       "members": sorted(teams[i], key=lambda m: (not m["lead"], m["slot"]))}
                      for i, p in enumerate(problem.periods)],
        "unfilled": [_unfilled(problem, u) for u in plan.unfilled],
        "rule_gaps": _rule_gaps(problem, plan),
        "explanation": list(plan.explanation),
        "violations": checker.violations(problem, plan),  # named when shown
        "metrics": {"solve_seconds": plan.solve_seconds, "objective": plan.objective,
                    "bound": plan.bound, "gap": _gap(plan),
                    "nations": {org: {"assigned": held.get(org, 0),
                                      "target": round(goals.get(org, 0.0), 2)}
                                for org in sorted(set(held) | set(goals))}},
    }


def _solve(db: Session, actor: Principal, data: PlanIn,
           progress: Progress | None) -> tuple[int, Setting, Plan]:
    template = service.get_template(db=db, actor=actor, template_id=data.template_id)
    found = setting(db, actor, service.problem_template(template), data.start, data.periods,
                    data.period_months)
    return template.id, found, planner.plan(found.problem, seconds=data.seconds,
                                            progress=progress)


def _store(db: Session, actor: Principal, data: PlanIn, template_id: int, found: Setting,
           plan: Plan) -> RotationPlan:
    result = result_of(found, plan, data.zone)
    row = RotationPlan(template_id=template_id, starts_on=data.start, periods=data.periods,
                       period_months=data.period_months, state=PlanState.DRAFT,
                       status=_status(plan), result=result)
    db.add(row)
    db.flush()
    audit.record(db=db, actor=actor, action="rotation_plan.drafted",
                 object_type="rotation_plan", object_id=row.public_id,
                 changes={"start": data.start.isoformat(), "periods": data.periods,
                          "status": row.status.value,
                          "unfilled": sum(u["missing"] for u in result["unfilled"])})
    return row


def _unfilled(problem: Problem, u: Unfilled) -> dict[str, Any]:
    """An empty seat with the counts behind its reason, so a page can word it in the
    viewer's language: nobody qualifies, all who qualify are away, or the others are held."""
    period, slot = problem.periods[u.period], problem.template.slots[u.slot]
    qualified = [c for c in problem.candidates if c.qualifies(slot)]
    free = sum(1 for c in qualified if c.free(period))
    return {"period": period.label, "period_index": u.period, "slot": u.slot,
            "skill": slot.skill, "min_level": slot.min_level, "clearance": slot.clearance,
            "count": slot.count, "missing": u.missing, "qualified": len(qualified),
            "free": free, "why": "none" if not qualified else "away" if not free else "held",
            "reason": u.reason}


def _rule_gaps(problem: Problem, plan: Plan) -> list[dict[str, Any]]:
    """The team rules a period misses (too few nations, a language nobody speaks)."""
    template = problem.template
    by_id = {c.id: c for c in problem.candidates}
    gaps: list[dict[str, Any]] = []
    for p, period in enumerate(problem.periods):
        team = [by_id[a.expert] for a in plan.assignments if a.period == p]
        nations = len({c.org for c in team})
        if nations < template.min_nations:
            gaps.append({"period": period.label, "rule": "nations", "have": nations,
                         "need": template.min_nations})
        spoken = set().union(*(c.languages for c in team)) if team else set()
        gaps += [{"period": period.label, "rule": "language", "language": language}
                 for language in sorted(template.languages - spoken)]
    return gaps


def draft(*, database: Database, actor: Principal, data: PlanIn,
          progress: Progress | None = None) -> uuid.UUID:
    """Solve a plan and keep it as a draft; returns its id. The solving holds no write lock:
    the pool is read in a reading session and the answer stored in a short write."""
    policy.require(actor, Permission.ROTATIONS_PLAN)
    with database.session(read_only=True) as db:
        template_id, found, plan = _solve(db, actor, data, progress)
    with database.session() as db:
        return _store(db, actor, data, template_id, found, plan).public_id


def draft_in(*, db: Session, actor: Principal, data: PlanIn) -> RotationPlan:
    """The same in the caller's session (the demo's loading, which holds one already)."""
    policy.require(actor, Permission.ROTATIONS_PLAN)
    return _store(db, actor, data, *_solve(db, actor, data, None))


def get_plan(*, db: Session, actor: Principal, plan_id: uuid.UUID) -> RotationPlan:
    policy.require(actor, Permission.ROTATIONS_READ)
    row = db.scalar(select(RotationPlan).where(RotationPlan.public_id == plan_id))
    if row is None or (row.state is not PlanState.PUBLISHED
                       and not policy.may(actor, Permission.ROTATIONS_PLAN)):
        raise NotFound("No such plan.")
    return row


def list_plans(*, db: Session, actor: Principal, limit: int = 50) -> list[PlanSummary]:
    """The latest plans, drafts only for those who plan."""
    policy.require(actor, Permission.ROTATIONS_READ)
    stmt = select(RotationPlan, TeamTemplate.name).join(
        TeamTemplate, TeamTemplate.id == RotationPlan.template_id)
    if not policy.may(actor, Permission.ROTATIONS_PLAN):
        stmt = stmt.where(RotationPlan.state == PlanState.PUBLISHED)
    rows = db.execute(stmt.order_by(RotationPlan.created_at.desc(), RotationPlan.id.desc())
                      .limit(limit)).all()
    return [PlanSummary(id=p.public_id, template=name, state=p.state, status=p.status,
                        start=p.starts_on, periods=p.periods, period_months=p.period_months,
                        created_at=p.created_at) for p, name in rows]


def plan_out(*, db: Session, actor: Principal, row: RotationPlan) -> PlanOut:
    result = row.result
    template = db.get(TeamTemplate, row.template_id)
    assert template is not None
    ids = {m["expert"] for r in result["rotations"] for m in r["members"]}
    cards = experts.team_cards(db=db, expert_ids=ids)
    name = {i: service.ERASED if e.erased_at else e.name for i, e in cards.items()}
    return PlanOut(
        id=row.public_id, template_id=template.public_id, template=template.name,
        state=row.state, status=row.status, start=row.starts_on, periods=row.periods,
        period_months=row.period_months, zone=result["zone"],
        rotations=[RotationDraft(
            label=r["label"], start=date.fromisoformat(r["start"]),
            end=date.fromisoformat(r["end"]),
            members=[MemberOut(expert_id=cards[m["expert"]].public_id, name=name[m["expert"]],
                               org=m["org"], slot_skill=m["slot_skill"], lead=m["lead"])
                     for m in r["members"]]) for r in result["rotations"]],
        unfilled=[UnfilledOut.model_validate(u) for u in result["unfilled"]],
        rule_gaps=[RuleGap.model_validate(g) for g in result.get("rule_gaps", [])],
        explanation=result["explanation"],
        violations=_named_now(db, actor, result["violations"]),
        metrics=Metrics(solve_seconds=result["metrics"]["solve_seconds"],
                        objective=result["metrics"]["objective"],
                        bound=result["metrics"]["bound"], gap=result["metrics"]["gap"],
                        nations={k: NationShare(**v)
                                 for k, v in result["metrics"]["nations"].items()}),
        created_at=row.created_at, published_at=row.published_at)


def stored_plan(found: Setting, result: dict[str, Any]) -> Plan:
    """A stored draft as the checker reads it."""
    return Plan(status="stored", explanation=list(result["explanation"]), assignments=[
        Assignment(p, m["expert"], m["org"], m["slot"], m["lead"])
        for p, r in enumerate(result["rotations"]) for m in r["members"]],
        unfilled=[Unfilled(u["period_index"], u["slot"], u["missing"], u["reason"])
                  for u in result["unfilled"]])


def check(*, db: Session, actor: Principal, plan_id: uuid.UUID) -> list[str]:
    """Every hard rule of a plan verified again, without the solver, against the pool as it
    is now (a published plan as its rotations now stand)."""
    policy.require(actor, Permission.ROTATIONS_PLAN)  # it reads every nation's pool
    row = get_plan(db=db, actor=actor, plan_id=plan_id)
    if row.state is not PlanState.PUBLISHED:
        found = setting(db, actor, template_of(db, row), row.starts_on, row.periods,
                        row.period_months)
        return named(found, checker.violations(found.problem, stored_plan(found, row.result)))
    rotations = rotations_of(db, row)
    found = setting(db, actor, template_of(db, row), row.starts_on, row.periods,
                    row.period_months, seated=seated_in(rotations))
    return named(found, checker.violations(found.problem, standing_plan(found, rotations)))


def rotations_of(db: Session, row: RotationPlan) -> list[Rotation]:
    return list(db.scalars(select(Rotation).where(Rotation.plan_id == row.id)
                           .order_by(Rotation.number)))


def seated_in(rotations: list[Rotation]) -> set[int]:
    return {m.expert_id for r in rotations for m in r.members if m.withdrawn_at is None}


def standing_plan(found: Setting, rotations: list[Rotation]) -> Plan:
    """A published plan as its rotations stand now, empty seats declared as such."""
    plan = Plan(status="standing")
    slots = found.problem.template.slots
    nation = {c.id: c.org for c in found.problem.candidates}
    for rotation in rotations:
        filled: dict[int, int] = defaultdict(int)
        for m in rotation.members:
            if m.withdrawn_at is None:
                plan.assignments.append(Assignment(rotation.number, m.expert_id,
                                                   nation[m.expert_id], m.slot, m.lead))
                filled[m.slot] += 1
        for s, slot in enumerate(slots):
            if filled[s] < slot.count:
                reason = f"{rotation.label}: {slot.skill} seat left empty."
                plan.unfilled.append(Unfilled(rotation.number, s, slot.count - filled[s],
                                              reason))
                plan.explanation.append(reason)
    return plan


EXPERT_ID = re.compile(r"\bexpert (\d+)\b(?: \([^)]*\))?")


def named(found: Setting, lines: list[str]) -> list[str]:
    """The planner's and the checker's words with each expert named as people know them:
    by name and nation, never by the database's row id."""
    return _name_in(found.experts, found.codes, lines)


def _name_in(people: dict[int, Expert], codes: dict[int, str], lines: list[str]) -> list[str]:
    def name(match: re.Match[str]) -> str:
        expert = people.get(int(match.group(1)))
        if expert is None:
            return "an expert"
        shown = service.ERASED if expert.erased_at else expert.name
        return f"{shown} ({codes.get(expert.organisation_id, '?')})"
    return [EXPERT_ID.sub(name, line) for line in lines]


def _named_now(db: Session, actor: Principal, lines: list[str]) -> list[str]:
    """Stored words with experts named as they are now (an erased one as erased)."""
    ids = {int(m.group(1)) for line in lines for m in EXPERT_ID.finditer(line)}
    if not ids:
        return lines
    cards = experts.team_cards(db=db, expert_ids=ids)
    codes = {i: organisations.by_id(db=db, actor=actor, org_id=i).code
             for i in {e.organisation_id for e in cards.values()}}
    return _name_in(cards, codes, lines)


def discard(*, db: Session, actor: Principal, plan_id: uuid.UUID) -> None:
    row = get_plan(db=db, actor=actor, plan_id=plan_id)
    policy.require(actor, Permission.ROTATIONS_PLAN)
    if row.state is not PlanState.DRAFT:
        raise Conflict(f"The plan is {row.state.value}; only a draft can be discarded.")
    row.state = PlanState.DISCARDED
    audit.record(db=db, actor=actor, action="rotation_plan.discarded",
                 object_type="rotation_plan", object_id=row.public_id)
