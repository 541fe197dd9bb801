"""The weekly duty roster inside a rotation: a primary and a backup duty officer each week.

Weeks hand over on Monday at a local hour of the rotation's zone, so the hand-over keeps its
local time across a DST change and its UTC instant moves. The roster is one CP-SAT model: being
free is hard (nobody is put on a week they are away for any part of, in their own zone, and the
primary is never the backup); everything else is priced. An empty role costs more than any
unfairness, so every role that someone can take is filled, and a role nobody can take is left
None and explained. Among full rosters the model prefers, by weight: primary, total and backup
weeks each within a member's fair share, holidays and weekend days within theirs, nobody on
duty two weeks running, and a backup in another UTC offset than the primary (follow the sun).

A fair share is the role's total in proportion to the weeks (or weekend days, holidays) a
member is free for, rounded either way: a member away half the rotation owes half the duty.
Shares are bands rather than points, so a roster that keeps everyone in theirs costs nothing and
the solver proves it optimal as soon as it finds it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from ortools.sat.python import cp_model

from crrt.core.zones import time_zone_problem

PRIMARY, BACKUP = "primary", "backup"
EMPTY_PRIMARY = 1_000_000  # any primary filled is worth more than all the rest
EMPTY_BACKUP = 100_000
PRIMARY_SHARE = 100        # per week a member is outside their fair share of primaries
TOTAL_SHARE = 60           # ... of weeks on duty in either role
BACKUP_SHARE = 50          # ... of backups
HOLIDAY_SHARE = 40         # per holiday outside their share of holidays on duty
WEEKEND_SHARE = 20         # per weekend day outside their share of weekend days on duty
CONSECUTIVE = 30           # per member on duty two weeks running
SAME_OFFSET = 10           # per week whose backup shares the primary's UTC offset


@dataclass(frozen=True)
class DutyMember:
    """A member of the rotation's team: ``away`` holds inclusive day ranges, read as days in
    the member's own ``zone``."""

    id: int
    zone: str
    away: tuple[tuple[date, date], ...] = ()


@dataclass(frozen=True)
class Shift:
    """One week of duty, ``start`` to ``end`` as UTC instants. ``weekend_days`` and
    ``holidays`` count the rotation-zone days that begin inside it, so each day of the rotation
    belongs to exactly one shift."""

    start: datetime
    end: datetime
    primary: int | None
    backup: int | None
    weekend_days: int
    holidays: int


@dataclass(frozen=True)
class Gap:
    """A role left empty: the week (its first local day), which role, who was away, and why in
    words; pages in other languages word it from the fields."""

    week: date
    role: str
    away: tuple[int, ...]
    reason: str


@dataclass(frozen=True)
class Roster:
    """The shifts in order, the roles left empty with why, and whether the solver proved the
    roster the fairest (within ``seconds`` it may only have found a good one)."""

    shifts: tuple[Shift, ...]
    gaps: tuple[Gap, ...]
    optimal: bool  # the solver proved no roster is fairer


@dataclass(frozen=True)
class Load:
    """What a member carried over some shifts, for fairness pages."""

    primary: int = 0
    backup: int = 0
    weekend_days: int = 0
    holidays: int = 0


def weekly(start: date, end: date, members: Sequence[DutyMember], *,
           zone: str = "Europe/Brussels", handover_hour: int = 9,
           holidays: Collection[date] = (), seconds: float = 1.0) -> Roster:
    """The fairest weekly roster from ``start`` to ``end`` (both days included) found within
    ``seconds``; ``holidays`` are days in the rotation's ``zone``."""
    if end < start:
        raise ValueError("a roster must end on or after the day it starts")
    if not 0 <= handover_hour <= 23:
        raise ValueError("the hand-over hour is 0 to 23")
    if len({m.id for m in members}) != len(members):
        raise ValueError("each member may appear once")
    if problem := next(filter(None, map(time_zone_problem, {zone, *(m.zone for m in members)})),
                       None):
        raise ValueError(problem)
    here = ZoneInfo(zone)
    weeks = _weeks(start, end, here, handover_hour, frozenset(holidays))
    free = [[_free(m, week) for m in members] for week in weeks]
    chosen, optimal = _solve(weeks, members, free, seconds)
    shifts = tuple(replace(week, primary=p, backup=b)
                   for week, (p, b) in zip(weeks, chosen, strict=True))
    gaps = tuple(gap for s, shift in enumerate(shifts)
                 for gap in _gaps(shift, members, free[s], here))
    return Roster(shifts, gaps, optimal)


def fairness(shifts: Iterable[Shift], members: Iterable[int] = ()) -> dict[int, Load]:
    """Each member's load over ``shifts``; ``members`` adds those who carried nothing.
    Weekend days and holidays count for the primary and the backup alike: both are on call."""
    loads = {m: Load() for m in members}
    for shift in shifts:
        for who, role in ((shift.primary, PRIMARY), (shift.backup, BACKUP)):
            if who is None:
                continue
            load = loads.get(who, Load())
            loads[who] = Load(load.primary + (role == PRIMARY), load.backup + (role == BACKUP),
                              load.weekend_days + shift.weekend_days,
                              load.holidays + shift.holidays)
    return loads


