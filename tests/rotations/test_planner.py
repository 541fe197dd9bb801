"""The planner on generated instances: every plan passes the independent checker, a shortfall
is filled as far as it goes and explained, and fairness follows the targets."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
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


def test_the_lead_of_the_next_team_served_on_the_team_before_when_the_rules_allow():
    team = Template(slots=(Slot("team_lead", 1, 1, lead=True), Slot("incident_handling", 1, 1)),
                    consecutive=True)
    pool = tuple(Candidate(i, "EE", {"team_lead": 1, "incident_handling": 1}) for i in range(4))
    plan = planner.plan(Problem(team, (H1, H2), pool))
    first = {a.expert for a in plan.assignments if a.period == 0}
    lead = next(a.expert for a in plan.assignments if a.period == 1 and a.lead)
    assert plan.status == "optimal"
    assert lead in first  # four experts could each serve once; the hand-over is worth more


def test_no_one_serves_twice_in_a_row_when_the_rules_forbid_it():
    team = Template(slots=(Slot("team_lead", 1, 1, lead=True), Slot("incident_handling", 1, 1)))
    pool = tuple(Candidate(i, "EE", {"team_lead": 1, "incident_handling": 1}) for i in range(4))
    problem = Problem(team, (H1, H2), pool)
    plan = planner.plan(problem)
    teams = [{a.expert for a in plan.assignments if a.period == p} for p in (0, 1)]
    assert plan.status == "optimal" and checker.violations(problem, plan) == []
    assert not teams[0] & teams[1]


def test_a_team_spreads_over_time_zones_before_it_seeks_higher_levels():
    team = Template(slots=(Slot("incident_handling", 1, 3),))
    west, east = Candidate(0, "EE", {"incident_handling": 1}, zone_offset=0), \
        Candidate(1, "EE", {"incident_handling": 1}, zone_offset=2)
    central = tuple(Candidate(i, "EE", {"incident_handling": 3}, zone_offset=1)
                    for i in range(2, 6))
    problem = Problem(team, (H1,), (west, *central, east))
    plan = planner.plan(problem)
    zone = {c.id: c.zone_offset for c in problem.candidates}
    zones = {zone[a.expert] for a in plan.assignments}
    assert plan.status == "optimal"
    assert zones == {0, 1, 2}  # without the spread, three level-3 experts of one zone


def test_progress_hears_each_better_plan_and_the_last_is_the_answer():
    heard: list[tuple[float, float, float]] = []
    plan = planner.plan(Problem(TEAM, (H1, H2), _pool(4)),
                        progress=lambda *figures: heard.append(figures))
    assert heard
    assert [t for t, _, _ in heard] == sorted(t for t, _, _ in heard)
    assert all(objective >= bound for _, objective, bound in heard)
    assert heard[-1][1] == plan.objective


def test_a_template_outside_its_size_bounds_is_refused():
    seats = (Slot("team_lead", 1, 1, lead=True), Slot("incident_handling", 1, 9))
    assert Template(slots=seats, min_size=8, max_size=12).size == 10
    with pytest.raises(ValueError, match="a team of 10 seats"):
        Template(slots=seats, min_size=8, max_size=9)
    with pytest.raises(ValueError, match="a team of 5 seats"):
        Template(slots=TEAM.slots, min_size=8, max_size=12)


def test_the_fairness_floor_is_the_least_split_of_whole_seats():
    # three seats between two nations that should hold 1.5 each: 2 and 1, each half off
    floor = planner.fairness_floor({"EE": 150, "LT": 150}, {"EE": 3, "LT": 3}, 3)
    assert floor == planner.WORST_NATION * 50 + planner.ALL_NATIONS * 100
    # a cap forces the split 3 and 0
    assert planner.fairness_floor({"EE": 150, "LT": 150}, {"EE": 3, "LT": 0}, 3) == \
        planner.WORST_NATION * 150 + planner.ALL_NATIONS * 300
    assert planner.fairness_floor({"EE": 150}, {"EE": 2}, 3) is None
