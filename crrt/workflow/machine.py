"""A state machine as a table: states, the transitions allowed between them, the permission
each needs (asked of :mod:`crrt.access.policy`), and optional deadlines.

Requests for assistance, deployments, cases, exercises and a nation's membership all move this
way, so a move that is not in the table is refused the same way everywhere (409), a move the
caller may not make is refused by the policy (403), and each move leaves one audit event named
``<machine>.<transition>``. A deadline is a task queued with the move (``workflow.deadline``,
run by the workers); when it comes due and the record still sits in that state, the machine
tells its expiry handlers and, if the deadline says so, makes a move itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from crrt.access import policy
from crrt.access.policy import Permission
from crrt.access.principal import Principal
from crrt.audit import service as audit
from crrt.core import clock
from crrt.core.errors import Conflict
from crrt.jobs import service as jobs
from crrt.workflow.models import Stateful

DEADLINE_TASK = "workflow.deadline"
PLATFORM = Principal.system("workflow")


@dataclass(frozen=True)
class Transition:
    """A move named ``name`` from any of ``sources`` to any of ``targets``."""

    name: str
    sources: frozenset[str]
    targets: frozenset[str]
    permission: Permission


def transition(name: str, *, sources: Iterable[str], targets: Iterable[str],
               permission: Permission) -> Transition:
    return Transition(name, frozenset(sources), frozenset(targets), permission)


@dataclass(frozen=True)
class Deadline:
    """How long a record may sit in ``state`` before ``name`` passes: ``after`` a fixed time
    or as the record says (a request's severity sets its clock). When it passes, the expiry
    handlers are told, and the platform moves the record to ``then`` if one is given."""

    state: str
    after: timedelta | Callable[[Any], timedelta]
    name: str = "deadline"
    then: str | None = None

    def due(self, record: Stateful) -> datetime:
        after = self.after(record) if callable(self.after) else self.after
        return record.state_since + after


Loader = Callable[[Session, str], Stateful | None]
ExpiryHandler = Callable[[Session, Stateful, Deadline], None]

MACHINES: dict[str, Machine] = {}


class Machine:
    """One kind of record's states and moves; machines with deadlines are found by name."""

    def __init__(self, name: str, *, states: Iterable[str], transitions: Iterable[Transition],
                 deadlines: Iterable[Deadline] = (), loader: Loader | None = None) -> None:
        self.name = name
        self.states = tuple(states)
        self.transitions = {t.name: t for t in transitions}
        self.deadlines = tuple(deadlines)
        self.loader = loader
        self.handlers: list[ExpiryHandler] = []
        known = set(self.states)
        for t in self.transitions.values():
            unknown = (t.sources | t.targets) - known
            if unknown:
                raise ValueError(f"{name}.{t.name} names unknown states {sorted(unknown)}")
        for d in self.deadlines:
            if d.state not in known or (d.then is not None and d.then not in known):
                raise ValueError(f"{name}: the deadline {d.name} names a state that does not "
                                 "exist")
        if self.deadlines:
            if loader is None:
                raise ValueError(f"{name}: a machine with deadlines needs a loader")
            MACHINES[name] = self

    def on_expiry(self, handler: ExpiryHandler) -> ExpiryHandler:
        """Register ``handler(db, record, deadline)``, told when a deadline passes."""
        self.handlers.append(handler)
        return handler

    def moves_from(self, state: str) -> list[Transition]:
        """The transitions that may leave ``state``, in the table's order."""
        return [t for t in self.transitions.values() if state in t.sources]

    def find(self, current: str, target: str) -> Transition:
        """The transition from ``current`` to ``target``, or 409 naming what is possible."""
        if current == target:
            raise Conflict(f"It is {target} already.", state=current)
        for t in self.moves_from(current):
            if target in t.targets:
                return t
        possible = sorted({s for t in self.moves_from(current) for s in t.targets} - {current})
        raise Conflict(f"It cannot go from {current} to {target}"
                       + (f"; from {current} it may go to {', '.join(possible)}." if possible
                          else f"; {current} is final."), state=current, possible=possible)

    def check(self, *, actor: Principal, current: str, target: str,
              what: object) -> Transition:
        """The move from ``current`` to ``target``: in the table (else 409) and permitted to
        ``actor`` on ``what`` by the policy (else 403)."""
        move = self.find(current, target)
        policy.require(actor, move.permission, what)
        return move

    def record(self, *, db: Session, actor: Principal, move: Transition, current: str,
               target: str, object_type: str, object_id: object,
               changes: Mapping[str, Any] | None = None) -> None:
        """Audit a checked move as ``<machine>.<transition>``, once the caller has written the
        new state (its rows are locked before the audit head's, the order every writer keeps)."""
        audit.record(db=db, actor=actor, action=f"{self.name}.{move.name}",
                     object_type=object_type, object_id=object_id,
                     changes={"state": [current, target], **(changes or {})})

    def move(self, *, db: Session, actor: Principal, record: Stateful, target: str,
             object_type: str, object_id: object, what: object | None = None,
             changes: Mapping[str, Any] | None = None, automatic: bool = False) -> Transition:
        """Move a :class:`Stateful` record: checked (``automatic`` moves are the platform's
        own, made when a deadline passes, and skip the policy), written, audited, and the new
        state's deadlines queued, all in the caller's transaction."""
        current = record.state
        move = self.find(current, target) if automatic else self.check(
            actor=actor, current=current, target=target, what=record if what is None else what)
        record.state, record.state_since = target, clock.now()
        db.flush()
        self.record(db=db, actor=actor, move=move, current=current, target=target,
                    object_type=object_type, object_id=object_id, changes=changes)
        self._queue(db, record, target, object_type, object_id)
        return move

    def start(self, *, db: Session, record: Stateful, state: str, object_type: str,
              object_id: object) -> None:
        """Put a new record in its first state and queue that state's deadlines (the caller
        audits the creation itself)."""
        if state not in self.states:
            raise ValueError(f"{self.name} has no state {state!r}")
        record.state, record.state_since = state, clock.now()
        self._queue(db, record, state, object_type, object_id)

    def _queue(self, db: Session, record: Stateful, state: str, object_type: str,
               object_id: object) -> None:
        for deadline in self.deadlines:
            if deadline.state == state:
                jobs.schedule(db=db, name=DEADLINE_TASK, at=deadline.due(record), payload={
                    "machine": self.name, "object_type": object_type,
                    "object_id": str(object_id), "state": state, "deadline": deadline.name,
                    "since": record.state_since.isoformat()})

    def expire(self, db: Session, payload: Mapping[str, Any]) -> str:
        """Act on a deadline that came due: nothing if the record has moved on since."""
        assert self.loader is not None
        record = self.loader(db, str(payload["object_id"]))
        if record is None or record.state != payload["state"] \
                or record.state_since.isoformat() != payload["since"]:
            return "moved on"
        deadline = next(d for d in self.deadlines
                        if d.state == record.state and d.name == payload["deadline"])
        for handler in self.handlers:
            handler(db, record, deadline)
        if deadline.then is None:
            return "reported"
        self.move(db=db, actor=PLATFORM, record=record, target=deadline.then,
                  object_type=str(payload["object_type"]), object_id=payload["object_id"],
                  changes={"deadline": deadline.name}, automatic=True)
        return f"moved to {deadline.then}"
