"""The planner on generated instances: every plan passes the independent checker, a shortfall
is filled as far as it goes and explained, and fairness follows the targets."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crrt.rotations import checker, planner
from crrt.rotations.problem import Candidate, Period, Plan, Problem, Slot, Template

SKILLS = ("team_lead", "incident_handling", "malware_analysis", "ot_ics")
H1, H2 = Period(date(2027, 1, 1), date(2027, 6, 30)), Period(date(2027, 7, 1), date(2027, 12, 31))
TEAM = Template(slots=(Slot("team_lead", 2, 1, lead=True), Slot("incident_handling", 2, 2),
                       Slot("malware_analysis", 1, 2)), min_nations=2, max_per_nation=3)


@st.composite
def problems(draw: st.DrawFn) -> Problem:
    nations = draw(st.lists(st.sampled_from(["EE", "LT", "ES", "PL", "FI"]), min_size=1,
                            max_size=4, unique=True))
    candidates = []
    for i in range(draw(st.integers(3, 24))):
        skills = draw(st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 3), min_size=1,
                                      max_size=3))
        away = ()
        if draw(st.booleans()):
            start = date(2027, 1, 1) + timedelta(days=draw(st.integers(0, 360)))
            away = ((start, start + timedelta(days=draw(st.integers(0, 40)))),)
        candidates.append(Candidate(i, draw(st.sampled_from(nations)), skills,
                                    frozenset(draw(st.sets(st.sampled_from(["en", "fr"]),
                                                           min_size=1))),
                                    draw(st.integers(0, 3)), away))
    template = Template(slots=draw(st.lists(st.builds(
        Slot, st.sampled_from(SKILLS), st.integers(1, 3), st.integers(1, 2),
        st.integers(0, 2)), min_size=1, max_size=3)),
        min_nations=draw(st.integers(1, 3)), max_per_nation=draw(st.integers(1, 4)),
        consecutive=draw(st.booleans()))
    return Problem(template, (H1, H2), tuple(candidates))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_every_plan_passes_the_independent_checker(problem):
    plan = planner.plan(problem, seconds=5)
    assert plan.status in ("optimal", "feasible", "partial")
    assert checker.violations(problem, plan) == []
    if plan.status != "partial":
        assert not plan.unfilled and not plan.explanation


def _pool(per_nation: int) -> tuple[Candidate, ...]:
    experts, n = [], 0
    for org in ("EE", "LT", "ES"):
        for _ in range(per_nation):
            experts.append(Candidate(n, org, {"team_lead": 3, "incident_handling": 2,
                                              "malware_analysis": 2}))
            n += 1
    return tuple(experts)


def test_a_full_team_is_planned_fairly_between_nations():
    problem = Problem(TEAM, (H1, H2), _pool(4))
    plan = planner.plan(problem)
    assert plan.status == "optimal"
    assert checker.violations(problem, plan) == []
    assert sorted(plan.seats().values()) == [3, 3, 4]  # 10 seats, three equal pools
    assert {a.lead for a in plan.assignments if a.slot == 0} == {True}


def test_a_seat_no_one_can_take_is_left_empty_and_said_why():
    away = (date(2027, 6, 1), date(2027, 9, 30))
    pool = (*_pool(4), Candidate(99, "EE", {"ot_ics": 3}, away=(away,)))
    team = Template(slots=(*TEAM.slots, Slot("ot_ics", 2, 1)), min_nations=2,
                    max_per_nation=4)
    problem = Problem(team, (H1, H2), pool)
    plan = planner.plan(problem)
    assert plan.status == "partial"
    assert checker.violations(problem, plan) == []
    assert [(u.period, u.slot, u.missing) for u in plan.unfilled] == [(0, 3, 1), (1, 3, 1)]
    assert plan.explanation[0] == ("H1 2027: ot_ics level >= 2 needs 1, 0 filled: 1 expert "
                                   "qualifies, and it is unavailable then.")
    assert len(plan.assignments) == 2 * 5  # every other seat is filled


def test_targets_given_are_followed_over_the_horizon():
    problem = Problem(TEAM, (H1, H2), _pool(4), targets={"EE": 4, "LT": 4, "ES": 2})
    plan = planner.plan(problem)
    assert plan.seats() == {"EE": 4, "LT": 4, "ES": 2}


def test_the_checker_finds_what_a_broken_plan_breaks():
    problem = Problem(TEAM, (H1, H2), _pool(4))
    good = planner.plan(problem)
    first = good.assignments[0]
    twice = Plan(status="feasible", assignments=[*good.assignments, first])
    unqualified = Problem(TEAM, (H1, H2), tuple(
        c if c.id != first.expert else Candidate(c.id, c.org, {"cloud": 1})
        for c in problem.candidates))
    assert any("holds 2 seats" in v for v in checker.violations(problem, twice))
    assert any("does not qualify" in v for v in checker.violations(unqualified, good))
    emptied = Plan(status="feasible", assignments=good.assignments[1:])
    assert any("does not say why" in v for v in checker.violations(problem, emptied))
