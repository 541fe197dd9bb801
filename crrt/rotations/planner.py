"""The rotation planner: one CP-SAT model over the whole horizon (Google OR-Tools).

Every seat is a choice of an expert who qualifies for it and is free for the whole period; the
team's rules (one seat per expert and period, at most so many per nation, no two periods in a
row) are hard. What cannot be met is not an "infeasible" answer but a priced shortfall: a seat
left empty, a language or a number of nations missing costs far more than any preference, so
the solver fills all it can and the plan says what is missing and why.

Among full plans it prefers, in this order of weight (the constants below):

- fairness: nations close to their seat targets over the horizon, the worst nation first, then
  the sum of every nation's distance;
- continuity: a team with at least one member of the previous period's team, so that someone
  hands over, and more if that member is its lead. Only where the template lets an expert
  serve two periods in a row: under the no-two-in-a-row rule no one can, and the term is
  left out;
- time-zone spread: a team whose members cover more distinct UTC offsets, up to three (the
  EU's zones), so someone is awake earlier and later;
- load spread: the busiest expert serves as few periods as possible;
- levels above a seat's minimum.

The shortfall is solved first and then held while the preferences are (see ``plan``), so the
order is strict, whatever the weights. The model is built by ``build`` so that a repair after a
withdrawal (``replacement``) solves the same rules over a window of the horizon.
"""

from __future__ import annotations

import heapq
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from crrt.rotations.problem import Assignment, Plan, Problem, Unfilled

Progress = Callable[[float, float, float], None]  # elapsed seconds, objective, bound

SCALE = 100                 # a seat, in the fairness terms' units
EMPTY_SEAT = 1_000_000      # any seat filled is worth more than every preference
MISSING_RULE = 500_000      # a language or a nation the team lacks
WORST_NATION = 1_000        # per hundredth of a seat the worst nation is off its target
ALL_NATIONS = 100           # per hundredth of a seat, summed over the nations
LEAD_HANDOVER = 300         # a bonus per lead who served on the previous period's team
HANDOVER = 150              # a bonus per team with at least one member of the previous team
ZONE = 100                  # a bonus per distinct UTC offset in a team, up to ZONES_COUNTED
ZONES_COUNTED = 3
BUSIEST_EXPERT = 50         # per period the busiest expert serves
LEVEL_ABOVE = 1             # per level above a seat's minimum (a bonus)
KEEP_SHARE = 0.4            # of the time, at most, for the first solve (seats and rules)


def targets_of(problem: Problem) -> dict[str, float]:
    """Seats each nation should hold over the horizon: as given, else in proportion to its
    experts who qualify for some seat."""
    if problem.targets is not None:
        return dict(problem.targets)
    seats = problem.template.size * len(problem.periods)
    qualified: dict[str, int] = defaultdict(int)
    for c in problem.candidates:
        if any(c.qualifies(s) for s in problem.template.slots):
            qualified[c.org] += 1
    total = sum(qualified.values())
    return {org: seats * n / total for org, n in qualified.items()} if total else {}


@dataclass
class Model:
    """The CP-SAT model of a problem, with the variables a caller reads or prices further.
    ``x[e, p, s]``: candidate index e holds a seat of slot s in period p."""

    model: cp_model.CpModel
    x: dict[tuple[int, int, int], cp_model.IntVar]
    short: dict[tuple[int, int], cp_model.IntVar]
    lacks: dict[tuple[int, str], cp_model.IntVar]
    shortfall: list[cp_model.LinearExprT] = field(default_factory=list)
    preference: list[cp_model.LinearExprT] = field(default_factory=list)
    fairness: cp_model.LinearExprT = 0
    goals: dict[str, int] = field(default_factory=dict)  # each nation's target, in hundredths
    caps: dict[str, int] = field(default_factory=dict)   # the most seats it can hold


