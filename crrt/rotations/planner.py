"""The rotation planner: one CP-SAT model over the whole horizon (Google OR-Tools).

Every seat is a choice of an expert who qualifies for it and is free for the whole period; the
team's rules (one seat per expert and period, at most so many per nation, no two periods in a
row) are hard. What cannot be met is not an "infeasible" answer but a priced shortfall: a seat
left empty, a language or a number of nations missing costs far more than any unfairness, so
the solver fills all it can and the plan says what is missing and why. Among full plans it
prefers, in this order of weight: nations close to their targets over the horizon (the worst
first, then the sum), load spread between experts, and levels above a seat's minimum.
"""

from __future__ import annotations

import time
from collections import defaultdict

from ortools.sat.python import cp_model

from crrt.rotations.problem import Assignment, Plan, Problem, Unfilled

SCALE = 100                 # a seat, in the fairness terms' units
EMPTY_SEAT = 1_000_000      # any seat filled is worth more than any fairness
MISSING_RULE = 500_000      # a language or a nation the team lacks
WORST_NATION = 1_000        # per hundredth of a seat the worst nation is off its target
ALL_NATIONS = 100           # per hundredth of a seat, summed over the nations
BUSIEST_EXPERT = 50         # per period the busiest expert serves
LEVEL_ABOVE = 1             # per level above a seat's minimum (a bonus)


def targets_of(problem: Problem) -> dict[str, float]:
    """Seats each nation should hold over the horizon: as given, else in proportion to its
    experts who qualify for some seat."""
    if problem.targets is not None:
        return dict(problem.targets)
    seats = sum(s.count for s in problem.template.slots) * len(problem.periods)
    qualified: dict[str, int] = defaultdict(int)
    for c in problem.candidates:
        if any(c.qualifies(s) for s in problem.template.slots):
            qualified[c.org] += 1
    total = sum(qualified.values())
    return {org: seats * n / total for org, n in qualified.items()} if total else {}


