"""TLP 2.0 inside the platform (DESIGN §1), in one place: who may read a marked record, and
whether it may leave this node.

| marking      | who may read it                                                          |
| ------------ | ------------------------------------------------------------------------ |
| CLEAR        | anyone; may be published                                                 |
| GREEN        | every platform user (the community)                                      |
| AMBER        | the owner organisation, the team on it, coordinators, named recipients   |
| AMBER+STRICT | the owner organisation, the team on it, coordinators                     |
| RED          | only the individuals named on it                                         |

A record with no marking is read as :data:`DEFAULT` (AMBER). Later parts only declare their
marking (:class:`crrt.access.marking.Marked`); they never decide TLP themselves.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, func, or_, true

from crrt.access.enums import Audience, Role, Tlp
from crrt.access.principal import Principal
from crrt.access.resource import Columns, Resource
from crrt.access.rules import NAMED, NAMED_PERSON, ON_TEAM, OWN_ORGANISATION, Condition, need_column

DEFAULT = Tlp.AMBER
OPEN = (Tlp.CLEAR, Tlp.GREEN)
LIMITED = (Tlp.AMBER, Tlp.AMBER_STRICT)


def marking_of(what: Resource) -> Tlp:
    return what.marking or DEFAULT


class _Readable(Condition):
    """The marking lets the principal read the record."""

    def holds(self, who: Principal, what: Resource) -> bool:
        marking = marking_of(what)
        if marking in OPEN:
            return True
        if marking is Tlp.RED:
            return NAMED_PERSON.holds(who, what)
        inside = who.role is Role.COORDINATOR or OWN_ORGANISATION.holds(who, what) \
            or (what.teams and ON_TEAM.holds(who, what))
        if marking is Tlp.AMBER_STRICT:
            return bool(inside)
        return bool(inside) or NAMED.holds(who, what)

    def where(self, who: Principal, columns: Columns) -> ColumnElement[bool]:
        column = need_column(columns.marking, "marking", columns.kind)
        marking = func.coalesce(column, DEFAULT.value)
        inside: list[ColumnElement[bool]] = [
            true() if who.role is Role.COORDINATOR else false(),
            OWN_ORGANISATION.where(who, columns)]
        if columns.team is not None:
            inside.append(ON_TEAM.where(who, columns))
        return or_(
            marking.in_([m.value for m in OPEN]),
            and_(marking.in_([m.value for m in LIMITED]), or_(*inside)),
            and_(marking == Tlp.AMBER.value, NAMED.where(who, columns)),
            and_(marking == Tlp.RED.value, NAMED_PERSON.where(who, columns)),
        )


READABLE: Condition = _Readable()


def may_read(who: Principal, what: Resource) -> bool:
    return READABLE.holds(who, what)


def may_leave(what: Resource, audience: Audience, org_id: int | None = None) -> bool:
    """Whether the record may leave this node for ``audience`` (for ``ORGANISATION``, the
    node of organisation ``org_id``). Exports, TAXII and federation ask this first, and
    carry the marking with what they send.

    RED never leaves as data: it is for named individuals, not for other systems.
    """
    marking = marking_of(what)
    if marking is Tlp.CLEAR:
        return True
    if audience is Audience.PUBLIC or marking is Tlp.RED:
        return False
    if marking is Tlp.GREEN:
        return True
    if audience is not Audience.ORGANISATION or org_id is None:
        return False
    if org_id == what.owner_org_id:
        return True
    return marking is Tlp.AMBER and org_id in what.recipient_org_ids


def at_most(marking: Tlp, ceiling: Tlp) -> bool:
    """Whether ``marking`` is no more restricted than ``ceiling`` (a sharing group's maximum)."""
    return marking.rank <= ceiling.rank
