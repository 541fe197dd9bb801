"""What a rule may look at: a record's owner, subject, marking, named recipients and team.

A table declares once, in ``__access__``, which of its columns hold these; the policy reads
the same declaration to check one loaded record (:func:`resource_of`) and to filter a query
(:func:`columns_of`), so a rule is written once and answers both questions alike.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, object_session

from crrt.access.enums import Tlp
from crrt.access.models import Recipient


@dataclass(frozen=True)
class AccessMap:
    """Where a table keeps what rules look at: attribute names, ``None`` for none.

    ``kind`` names the records (``"expert"``); named recipients are filed under it and the
    record's ``key`` (its public id).
    """

    kind: str
    owner_org: str | None = None
    subject_user: str | None = None
    marking: str | None = None
    key: str | None = None
    team: str | None = None


@dataclass(frozen=True)
class Resource:
    """One record as rules see it; an empty one stands for "no particular record".

    A marking that is not a TLP label (a typo, a foreign spelling) is read as RED: a record
    whose marking cannot be understood is shared with no one by mistake.
    """

    kind: str = ""
    key: uuid.UUID | None = None
    owner_org_id: int | None = None
    subject_user_id: int | None = None
    marking: Tlp | None = None
    recipient_org_ids: frozenset[int] = field(default_factory=frozenset)
    recipient_user_ids: frozenset[int] = field(default_factory=frozenset)
    teams: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.marking is not None and not isinstance(self.marking, Tlp):
            object.__setattr__(self, "marking", as_tlp(self.marking))


def as_tlp(value: object) -> Tlp:
    """A marking as a :class:`Tlp`: ``"amber"``, ``"AMBER"``, ``"TLP:AMBER"`` alike; RED when
    it is none of them."""
    text = str(value).strip().lower().removeprefix("tlp:")
    try:
        return Tlp(text)
    except ValueError:
        return Tlp.RED


NOTHING_IN_PARTICULAR = Resource()


@dataclass(frozen=True)
class Columns:
    """The SQL counterparts of :class:`Resource` for one table, for list filters."""

    kind: str
    owner_org: ColumnElement[Any] | None = None
    subject_user: ColumnElement[Any] | None = None
    marking: ColumnElement[Any] | None = None
    key: ColumnElement[Any] | None = None
    team: ColumnElement[Any] | None = None


def access_map(model: type) -> AccessMap:
    found = getattr(model, "__access__", None)
    if not isinstance(found, AccessMap):
        raise TypeError(f"{model.__name__} declares no __access__ = AccessMap(...)")
    return found


def columns_of(model: type) -> Columns:
    """The columns of ``model`` that its ``__access__`` names."""
    spec = access_map(model)

    def column(name: str | None) -> ColumnElement[Any] | None:
        return None if name is None else getattr(model, name)

    return Columns(kind=spec.kind, owner_org=column(spec.owner_org),
                   subject_user=column(spec.subject_user), marking=column(spec.marking),
                   key=column(spec.key), team=column(spec.team))


def recipients(db: Session, kind: str, key: uuid.UUID) -> tuple[frozenset[int], frozenset[int]]:
    """The organisations and the individuals named on one record."""
    rows = db.execute(select(Recipient.organisation_id, Recipient.user_id).where(
        Recipient.resource_type == kind, Recipient.resource_key == key)).all()
    return (frozenset(org for org, _ in rows if org is not None),
            frozenset(user for _, user in rows if user is not None))


def resource_of(record: object) -> Resource:
    """One loaded record (or a :class:`Resource` as it is) as rules see it."""
    if isinstance(record, Resource):
        return record
    spec = access_map(type(record))

    def value(name: str | None) -> Any:
        return None if name is None else getattr(record, name)

    key, marking, team = value(spec.key), value(spec.marking), value(spec.team)
    orgs: frozenset[int] = frozenset()
    users: frozenset[int] = frozenset()
    db = object_session(record)
    if key is not None and db is not None:
        orgs, users = recipients(db, spec.kind, key)
    return Resource(kind=spec.kind, key=key, owner_org_id=value(spec.owner_org),
                    subject_user_id=value(spec.subject_user),
                    marking=as_tlp(marking) if marking is not None else None,
                    recipient_org_ids=orgs, recipient_user_ids=users,
                    teams=frozenset([team]) if team else frozenset())
