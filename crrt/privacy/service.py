"""The data-subject rights, across parts: each part that holds personal data registers a
:class:`Holder`, and export and erasure ask every holder.

A later part (rotations, deployments, cases) that keeps something about a person registers its
holder in its ``personal_data`` module, and the pool's export and erasure cover it at once. The
caller decides who may ask (the policy, on the record the request is about); each holder gives
only what the actor may see of its part (an account's history goes to those who manage
accounts, the audit trail to those who read the audit log), so an export never hands over more
than the actor could read anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from crrt.access import policy
from crrt.access.policy import Permission
from crrt.access.principal import Principal
from crrt.audit import service as audit
from crrt.core import clock

FORMAT = "crrt.personal-data/2"


@dataclass(frozen=True)
class Person:
    """Whom a request is about, as the parts know people: expert records and the accounts
    linked to them (never an address typed into a record, which the typist chose)."""

    expert_ids: frozenset[int] = field(default_factory=frozenset)
    user_ids: frozenset[int] = field(default_factory=frozenset)


Export = Callable[[Session, Principal, Person], Any]
Erase = Callable[[Session, Principal, Person], list[str]]


@dataclass(frozen=True)
class Holder:
    """A part that holds personal data: ``export`` gives a JSON-ready copy of what the actor
    may see (``None`` when it holds nothing about the person, or nothing the actor may see);
    ``erase`` removes or anonymises it and names what went."""

    name: str
    export: Export
    erase: Erase


_holders: dict[str, Holder] = {}


def holder(name: str, *, export: Export, erase: Erase) -> Holder:
    """Register a part's holder (once per name)."""
    found = Holder(name, export, erase)
    _holders[name] = found
    return found


def holders() -> list[Holder]:
    """Every registered holder, by name (:func:`crrt.parts.load` imports every part's)."""
    return [_holders[name] for name in sorted(_holders)]


def export_person(*, db: Session, actor: Principal, person: Person, object_type: str,
                  object_id: object) -> dict[str, Any]:
    """Everything every part holds about ``person``, audited as ``<object_type>.export``."""
    parts = {}
    for one in holders():
        held = one.export(db, actor, person)
        if held is not None:
            parts[one.name] = held
    audit.record(db=db, actor=actor, action=f"{object_type}.export", object_type=object_type,
                 object_id=object_id, changes={})
    return {"format": FORMAT, "exported_at": clock.iso(clock.now()), "parts": parts}


def erase_person(*, db: Session, actor: Principal, person: Person, object_type: str,
                 object_id: object) -> list[str]:
    """Erase ``person`` from every part, audited as ``<object_type>.erase`` with the names
    (never the values) of what went."""
    erased = sorted({what for one in holders() for what in one.erase(db, actor, person)})
    db.flush()
    audit.record(db=db, actor=actor, action=f"{object_type}.erase", object_type=object_type,
                 object_id=object_id, changes={"erased": erased})
    return erased


# --- what the shared layer itself holds -------------------------------------------------------

def _audit_trail(db: Session, actor: Principal, person: Person) -> list[dict[str, Any]] | None:
    """The changes the person's accounts made, for those who may read the audit log; the log
    holds no personal values, so there is nothing of it to erase."""
    if not policy.may(actor, Permission.AUDIT_READ):
        return None
    events = audit.events_by(db=db, actors=(f"user:{user_id}" for user_id in person.user_ids))
    return [{"action": e.action, "at": clock.iso(e.at), "object_type": e.object_type,
             "object_id": e.object_id} for e in events] or None


holder("audit", export=_audit_trail, erase=lambda _db, _actor, _person: [])
