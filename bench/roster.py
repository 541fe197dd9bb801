"""Benchmark: the rotation planner against a greedy baseline, on generated instances.

Prints figures; asserts nothing. ``.venv/bin/python bench/roster.py [--seed 7] [--sizes S,M,L]
[--progress]``. Each instance is generated from the seed (printed first): S (120 experts,
9 nations, 4 periods), M (300 experts, 20 nations, 4 periods), L (1,080 experts, 27 nations,
12 periods), a 10-seat template with rare seats (malware analysis at level 3, OT/ICS, threat
intelligence with a high clearance) and French besides English. For each, the planner (CP-SAT,
a wall-time budget per size, model building included) and the greedy baseline (each seat to the
least-used qualified expert of the least-served nation) run on the same instance: time, status,
the gap to the solver's bound (on the preferences, the part of the objective after the priced
shortfall), the worst nation's distance from its target, empty seats, and whether the
independent checker passes. Then the holder of the middle period's hardest seat withdraws and
``replacement.replace`` repairs the plan, timed and checked the same way.
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

from crrt.rotations import checker, planner, replacement
from crrt.rotations.problem import (
    TEAM_SIZE,
    Assignment,
    Candidate,
    Period,
    Plan,
    Problem,
    Slot,
    Template,
    Unfilled,
)

SIZES = {"S": (120, 9, 4, 5.0), "M": (300, 20, 4, 20.0), "L": (1080, 27, 12, 50.0)}
# The EU's nations with their winter UTC offsets; the French-speaking ones and those whose
# experts more often hold a high clearance (the generator's own choice, not a fact about them).
ZONES = {"PT": 0, "IE": 0, "AT": 1, "BE": 1, "HR": 1, "CZ": 1, "DK": 1, "FR": 1, "DE": 1,
         "HU": 1, "IT": 1, "LU": 1, "MT": 1, "NL": 1, "PL": 1, "SK": 1, "SI": 1, "ES": 1,
         "SE": 1, "BG": 2, "CY": 2, "EE": 2, "FI": 2, "GR": 2, "LV": 2, "LT": 2, "RO": 2}
FRENCH = {"FR", "BE", "LU"}
# Each skill's share of the juniors who have it, at levels 1-2 (3 for the common ones);
# ot_ics and legal_advisor are rare. Seniors (SENIOR of the pool) lead, handle incidents at
# level 3 and hold one rare specialty at level 3: they alone fill the malware seat, and the
# lead's and the incident seats, which come first, want them too.
SKILLS = {"team_lead": 0.05, "incident_handling": 0.45, "digital_forensics": 0.3,
          "malware_analysis": 0.2, "network_forensics": 0.3, "threat_intelligence": 0.4,
          "vulnerability_assessment": 0.3, "ot_ics": 0.04, "cloud": 0.25, "legal_advisor": 0.06,
          "communications": 0.1}
CAPPED = {"malware_analysis": 2, "ot_ics": 2, "team_lead": 2}
SPECIALTIES = ("malware_analysis", "malware_analysis", "ot_ics", "threat_intelligence",
               "digital_forensics")
SENIOR = 0.15
LEVELS = (1, 1, 1, 2, 2, 3)
TEMPLATE = Template(slots=(
    Slot("team_lead", 2, 1, lead=True), Slot("incident_handling", 2, 2),
    Slot("digital_forensics", 2, 1), Slot("malware_analysis", 3, 1),
    Slot("network_forensics", 1, 1), Slot("threat_intelligence", 2, 1, clearance=2),
    Slot("ot_ics", 2, 1), Slot("cloud", 1, 1), Slot("legal_advisor", 1, 1)),
    min_nations=4, max_per_nation=3, languages=frozenset({"en", "fr"}),
    min_size=TEAM_SIZE[0], max_size=TEAM_SIZE[1])


def halves(count: int) -> tuple[Period, ...]:
    """``count`` half-years from January 2027."""
    spans = []
    for p in range(count):
        first = date(2027 + p // 2, 1 + 6 * (p % 2), 1)
        after = date(2027 + (p + 1) // 2, 1 + 6 * ((p + 1) % 2), 1)
        spans.append(Period(first, after - timedelta(days=1)))
    return tuple(spans)


def instance(size: str, seed: int) -> Problem:
    """A pool as uneven as the real one: a few large nations and many small ones, rare skills,
    high clearances held mostly in a few nations, French in a few, and absences that come
    together (a nation's exercise or holiday takes many of its experts for the same months, and
    a quarter of the nations keep all their experts at home for a third of the horizon, late
    in it)."""
    experts, nations, periods, _ = SIZES[size]
    rng = random.Random(f"{seed}-{size}")  # the pool
    rng_away = random.Random(f"{seed}-{size}-away")  # its absences, drawn apart
    codes = rng.sample(sorted(ZONES), nations)
    weights = [1 / (rank + 1) ** 0.9 for rank in range(nations)]
    cleared = set(codes[1:1 + max(2, nations // 4)])  # the second largest and after
    spans = halves(periods)
    away_together: dict[str, list[tuple[date, date]]] = defaultdict(list)
    for code in codes:
        for span in spans:
            if rng_away.random() < 0.25:
                day = span.start + timedelta(days=rng_away.randint(0, 150))
                back = day + timedelta(days=rng_away.randint(20, 60))
                away_together[code].append((day, back))
    all_away: dict[str, tuple[date, date]] = {}  # a Council presidency keeps all at home
    for code in rng_away.sample(codes, max(2, nations // 4)):
        first = rng_away.randrange(periods // 2, periods)
        last = min(periods, first + max(1, periods // 3)) - 1
        all_away[code] = (spans[first].start, spans[last].end)
    origin = [*codes, *rng.choices(codes, weights, k=experts - 2 * nations), *codes]
    candidates = []
    for i, org in enumerate(origin):
        senior = rng.random() < SENIOR
        if senior:
            skills = {"team_lead": rng.choice((2, 3)), "incident_handling": 3,
                      rng.choice(SPECIALTIES): 3}
        else:
            skills = {s: min(rng.choice(LEVELS), CAPPED.get(s, 3))
                      for s, share in SKILLS.items() if rng.random() < share}
            skills = skills or {rng.choice(("incident_handling", "cloud")): rng.choice(LEVELS)}
        chance = (0.6 if org in cleared else 0.04) + (0.2 if senior else 0.0)
        clearance = rng.choice((2, 3)) if rng.random() < chance else rng.choice((0, 0, 1))
        languages = {"en", "fr"} if rng.random() < (0.85 if org in FRENCH else 0.08) \
            else {"en"}
        away = [span for span in away_together[org] if rng_away.random() < 0.8]
        away += [all_away[org]] if org in all_away else []
        if rng_away.random() < 0.15:  # a long absence of one's own
            day = spans[0].start + timedelta(days=rng_away.randint(0, 180 * periods))
            away.append((day, day + timedelta(days=rng_away.randint(20, 120))))
        candidates.append(Candidate(i, org, skills, frozenset(languages), clearance,
                                    tuple(away), ZONES[org]))
    return Problem(TEMPLATE, spans, tuple(candidates))


def greedy(problem: Problem) -> Plan:
    """Each seat, in the template's order, to the least-used qualified free expert of the
    nation furthest below its target, within the team's rules; the last seats go to speakers
    of a language the team still lacks, if there are any. What it misses it declares."""
    template = problem.template
    targets = planner.targets_of(problem)
    held: dict[str, int] = defaultdict(int)
    used: dict[int, int] = defaultdict(int)
    plan = Plan(status="feasible", targets=targets)
    previous: set[int] = set()
    for p, period in enumerate(problem.periods):
        team: set[int] = set()
        spoken: set[str] = set()
        per_nation: dict[str, int] = defaultdict(int)
        left = template.size
        for s, slot in enumerate(template.slots):
            missing = 0
            for _ in range(slot.count):
                lacking = template.languages - spoken
                options = [c for c in problem.candidates
                           if c.id not in team and c.qualifies(slot) and c.free(period)
                           and per_nation[c.org] < template.max_per_nation
                           and (template.consecutive or c.id not in previous)]
                left -= 1
                if not options:
                    missing += 1
                    continue
                pick = min(options, key=lambda c: (left < len(lacking)
                                                   and not c.languages & lacking,
                                                   held[c.org] - targets.get(c.org, 0),
                                                   used[c.id], c.id))
                team.add(pick.id)
                spoken |= pick.languages
                per_nation[pick.org] += 1
                held[pick.org] += 1
                used[pick.id] += 1
                plan.assignments.append(Assignment(p, pick.id, pick.org, s, slot.lead))
            if missing:
                reason = f"{period.label}: {slot.skill} short {missing}"
                plan.unfilled.append(Unfilled(p, s, missing, reason))
                plan.explanation.append(reason)
        if len({problem.candidates[i].org for i in team}) < template.min_nations:
            plan.explanation.append(f"{period.label}: the team has experts of fewer than "
                                    f"{template.min_nations} nations.")
        plan.explanation += [f"{period.label}: no member of the team speaks '{language}'."
                             for language in sorted(template.languages - spoken)]
        previous = team
    if plan.explanation:
        plan.status = "partial"
    return plan


def worst_gap(problem: Problem, plan: Plan) -> float:
    """The worst nation's distance from its target, in seats."""
    targets, seats = planner.targets_of(problem), plan.seats()
    return max((abs(seats.get(org, 0) - target) for org, target in targets.items()),
               default=0.0)


