"""Tables of the expert pool."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crrt.access.resource import AccessMap
from crrt.core import clock
from crrt.core.db import Base, UTCDateTime, str_enum
from crrt.core.ids import PublicId
from crrt.experts.enums import Clearance, Skill


class Expert(Base, PublicId):
    """A specialist a nation nominated; erased experts stay as anonymised rows.

    The nation and the institution are references into the organisations part, read through
    its service; the linked account, one into the accounts part.
    """

    __tablename__ = "experts"
    __access__ = AccessMap("expert", owner_org="organisation_id", subject_user="user_id")
    __table_args__ = (
        # One active nomination per email in a nation; erased rows keep no email at all.
        Index("uq_experts_organisation_email_active", "organisation_id", "email", unique=True,
              sqlite_where=text("erased_at IS NULL"), postgresql_where=text("erased_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    institution_id: Mapped[int | None] = mapped_column(
        ForeignKey("institutions.id", ondelete="SET NULL"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    clearance: Mapped[Clearance] = mapped_column(str_enum(Clearance), default=Clearance.NONE)
    remote: Mapped[bool] = mapped_column(Boolean, default=True)
    on_site: Mapped[bool] = mapped_column(Boolean, default=False)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    notes: Mapped[str] = mapped_column(Text, default="")
    # How responders are reached when mail is not enough, as CSIRTs expect of each other.
    messenger: Mapped[str | None] = mapped_column(String(200))
    pgp_fingerprint: Mapped[str | None] = mapped_column(String(64))
    clearance_expires_on: Mapped[date | None] = mapped_column(Date)
    # When someone who manages the record last confirmed it current (a nomination, an edit
    # or an explicit confirmation); older than a year, the record is stale.
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    skills: Mapped[list[ExpertSkill]] = relationship(
        cascade="all, delete-orphan", order_by="ExpertSkill.skill", lazy="selectin")
    languages: Mapped[list[ExpertLanguage]] = relationship(
        cascade="all, delete-orphan", order_by="ExpertLanguage.code", lazy="selectin")
    unavailability: Mapped[list[Unavailability]] = relationship(
        cascade="all, delete-orphan", order_by="Unavailability.starts_on", lazy="selectin")


class ExpertSkill(Base):
    """A skill of the taxonomy at level 1 (working), 2 (advanced) or 3 (expert)."""

    __tablename__ = "expert_skills"
    __table_args__ = (CheckConstraint("level BETWEEN 1 AND 3", name="level_range"),)

    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id", ondelete="CASCADE"),
                                           primary_key=True)
    skill: Mapped[Skill] = mapped_column(str_enum(Skill), primary_key=True, index=True)
    level: Mapped[int] = mapped_column(Integer)


class ExpertLanguage(Base):
    """A language the expert works in (ISO 639-1)."""

    __tablename__ = "expert_languages"

    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id", ondelete="CASCADE"),
                                           primary_key=True)
    code: Mapped[str] = mapped_column(String(2), primary_key=True, index=True)


class Unavailability(Base, PublicId):
    """A period (inclusive dates) when the expert cannot be called out."""

    __tablename__ = "unavailability"
    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="ordered"),
                      UniqueConstraint("expert_id", "starts_on", "ends_on"))

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id", ondelete="CASCADE"),
                                           index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200), default="")
