"""Rules as small conditions that answer for one record and, alike, filter a query.

A :class:`Condition` looks at the principal and one :class:`~crrt.access.resource.Resource`
(``holds``) or at the columns of a table (``where``); both come from the same object, so the
list a user sees and the record a user opens can never disagree. A :class:`Rule` grants a
permission to roles, each grant under a condition.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true

from crrt.access.enums import Role
from crrt.access.models import Recipient
from crrt.access.principal import Principal
from crrt.access.resource import Columns, Resource


def need_column(column: ColumnElement[Any] | None, what: str, kind: str) -> ColumnElement[Any]:
    if column is None:
        raise TypeError(f"a rule needs the {what} of {kind or 'the record'}: declare it in "
                        "__access__")
    return column


class Condition(ABC):
    """One test, answered for a loaded record and as a SQL filter, from one definition."""

    @abstractmethod
    def holds(self, who: Principal, what: Resource) -> bool: ...

    @abstractmethod
    def where(self, who: Principal, columns: Columns) -> ColumnElement[bool]: ...

    def __or__(self, other: Condition) -> Condition:
        return Either(self, other)

    def __and__(self, other: Condition) -> Condition:
        return Both(self, other)


class Either(Condition):
    def __init__(self, *conditions: Condition) -> None:
        self.conditions = conditions

    def holds(self, who: Principal, what: Resource) -> bool:
        return any(c.holds(who, what) for c in self.conditions)

    def where(self, who: Principal, columns: Columns) -> ColumnElement[bool]:
        return or_(false(), *(c.where(who, columns) for c in self.conditions))


class Both(Condition):
    def __init__(self, *conditions: Condition) -> None:
        self.conditions = conditions

    def holds(self, who: Principal, what: Resource) -> bool:
        return all(c.holds(who, what) for c in self.conditions)

    def where(self, who: Principal, columns: Columns) -> ColumnElement[bool]:
        return and_(true(), *(c.where(who, columns) for c in self.conditions))


class _Anything(Condition):
    """Any record at all (the role alone decides)."""

    def holds(self, who: Principal, what: Resource) -> bool:
        return True

    def where(self, who: Principal, columns: Columns) -> ColumnElement[bool]:
        return true()


class RoleIs(Condition):
    """The principal holds one of these roles, whatever the record."""

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    def holds(self, who: Principal, what: Resource) -> bool:
        return who.role in self.roles

    def where(self, who: Principal, columns: Columns) -> ColumnElement[bool]:
        return true() if who.role in self.roles else false()


class _OwnOrganisation(Condition):
    """The record belongs to the principal's own organisation."""

    def holds(self, who: Principal, what: Resource) -> bool:
        return who.org_id is not None and what.owner_org_id == who.org_id

    def where(self, who: Principal, columns: Columns) -> ColumnElement[bool]:
        column = need_column(columns.owner_org, "owner organisation", columns.kind)
        return false() if who.org_id is None else column == who.org_id


class _OwnRecord(Condition):
    """The record is about the principal's own account (an expert's own nomination)."""

    def holds(self, who: Principal, what: Resource) -> bool:
        return who.user_id is not None and what.subject_user_id == who.user_id

    def where(self, who: Principal, columns: Columns) -> ColumnElement[bool]:
        column = need_column(columns.subject_user, "subject account", columns.kind)
        return false() if who.user_id is None else column == who.user_id


class _OnTeam(Condition):
    """The principal is on the team or deployment the record belongs to."""

    def holds(self, who: Principal, what: Resource) -> bool:
        return bool(who.teams & what.teams)

    def where(self, who: Principal, columns: Columns) -> ColumnElement[bool]:
        column = need_column(columns.team, "team", columns.kind)
        return column.in_(sorted(who.teams)) if who.teams else false()


class Named(Condition):
    """The record names the principal: as an individual, or (``organisations``) its
    organisation."""

    def __init__(self, *, organisations: bool) -> None:
        self.organisations = organisations

    def holds(self, who: Principal, what: Resource) -> bool:
        if who.user_id is not None and who.user_id in what.recipient_user_ids:
            return True
        return self.organisations and who.org_id is not None \
            and who.org_id in what.recipient_org_ids

    def where(self, who: Principal, columns: Columns) -> ColumnElement[bool]:
        key = need_column(columns.key, "public id", columns.kind)
        whom: list[ColumnElement[bool]] = []
        if who.user_id is not None:
            whom.append(Recipient.user_id == who.user_id)
        if self.organisations and who.org_id is not None:
            whom.append(Recipient.organisation_id == who.org_id)
        if not whom:
            return false()
        return exists(select(Recipient.id).where(
            Recipient.resource_type == columns.kind, Recipient.resource_key == key, or_(*whom)))


ANYTHING: Condition = _Anything()
OWN_ORGANISATION: Condition = _OwnOrganisation()
OWN_RECORD: Condition = _OwnRecord()
ON_TEAM: Condition = _OnTeam()
NAMED_PERSON: Condition = Named(organisations=False)
NAMED: Condition = Named(organisations=True)


@dataclass(frozen=True)
class Grant:
    """Roles that hold a permission where ``condition`` holds."""

    roles: frozenset[Role]
    condition: Condition = ANYTHING


def grant(*roles: Role, when: Condition = ANYTHING) -> Grant:
    return Grant(frozenset(roles), when)


EVERY_ROLE = tuple(Role)


class Rule:
    """A permission's grants: the principal holds it where any grant of its role holds."""

    def __init__(self, *grants: Grant) -> None:
        self.grants = grants

    def _mine(self, who: Principal) -> Iterable[Grant]:
        return (g for g in self.grants if who.role in g.roles)

    def applies_to(self, who: Principal) -> bool:
        """Whether the role holds the permission on some record at all."""
        return any(True for _ in self._mine(who))

    def holds(self, who: Principal, what: Resource) -> bool:
        return any(g.condition.holds(who, what) for g in self._mine(who))

    def unconditional_for(self, who: Principal) -> bool:
        """Whether the answer for the role is the same on every record (no record need be
        named): it holds no grant, or one that holds on anything."""
        mine = list(self._mine(who))
        return not mine or any(g.condition is ANYTHING for g in mine)

    def where(self, who: Principal, columns: Columns) -> ColumnElement[bool]:
        return or_(false(), *(g.condition.where(who, columns) for g in self._mine(who)))