def withdrawal(problem: Problem, plan: Plan) -> tuple[int, int]:
    """The period in the middle and the holder of its hardest seat to fill again: the one
    with the fewest qualified experts free then."""
    p = len(problem.periods) // 2
    period = problem.periods[p]
    held = [a for a in plan.assignments if a.period == p]
    def others(a: Assignment) -> int:
        slot = problem.template.slots[a.slot]
        return sum(c.qualifies(slot) and c.free(period) for c in problem.candidates)
    hardest = min(held, key=lambda a: (others(a), a.slot, a.expert))
    return p, hardest.expert


def row(size: str, who: str, seconds: float, problem: Problem, plan: Plan, gap: str,
        note: str = "") -> str:
    ok = "pass" if not checker.violations(problem, plan) else "FAIL"
    empty = sum(u.missing for u in plan.unfilled)
    return (f"{size:4} {who:8} {seconds:8.2f} {plan.status:9} {gap:>7} "
            f"{worst_gap(problem, plan):16.2f} {empty:11d} {ok:>8}  {note}").rstrip()


def describe(problem: Problem) -> str:
    """What makes the instance hard, in a line: how many experts each scarce seat has."""
    nations: dict[str, int] = defaultdict(int)
    for c in problem.candidates:
        nations[c.org] += 1
    scarce = ", ".join(f"{slot.skill}{'+cleared' if slot.clearance else ''} "
                       f"{sum(c.qualifies(slot) for c in problem.candidates)}"
                       for slot in problem.template.slots
                       if slot.clearance or slot.min_level == 3 or slot.skill == "ot_ics")
    french = sum("fr" in c.languages for c in problem.candidates)
    return (f"{len(problem.candidates)} experts of {len(nations)} nations "
            f"({min(nations.values())} to {max(nations.values())} each), "
            f"{len(problem.periods)} periods; qualified: {scarce}; fr speakers {french}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sizes", default="S,M,L")
    parser.add_argument("--progress", action="store_true",
                        help="print each better plan the solver finds, to stderr")
    args = parser.parse_args()
    print(f"seed {args.seed}")
    for size in args.sizes.split(","):
        print(f"{size}: {describe(instance(size, args.seed))}")
    print(f"{'size':4} {'who':8} {'seconds':>8} {'status':9} {'gap':>7} "
          f"{'worst nation off':>16} {'empty seats':>11} {'checker':>8}")
    for size in args.sizes.split(","):
        problem = instance(size, args.seed)
        limit = SIZES[size][3]

        def heard(elapsed: float, objective: float, bound: float, size: str = size) -> None:
            print(f"  {size} {elapsed:6.2f} s objective {objective:,.0f} bound {bound:,.0f}",
                  file=sys.stderr)

        started = time.monotonic()
        solved = planner.plan(problem, seconds=limit, workers=2,
                              progress=heard if args.progress else None)
        solve = time.monotonic() - started
        gap = (solved.objective - solved.bound) / max(abs(solved.objective - solved.shortfall),
                                                      1.0)
        print(row(size, "planner", solve, problem, solved, f"{gap:.2%}"))
        started = time.monotonic()
        baseline = greedy(problem)
        print(row(size, "greedy", time.monotonic() - started, problem, baseline, "-"))
        if solved.assignments:
            period, expert = withdrawal(problem, solved)
            started = time.monotonic()
            repaired = replacement.replace(problem, solved, period=period, expert=expert)
            note = (f"expert {expert} out of {problem.periods[period].label}: "
                    f"{len(repaired.moved)} seat(s) changed"
                    f"{', fewest proven' if repaired.fewest else ''}")
            print(row(size, "replace", time.monotonic() - started, problem, repaired.plan,
                      "-", note))
        if baseline.status == "partial" and solved.status != "partial":
            empty = sum(u.missing for u in baseline.unfilled)
            rules = len(baseline.explanation) - len(baseline.unfilled)
            print(f"{size:4} greedy fails where the planner does not: {empty} seat(s) empty, "
                  f"{rules} rule(s) missed")
        elif solved.status != "unknown":
            ratio = worst_gap(problem, baseline) / max(worst_gap(problem, solved), 0.01)
            print(f"{size:4} greedy's worst nation is {ratio:.1f}x as far from its target")


if __name__ == "__main__":
    main()
