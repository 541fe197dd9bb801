"""Marked records: a TLP 2.0 marking and named recipients, declared by a table and decided
by :mod:`crrt.access.tlp`.

A part that keeps marked records mixes :class:`Marked` into its table and declares
``__access__ = AccessMap(kind, owner_org=..., marking="tlp", key="public_id")``; its rules
then combine :data:`crrt.access.tlp.READABLE` with its own, and nothing else reads the marking.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, delete, event
from sqlalchemy.orm import Mapped, Mapper, Session, mapped_column

from crrt.access.enums import Tlp
from crrt.access.models import Recipient
from crrt.access.resource import access_map
from crrt.core.db import str_enum
from crrt.core.ids import PublicId


class Marked(PublicId):
    """Mixin: the record's TLP 2.0 marking (AMBER unless set) and a public id to name it by."""

    tlp: Mapped[Tlp] = mapped_column(str_enum(Tlp), default=Tlp.AMBER)


def name_recipients(db: Session, record: Marked, *, organisations: Iterable[int] = (),
                    users: Iterable[int] = ()) -> None:
    """Set who is named on ``record``: these organisations and individuals, and no others."""
    kind = access_map(type(record)).kind
    db.flush()
    db.execute(delete(Recipient).where(Recipient.resource_type == kind,
                                       Recipient.resource_key == record.public_id))
    db.add_all([Recipient(resource_type=kind, resource_key=record.public_id, organisation_id=o)
                for o in sorted(set(organisations))])
    db.add_all([Recipient(resource_type=kind, resource_key=record.public_id, user_id=u)
                for u in sorted(set(users))])
    db.flush()


@event.listens_for(Marked, "after_delete", propagate=True)
def _forget_recipients(_mapper: Mapper[object], connection: Connection, target: Marked) -> None:
    """A marked record's recipients go with it (they name it by key, not by foreign key)."""
    kind = access_map(type(target)).kind
    connection.execute(delete(Recipient).where(
        Recipient.resource_type == kind, Recipient.resource_key == target.public_id))
