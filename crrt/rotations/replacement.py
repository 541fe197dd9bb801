"""A plan repaired after a withdrawal, disturbing as few other seats as possible.

A team already told of its members should not be reshuffled because one of them withdrew, so
the repair is a lexicographic choice: first every seat and rule the team can keep (the same
prices as the planner's), then the fewest seats whose holder changes, and only then the
planner's preferences among repairs that change equally few. It solves the planner's own model
(``planner.build``), the withdrawn expert marked away for the period, over the smallest window
that can matter: the period alone, or with its neighbours when no one may serve two periods in a
row (someone on a neighbouring team can be freed by a change there). Periods outside the window
stay as they are and enter the model as constants: their seats count towards the nations'
targets and the experts' load, and whoever serves next to the window may not serve at its edge.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import replace as changed

from ortools.sat.python import cp_model

from crrt.rotations import planner
from crrt.rotations.problem import Assignment, Move, Plan, Problem, Replacement, Unfilled

FIRST_SHARE = 0.6  # of the time budget, for the fewest changes; the rest for preferences


def replace(problem: Problem, plan: Plan, *, period: int, expert: int, seconds: float = 2.0,
            frozen_before: int = 0, workers: int = 2) -> Replacement:
    """``plan`` without ``expert`` in ``period``, changing the fewest other seats; a seat no one
    can take is left empty and said why. Periods before ``frozen_before`` (already served)
    never change. An expert who holds no seat then leaves the plan as it was."""
    started = time.monotonic()
    if not frozen_before <= period < len(problem.periods):
        raise ValueError(f"period {period} is not open to change")
    ids = {c.id: e for e, c in enumerate(problem.candidates)}
    if expert not in ids:
        raise ValueError(f"expert {expert} is not in the problem")
    if not any(a.period == period and a.expert == expert for a in plan.assignments):
        return Replacement(plan=plan, fewest=True)
    problem = _away(problem, ids[expert], period)
    reach = 0 if problem.template.consecutive else 1
    first = max(frozen_before, period - reach)
    last = min(len(problem.periods) - 1, period + reach)
    window, m = _window(problem, plan, ids, first, last)
    old = {(ids[a.expert], a.period - first, a.slot) for a in plan.assignments
           if first <= a.period <= last}
    fewest, values = _solve(m, old, seconds - (time.monotonic() - started), workers)
    seated = [key for key, v in m.x.items() if values.get(key, key in old)]
    repaired = _plan(problem, plan, window, m, first, seated, values, started)
    moves = _moves(problem, plan, repaired, first, last)
    return Replacement(plan=repaired, changes=_words(problem, repaired, moves, expert),
                       moved=moves, fewest=fewest)


def _away(problem: Problem, e: int, p: int) -> Problem:
    """The problem with candidate index ``e`` away for the whole of period ``p``."""
    span = problem.periods[p]
    who = problem.candidates[e]
    gone = changed(who, away=(*who.away, (span.start, span.end)))
    return changed(problem, candidates=(*problem.candidates[:e], gone,
                                        *problem.candidates[e + 1:]))


def _window(problem: Problem, plan: Plan, ids: dict[int, int], first: int, last: int
            ) -> tuple[Problem, planner.Model]:
    """The planner's model of periods ``first`` to ``last``, the rest of ``plan`` held fixed."""
    inside = range(first, last + 1)
    targets = planner.targets_of(problem)
    carried: Counter[int] = Counter()
    team: dict[int, set[int]] = defaultdict(set)
    for a in plan.assignments:
        team[a.period].add(ids[a.expert])
        if a.period not in inside:
            targets[a.org] = targets.get(a.org, 0.0) - 1
            carried[ids[a.expert]] += 1
    window = changed(problem, periods=problem.periods[first:last + 1], targets=targets)
    blocked: set[tuple[int, int]] = set()
    if not problem.template.consecutive:
        blocked |= {(e, 0) for e in team.get(first - 1, set())}
        blocked |= {(e, last - first) for e in team.get(last + 1, set())}
    m = planner.build(window, blocked=blocked, before=team.get(first - 1, set()),
                      carried=carried)
    return window, m


def _solve(m: planner.Model, old: set[tuple[int, int, int]], seconds: float, workers: int
           ) -> tuple[bool, dict[tuple[int, int, int], int]]:
    """Seats and rules kept first, then the fewest seats changed, then the preferences; whether
    the fewest changes were proven, and the chosen seats (empty if the solver found none)."""
    model, x = m.model, m.x
    kept = cp_model.LinearExpr.sum(m.shortfall)
    moved = cp_model.LinearExpr.sum([v for key, v in x.items() if key not in old])
    for key, v in x.items():
        model.add_hint(v, key in old)
    model.minimize(kept + moved)  # a change weighs 1, a seat or a rule missed far more
    started = time.monotonic()
    solver, status = planner.solve(model, seconds * FIRST_SHARE, workers)
    if status not in ("OPTIMAL", "FEASIBLE"):
        return False, {}
    values = {key: int(solver.value(v)) for key, v in x.items()}
    model.add(kept + moved <= round(solver.objective_value))
    model.clear_hints()  # type: ignore[no-untyped-call]
    for key, v in x.items():
        model.add_hint(v, values[key])
    model.minimize(cp_model.LinearExpr.sum(m.preference))
    again, status_again = planner.solve(model, seconds - (time.monotonic() - started), workers)
    if status_again in ("OPTIMAL", "FEASIBLE"):
        values = {key: int(again.value(v)) for key, v in x.items()}
    return status == "OPTIMAL", values


