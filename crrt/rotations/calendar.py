"""Calendar feeds (RFC 5545) an expert subscribes to: their duty weeks and rotations.

Times leave as UTC instants, so no client has to resolve a zone we wrote; the expert's zone
travels as the calendar's X-WR-TIMEZONE, a hint clients use to show those instants locally.
Text is cleaned before it reaches icalendar: a single-line value loses every control character,
so nothing a coordinator types (a CR/LF in a summary) can start a line of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice

from icalendar import Calendar, vDuration, vText
from icalendar import Event as VEvent

from crrt.core import clock
from crrt.core.zones import time_zone_problem

PRODID = "-//crrt//duty//EN"
REFRESH = timedelta(hours=1)
LIMIT = 5000  # events in one feed: a feed a client polls hourly must stay small

# C0 and C1 controls, DEL, and the Unicode line and paragraph separators
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_BREAKS = re.compile("\r\n|[\r\u2028\u2029\x85]")
_NOT_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Event:
    """One calendar entry; ``busy`` marks it OPAQUE, so a duty week (on call, not in a
    meeting) does not block the expert's free/busy time by default."""

    uid: str
    start: datetime
    end: datetime
    summary: str
    description: str = ""
    categories: tuple[str, ...] = ()
    url: str | None = None
    busy: bool = False

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("an event's start and end must be timezone-aware")
        if self.end <= self.start:
            raise ValueError("an event must end after it starts")
        if not line(self.uid):
            raise ValueError("an event needs a uid")


def feed(name: str, events: Iterable[Event], *, zone: str | None = None, limit: int = LIMIT,
         stamp: datetime | None = None) -> bytes:
    """A published VCALENDAR of at most ``limit`` events, the first ones ``events`` yields
    (so the caller orders them, the soonest first). ``stamp`` is every DTSTAMP (now)."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", vText(line(name)))
    if zone is not None:
        if problem := time_zone_problem(zone):  # here, not in every client
            raise ValueError(problem)
        calendar.add("x-wr-timezone", vText(zone))
    calendar.add("refresh-interval", vDuration(REFRESH), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH))
    when = clock.as_utc(stamp or clock.now())
    for event in islice(events, max(limit, 0)):
        calendar.add_component(_vevent(event, when))
    return bytes(calendar.to_ical())


def _vevent(event: Event, stamp: datetime) -> VEvent:
    vevent = VEvent()
    vevent.add("uid", line(event.uid))
    vevent.add("dtstamp", stamp)
    vevent.add("dtstart", clock.as_utc(event.start))
    vevent.add("dtend", clock.as_utc(event.end))
    vevent.add("summary", line(event.summary))
    if description := text(event.description):
        vevent.add("description", description)
    if categories := [c for c in map(line, event.categories) if c]:
        vevent.add("categories", categories)
    if event.url and (url := line(event.url)):
        vevent.add("url", url)
    vevent.add("transp", "OPAQUE" if event.busy else "TRANSPARENT")
    return vevent


def line(value: str) -> str:
    """``value`` fit for a one-line property: every control character becomes a space."""
    return " ".join(_CONTROLS.sub(" ", value).split())


def text(value: str) -> str:
    """``value`` fit for a multi-line TEXT property: line breaks kept as LF (icalendar writes
    them escaped, ``\\n``), tabs kept, every other control character dropped."""
    return _NOT_TEXT.sub("", _BREAKS.sub("\n", value)).strip()