def build(problem: Problem, *, blocked: Collection[tuple[int, int]] = (),
          before: Collection[int] = (), carried: Mapping[int, int] | None = None) -> Model:
    """The model of ``problem``. A repair of a window of a longer horizon passes what lies
    outside it: ``blocked`` (candidate index, period) pairs no one may fill (the rule of no two
    periods in a row across the window's edge), ``before`` the candidates on the team just
    before the window (for continuity) and ``carried`` each candidate's periods served
    outside it (for the load)."""
    template, periods = problem.template, problem.periods
    model = cp_model.CpModel()
    no = set(blocked)
    x: dict[tuple[int, int, int], cp_model.IntVar] = {}
    for e, c in enumerate(problem.candidates):
        fits = [s for s, slot in enumerate(template.slots) if c.qualifies(slot)]
        if not fits:
            continue
        for p, period in enumerate(periods):
            if (e, p) in no or not c.free(period):
                continue
            for s in fits:
                x[e, p, s] = model.new_bool_var(f"x{e}_{p}_{s}")
    m = Model(model, x, {}, {})
    serves = _seats(m)
    _rules(problem, m, serves)
    _fairness(problem, m, serves)
    if template.consecutive:
        _continuity(problem, m, serves, set(before))
    _zones(problem, m, serves)
    _load(problem, m, serves, carried or {})
    m.preference.extend(-LEVEL_ABOVE * (problem.candidates[e].skills[template.slots[s].skill]
                                        - template.slots[s].min_level) * v
                        for (e, _, s), v in x.items())
    return m


def _seats(m: Model) -> dict[tuple[int, int], cp_model.LinearExpr]:
    """Whether each candidate serves in each period: one seat at most."""
    by_expert: dict[tuple[int, int], list[cp_model.IntVar]] = defaultdict(list)
    for (e, p, _), v in m.x.items():
        by_expert[e, p].append(v)
    serves: dict[tuple[int, int], cp_model.LinearExpr] = {}
    for key, seats in by_expert.items():
        serves[key] = cp_model.LinearExpr.sum(seats)
        if len(seats) > 1:
            m.model.add(serves[key] <= 1)
    return serves


def _rules(problem: Problem, m: Model, serves: dict[tuple[int, int], cp_model.LinearExpr]
           ) -> None:
    """The team's rules: seats filled or priced short, nations and languages present or priced
    missing, at most so many per nation, and no two periods in a row unless allowed."""
    template, periods, model = problem.template, problem.periods, m.model
    by_seat: dict[tuple[int, int], list[cp_model.IntVar]] = defaultdict(list)
    for (_, p, s), v in m.x.items():
        by_seat[p, s].append(v)
    for p in range(len(periods)):
        for s, slot in enumerate(template.slots):
            m.short[p, s] = model.new_int_var(0, slot.count, f"short{p}_{s}")
            model.add(cp_model.LinearExpr.sum(by_seat[p, s]) + m.short[p, s] == slot.count)
            m.shortfall.append(EMPTY_SEAT * m.short[p, s])
    in_period: dict[tuple[int, str], list[cp_model.LinearExpr]] = defaultdict(list)
    speaks: dict[tuple[int, str], list[cp_model.LinearExpr]] = defaultdict(list)
    for (e, p), served in serves.items():
        c = problem.candidates[e]
        in_period[p, c.org].append(served)
        for language in c.languages & template.languages:
            speaks[p, language].append(served)
    orgs = sorted({c.org for c in problem.candidates})
    for p in range(len(periods)):
        present = []
        for org in orgs:
            members = in_period.get((p, org), [])
            if not members:
                continue
            if len(members) > template.max_per_nation:
                model.add(cp_model.LinearExpr.sum(members) <= template.max_per_nation)
            here = model.new_bool_var(f"here{p}_{org}")
            model.add(cp_model.LinearExpr.sum(members) >= here)
            present.append(here)
        m.lacks[p, "nations"] = model.new_int_var(0, template.min_nations, f"nations{p}")
        model.add(cp_model.LinearExpr.sum(present) + m.lacks[p, "nations"]
                  >= template.min_nations)
        m.shortfall.append(MISSING_RULE * m.lacks[p, "nations"])
        for language in sorted(template.languages):
            m.lacks[p, language] = model.new_bool_var(f"lang{p}_{language}")
            model.add(cp_model.LinearExpr.sum(speaks.get((p, language), []))
                      + m.lacks[p, language] >= 1)
            m.shortfall.append(MISSING_RULE * m.lacks[p, language])
    if not template.consecutive:
        for (e, p), served in serves.items():
            if (e, p + 1) in serves:
                model.add(served + serves[e, p + 1] <= 1)


