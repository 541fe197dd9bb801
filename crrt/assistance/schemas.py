"""What the requests API takes and gives."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, model_validator

from crrt.access.enums import Tlp
from crrt.assistance.enums import (
    Category,
    Channel,
    Clock,
    Mode,
    OtherSupport,
    Outcome,
    Position,
    RequestState,
    Service,
)
from crrt.core.contact import Phone
from crrt.core.inputs import Input
from crrt.core.text import Email, Label, Name, Note, note_text

DESCRIPTION_LENGTH = 10_000  # an incident described at length, still bounded
Description = Annotated[str, Field(min_length=1, max_length=DESCRIPTION_LENGTH),
                        AfterValidator(note_text)]


class RequestIn(Input):
    """A request for assistance. A requester asks for its own organisation; a coordinator
    enters one received by phone or e-mail, naming the organisation and the channel."""

    org: Annotated[str, Field(max_length=64)] | None = Field(
        default=None, description="The requesting organisation's code (a coordinator's entry).")
    channel: Channel | None = Field(default=None, description="How it was received (phone, "
                                    "email) when a coordinator enters it.")
    csdp_mission: bool = Field(default=False, description="An EU body asking as a CSDP mission.")
    contact_name: Name
    contact_email: Email
    contact_phone: Phone = None
    affected_entity: Name
    sector: Label
    essential_entity: bool = False
    description: Description
    severity: int = Field(ge=0, le=4, description="The EU blueprint's scale, 0 to 4.")
    services: Annotated[list[Service], Field(min_length=1, max_length=len(Service))]
    mode: Mode
    location: Label = ""
    mitigation: Note = ""
    other_support: Annotated[list[OtherSupport], Field(max_length=len(OtherSupport))] = []
    cross_border: bool = False
    tlp: Tlp = Tlp.AMBER

    @model_validator(mode="after")
    def _distinct(self) -> RequestIn:
        self.services = list(dict.fromkeys(self.services))
        self.other_support = list(dict.fromkeys(self.other_support))
        if self.mode is not Mode.REMOTE and not self.location.strip():
            raise ValueError("An on-site or hybrid request names its location.")
        return self


class ClockOut(BaseModel):
    """One SLA clock: due when, met when, and how it stands now."""

    name: Clock
    due_at: datetime
    met_at: datetime | None
    state: str  # running, due_soon, breached, met, met_late, stopped (withdrawn, declined)
    seconds_left: int  # negative once breached; the time it was met with to spare when met


class RequestOut(BaseModel):
    id: uuid.UUID
    reference: str
    status: RequestState
    org: str
    org_name: str
    category: Category
    channel: Channel
    contact_name: str
    contact_email: str
    contact_phone: str | None
    affected_entity: str
    sector: str
    essential_entity: bool
    description: str
    severity: int
    services: list[Service]
    mode: Mode
    location: str
    mitigation: str
    other_support: list[OtherSupport]
    cross_border: bool
    tlp: Tlp
    received_at: datetime
    response_due_at: datetime
    clocks: list[ClockOut]
    decision: DecisionOut | None = None
    deployment_id: uuid.UUID | None = Field(default=None, description="The deployment an "
                                            "activation proposes (to come with dispatch).")
    priority: int = Field(description="Higher first: severity, essential entity, cross-border "
                                      "spill-over, and no mitigation of its own.")


class TriageIn(Input):
    note: Note = ""


class PositionIn(Input):
    position: Position
    comment: Note = ""


class PositionOut(BaseModel):
    """A Council member's position, or ``None`` while it has not given one."""

    org: str
    org_name: str
    position: Position | None
    comment: str
    recorded_at: datetime | None


class DecisionIn(Input):
    outcome: Outcome
    legal_basis: Label = "Memorandum of Understanding"
    scope: Note = ""
    reason: Note = ""

    @model_validator(mode="after")
    def _reasoned(self) -> DecisionIn:
        if self.outcome is Outcome.DECLINE and not self.reason.strip():
            raise ValueError("A decline gives its reason.")
        if not self.legal_basis.strip():
            raise ValueError("A decision names its legal basis.")
        return self


class DecisionOut(BaseModel):
    outcome: Outcome
    legal_basis: str
    scope: str
    reason: str
    decided_at: datetime


class TimelineEvent(BaseModel):
    at: datetime
    action: str
    actor: str
    changes: dict[str, object]


class TimelineOut(BaseModel):
    request: uuid.UUID
    events: list[TimelineEvent]
    clocks: list[ClockOut]


class ArrangementIn(Input):
    reference: Name
    signed_on: date
    expires_on: date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> ArrangementIn:
        if self.expires_on is not None and self.expires_on < self.signed_on:
            raise ValueError("An arrangement cannot expire before it is signed.")
        return self


class ArrangementOut(BaseModel):
    id: uuid.UUID
    org: str
    reference: str
    signed_on: date
    expires_on: date | None
    in_force: bool
