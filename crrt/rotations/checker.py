"""The independent checker: every hard rule of a plan verified again, without the solver.

It trusts nothing the planner computed: it reads the problem and the assignments only, so a
fault in the model (or a plan edited by hand, or replaced seat by seat) shows as a violation.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from crrt.rotations.problem import Plan, Problem


def violations(problem: Problem, plan: Plan) -> list[str]:
    """Every broken hard rule of ``plan``, in words; an empty list for a sound plan. Seats,
    languages and nations the plan declares missing are not violations, undeclared ones are."""
    template, periods = problem.template, problem.periods
    experts = {c.id: c for c in problem.candidates}
    found: list[str] = []
    seated: Counter[tuple[int, int]] = Counter()
    filled: Counter[tuple[int, int]] = Counter()
    team: dict[int, set[int]] = defaultdict(set)
    for a in plan.assignments:
        expert = experts.get(a.expert)
        if expert is None or not 0 <= a.period < len(periods) or \
                not 0 <= a.slot < len(template.slots):
            found.append(f"expert {a.expert} in period {a.period}, seat {a.slot}: names an "
                         "expert, period or seat the problem does not have.")
            continue
        period, slot = periods[a.period], template.slots[a.slot]
        if expert.org != a.org:
            found.append(f"{period.label}: expert {a.expert} is of {expert.org}, not {a.org}.")
        if not expert.qualifies(slot):
            found.append(f"{period.label}: expert {a.expert} does not qualify for "
                         f"{slot.skill} level >= {slot.min_level}.")
        if not expert.free(period):
            found.append(f"{period.label}: expert {a.expert} is unavailable then.")
        seated[a.period, a.expert] += 1
        filled[a.period, a.slot] += 1
        team[a.period].add(a.expert)
    found += [f"{periods[p].label}: expert {e} holds {n} seats."
              for (p, e), n in sorted(seated.items()) if n > 1]
    declared = {(u.period, u.slot): u.missing for u in plan.unfilled}
    for p, period in enumerate(periods):
        for s, slot in enumerate(template.slots):
            have = filled[p, s]
            if have > slot.count:
                found.append(f"{period.label}: {slot.skill} has {have} seats of {slot.count}.")
            elif have + declared.get((p, s), 0) != slot.count:
                found.append(f"{period.label}: {slot.skill} has {have} of {slot.count} "
                             "seats filled and the plan does not say why.")
        members = [experts[e] for e in team[p]]
        for org, n in Counter(m.org for m in members).items():
            if n > template.max_per_nation:
                found.append(f"{period.label}: {org} has {n} members, at most "
                             f"{template.max_per_nation} allowed.")
        said = " ".join(plan.explanation)
        nations = len({m.org for m in members})
        if nations < template.min_nations and f"{period.label}: the team has experts of " \
                not in said:
            found.append(f"{period.label}: {nations} nations, {template.min_nations} needed.")
        for language in sorted(template.languages):
            if not any(language in m.languages for m in members) and \
                    f"{period.label}: no member of the team speaks '{language}'." not in said:
                found.append(f"{period.label}: no member speaks '{language}'.")
        if not template.consecutive and p + 1 < len(periods):
            again = sorted(team[p] & team[p + 1])
            found += [f"{period.label} and {periods[p + 1].label}: expert {e} serves both."
                      for e in again]
    return found