def _fairness(problem: Problem, m: Model,
              serves: dict[tuple[int, int], cp_model.LinearExpr]) -> None:
    """Each nation's distance from its target over the horizon: the worst, then the sum."""
    model, targets = m.model, targets_of(problem)
    held_by: dict[str, list[cp_model.LinearExpr]] = defaultdict(list)
    for (e, _), served in serves.items():
        held_by[problem.candidates[e].org].append(served)
    m.goals = {org: round(targets.get(org, 0.0) * SCALE)
               for org in sorted({c.org for c in problem.candidates} | set(targets))}
    m.caps = _caps(problem, serves)
    # Seats are whole, so a nation is at least as far off as its target from the nearest
    # whole seat: said as the variables' lower bounds, it spares the solver proving it.
    least = {org: min(goal % SCALE, -goal % SCALE) for org, goal in m.goals.items()}
    worst = model.new_int_var(max(least.values(), default=0), SCALE * 10_000, "worst")
    offs = []
    for org, goal in m.goals.items():
        held = cp_model.LinearExpr.sum(held_by.get(org, []))
        off = model.new_int_var(least[org], SCALE * 10_000, f"off_{org}")
        model.add(off >= SCALE * held - goal)
        model.add(off >= goal - SCALE * held)
        model.add(worst >= off)
        offs.append(off)
    m.fairness = ALL_NATIONS * cp_model.LinearExpr.sum(offs) + WORST_NATION * worst
    m.preference.append(m.fairness)


def _caps(problem: Problem, serves: dict[tuple[int, int], cp_model.LinearExpr]
          ) -> dict[str, int]:
    """The most seats each nation can hold over the horizon: its experts' free periods (no
    two in a row unless allowed), at most so many a period."""
    template = problem.template
    free: dict[int, list[int]] = defaultdict(list)
    for e, p in sorted(serves):
        free[e].append(p)
    periods: dict[str, int] = defaultdict(int)
    for e, ps in free.items():
        taken = -2
        for p in ps:
            if template.consecutive or p > taken + 1:
                periods[problem.candidates[e].org] += 1
                taken = p
    per_period = min(template.max_per_nation, template.size)
    return {org: min(periods.get(org, 0), per_period * len(problem.periods))
            for org in {c.org for c in problem.candidates} | set(targets_of(problem))}


