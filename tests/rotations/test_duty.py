"""The weekly duty roster: nobody on duty while away, never primary and backup at once, loads
spread evenly, hand-overs at the same local hour across DST, and empty roles explained."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crrt.rotations.duty import BACKUP, PRIMARY, DutyMember, Load, Shift, fairness, weekly

ZONES = ("Europe/Vilnius", "Europe/Lisbon", "Europe/Brussels", "Europe/Athens")
TEAM = [DutyMember(i, ZONES[i % 4]) for i in range(12)]
H1 = date(2027, 1, 4), date(2027, 7, 4)  # 26 full weeks, Monday to Sunday


def touches(shift: Shift, member: DutyMember) -> set[date]:
    """The member's local days on which some instant of the shift falls."""
    zone, day = ZoneInfo(member.zone), shift.start
    days = set()
    while day < shift.end:
        days.add(day.astimezone(zone).date())
        day += timedelta(hours=1)
    return days | {(shift.end - timedelta(seconds=1)).astimezone(zone).date()}


def away_on(member: DutyMember, days: set[date]) -> bool:
    return any(since <= d <= until for d in days for since, until in member.away)


def on_duty(shift: Shift) -> set[int]:
    return {m for m in (shift.primary, shift.backup) if m is not None}


def test_everyone_free_carries_primaries_and_backups_within_one_of_each_other() -> None:
    roster = weekly(*H1, TEAM, seconds=10)
    loads = fairness(roster.shifts, [m.id for m in TEAM])
    assert len(roster.shifts) == 26 and not roster.gaps
    for count in (lambda x: x.primary, lambda x: x.backup, lambda x: x.primary + x.backup):
        spread = [count(load) for load in loads.values()]
        assert max(spread) - min(spread) <= 1


def test_nobody_is_on_duty_two_weeks_running_when_the_team_is_large_enough() -> None:
    shifts = weekly(*H1, TEAM, seconds=10).shifts
    assert all(not on_duty(a) & on_duty(b) for a, b in pairwise(shifts))


def test_holidays_and_weekend_days_are_spread_across_the_team() -> None:
    team = TEAM[:6]
    holidays = [date(2027, 1, 6), date(2027, 1, 20), date(2027, 2, 16), date(2027, 3, 1),
                date(2027, 3, 11), date(2027, 3, 26)]
    # from a Friday: the first shift is three days long and holds a whole weekend
    roster = weekly(date(2027, 1, 1), date(2027, 3, 31), team, holidays=holidays, seconds=10)
    assert roster.shifts[0].weekend_days == 2 and roster.shifts[0].holidays == 0
    assert sum(s.holidays for s in roster.shifts) == len(holidays)
    loads = fairness(roster.shifts, [m.id for m in team]).values()
    held = [load.holidays for load in loads]
    weekends = [load.weekend_days for load in loads]
    assert held == [2] * len(team)
    assert max(weekends) - min(weekends) <= 2  # weekends come two days at a time


def test_a_member_away_for_weeks_is_never_on_duty_then_and_carries_less() -> None:
    long_away = DutyMember(0, "Europe/Vilnius", ((date(2027, 2, 1), date(2027, 4, 30)),))
    team = [long_away, *TEAM[1:6]]
    roster = weekly(*H1, team, seconds=10)
    for shift in roster.shifts:
        if away_on(long_away, touches(shift, long_away)):
            assert 0 not in on_duty(shift)
    served = Counter(m for s in roster.shifts for m in on_duty(s))
    assert 0 < served[0] < min(served[m.id] for m in team[1:])


def test_the_hand_over_day_counts_so_a_member_leaving_on_monday_skips_the_week_before() -> None:
    leaves = DutyMember(0, "Europe/Brussels", ((date(2027, 1, 11), date(2027, 1, 11)),))
    roster = weekly(date(2027, 1, 4), date(2027, 1, 17), [leaves, TEAM[1], TEAM[2]])
    assert all(0 not in on_duty(s) for s in roster.shifts)


def test_a_week_with_everyone_away_is_left_empty_and_explained() -> None:
    team = [DutyMember(1, "Europe/Vilnius", ((date(2027, 3, 30), date(2027, 4, 4)),)),
            DutyMember(2, "Europe/Athens", ((date(2027, 3, 23), date(2027, 4, 4)),)),
            DutyMember(3, "Europe/Lisbon", ((date(2027, 3, 26), date(2027, 4, 13)),))]
    roster = weekly(date(2027, 3, 15), date(2027, 4, 18), team)
    assert [(s.primary is None, s.backup is None) for s in roster.shifts] == [
        (False, False), (False, True), (True, True), (False, False), (False, False)]
    assert roster.shifts[1].primary == 1
    assert [(g.week, g.role, g.away) for g in roster.gaps] == [
        (date(2027, 3, 22), BACKUP, (2, 3)), (date(2027, 3, 29), PRIMARY, (1, 2, 3)),
        (date(2027, 3, 29), BACKUP, (1, 2, 3))]
    assert [g.reason for g in roster.gaps] == [
        "week of 2027-03-22: nobody free for backup: only member 1 is free, and is primary; "
        "2 members away",
        "week of 2027-03-29: nobody free for primary: all 3 members away",
        "week of 2027-03-29: nobody free for backup: all 3 members away"]


