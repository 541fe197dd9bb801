"""What the requests API takes and gives."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    WithJsonSchema,
    model_validator,
)

from crrt.access.enums import Tlp
from crrt.assistance.enums import (
    Callout,
    Category,
    Channel,
    Clock,
    Consent,
    CostKind,
    DeploymentState,
    Mode,
    OtherSupport,
    Outcome,
    Position,
    RequestState,
    Service,
    Sharing,
    Source,
)
from crrt.core.contact import Phone
from crrt.core.inputs import Input
from crrt.core.text import Email, Label, Name, Note, ShortNote, note_text

MAX_TEAM = 20
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
                                            "activation proposed.")
    deployment_status: DeploymentState | None = Field(
        default=None, description="Its deployment's state: `cancelled` is an activation not "
                                  "deployed, with `not_deployed_reason`.")
    not_deployed_reason: str = ""
    priority: int = Field(description="Higher first: the coordinator's override if one is "
                                      "set, else the computed rank.")
    computed_priority: int = Field(default=0, description="Severity, essential entity, "
                                   "cross-border spill-over, and no mitigation of its own.")
    override: OverrideOut | None = None


class OverrideIn(Input):
    """A coordinator's rank for a request, above or below the computed one, with the reason
    (``priority`` null puts the computed rank back)."""

    priority: int | None = Field(ge=0, le=1000)
    rationale: ShortNote = ""

    @model_validator(mode="after")
    def _reasoned(self) -> OverrideIn:
        if self.priority is not None and not self.rationale.strip():
            raise ValueError("An override of the ranking gives its rationale.")
        return self


class OverrideOut(BaseModel):
    priority: int
    rationale: str


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
    team_size: int = Field(default=8, ge=1, le=MAX_TEAM,
                           description="How many experts an activation's team proposes.")

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


# --- deployments -------------------------------------------------------------------------------

class MemberOut(BaseModel):
    """A proposed team member: the nation's consent, then the call-out. ``name`` is given to
    those who may see the team (the coordination cell, the nation's POC, the team itself)."""

    expert_id: uuid.UUID
    name: str | None
    org: str
    skill: str
    lead: bool
    source: Source
    active: bool
    consent: Consent
    caveat: str
    callout: Callout
    due_at: datetime | None
    answered_at: datetime | None
    reason: str


class MissionArrangement(Input):
    """The terms an on-site deployment needs before it starts."""

    legal_basis: Label = "Memorandum of Understanding"
    scope: Annotated[str, Field(min_length=1, max_length=4000), AfterValidator(note_text)]
    liability: Annotated[str, Field(min_length=1, max_length=4000), AfterValidator(note_text)]
    data_handling: Annotated[str, Field(min_length=1, max_length=4000),
                             AfterValidator(note_text)]
    cost_terms: Annotated[str, Field(min_length=1, max_length=4000), AfterValidator(note_text)]

    @model_validator(mode="after")
    def _named(self) -> MissionArrangement:
        if not self.legal_basis.strip():
            raise ValueError("An arrangement names its legal basis.")
        return self


class DeploymentOut(BaseModel):
    id: uuid.UUID
    request_id: uuid.UUID
    reference: str
    status: DeploymentState
    mode: Mode
    location: str
    starts_at: datetime | None
    ends_at: datetime | None
    logistics: str
    team_size: int
    arrangement: dict[str, str] | None
    sharing: Sharing
    members: list[MemberOut]
    report_due_on: date | None
    report_late: bool
    report_at: datetime | None
    reason: str
    created_at: datetime


class DeploymentPatch(Input):
    """Where and when, and the travel and logistics notes; what is left out stays."""

    location: Label | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    logistics: Note | None = None

    @model_validator(mode="after")
    def _ordered(self) -> DeploymentPatch:
        for moment in (self.starts_at, self.ends_at):
            if moment is not None and moment.tzinfo is None:
                raise ValueError("Give times with their offset (2026-11-27T09:00:00Z).")
        if self.starts_at and self.ends_at and self.ends_at < self.starts_at:
            raise ValueError("A deployment ends after it starts.")
        return self


class ConsentIn(Input):
    """A nation's POC confirms (with any caveat, such as "remote only") or declines one of its
    experts for the team."""

    expert_id: uuid.UUID
    consent: bool
    caveat: ShortNote = ""


class AnswerIn(Input):
    """A team member's answer to the call-out; ``token`` is the signed link's, for an answer
    given without signing in."""

    accept: bool
    reason: ShortNote = ""
    token: Annotated[str, Field(max_length=200)] | None = None


class StatusIn(Input):
    status: DeploymentState
    reason: Note = ""


class ReportIn(Input):
    """The final report to the requester, due within a month of closing."""

    summary: Annotated[str, Field(min_length=1, max_length=DESCRIPTION_LENGTH),
                       AfterValidator(note_text)]


Currency = Annotated[str, Field(min_length=3, max_length=3, pattern=r"^[A-Z]{3}$",
                                description="ISO 4217, e.g. EUR.")]
NUMBER_TEXT = 20  # a decimal given as text: "1234.50", never a megabyte of digits


def _short_number(value: object) -> object:
    if isinstance(value, str) and len(value) > NUMBER_TEXT:
        raise ValueError(f"A number has at most {NUMBER_TEXT} characters.")
    return value


def _decimal(minimum: float, maximum: float) -> WithJsonSchema:
    return WithJsonSchema({"anyOf": [
        {"type": "number", "minimum": minimum, "maximum": maximum},
        {"type": "string", "maxLength": NUMBER_TEXT, "pattern": r"^\d+(\.\d+)?$"}]})


Amount = Annotated[Decimal, BeforeValidator(_short_number),
                   Field(ge=0, le=Decimal("1000000000"), max_digits=14, decimal_places=2),
                   _decimal(0, 1_000_000_000)]
Share = Annotated[Decimal, BeforeValidator(_short_number),
                  Field(gt=0, le=1000, max_digits=8, decimal_places=4), _decimal(0, 1000)]


class CostIn(Input):
    kind: CostKind
    amount: Amount
    currency: Currency
    paid_by: Annotated[str, Field(min_length=1, max_length=64,
                                  description="The paying nation's code.")]
    description: Label = ""


class CostOut(BaseModel):
    id: uuid.UUID
    kind: CostKind
    amount: Decimal
    currency: str
    paid_by: str
    description: str
    added_at: datetime


class SharingIn(Input):
    """Who bears the costs; a common budget is split by ``key`` (nation code to its share)."""

    policy: Sharing
    key: Annotated[dict[Annotated[str, Field(max_length=64)], Share],
                   Field(max_length=60)] = {}

    @model_validator(mode="after")
    def _keyed(self) -> SharingIn:
        if self.policy is Sharing.COMMON_BUDGET and not self.key:
            raise ValueError("A common budget is split by a key: give each nation's share.")
        if self.policy is not Sharing.COMMON_BUDGET and self.key:
            raise ValueError("Only a common budget takes a key.")
        return self


Sums = dict[str, dict[str, Decimal]]  # nation code -> currency -> amount


class CostsOut(BaseModel):
    """The items and their totals, per currency (no rates are assumed): what each nation
    paid, what the deployment cost, and what each owes under the sharing policy."""

    items: list[CostOut]
    sharing: Sharing
    key: dict[str, Decimal]
    paid: Sums
    total: dict[str, Decimal]
    owed: Sums


class CallOutOut(BaseModel):
    """A call-out as its expert sees it."""

    deployment_id: uuid.UUID
    expert_id: uuid.UUID | None = None
    reference: str = ""
    callout: Callout
    due_at: datetime | None = None
    answered_at: datetime | None = None
    mode: Mode | None = None
    location: str = ""
    skill: str = ""
    lead: bool = False


class AttachmentOut(BaseModel):
    id: uuid.UUID
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: datetime