def fairness_floor(goals: Mapping[str, int], caps: Mapping[str, int], seats: int) -> int | None:
    """The least fairness cost of any plan holding ``seats`` seats, the nations' caps the only
    rule: a bound the solver's relaxation cannot see (seats are whole), found exactly here.
    For each candidate worst distance, every nation starts at its lowest count within it and
    seats go one by one where they cost least; the costs are convex, so that is the least.
    None if no split of the seats keeps to the caps."""
    def cost(org: str, held: int) -> int:
        return abs(SCALE * held - goals[org])

    candidates = sorted({cost(org, h) for org in goals for h in range(caps.get(org, 0) + 1)})
    floor = max(min(g % SCALE, -g % SCALE) for g in goals.values()) if goals else 0
    best: int | None = None
    for worst in candidates:
        if worst < floor:
            continue
        if best is not None and WORST_NATION * worst >= best:
            break
        low, high = {}, {}
        for org, goal in goals.items():
            low[org] = max(0, -((worst - goal) // SCALE))
            high[org] = min(caps.get(org, 0), (goal + worst) // SCALE)
        if any(low[org] > high[org] for org in goals) or \
                not sum(low.values()) <= seats <= sum(high.values()):
            continue
        held = dict(low)
        queue = [(cost(org, h + 1) - cost(org, h), org) for org, h in held.items()
                 if h < high[org]]
        heapq.heapify(queue)
        for _ in range(seats - sum(low.values())):
            _, org = heapq.heappop(queue)
            held[org] += 1
            if held[org] < high[org]:
                h = held[org]
                heapq.heappush(queue, (cost(org, h + 1) - cost(org, h), org))
        total = WORST_NATION * worst + ALL_NATIONS * sum(cost(o, h) for o, h in held.items())
        best = total if best is None else min(best, total)
    return best


def _continuity(problem: Problem, m: Model,
                serves: dict[tuple[int, int], cp_model.LinearExpr], before: set[int]) -> None:
    """A bonus for a team with a member of the previous team, and more if that is its lead."""
    model, slots = m.model, problem.template.slots
    leads: dict[tuple[int, int], list[cp_model.IntVar]] = defaultdict(list)
    for (e, p, s), v in m.x.items():
        if slots[s].lead:
            leads[e, p].append(v)
    stayed: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    for (e, p), served in serves.items():
        previous = serves.get((e, p - 1)) if p else None
        if previous is None and not (p == 0 and e in before):
            continue
        both = model.new_bool_var(f"stay{e}_{p}")
        model.add(both <= served)
        if previous is not None:
            model.add(both <= previous)
        stayed[p].append(both)
        if (e, p) in leads:
            lead = model.new_bool_var(f"lead{e}_{p}")
            model.add(lead <= both)
            model.add(lead <= cp_model.LinearExpr.sum(leads[e, p]))
            m.preference.append(-LEAD_HANDOVER * lead)
    for p, members in sorted(stayed.items()):
        handed = model.new_bool_var(f"handover{p}")
        model.add(handed <= cp_model.LinearExpr.sum(members))
        m.preference.append(-HANDOVER * handed)


def _zones(problem: Problem, m: Model,
           serves: dict[tuple[int, int], cp_model.LinearExpr]) -> None:
    """A bonus per distinct UTC offset among a team's members, up to ZONES_COUNTED."""
    if len({c.zone_offset for c in problem.candidates}) < 2:
        return
    model = m.model
    in_zone: dict[tuple[int, int], list[cp_model.LinearExpr]] = defaultdict(list)
    for (e, p), served in serves.items():
        in_zone[p, problem.candidates[e].zone_offset].append(served)
    covered: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    for (p, zone), members in sorted(in_zone.items()):
        here = model.new_bool_var(f"zone{p}_{zone}")
        model.add(cp_model.LinearExpr.sum(members) >= here)
        covered[p].append(here)
    for p, zones in covered.items():
        cover = model.new_int_var(0, ZONES_COUNTED, f"cover{p}")
        model.add(cover <= cp_model.LinearExpr.sum(zones))
        m.preference.append(-ZONE * cover)


def _load(problem: Problem, m: Model, serves: dict[tuple[int, int], cp_model.LinearExpr],
          carried: Mapping[int, int]) -> None:
    """The busiest expert's periods served, including those served outside the model."""
    model = m.model
    loads: dict[int, list[cp_model.LinearExpr]] = defaultdict(list)
    for (e, _), served in serves.items():
        loads[e].append(served)
    done = max(carried.values(), default=0)
    busiest = model.new_int_var(done, len(problem.periods) + done, "busiest")
    for e, load in loads.items():
        model.add(cp_model.LinearExpr.sum(load) + carried.get(e, 0) <= busiest)
    m.preference.append(BUSIEST_EXPERT * busiest)


class _Reporter(cp_model.CpSolverSolutionCallback):
    """Tells ``progress`` of each better plan the solver finds."""

    def __init__(self, progress: Progress, started: float) -> None:
        super().__init__()
        self._progress, self._started = progress, started

    def on_solution_callback(self) -> None:
        self._progress(time.monotonic() - self._started, self.objective_value,
                       self.best_objective_bound)


def plan(problem: Problem, *, seconds: float = 10.0, workers: int = 2,
         progress: Progress | None = None) -> Plan:
    """The best plan found within ``seconds`` of wall time (building the model included), with
    what could not be filled and why. ``progress`` hears of each better plan as it is found:
    (seconds since the call, its objective, the best bound).

    Two solves, one order: first every seat and rule that can be kept (the shortfall, at most
    KEEP_SHARE of the time), then, that held, the preferences, from the first answer and with
    the fairness floor of whole seats as a cut. Priced as one sum, the huge shortfall prices
    starve the solver's bound on the small preferences; apart, each is proven quickly. The
    plan's objective is the sum of both, ``shortfall`` the first; ``progress`` hears of the
    second solve's plans."""
    started = time.monotonic()
    m = build(problem)
    kept = cp_model.LinearExpr.sum(m.shortfall)
    m.model.minimize(kept)
    solver, status = solve(m.model, (seconds - (time.monotonic() - started)) * KEEP_SHARE,
                           workers)
    if status not in ("OPTIMAL", "FEASIBLE"):
        return read(problem, m, solver, status, started)
    shortfall, short = round(solver.objective_value), sum(map(solver.value, m.short.values()))
    m.model.add(kept <= shortfall)
    m.model.add(cp_model.LinearExpr.sum(list(m.short.values())) == short)
    floor = fairness_floor(m.goals, m.caps, problem.template.size * len(problem.periods) - short)
    if floor is not None:
        m.model.add(m.fairness >= floor)
    for v in m.x.values():
        m.model.add_hint(v, solver.value(v))
    m.model.minimize(cp_model.LinearExpr.sum(m.preference))
    heard = None if progress is None else _Shifted(progress, shortfall)
    again, status_again = solve(m.model, seconds - (time.monotonic() - started), workers,
                                heard, started)
    if status_again not in ("OPTIMAL", "FEASIBLE"):
        return read(problem, m, solver, "FEASIBLE", started)
    answer = read(problem, m, again, status if status_again == "OPTIMAL" else "FEASIBLE",
                  started)
    answer.shortfall = float(shortfall)
    answer.objective, answer.bound = shortfall + again.objective_value, \
        (shortfall if status == "OPTIMAL" else solver.best_objective_bound) \
        + again.best_objective_bound
    return answer


class _Shifted:
    """Progress of the second solve told as the whole objective: the shortfall added."""

    def __init__(self, progress: Progress, shortfall: int) -> None:
        self._progress, self._shortfall = progress, shortfall

    def __call__(self, elapsed: float, objective: float, bound: float) -> None:
        self._progress(elapsed, self._shortfall + objective, self._shortfall + bound)


def solve(model: cp_model.CpModel, seconds: float, workers: int,
          progress: Progress | None = None, started: float = 0.0
          ) -> tuple[cp_model.CpSolver, str]:
    """Run CP-SAT within ``seconds`` on ``workers``; the solver and its status's name."""
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(seconds, 0.05)
    solver.parameters.num_workers = workers
    reporter = None if progress is None else _Reporter(progress, started)
    return solver, solver.status_name(solver.solve(model, reporter))


def read(problem: Problem, m: Model, solver: cp_model.CpSolver, status: str,
         started: float) -> Plan:
    """The solver's answer as a plan, every seat left empty and rule missed said in words."""
    template, periods = problem.template, problem.periods
    result = Plan(status="unknown", targets=targets_of(problem))
    if status not in ("OPTIMAL", "FEASIBLE"):
        result.explanation.append("The solver found no plan in the time given.")
        result.solve_seconds = round(time.monotonic() - started, 3)
        return result
    result.objective, result.bound = solver.objective_value, solver.best_objective_bound
    for (e, p, s), v in sorted(m.x.items(), key=lambda item: (item[0][1], item[0][2],
                                                              item[0][0])):
        if solver.value(v):
            c = problem.candidates[e]
            result.assignments.append(Assignment(p, c.id, c.org, s, template.slots[s].lead))
    for (p, s), v in sorted(m.short.items()):
        if missing := solver.value(v):
            reason = why_empty(problem, p, s, missing)
            result.unfilled.append(Unfilled(p, s, missing, reason))
            result.explanation.append(reason)
    for (p, what), v in sorted(m.lacks.items()):
        if solver.value(v):
            label = periods[p].label
            result.explanation.append(
                f"{label}: the team has experts of fewer than {template.min_nations} nations."
                if what == "nations" else f"{label}: no member of the team speaks '{what}'.")
    result.status = "partial" if result.explanation else \
        "optimal" if status == "OPTIMAL" else "feasible"
    result.solve_seconds = round(time.monotonic() - started, 3)
    return result


def why_empty(problem: Problem, p: int, s: int, missing: int) -> str:
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
