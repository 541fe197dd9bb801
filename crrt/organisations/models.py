"""Tables of organisations, their dated membership history and their institutions.

A nation's membership is not a column: it is read from the history on a given day, so a change
recorded today for next month is planned until its day comes, and "who was a participant on
1 January 2027" has one answer.

An organisation also keeps its contact card: how other teams reach it (a 24/7 hotline, the
team's e-mail, its PGP key, a secure messenger) and the TLP it shares under by default.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crrt.access.enums import Tlp
from crrt.access.resource import AccessMap
from crrt.core import clock
from crrt.core.db import Base, UTCDateTime, str_enum
from crrt.core.ids import PublicId
from crrt.organisations.enums import InstitutionKind, Membership, MembershipEvent, OrgKind


class Organisation(Base):
    """A nation (ISO 3166-1 alpha-2 code), an EU institution or a partner (slug)."""

    __tablename__ = "organisations"
    __access__ = AccessMap("organisation", owner_org="id")

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[OrgKind] = mapped_column(str_enum(OrgKind))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    hotline: Mapped[str | None] = mapped_column(String(40))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    pgp_fingerprint: Mapped[str | None] = mapped_column(String(64))
    messenger: Mapped[str | None] = mapped_column(String(200))
    default_tlp: Mapped[Tlp | None] = mapped_column(str_enum(Tlp))

    history: Mapped[list[MembershipChange]] = relationship(
        back_populates="organisation",
        order_by="(MembershipChange.effective_on, MembershipChange.id)")
    institutions: Mapped[list[Institution]] = relationship(
        back_populates="organisation", order_by="Institution.name")

    def in_force_on(self, day: date) -> MembershipChange | None:
        """The last change that took effect on or before ``day``."""
        return next((c for c in reversed(self.history) if c.effective_on <= day), None)

    def membership_on(self, day: date) -> Membership | None:
        change = self.in_force_on(day)
        return change.membership if change is not None else None

    @property
    def membership(self) -> Membership | None:
        """The membership in force today."""
        return self.membership_on(clock.today())

    @property
    def planned(self) -> list[MembershipChange]:
        """Changes recorded for a day still to come."""
        today = clock.today()
        return [c for c in self.history if c.effective_on > today]

    @property
    def latest(self) -> Membership | None:
        """The membership once every planned change has taken effect."""
        return self.history[-1].membership if self.history else None


class MembershipChange(Base, PublicId):
    """One dated step in a nation's membership: joined, changed role, or left."""

    __tablename__ = "membership_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"),
                                                 index=True)
    event: Mapped[MembershipEvent] = mapped_column(str_enum(MembershipEvent))
    previous: Mapped[Membership | None] = mapped_column(str_enum(Membership))
    membership: Mapped[Membership | None] = mapped_column(str_enum(Membership))
    effective_on: Mapped[date] = mapped_column(Date, index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    recorded_by: Mapped[str] = mapped_column(String(320))

    organisation: Mapped[Organisation] = relationship(back_populates="history")

    @property
    def is_planned(self) -> bool:
        return self.effective_on > clock.today()


class Institution(Base, PublicId):
    """A national body that provides experts (a CSIRT, a cyber command, a university...)."""

    __tablename__ = "institutions"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)
    __access__ = AccessMap("institution", owner_org="organisation_id")

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"),
                                                 index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[InstitutionKind] = mapped_column(str_enum(InstitutionKind))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    organisation: Mapped[Organisation] = relationship(back_populates="institutions")