def _plan(problem: Problem, plan: Plan, window: Problem, m: planner.Model, first: int,
          seated: list[tuple[int, int, int]], values: dict[tuple[int, int, int], int],
          started: float) -> Plan:
    """The old plan outside the window and the repair inside it, explained like a planner's."""
    inside = range(first, first + len(window.periods))
    repaired = Plan(status="feasible", targets=planner.targets_of(problem),
                    assignments=[a for a in plan.assignments if a.period not in inside],
                    unfilled=[u for u in plan.unfilled if u.period not in inside])
    part = _fill(window, m, seated, values)
    for a in part.assignments:
        repaired.assignments.append(changed(a, period=a.period + first))
    for u in part.unfilled:
        repaired.unfilled.append(changed(u, period=u.period + first))
    repaired.assignments.sort(key=lambda a: (a.period, a.slot, a.expert))
    repaired.unfilled.sort(key=lambda u: (u.period, u.slot))
    for p, span in enumerate(problem.periods):
        said = part.explanation if p in inside else plan.explanation
        repaired.explanation += [line for line in said if line.startswith(f"{span.label}:")]
    repaired.status = "partial" if repaired.explanation else "feasible"
    repaired.solve_seconds = round(time.monotonic() - started, 3)
    return repaired


def _fill(window: Problem, m: planner.Model, seated: list[tuple[int, int, int]],
          values: dict[tuple[int, int, int], int]) -> Plan:
    """The window's seats as a plan of the window, seats and rules missed said in words."""
    template = window.template
    part = Plan(status="feasible")
    filled: Counter[tuple[int, int]] = Counter()
    members: dict[int, list[int]] = defaultdict(list)
    for e, p, s in sorted(seated, key=lambda key: (key[1], key[2], key[0])):
        c = window.candidates[e]
        part.assignments.append(Assignment(p, c.id, c.org, s, template.slots[s].lead))
        filled[p, s] += 1
        members[p].append(e)
    for p, span in enumerate(window.periods):
        for s, slot in enumerate(template.slots):
            if missing := slot.count - filled[p, s]:
                reason = planner.why_empty(window, p, s, missing)
                part.unfilled.append(Unfilled(p, s, missing, reason))
                part.explanation.append(reason)
        team = [window.candidates[e] for e in members[p]]
        if len({c.org for c in team}) < template.min_nations:
            part.explanation.append(f"{span.label}: the team has experts of fewer than "
                                    f"{template.min_nations} nations.")
        part.explanation += [f"{span.label}: no member of the team speaks '{language}'."
                             for language in sorted(template.languages)
                             if not any(language in c.languages for c in team)]
    return part


def _moves(problem: Problem, old: Plan, new: Plan, first: int, last: int) -> list[Move]:
    """Each seat whose holder changed, slot by slot, leavers paired with comers in order."""
    holders: dict[tuple[int, int], tuple[set[int], set[int]]] = defaultdict(
        lambda: (set(), set()))
    for i, plan in enumerate((old, new)):
        for a in plan.assignments:
            if first <= a.period <= last:
                holders[a.period, a.slot][i].add(a.expert)
    moves = []
    for (p, s), (before, after) in sorted(holders.items()):
        left, came = sorted(before - after), sorted(after - before)
        for i in range(max(len(left), len(came))):
            moves.append(Move(p, s, left[i] if i < len(left) else None,
                              came[i] if i < len(came) else None))
    return moves


def _words(problem: Problem, plan: Plan, moves: list[Move], withdrawn: int) -> list[str]:
    """The moves as a coordinator reads them, the withdrawn expert's seat first."""
    org = {c.id: c.org for c in problem.candidates}
    reasons = {(u.period, u.slot): u.reason for u in plan.unfilled}
    lines = []
    for move in sorted(moves, key=lambda move: move.old != withdrawn):
        label = problem.periods[move.period].label
        skill = problem.template.slots[move.slot].skill
        if move.old is not None and move.new is not None:
            lines.append(f"{label}: expert {move.new} ({org[move.new]}) replaces expert "
                         f"{move.old} ({org[move.old]}) as {skill}")
        elif move.old is not None:
            lines.append(f"{label}: expert {move.old} ({org[move.old]}) leaves {skill} and "
                         "no one replaces them. "
                         + reasons.get((move.period, move.slot), ""))
        elif move.new is not None:
            lines.append(f"{label}: expert {move.new} ({org[move.new]}) takes an empty "
                         f"{skill} seat")
    return [line.strip() for line in lines]
