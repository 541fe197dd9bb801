"""IANA time zones: the one check every part uses (an expert's zone, an account's)."""

from __future__ import annotations

from functools import cache
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import AfterValidator, Field


@cache
def known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def time_zone_problem(key: str) -> str | None:
    """Why ``key`` is not an IANA time zone, or None if it is one."""
    if key in known_zones():
        try:
            ZoneInfo(key)
            return None
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    return f"'{key}' is not an IANA time zone (e.g. Europe/Vilnius, UTC)."


def _time_zone(value: str) -> str:
    value = value.strip()
    problem = time_zone_problem(value)
    if problem:
        raise ValueError(problem)
    return value


TimeZone = Annotated[str, Field(max_length=64), AfterValidator(_time_zone)]
