"""Tables of the rotations part: templates, commitments, plans, published rotations with their
members and weekly duty, and the secret addresses of personal duty calendars.

Experts and nations are references into the experts and organisations parts (ids, read
through their services); a draft plan keeps the solver's answer as it was given, a published
one becomes rows that replacements change one by one.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crrt.core import clock
from crrt.core.db import Base, UTCDateTime, str_enum
from crrt.core.ids import PublicId
from crrt.rotations.enums import PlanState, SolveStatus


class TeamTemplate(Base, PublicId):
    """What a team must be: its seats (skill, minimum level, count, clearance, lead) and the
    rules every team of a horizon keeps."""

    __tablename__ = "team_templates"
    __table_args__ = (CheckConstraint("min_size <= max_size", name="size_ordered"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    min_size: Mapped[int] = mapped_column(Integer, default=8)
    max_size: Mapped[int] = mapped_column(Integer, default=12)
    min_nations: Mapped[int] = mapped_column(Integer, default=3)
    max_per_nation: Mapped[int] = mapped_column(Integer, default=3)
    consecutive: Mapped[bool] = mapped_column(Boolean, default=False)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    # [{"skill", "min_level", "count", "clearance", "lead"}], in the order the team lists them
    slots: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class Commitment(Base):
    """Expert-seats a year a participating nation commits to the teams."""

    __tablename__ = "commitments"
    __table_args__ = (CheckConstraint("seats_per_year >= 0", name="not_negative"),)

    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True)
    seats_per_year: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class RotationPlan(Base, PublicId):
    """A plan over a horizon of periods: the solver's answer (``result``, as the API gives
    it) while a draft; its rotations once published."""

    __tablename__ = "rotation_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("team_templates.id"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    periods: Mapped[int] = mapped_column(Integer)
    period_months: Mapped[int] = mapped_column(Integer)
    state: Mapped[PlanState] = mapped_column(str_enum(PlanState), default=PlanState.DRAFT,
                                             index=True)
    status: Mapped[SolveStatus] = mapped_column(str_enum(SolveStatus))
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Rotation(Base, PublicId):
    """One published team on duty from ``starts_on`` to ``ends_on`` (both included); its
    weeks hand over in ``zone``."""

    __tablename__ = "rotations"
    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="ordered"),
                      UniqueConstraint("plan_id", "number"))

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("rotation_plans.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # its place in the plan, from 0
    label: Mapped[str] = mapped_column(String(40))
    starts_on: Mapped[date] = mapped_column(Date, index=True)
    ends_on: Mapped[date] = mapped_column(Date, index=True)
    zone: Mapped[str] = mapped_column(String(64))

    members: Mapped[list[RotationMember]] = relationship(
        cascade="all, delete-orphan", order_by="RotationMember.id", lazy="selectin")
    shifts: Mapped[list[DutyShift]] = relationship(
        cascade="all, delete-orphan", order_by="DutyShift.starts_at", lazy="selectin")


class RotationMember(Base, PublicId):
    """An expert in a seat of a rotation; a withdrawal keeps the row, ended, and its reason."""

    __tablename__ = "rotation_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    rotation_id: Mapped[int] = mapped_column(ForeignKey("rotations.id", ondelete="CASCADE"),
                                             index=True)
    # a nomination withdrawn takes its seats with it (the seat shows empty)
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id", ondelete="CASCADE"),
                                           index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    slot: Mapped[int] = mapped_column(Integer)  # index into the template's slots
    slot_skill: Mapped[str] = mapped_column(String(40))
    lead: Mapped[bool] = mapped_column(Boolean, default=False)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(500), default="")


class DutyShift(Base):
    """A week (or part of one) of a rotation with its primary and backup duty officers."""

    __tablename__ = "duty_shifts"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="ordered"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rotation_id: Mapped[int] = mapped_column(ForeignKey("rotations.id", ondelete="CASCADE"),
                                             index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    primary_id: Mapped[int | None] = mapped_column(
        ForeignKey("experts.id", ondelete="SET NULL"), index=True)
    backup_id: Mapped[int | None] = mapped_column(
        ForeignKey("experts.id", ondelete="SET NULL"), index=True)


class CalendarFeed(Base):
    """The secret address of an expert's duty calendar: only its SHA-256 is kept, so it is
    shown once; a new one replaces it and revoking removes it."""

    __tablename__ = "calendar_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id", ondelete="CASCADE"),
                                           unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
