"""A withdrawal repaired: the fewest other seats change, a seat no one can take is left empty
and said why, periods already served stay, and the independent checker passes every repair."""

from __future__ import annotations

from datetime import date

import pytest

from crrt.rotations import checker, planner
from crrt.rotations.problem import (
    Assignment,
    Candidate,
    Move,
    Period,
    Plan,
    Problem,
    Slot,
    Template,
)
from crrt.rotations.replacement import replace

H1, H2 = Period(date(2027, 1, 1), date(2027, 6, 30)), Period(date(2027, 7, 1), date(2027, 12, 31))
MALWARE, HANDLING, OT = Slot("malware_analysis"), Slot("incident_handling"), Slot("ot_ics")


def _plan(*seats: tuple[int, int, Candidate]) -> Plan:
    """A plan written by hand: (period, slot, holder)."""
    return Plan(status="feasible",
                assignments=[Assignment(p, c.id, c.org, s) for p, s, c in seats])


def _unchanged_but(old: Plan, new: Plan, period: int) -> set[tuple[int, int, int]]:
    """The seats of ``period`` that differ between two plans, both ways."""
    before = {(a.period, a.slot, a.expert) for a in old.assignments}
    after = {(a.period, a.slot, a.expert) for a in new.assignments}
    assert {s for s in before ^ after if s[0] != period} == set()
    return before ^ after


def test_a_free_qualified_expert_takes_the_seat_and_nothing_else_moves():
    team = Template(slots=(Slot("team_lead", 1, 1, lead=True), Slot("incident_handling", 1, 2)),
                    min_nations=2, max_per_nation=2)
    pool = tuple(Candidate(i, org, {"team_lead": 1, "incident_handling": 1})
                 for i, org in enumerate(["EE", "LT", "ES"] * 4))
    problem = Problem(team, (H1, H2, Period(date(2028, 1, 1), date(2028, 6, 30))), pool)
    plan = planner.plan(problem, seconds=5)
    leaving = next(a for a in plan.assignments if a.period == 1 and not a.lead)
    repaired = replace(problem, plan, period=1, expert=leaving.expert)
    assert checker.violations(problem, repaired.plan) == []
    assert repaired.fewest and len(repaired.moved) == 1
    move = repaired.moved[0]
    assert (move.period, move.slot, move.old) == (1, leaving.slot, leaving.expert)
    assert move.new is not None and move.new != leaving.expert
    assert _unchanged_but(plan, repaired.plan, 1) == {(1, leaving.slot, leaving.expert),
                                                      (1, leaving.slot, move.new)}
    assert repaired.plan.status == "feasible" and not repaired.plan.unfilled


def test_a_swap_changes_exactly_one_more_seat():
    leaving = Candidate(1, "EE", {"malware_analysis": 1}, away=((H2.start, H2.end),))
    both = Candidate(2, "LT", {"malware_analysis": 1, "incident_handling": 1})
    spare = Candidate(3, "ES", {"incident_handling": 1})
    later = (Candidate(4, "EE", {"malware_analysis": 1}),
             Candidate(5, "LT", {"incident_handling": 1}))
    problem = Problem(Template(slots=(MALWARE, HANDLING)), (H1, H2),
                      (leaving, both, spare, *later))
    plan = _plan((0, 0, leaving), (0, 1, both), (1, 0, later[0]), (1, 1, later[1]))
    assert checker.violations(problem, plan) == []
    repaired = replace(problem, plan, period=0, expert=1)
    assert checker.violations(problem, repaired.plan) == []
    assert repaired.moved == [Move(0, 0, 1, 2), Move(0, 1, 2, 3)]
    assert repaired.changes == [
        "H1 2027: expert 2 (LT) replaces expert 1 (EE) as malware_analysis",
        "H1 2027: expert 3 (ES) replaces expert 2 (LT) as incident_handling"]
    assert repaired.fewest


def test_a_seat_no_one_can_take_is_left_empty_and_said_why():
    only = Candidate(1, "EE", {"ot_ics": 2})
    problem = Problem(Template(slots=(OT, HANDLING)), (H1,),
                      (only, Candidate(2, "LT", {"incident_handling": 1})))
    plan = planner.plan(problem, seconds=5)
    repaired = replace(problem, plan, period=0, expert=1)
    reason = ("H1 2027: ot_ics level >= 1 needs 1, 0 filled: 1 expert qualifies, and it is "
              "unavailable then.")
    assert checker.violations(problem, repaired.plan) == []
    assert repaired.moved == [Move(0, 0, 1, None)]
    assert [u.reason for u in repaired.plan.unfilled] == [reason]
    assert repaired.plan.status == "partial" and reason in repaired.plan.explanation
    assert reason in repaired.changes[0]
    assert {a.expert for a in repaired.plan.assignments} == {2}


def test_a_neighbouring_team_gives_way_unless_it_has_already_served():
    first = Candidate(1, "EE", {"ot_ics": 1})
    leaving = Candidate(2, "LT", {"ot_ics": 1})
    early = Candidate(3, "ES", {"ot_ics": 1}, away=((date(2027, 7, 1), date(2027, 12, 31)),))
    problem = Problem(Template(slots=(OT,)), (H1, H2), (first, leaving, early))
    plan = _plan((0, 0, first), (1, 0, leaving))
    open_ = replace(problem, plan, period=1, expert=2)
    assert checker.violations(problem, open_.plan) == []
    assert sorted(open_.moved, key=lambda m: m.period) == [Move(0, 0, 1, 3), Move(1, 0, 2, 1)]
    served = replace(problem, plan, period=1, expert=2, frozen_before=1)
    assert checker.violations(problem, served.plan) == []
    assert served.moved == [Move(1, 0, 2, None)]
    assert [a.expert for a in served.plan.assignments] == [1]


def test_an_expert_without_a_seat_then_leaves_the_plan_as_it_was():
    holder, other = Candidate(1, "EE", {"ot_ics": 1}), Candidate(2, "LT", {"ot_ics": 1})
    problem = Problem(Template(slots=(OT,)), (H1,), (holder, other))
    plan = _plan((0, 0, holder))
    same = replace(problem, plan, period=0, expert=2)
    assert same.plan.assignments == plan.assignments and same.moved == []


def test_a_period_already_served_cannot_be_repaired():
    holder = Candidate(1, "EE", {"ot_ics": 1})
    problem = Problem(Template(slots=(OT,)), (H1, H2), (holder,))
    with pytest.raises(ValueError, match="not open to change"):
        replace(problem, _plan((0, 0, holder)), period=0, expert=1, frozen_before=1)
