"""Tables of requests for assistance, the arrangements that let partners ask, and the
deployments that answer them: their members (consent and call-out) and costs.

The requesting organisation is a reference into the organisations part; the account that
submitted a request, one into the accounts part. A request is marked (TLP): who may read it is
decided by :mod:`crrt.access.tlp` with the rules of :mod:`crrt.access.policy`.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from crrt.access.marking import Marked
from crrt.access.resource import AccessMap
from crrt.assistance.enums import (
    Callout,
    Category,
    Channel,
    Consent,
    CostKind,
    Mode,
    Outcome,
    Position,
    Sharing,
    Source,
)
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
    # a coordinator's rank for the request, replacing the computed one, and why
    priority_override: Mapped[int | None] = mapped_column(Integer)
    priority_rationale: Mapped[str] = mapped_column(String(500), default="")
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


class Deployment(Base, Marked, Stateful):
    """The team sent in answer to an activated request: where, when, who, on what terms.

    Marked RED when its request is, AMBER otherwise (it says who goes where, not what
    happened); the contributing nations are named on it, and its team reads it as the team.
    """

    __tablename__ = "deployments"
    __access__ = AccessMap("deployment", owner_org="organisation_id", marking="tlp",
                           key="public_id", team="team_key")

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("assistance_requests.id", ondelete="CASCADE"), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    team_key: Mapped[str] = mapped_column(String(60), unique=True)
    team_size: Mapped[int] = mapped_column(Integer)
    mode: Mapped[Mode] = mapped_column(str_enum(Mode))
    location: Mapped[str] = mapped_column(String(200), default="")
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    logistics: Mapped[str] = mapped_column(Text, default="")
    # the mission arrangement (legal basis, scope, liability, data handling, cost terms);
    # an on-site deployment cannot start without one
    arrangement: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    sharing: Mapped[Sharing] = mapped_column(str_enum(Sharing),
                                             default=Sharing.LIE_WHERE_THEY_FALL)
    sharing_key: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reason: Mapped[str] = mapped_column(Text, default="")   # why cancelled
    report_due_on: Mapped[date | None] = mapped_column(Date)
    report_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    report: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class DeploymentMember(Base):
    """One expert proposed for a deployment: the nation's consent, then the call-out.

    A member who is declined, declines or stays silent is kept (``active`` false) with the
    reason, and the next qualified candidate is proposed in their place. ``engaged`` marks
    the member holding the expert (active on an open deployment): an expert is engaged once
    at most, which the database enforces, so proposals side by side never share an expert.
    """

    __tablename__ = "deployment_members"
    __table_args__ = (UniqueConstraint("deployment_id", "expert_id"),
                      Index("uq_deployment_members_engaged", "expert_id", unique=True,
                            sqlite_where=text("engaged"), postgresql_where=text("engaged")))

    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), index=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id", ondelete="CASCADE"),
                                           index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    skill: Mapped[str] = mapped_column(String(40))      # the need the member fills
    lead: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[Source] = mapped_column(str_enum(Source))
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    engaged: Mapped[bool] = mapped_column(Boolean, default=True)
    consent: Mapped[Consent] = mapped_column(str_enum(Consent), default=Consent.PENDING)
    caveat: Mapped[str] = mapped_column(String(500), default="")
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    callout: Mapped[Callout] = mapped_column(str_enum(Callout), default=Callout.PENDING)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(500), default="")
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    def withdraw(self, reason: str) -> None:
        """Off the team, kept with the reason, and free to be proposed elsewhere."""
        self.active, self.engaged, self.reason = False, False, reason


class CostItem(Base, PublicId):
    """One cost of a deployment, in the currency it was paid in, by the nation that paid."""

    __tablename__ = "cost_items"
    __table_args__ = (CheckConstraint("amount >= 0", name="not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), index=True)
    kind: Mapped[CostKind] = mapped_column(str_enum(CostKind))
    description: Mapped[str] = mapped_column(String(200), default="")
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3))
    paid_by: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    added_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class RequestAttachment(Base, PublicId):
    """A file sent with a request (logs, indicators, a report), kept in the content-addressed
    file store under its SHA-256; read under the request's marking."""

    __tablename__ = "request_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("assistance_requests.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