def _weeks(start: date, end: date, zone: ZoneInfo, hour: int,
           holidays: frozenset[date]) -> list[Shift]:
    """Empty shifts between the hand-overs: ``start``, every Monday after it, and the day
    after ``end``, each at ``hour`` local time."""
    monday = start + timedelta(days=7 - start.weekday())
    mondays = (monday + timedelta(weeks=k) for k in range((end - monday).days // 7 + 1))
    days = [start, *mondays, end + timedelta(days=1)]
    weeks = []
    for first, after in pairwise(days):
        covered = [first + timedelta(days=k) for k in range((after - first).days)]
        weeks.append(Shift(_instant(first, hour, zone), _instant(after, hour, zone), None, None,
                           sum(d.weekday() >= 5 for d in covered),
                           sum(d in holidays for d in covered)))
    return weeks


def _instant(day: date, hour: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=zone).astimezone(UTC)


def _free(member: DutyMember, shift: Shift) -> bool:
    """Away on no day the shift touches in the member's zone; the hand-over day at each end
    counts, since the officer is on duty part of it."""
    zone = ZoneInfo(member.zone)
    first = shift.start.astimezone(zone).date()
    last = (shift.end - timedelta(microseconds=1)).astimezone(zone).date()
    return all(until < first or since > last for since, until in member.away)


def _offset(member: DutyMember, shift: Shift) -> timedelta | None:
    return shift.start.astimezone(ZoneInfo(member.zone)).utcoffset()


def _solve(weeks: list[Shift], members: Sequence[DutyMember], free: list[list[bool]],
           seconds: float) -> tuple[list[tuple[int | None, int | None]], bool]:
    """Who is primary and backup each week, and whether the solver proved it the fairest."""
    model = cp_model.CpModel()
    primary: dict[tuple[int, int], cp_model.IntVar] = {}
    backup: dict[tuple[int, int], cp_model.IntVar] = {}
    for w, row in enumerate(free):
        for m, ok in enumerate(row):
            if ok:
                primary[w, m] = model.new_bool_var(f"p{w}_{m}")
                backup[w, m] = model.new_bool_var(f"b{w}_{m}")
                model.add(primary[w, m] + backup[w, m] <= 1)
    costs: list[cp_model.LinearExprT] = []
    for w, row in enumerate(free):
        here = [m for m, ok in enumerate(row) if ok]
        if not here:
            continue
        filled_p = sum(primary[w, m] for m in here)
        filled_b = sum(backup[w, m] for m in here)
        model.add(filled_p <= 1)
        model.add(filled_b <= 1)
        costs.append(EMPTY_PRIMARY * (1 - filled_p) + EMPTY_BACKUP * (1 - filled_b))
        costs.extend(_same_offset(model, w, weeks[w], here, members, primary, backup))
    on = {key: primary[key] + backup[key] for key in primary}
    per_week = [1 if sum(row) else 0 for row in free], [1 if sum(row) > 1 else 0 for row in free]
    for m in range(len(members)):
        mine = [w for w in range(len(weeks)) if free[w][m]]
        costs.extend(_shares(model, m, mine, weeks, free, per_week, primary, backup, on))
        costs.extend(_consecutive(model, m, mine, on))
    model.minimize(sum(costs))
    start = _greedy(weeks, members, free)
    for (w, m), role in start.items():
        model.add_hint(primary[w, m], role == PRIMARY)
        model.add_hint(backup[w, m], role == BACKUP)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = seconds
    solver.parameters.num_workers = 2
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        # a machine too busy to find any roster in time: the greedy one, which keeps every
        # hard rule, rather than no roster at all
        return [(next((members[m].id for (v, m), r in start.items() if v == w and r == PRIMARY),
                      None),
                 next((members[m].id for (v, m), r in start.items() if v == w and r == BACKUP),
                      None)) for w in range(len(weeks))], False

    def holder(role: dict[tuple[int, int], cp_model.IntVar], w: int) -> int | None:
        return next((members[m].id for m in range(len(members))
                     if (w, m) in role and solver.value(role[w, m])), None)

    chosen = [(holder(primary, w), holder(backup, w)) for w in range(len(weeks))]
    return chosen, status == cp_model.OPTIMAL


def _greedy(weeks: list[Shift], members: Sequence[DutyMember],
            free: list[list[bool]]) -> dict[tuple[int, int], str | None]:
    """A quick fair-minded roster to start the solver from: each week the free member who has
    served least (and was not on last week) is primary, the next such one backup, preferring
    another UTC offset."""
    served = [[0, 0] for _ in members]
    last: set[int] = set()
    roles: dict[tuple[int, int], str | None] = {}
    for w, row in enumerate(free):
        here = [m for m, ok in enumerate(row) if ok]
        order = sorted(here, key=lambda m: (m in last, served[m][0], sum(served[m]), m))
        picked = order[:1]
        if order:
            offset = _offset(members[order[0]], weeks[w])
            rest = sorted(order[1:], key=lambda m: (
                m in last, served[m][1], sum(served[m]),
                _offset(members[m], weeks[w]) == offset, m))
            picked += rest[:1]
        for m in here:
            roles[w, m] = None
        for role, m in enumerate(picked):
            roles[w, m] = (PRIMARY, BACKUP)[role]
            served[m][role] += 1
        last = set(picked)
    return roles


def _same_offset(model: cp_model.CpModel, w: int, week: Shift, here: list[int],
                 members: Sequence[DutyMember], primary: dict[tuple[int, int], cp_model.IntVar],
                 backup: dict[tuple[int, int], cp_model.IntVar]) -> list[cp_model.LinearExprT]:
    """The price of a backup in the primary's UTC offset, where the week has a choice."""
    groups: dict[timedelta | None, list[int]] = defaultdict(list)
    for m in here:
        groups[_offset(members[m], week)].append(m)
    if len(groups) < 2:
        return []
    costs: list[cp_model.LinearExprT] = []
    for g, group in enumerate(groups.values()):
        same = model.new_bool_var(f"same{w}_{g}")
        model.add(sum(primary[w, m] + backup[w, m] for m in group) <= 1 + same)
        costs.append(SAME_OFFSET * same)
    return costs


def _shares(model: cp_model.CpModel, m: int, mine: list[int], weeks: list[Shift],
            free: list[list[bool]], per_week: tuple[list[int], list[int]],
            primary: dict[tuple[int, int], cp_model.IntVar],
            backup: dict[tuple[int, int], cp_model.IntVar],
            on: dict[tuple[int, int], cp_model.LinearExpr]) -> list[cp_model.LinearExprT]:
    """The price of member ``m`` carrying more or less than their fair share of each load."""
    first, second = per_week
    both = [a + b for a, b in zip(first, second, strict=True)]
    loads: list[tuple[int, Mapping[tuple[int, int], cp_model.LinearExprT], list[int], list[int]]]
    loads = [
        (PRIMARY_SHARE, primary, [1] * len(weeks), first),
        (BACKUP_SHARE, backup, [1] * len(weeks), second),
        (TOTAL_SHARE, on, [1] * len(weeks), both),
        (WEEKEND_SHARE, on, [s.weekend_days for s in weeks], both),
        (HOLIDAY_SHARE, on, [s.holidays for s in weeks], both),
    ]
    costs: list[cp_model.LinearExprT] = []
    for k, (weight, role, size, seats) in enumerate(loads):
        total = sum(size[w] * seats[w] for w in range(len(weeks)))
        could = sum(size[w] * sum(free[w]) for w in range(len(weeks)))
        if not total or not could:
            continue
        share = total * sum(size[w] for w in mine) / could
        carried = sum(size[w] * role[w, m] for w in mine if size[w])
        slack = (max(size) - 1) / 2  # a load in chunks of several days is shared to a chunk
        low, high = math.floor(share - slack), math.ceil(share + slack)
        off = model.new_int_var(0, sum(size) + high, f"off{m}_{k}")
        model.add(off >= carried - high)
        model.add(off >= low - carried)
        costs.append(weight * off)
    return costs


def _consecutive(model: cp_model.CpModel, m: int, mine: list[int],
                 on: dict[tuple[int, int], cp_model.LinearExpr]) -> list[cp_model.LinearExprT]:
    """The price of member ``m`` on duty (either role) in two weeks running."""
    costs: list[cp_model.LinearExprT] = []
    for w in mine:
        if (w + 1, m) in on:
            again = model.new_bool_var(f"again{m}_{w}")
            model.add(on[w, m] + on[w + 1, m] <= 1 + again)
            costs.append(CONSECUTIVE * again)
    return costs


def _gaps(shift: Shift, members: Sequence[DutyMember], free: list[bool],
          zone: ZoneInfo) -> list[Gap]:
    """Why a role of ``shift`` is empty: the solver fills every role someone free can take,
    so an empty role means too few were free."""
    week = shift.start.astimezone(zone).date()
    away = tuple(m.id for m, ok in zip(members, free, strict=True) if not ok)
    here = [m.id for m, ok in zip(members, free, strict=True) if ok]
    head = f"week of {week.isoformat()}: nobody free for"
    everyone = "no members" if not members else \
        f"all {_count(len(members), 'member')} away"
    gaps = []
    if shift.primary is None:
        gaps.append(Gap(week, PRIMARY, away, f"{head} primary: {everyone}"))
    if shift.backup is None:
        gaps.append(Gap(week, BACKUP, away, f"{head} backup: {_why(here, away, everyone)}"))
    return gaps


def _why(here: list[int], away: tuple[int, ...], everyone: str) -> str:
    if not here:
        return everyone
    if len(here) == 1:
        return f"only member {here[0]} is free, and is primary; {_count(len(away), 'member')} away"
    return "the solver left it empty in the time given"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun if n == 1 else noun + 's'}"
