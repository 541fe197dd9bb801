"""Benchmark: the rotation planner against a greedy baseline, on generated instances.

Prints figures; asserts nothing. ``PYTHONPATH=. .venv/bin/python bench/roster.py [--seed 7]
[--sizes S,M,L]``. Each instance is generated from the seed: S (120 experts, 9 nations,
4 periods), M (300 experts, 20 nations, 4 periods), L (1,080 experts, 27 nations, 12 periods),
a 10-seat template. For each, the planner (CP-SAT, a time limit per size) and the greedy
baseline (each seat to the least-used qualified expert of the least-served nation) run on
the same instance: solve time, status, the gap to the solver's bound, the worst nation's
distance from its target, empty seats, and whether the independent checker passes.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crrt.rotations import checker, planner
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

SKILLS = ("team_lead", "incident_handling", "digital_forensics", "malware_analysis",
          "network_forensics", "threat_intelligence", "vulnerability_assessment", "ot_ics",
          "cloud", "legal_advisor", "communications")
SIZES = {"S": (120, 9, 4, 5.0), "M": (300, 20, 4, 20.0), "L": (1080, 27, 12, 60.0)}
TEMPLATE = Template(slots=(
    Slot("team_lead", 2, 1, lead=True), Slot("incident_handling", 2, 2),
    Slot("digital_forensics", 2, 1), Slot("malware_analysis", 2, 1),
    Slot("network_forensics", 1, 1), Slot("threat_intelligence", 1, 1),
    Slot("ot_ics", 1, 1), Slot("cloud", 1, 1), Slot("legal_advisor", 1, 1)),
    min_nations=4, max_per_nation=3)


def instance(size: str, seed: int) -> Problem:
    experts, nations, periods, _ = SIZES[size]
    rng = random.Random(f"{seed}-{size}")
    codes = [f"N{n:02d}" for n in range(nations)]
    start = date(2027, 1, 1)
    spans = []
    for p in range(periods):
        first = date(start.year + (start.month + 6 * p - 1) // 12,
                     (start.month + 6 * p - 1) % 12 + 1, 1)
        after = date(first.year + (first.month + 5) // 12, (first.month + 5) % 12 + 1, 1)
        spans.append(Period(first, after - timedelta(days=1)))
    candidates = []
    for i in range(experts):
        skills = {s: rng.choice((1, 1, 2, 2, 3)) for s in rng.sample(SKILLS, rng.randint(1, 3))}
        away = ()
        if rng.random() < 0.2:  # a long absence somewhere in the horizon
            day = spans[0].start + timedelta(days=rng.randint(0, 180 * periods))
            away = ((day, day + timedelta(days=rng.randint(7, 120))),)
        candidates.append(Candidate(i, codes[min(int(rng.paretovariate(1.2)) - 1, nations - 1)
                                             if rng.random() < 0.5 else rng.randrange(nations)],
                                    skills, frozenset({"en"}), rng.randint(0, 3), away))
    return Problem(TEMPLATE, tuple(spans), tuple(candidates))


def greedy(problem: Problem) -> Plan:
    """Each seat, in order, to the least-used qualified free expert of the nation furthest
    below its target, within the team's rules."""
    targets = planner.targets_of(problem)
    held: dict[str, int] = defaultdict(int)
    used: dict[int, int] = defaultdict(int)
    plan = Plan(status="feasible")
    previous: set[int] = set()
    for p, period in enumerate(problem.periods):
        team: set[int] = set()
        per_nation: dict[str, int] = defaultdict(int)
        for s, slot in enumerate(problem.template.slots):
            missing = 0
            for _ in range(slot.count):
                options = [c for c in problem.candidates
                           if c.id not in team and c.qualifies(slot) and c.free(period)
                           and per_nation[c.org] < problem.template.max_per_nation
                           and (problem.template.consecutive or c.id not in previous)]
                if not options:
                    missing += 1
                    continue
                pick = min(options, key=lambda c: (held[c.org] - targets.get(c.org, 0),
                                                   used[c.id], c.id))
                team.add(pick.id)
                per_nation[pick.org] += 1
                held[pick.org] += 1
                used[pick.id] += 1
                plan.assignments.append(Assignment(p, pick.id, pick.org, s, slot.lead))
            if missing:
                plan.unfilled.append(Unfilled(p, s, missing, "no one left"))
                plan.explanation.append(f"{period.label}: {slot.skill} short {missing}")
        if len({problem.candidates[i].org for i in team}) < problem.template.min_nations:
            plan.explanation.append(f"{period.label}: the team has experts of fewer than "
                                    f"{problem.template.min_nations} nations.")
        previous = team
    if plan.explanation:
        plan.status = "partial"
    return plan


def worst_gap(problem: Problem, plan: Plan) -> float:
    """The worst nation's distance from its target, in seats."""
    targets, seats = planner.targets_of(problem), plan.seats()
    return max((abs(seats.get(org, 0) - target) for org, target in targets.items()),
               default=0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sizes", default="S,M,L")
    args = parser.parse_args()
    print(f"{'size':4} {'who':8} {'seconds':>8} {'status':9} {'gap':>7} "
          f"{'worst nation off':>16} {'empty seats':>11} {'checker':>8}")
    for size in args.sizes.split(","):
        problem = instance(size, args.seed)
        limit = SIZES[size][3]
        started = time.monotonic()
        solved = planner.plan(problem, seconds=limit)
        solve = time.monotonic() - started
        gap = abs(solved.objective - solved.bound) / max(abs(solved.objective), 1.0)
        started = time.monotonic()
        baseline = greedy(problem)
        quick = time.monotonic() - started
        for who, plan, seconds, shown_gap in (("planner", solved, solve, f"{gap:.2%}"),
                                              ("greedy", baseline, quick, "-")):
            ok = "pass" if not checker.violations(problem, plan) else "FAIL"
            empty = sum(u.missing for u in plan.unfilled)
            print(f"{size:4} {who:8} {seconds:8.2f} {plan.status:9} {shown_gap:>7} "
                  f"{worst_gap(problem, plan):16.2f} {empty:11d} {ok:>8}")
        ratio = worst_gap(problem, baseline) / max(worst_gap(problem, solved), 0.01)
        print(f"{size:4} greedy's worst nation is {ratio:.1f}x as far from its target")


if __name__ == "__main__":
    main()
