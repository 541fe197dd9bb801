"""The jobs a worker knows: periodic ones, and one-off tasks queued with ``schedule()``.

A part registers its jobs in its ``jobs`` module with :func:`periodic` or :func:`task`;
``crrt.parts.load()`` imports every such module, so a worker knows them all.

A job's ``lease`` must exceed its run time: a worker that dies mid-run leaves the job leased,
and once the lease runs out another worker runs it again, so a job that outlives its lease
may run twice at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from crrt.core.config import Settings
from crrt.core.db import Database

NAME_LENGTH = 100


@dataclass(frozen=True)
class JobContext:
    """What a job gets: it opens its own sessions from ``database``, short ones."""

    database: Database
    settings: Settings
    payload: dict[str, Any]
    now: datetime


JobFunction = Callable[[JobContext], object]
PendingCheck = Callable[[Session, Settings], bool]


@dataclass(frozen=True)
class Periodic:
    """A job run at most every ``every``; ``pending`` (read-only) says whether there is work.

    A ``shared`` job is one every worker runs on its own passes, with no lease: it must be
    safe to run in several workers at once (the outbox, whose messages are claimed one by one
    with ``SKIP LOCKED``). No worker then waits for another's lease, so a worker killed
    mid-run holds nothing up but what it had itself claimed.
    """

    name: str
    run: JobFunction
    every: timedelta
    lease: timedelta
    pending: PendingCheck | None
    shared: bool = False


@dataclass(frozen=True)
class Task:
    """A job run once per ``schedule()`` call, retried with backoff up to ``max_attempts``."""

    name: str
    run: JobFunction
    lease: timedelta
    max_attempts: int


PERIODIC: dict[str, Periodic] = {}
TASKS: dict[str, Task] = {}


def _check_new(name: str, fn: JobFunction) -> None:
    if not name or len(name) > NAME_LENGTH:
        raise ValueError(f"a job name has 1 to {NAME_LENGTH} characters: {name!r}")
    existing = PERIODIC.get(name) or TASKS.get(name)
    # The same function registered again (its module imported twice) is not a clash.
    if existing is not None and (existing.run.__module__, existing.run.__qualname__) != (
            fn.__module__, fn.__qualname__):
        raise ValueError(f"two jobs are named {name!r}")


def periodic(name: str, *, every: timedelta, lease: timedelta = timedelta(minutes=5),
             pending: PendingCheck | None = None,
             shared: bool = False) -> Callable[[JobFunction], JobFunction]:
    """Register ``fn(ctx)`` to run every ``every``, and only when ``pending`` says so (on
    every worker, without a lease, if ``shared``)."""
    if every <= timedelta(0) or lease <= timedelta(0):
        raise ValueError("every and lease must be positive")

    def register(fn: JobFunction) -> JobFunction:
        _check_new(name, fn)
        TASKS.pop(name, None)
        PERIODIC[name] = Periodic(name=name, run=fn, every=every, lease=lease, pending=pending,
                                  shared=shared)
        return fn

    return register


def task(name: str, *, lease: timedelta = timedelta(minutes=5),
         max_attempts: int = 8) -> Callable[[JobFunction], JobFunction]:
    """Register ``fn(ctx)`` as a task that ``schedule(name=...)`` queues with a payload."""
    if lease <= timedelta(0) or max_attempts < 1:
        raise ValueError("lease must be positive and max_attempts at least 1")

    def register(fn: JobFunction) -> JobFunction:
        _check_new(name, fn)
        PERIODIC.pop(name, None)
        TASKS[name] = Task(name=name, run=fn, lease=lease, max_attempts=max_attempts)
        return fn

    return register


def unregister(name: str) -> None:
    """Forget a job (tests register their own and remove them afterwards)."""
    PERIODIC.pop(name, None)
    TASKS.pop(name, None)
