"""Calendar feeds as a client reads them: UTC instants that show the right local hand-over
across DST, no text that can start a line of its own, non-ASCII names intact, bounded size."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from crrt.rotations.calendar import Event, feed
from crrt.rotations.duty import DutyMember, weekly

VILNIUS = ZoneInfo("Europe/Vilnius")
T0 = datetime(2027, 3, 1, 7, tzinfo=UTC)
STAMP = datetime(2027, 2, 1, 12, tzinfo=UTC)
ATHENS = "Αθήνα"


def duty_feed(start: date, end: date) -> Calendar:
    team = [DutyMember(1, "Europe/Vilnius"), DutyMember(2, "Europe/Athens"),
            DutyMember(3, "Europe/Lisbon")]
    shifts = weekly(start, end, team, zone="Europe/Vilnius").shifts
    events = [Event(f"duty-{s.start:%Y%m%d}@crrt.example", s.start, s.end,
                    f"Duty: primary {s.primary}, backup {s.backup}", categories=("duty",))
              for s in shifts]
    return Calendar.from_ical(feed("Duty LT", events, zone="Europe/Vilnius", stamp=STAMP))


def local_and_utc_hours(calendar: Calendar) -> list[tuple[date, int, int]]:
    """Each event's start and end: its UTC date, its hour in Vilnius, its hour in UTC."""
    seen = []
    for event in calendar.walk("VEVENT"):
        for key in ("dtstart", "dtend"):
            moment = event.decoded(key)
            assert moment.utcoffset() == timedelta(0)
            seen.append((moment.date(), moment.astimezone(VILNIUS).hour, moment.hour))
    return seen


@pytest.mark.parametrize(("start", "end", "change", "before", "after"), [
    (date(2027, 3, 1), date(2027, 3, 31), date(2027, 3, 28), 7, 6),
    (date(2027, 10, 4), date(2027, 11, 14), date(2027, 10, 31), 6, 7),
])
def test_duty_weeks_hand_over_at_nine_in_vilnius_on_both_sides_of_a_dst_change(
        start: date, end: date, change: date, before: int, after: int) -> None:
    calendar = duty_feed(start, end)
    assert calendar["x-wr-timezone"] == "Europe/Vilnius"
    seen = local_and_utc_hours(calendar)
    assert {d < change for d, _, _ in seen} == {True, False}
    for day, local, utc in seen:
        assert local == 9
        assert utc == (before if day < change else after)


def test_the_feed_is_a_published_calendar_of_transparent_events() -> None:
    calendar = Calendar.from_ical(feed("Duty", [Event("a@x", T0, T0 + timedelta(days=7), "On")],
                                       stamp=STAMP))
    assert (calendar["prodid"], calendar["version"], calendar["calscale"],
            calendar["method"]) == ("-//crrt//duty//EN", "2.0", "GREGORIAN", "PUBLISH")
    assert "x-wr-timezone" not in calendar
    assert calendar["refresh-interval"].dt == timedelta(hours=1)
    assert b"X-PUBLISHED-TTL:PT1H" in calendar.to_ical()
    [event] = calendar.walk("VEVENT")
    assert event["uid"] == "a@x" and event["transp"] == "TRANSPARENT"
    assert event.decoded("dtstamp") == STAMP


def test_a_summary_with_a_line_break_cannot_inject_an_event() -> None:
    attack = "Duty\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:evil\r\nSUMMARY:pwned"
    event = Event(f"u1{attack}", T0, T0 + timedelta(hours=1), attack, description=attack,
                  categories=(attack,), url=f"https://crrt.example/{attack}")
    raw = feed(attack, [event], zone="Europe/Vilnius")
    lines = raw.decode().split("\r\n")
    assert lines.count("BEGIN:VEVENT") == 1 and not any(x.startswith("UID:evil") for x in lines)
    [parsed] = Calendar.from_ical(raw).walk("VEVENT")
    assert "\n" not in str(parsed["summary"]) and "\n" not in str(parsed["uid"])
    assert str(parsed["description"]).splitlines()[1] == "END:VEVENT"  # kept, but as text


def test_non_ascii_names_survive_the_round_trip() -> None:
    name = "Lietuva - Ελλάδα: budėjimas"
    event = Event("b@x", T0, T0 + timedelta(days=1), "Ελλάδα primary, Lietuva backup",
                  description=f"Šiaulių centras\n{ATHENS}", categories=("Lietuva", "Ελλάδα"))
    calendar = Calendar.from_ical(feed(name, [event]))
    [parsed] = calendar.walk("VEVENT")
    assert str(calendar["x-wr-calname"]) == name
    assert str(parsed["summary"]) == "Ελλάδα primary, Lietuva backup"
    assert str(parsed["description"]) == f"Šiaulių centras\n{ATHENS}"
    assert [str(c) for c in parsed["categories"].cats] == ["Lietuva", "Ελλάδα"]


def test_a_feed_holds_at_most_its_limit_of_events() -> None:
    events = (Event(f"{i}@x", T0 + timedelta(days=i), T0 + timedelta(days=i, hours=1), "On")
              for i in range(10_000))
    calendar = Calendar.from_ical(feed("Duty", events, limit=3))
    assert [str(e["uid"]) for e in calendar.walk("VEVENT")] == ["0@x", "1@x", "2@x"]


def test_events_must_be_aware_and_end_after_they_start() -> None:
    with pytest.raises(ValueError):
        Event("c@x", datetime(2027, 3, 1, 9), datetime(2027, 3, 1, 10), "naive")
    with pytest.raises(ValueError):
        Event("c@x", T0, T0, "empty")


def test_an_unknown_zone_is_refused_before_any_client_sees_it() -> None:
    with pytest.raises(ValueError):
        feed("Duty", [], zone="Europe/Atlantis")


def test_control_characters_never_reach_the_feed() -> None:
    event = Event("d@x", T0, T0 + timedelta(hours=1), "bell\x07 and\x00 null",
                  description="tab\tstays\x1b\x7f\u2028next")
    [parsed] = Calendar.from_ical(feed("Duty\x0b", [event])).walk("VEVENT")
    assert str(parsed["summary"]) == "bell and null"
    assert str(parsed["description"]) == "tab\tstays\nnext"
