"""Tables of organisations, their membership history and their institutions."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crrt.core import clock
from crrt.core.db import Base, UTCDateTime, str_enum
from crrt.organisations.enums import InstitutionKind, Membership, MembershipEvent, OrgKind


class Organisation(Base):
    """A nation (ISO 3166-1 alpha-2 code), an EU institution or a partner (slug)."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[OrgKind] = mapped_column(str_enum(OrgKind))
    membership: Mapped[Membership | None] = mapped_column(str_enum(Membership))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    history: Mapped[list[MembershipChange]] = relationship(
        back_populates="organisation", order_by="MembershipChange.id")
    institutions: Mapped[list[Institution]] = relationship(
        back_populates="organisation", order_by="Institution.name")


class MembershipChange(Base):
    """One dated step in a nation's membership: joined, changed role, or left."""

    __tablename__ = "membership_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"),
                                                 index=True)
    event: Mapped[MembershipEvent] = mapped_column(str_enum(MembershipEvent))
    previous: Mapped[Membership | None] = mapped_column(str_enum(Membership))
    membership: Mapped[Membership | None] = mapped_column(str_enum(Membership))
    effective_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    recorded_by: Mapped[str] = mapped_column(String(320))

    organisation: Mapped[Organisation] = relationship(back_populates="history")


class Institution(Base):
    """A national body that provides experts (a CSIRT, a cyber command, a university...)."""

    __tablename__ = "institutions"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"),
                                                 index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[InstitutionKind] = mapped_column(str_enum(InstitutionKind))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    organisation: Mapped[Organisation] = relationship(back_populates="institutions")
