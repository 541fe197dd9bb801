"""The one source of time, so tests move it instead of sleeping."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

_frozen: datetime | None = None


def now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return _frozen if _frozen is not None else datetime.now(UTC)


def today() -> date:
    """Today's date in UTC."""
    return now().date()


@contextmanager
def frozen(at: datetime) -> Iterator[None]:
    """Hold time still at ``at`` for the duration of the block (a naive ``at`` is UTC)."""
    global _frozen
    previous = _frozen
    _frozen = as_utc(at)
    try:
        yield
    finally:
        _frozen = previous


def advance(by: timedelta) -> None:
    """Move frozen time forward; only meaningful inside :func:`frozen`."""
    global _frozen
    if _frozen is None:
        raise RuntimeError("clock.advance() needs a frozen clock")
    _frozen = _frozen + by


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive time (as a query string may give) is taken to be UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def iso(moment: datetime) -> str:
    """An instant as the API writes it: ISO 8601 in UTC with a ``Z``."""
    return as_utc(moment).isoformat().replace("+00:00", "Z")
