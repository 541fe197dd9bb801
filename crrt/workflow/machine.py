"""A state machine as a table: states, the transitions allowed between them, the permission
each needs (asked of :mod:`crrt.access.policy`), and optional deadlines.

Requests for assistance, deployments, cases, exercises and a nation's membership all move this
way, so a move that is not in the table is refused the same way everywhere (409), a move the
caller may not make is refused by the policy (403), and each move leaves one audit event named
``<machine>.<transition>``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from crrt.access import policy
from crrt.access.policy import Permission
from crrt.access.principal import Principal
from crrt.audit import service as audit
from crrt.core.errors import Conflict


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
    """How long a record may stay in ``state``; when it passes, ``then`` is made (by the
    platform), or, without one, the machine's expiry handlers are told."""

    state: str
    after: timedelta
    then: str | None = None


class Machine:
    """One kind of record's states and moves."""

    def __init__(self, name: str, *, states: Iterable[str], transitions: Iterable[Transition],
                 deadlines: Iterable[Deadline] = ()) -> None:
        self.name = name
        self.states = tuple(states)
        self.transitions = {t.name: t for t in transitions}
        self.deadlines = {d.state: d for d in deadlines}
        known = set(self.states)
        for t in self.transitions.values():
            unknown = (t.sources | t.targets) - known
            if unknown:
                raise ValueError(f"{name}.{t.name} names unknown states {sorted(unknown)}")
        for d in self.deadlines.values():
            if d.state not in known or (d.then is not None and d.then not in self.transitions):
                raise ValueError(f"{name}: the deadline of {d.state} names what does not exist")

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