@pytest.mark.parametrize(("start", "end", "change", "before", "after"), [
    (date(2027, 3, 3), date(2027, 4, 13), date(2027, 3, 28), 7, 6),
    (date(2027, 10, 6), date(2027, 11, 16), date(2027, 10, 31), 6, 7),
])
def test_hand_overs_stay_at_nine_local_across_a_dst_change(
        start: date, end: date, change: date, before: int, after: int) -> None:
    vilnius = ZoneInfo("Europe/Vilnius")
    shifts = weekly(start, end, TEAM[:4], zone="Europe/Vilnius").shifts
    edges = [shifts[0].start, *(s.end for s in shifts)]
    assert all(a.end == b.start for a, b in pairwise(shifts))
    assert edges[0].astimezone(vilnius).date() == start  # a Wednesday: a short first week
    assert edges[-1].astimezone(vilnius).date() == end + timedelta(days=1)
    for edge in edges:
        assert edge.tzinfo is UTC
        assert edge.astimezone(vilnius).hour == 9
        assert edge.hour == (before if edge.date() < change else after)
    assert all(e.astimezone(vilnius).weekday() == 0 for e in edges[1:-1])


def test_the_backup_is_in_another_utc_offset_than_the_primary_when_possible() -> None:
    lisbon = {5, 6}
    team = [*(DutyMember(i, "Europe/Vilnius") for i in range(1, 5)),
            *(DutyMember(i, "Europe/Lisbon") for i in sorted(lisbon))]
    roster = weekly(date(2027, 1, 4), date(2027, 1, 31), team, seconds=10)
    assert roster.optimal and not roster.gaps
    assert all(len(on_duty(s) & lisbon) == 1 for s in roster.shifts)


def test_fairness_counts_roles_weekend_days_and_holidays_and_lists_idle_members() -> None:
    t = datetime(2027, 1, 4, 8, tzinfo=UTC)
    shifts = [Shift(t, t + timedelta(days=7), 1, 2, 2, 1),
              Shift(t + timedelta(days=7), t + timedelta(days=14), 2, None, 2, 0)]
    assert fairness(shifts, [3]) == {1: Load(1, 0, 2, 1), 2: Load(1, 1, 4, 1), 3: Load()}


def test_a_roster_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError):
        weekly(date(2027, 2, 1), date(2027, 1, 31), TEAM)


@st.composite
def teams(draw: st.DrawFn) -> tuple[date, date, list[DutyMember]]:
    start = date(2027, 1, 1) + timedelta(days=draw(st.integers(0, 360)))
    end = start + timedelta(days=draw(st.integers(0, 60)))
    members = []
    for i in range(draw(st.integers(0, 6))):
        away = tuple((s, s + timedelta(days=draw(st.integers(0, 20)))) for s in (
            start + timedelta(days=draw(st.integers(-10, 60)))
            for _ in range(draw(st.integers(0, 2)))))
        members.append(DutyMember(i + 10, draw(st.sampled_from(ZONES)), away))
    return start, end, members


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(teams())
def test_hard_rules_hold_and_every_role_someone_can_take_is_taken(
        case: tuple[date, date, list[DutyMember]]) -> None:
    start, end, members = case
    roster = weekly(start, end, members, seconds=2)
    assert roster.shifts[0].start < roster.shifts[-1].end
    empty = 0
    for shift in roster.shifts:
        free = {m.id for m in members if not away_on(m, touches(shift, m))}
        assert on_duty(shift) <= free
        assert shift.primary is None or shift.primary != shift.backup
        assert (shift.primary is not None) == (len(free) >= 1)
        assert (shift.backup is not None) == (len(free) >= 2)
        empty += (shift.primary is None) + (shift.backup is None)
    assert len(roster.gaps) == empty


def test_no_time_to_search_still_gives_a_roster_that_keeps_the_rules():
    """A machine too busy for the solver gets the greedy roster, never none."""
    members = [DutyMember(i, "Europe/Vilnius",
                          ((date(2027, 2, 1), date(2027, 2, 20)),) if i == 0 else ())
               for i in range(5)]
    roster = weekly(date(2027, 1, 1), date(2027, 6, 30), members, zone="Europe/Vilnius",
                    seconds=1e-9)
    assert len(roster.shifts) == 27
    for shift in roster.shifts:
        assert shift.primary is not None and shift.backup is not None
        assert shift.primary != shift.backup
    february = [s for s in roster.shifts if date(2027, 2, 1) <= s.start.date() <= date(2027, 2, 14)]
    assert february and all(0 not in (s.primary, s.backup) for s in february)