def plan(problem: Problem, *, seconds: float = 10.0, workers: int = 2) -> Plan:
    """The best plan found within ``seconds``, with what could not be filled and why."""
    started = time.monotonic()
    template, periods = problem.template, problem.periods
    model = cp_model.CpModel()
    x: dict[tuple[int, int, int], cp_model.IntVar] = {}
    for e, c in enumerate(problem.candidates):
        for p, period in enumerate(periods):
            if not c.free(period):
                continue
            for s, slot in enumerate(template.slots):
                if c.qualifies(slot):
                    x[e, p, s] = model.new_bool_var(f"x{e}_{p}_{s}")
    by_expert: dict[tuple[int, int], list[cp_model.IntVar]] = defaultdict(list)
    by_seat: dict[tuple[int, int], list[cp_model.IntVar]] = defaultdict(list)
    for (e, p, s), v in x.items():
        by_expert[e, p].append(v)
        by_seat[p, s].append(v)
    serves: dict[tuple[int, int], cp_model.LinearExpr] = {}
    for key, seats in by_expert.items():
        serves[key] = cp_model.LinearExpr.sum(seats)
        model.add(serves[key] <= 1)
    costs: list[cp_model.LinearExprT] = []
    short: dict[tuple[int, int], cp_model.IntVar] = {}
    for p in range(len(periods)):
        for s, slot in enumerate(template.slots):
            short[p, s] = model.new_int_var(0, slot.count, f"short{p}_{s}")
            model.add(cp_model.LinearExpr.sum(by_seat[p, s]) + short[p, s] == slot.count)
            costs.append(EMPTY_SEAT * short[p, s])
    orgs = sorted({c.org for c in problem.candidates})
    lacks: dict[tuple[int, str], cp_model.IntVar] = {}
    in_period: dict[tuple[int, str], list[cp_model.LinearExpr]] = defaultdict(list)
    speaks: dict[tuple[int, str], list[cp_model.LinearExpr]] = defaultdict(list)
    for (e, p), served in serves.items():
        c = problem.candidates[e]
        in_period[p, c.org].append(served)
        for language in c.languages & template.languages:
            speaks[p, language].append(served)
    for p in range(len(periods)):
        present = []
        for org in orgs:
            members = in_period.get((p, org), [])
            if not members:
                continue
            model.add(cp_model.LinearExpr.sum(members) <= template.max_per_nation)
            here = model.new_bool_var(f"here{p}_{org}")
            model.add(cp_model.LinearExpr.sum(members) >= here)
            present.append(here)
        lacks[p, "nations"] = model.new_int_var(0, template.min_nations, f"nations{p}")
        model.add(cp_model.LinearExpr.sum(present) + lacks[p, "nations"]
                  >= template.min_nations)
        costs.append(MISSING_RULE * lacks[p, "nations"])
        for language in sorted(template.languages):
            lacks[p, language] = model.new_bool_var(f"lang{p}_{language}")
            model.add(cp_model.LinearExpr.sum(speaks.get((p, language), []))
                      + lacks[p, language] >= 1)
            costs.append(MISSING_RULE * lacks[p, language])
    if not template.consecutive:
        for e in range(len(problem.candidates)):
            for p in range(len(periods) - 1):
                if (e, p) in serves and (e, p + 1) in serves:
                    model.add(serves[e, p] + serves[e, p + 1] <= 1)
    targets = targets_of(problem)
    held_by: dict[str, list[cp_model.LinearExpr]] = defaultdict(list)
    for (e, _), served in serves.items():
        held_by[problem.candidates[e].org].append(served)
    worst = model.new_int_var(0, SCALE * 10_000, "worst")
    for org in sorted(set(orgs) | set(targets)):
        held = cp_model.LinearExpr.sum(held_by.get(org, []))
        goal = round(targets.get(org, 0.0) * SCALE)
        off = model.new_int_var(0, SCALE * 10_000, f"off_{org}")
        model.add(off >= SCALE * held - goal)
        model.add(off >= goal - SCALE * held)
        model.add(worst >= off)
        costs.append(ALL_NATIONS * off)
    costs.append(WORST_NATION * worst)
    busiest = model.new_int_var(0, len(periods), "busiest")
    loads: dict[int, list[cp_model.LinearExpr]] = defaultdict(list)
    for (e, _), served in serves.items():
        loads[e].append(served)
    for load in loads.values():
        model.add(cp_model.LinearExpr.sum(load) <= busiest)
    costs.append(BUSIEST_EXPERT * busiest)
    costs.extend(-LEVEL_ABOVE * (problem.candidates[e].skills[template.slots[s].skill]
                                 - template.slots[s].min_level) * v
                 for (e, _, s), v in x.items())
    model.minimize(cp_model.LinearExpr.sum(costs))

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = seconds
    solver.parameters.num_workers = workers
    status = solver.solve(model)
    result = Plan(status="unknown", targets=targets,
                  solve_seconds=round(time.monotonic() - started, 3))
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        result.explanation.append("The solver found no plan in the time given.")
        return result
    result.objective, result.bound = solver.objective_value, solver.best_objective_bound
    for (e, p, s), v in sorted(x.items()):
        if solver.value(v):
            c = problem.candidates[e]
            result.assignments.append(Assignment(p, c.id, c.org, s, template.slots[s].lead))
    for (p, s), v in sorted(short.items()):
        if missing := solver.value(v):
            reason = _why_empty(problem, p, s, missing)
            result.unfilled.append(Unfilled(p, s, missing, reason))
            result.explanation.append(reason)
    for (p, what), v in sorted(lacks.items()):
        if solver.value(v):
            label = periods[p].label
            result.explanation.append(
                f"{label}: the team has experts of fewer than {template.min_nations} nations."
                if what == "nations" else f"{label}: no member of the team speaks '{what}'.")
    gaps = bool(result.explanation)
    result.status = "partial" if gaps else \
        "optimal" if status == cp_model.OPTIMAL else "feasible"
    return result


def _why_empty(problem: Problem, p: int, s: int, missing: int) -> str:
    """Why seats stayed empty, in words a coordinator can act on."""
    period, slot = problem.periods[p], problem.template.slots[s]
    qualified = [c for c in problem.candidates if c.qualifies(slot)]
    free = [c for c in qualified if c.free(period)]
    need = f"{period.label}: {slot.skill} level >= {slot.min_level}"
    if slot.clearance:
        need += f" with clearance rank >= {slot.clearance}"
    head = f"{need} needs {slot.count}, {slot.count - missing} filled"
    if not qualified:
        return f"{head}: no expert in the pool qualifies."
    if not free:
        return (f"{head}: {_count(len(qualified), 'expert qualifies', 'experts qualify')}, "
                f"and {'it is' if len(qualified) == 1 else 'all are'} unavailable then.")
    return (f"{head}: {_count(len(free), 'qualified expert is', 'qualified experts are')} "
            "free then, and the others are held by other seats or by the team's rules "
            "(at most "
            f"{problem.template.max_per_nation} per nation"
            f"{'' if problem.template.consecutive else ', no two periods in a row'}).")


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


