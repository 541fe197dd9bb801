"""Tables of requests for assistance and the arrangements that let partners ask.

The requesting organisation is a reference into the organisations part; the account that
submitted a request, one into the accounts part. A request is marked (TLP): who may read it is
decided by :mod:`crrt.access.tlp` with the rules of :mod:`crrt.access.policy`.
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
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from crrt.access.marking import Marked
from crrt.access.resource import AccessMap
from crrt.assistance.enums import Category, Channel, Mode, Outcome, Position
from crrt.core import clock
from crrt.core.db import Base, UTCDateTime, str_enum
from crrt.core.ids import PublicId
from crrt.workflow.models import Stateful


class AssistanceRequest(Base, Marked, Stateful):
    """What a requester asks for, with its clocks: each target is counted from receipt."""

    __tablename__ = "assistance_requests"
    __access__ = AccessMap("assistance_request", owner_org="organisation_id", marking="tlp",
                           key="public_id", subject_user="submitted_by")
    __table_args__ = (CheckConstraint("severity BETWEEN 0 AND 4", name="severity_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(20), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    category: Mapped[Category] = mapped_column(str_enum(Category))
    channel: Mapped[Channel] = mapped_column(str_enum(Channel))
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                     index=True)
    contact_name: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str] = mapped_column(String(320))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    affected_entity: Mapped[str] = mapped_column(String(200))
    sector: Mapped[str] = mapped_column(String(100))
    essential_entity: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str] = mapped_column(Text)
    severity: Mapped[int] = mapped_column(Integer)
    services: Mapped[list[str]] = mapped_column(JSON, default=list)
    mode: Mapped[Mode] = mapped_column(str_enum(Mode))
    location: Mapped[str] = mapped_column(String(200), default="")
    mitigation: Mapped[str] = mapped_column(Text, default="")
    other_support: Mapped[list[str]] = mapped_column(JSON, default=list)
    cross_border: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)
    triage_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decision_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    response_due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # when each clock was met (None while it runs)
    met: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # the Council's decision, once taken
    outcome: Mapped[Outcome | None] = mapped_column(str_enum(Outcome))
    legal_basis: Mapped[str | None] = mapped_column(String(200))
    scope: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CouncilPosition(Base):
    """A participating nation's position on a request in the Council, as its POC records it
    (a later word replaces an earlier one until the decision)."""

    __tablename__ = "council_positions"
    __table_args__ = (UniqueConstraint("request_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("assistance_requests.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    position: Mapped[Position] = mapped_column(str_enum(Position))
    comment: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class Arrangement(Base, PublicId):
    """A partner's arrangement with the project: without one in force, it may not ask."""

    __tablename__ = "arrangements"
    __table_args__ = (CheckConstraint("expires_on IS NULL OR expires_on >= signed_on",
                                      name="ordered"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    reference: Mapped[str] = mapped_column(String(200))
    signed_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
