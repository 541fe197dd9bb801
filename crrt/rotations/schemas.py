"""What the rotations API takes and gives."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from crrt.core.inputs import Input
from crrt.core.text import Name, ShortNote
from crrt.core.zones import TimeZone
from crrt.experts.enums import Clearance, Skill
from crrt.experts.schemas import Languages
from crrt.rotations.enums import DutyRole, PlanState, SolveStatus

MAX_SLOTS = 20          # kinds of seat in a team
MAX_TEAM = 50           # seats in a team
MAX_PERIODS = 24        # twelve years of six-month rotations
MAX_SOLVE_SECONDS = 60  # what an API call may ask the solver for


class TemplateSlot(Input):
    """Seats needing one skill at a minimum level (and clearance); a lead seat is the team
    lead's (a ``team_lead`` slot is one unless it says otherwise)."""

    skill: Skill
    min_level: int = Field(default=1, ge=1, le=3)
    count: int = Field(default=1, ge=1, le=MAX_TEAM)
    clearance: Clearance = Clearance.NONE
    lead: bool | None = None

    @property
    def is_lead(self) -> bool:
        return self.skill is Skill.TEAM_LEAD if self.lead is None else self.lead


class TemplateRules(Input):
    """The rules shared by a new template and one being changed."""

    min_size: int = Field(default=8, ge=1, le=MAX_TEAM)
    max_size: int = Field(default=12, ge=1, le=MAX_TEAM)
    min_nations: int = Field(default=3, ge=1, le=MAX_TEAM)
    max_per_nation: int = Field(default=3, ge=1, le=MAX_TEAM)
    languages: Languages = Field(default_factory=lambda: ["en"])
    consecutive: bool = False
    slots: Annotated[list[TemplateSlot], Field(min_length=1, max_length=MAX_SLOTS)]


class TemplateIn(TemplateRules):
    name: Name

    @model_validator(mode="after")
    def _coherent(self) -> TemplateIn:
        check_template(self)
        return self


class TemplatePatch(Input):
    name: Name | None = None
    min_size: int | None = Field(default=None, ge=1, le=MAX_TEAM)
    max_size: int | None = Field(default=None, ge=1, le=MAX_TEAM)
    min_nations: int | None = Field(default=None, ge=1, le=MAX_TEAM)
    max_per_nation: int | None = Field(default=None, ge=1, le=MAX_TEAM)
    languages: Languages | None = None
    consecutive: bool | None = None
    slots: Annotated[list[TemplateSlot], Field(min_length=1, max_length=MAX_SLOTS)] | None = None


def check_template(t: TemplateRules) -> None:
    """The rules a template keeps as a whole: its seats within its size bounds, one lead seat
    at most, holding one person, and as many nations as a team can hold."""
    seats = sum(s.count for s in t.slots)
    if t.min_size > t.max_size:
        raise ValueError("min_size is above max_size.")
    if not t.min_size <= seats <= t.max_size:
        raise ValueError(f"The slots hold {seats} seats; the team takes {t.min_size} to "
                         f"{t.max_size}.")
    leads = [s for s in t.slots if s.is_lead]
    if len(leads) > 1 or (leads and leads[0].count != 1):
        raise ValueError("A team has one lead seat at most, holding one person.")
    if t.min_nations > seats:
        raise ValueError(f"{t.min_nations} nations cannot share {seats} seats.")
    if len({(s.skill, s.min_level, s.clearance) for s in t.slots}) != len(t.slots):
        raise ValueError("Two slots ask for the same skill, level and clearance; "
                         "give one slot the count instead.")


class SlotOut(BaseModel):
    skill: Skill
    min_level: int
    count: int
    clearance: Clearance
    lead: bool


class TemplateOut(BaseModel):
    id: uuid.UUID
    name: str
    min_size: int
    max_size: int
    size: int
    min_nations: int
    max_per_nation: int
    languages: list[str]
    consecutive: bool
    slots: list[SlotOut]
    created_at: datetime
    updated_at: datetime


class CommitmentIn(Input):
    seats_per_year: int = Field(ge=0, le=1000)


class CommitmentOut(BaseModel):
    org: str
    org_name: str
    seats_per_year: int | None  # None: none stated, the fair share is proportional
    updated_at: datetime | None


FIRST_START, LAST_START = date(2000, 1, 1), date(2200, 12, 31)


class PlanIn(Input):
    template_id: uuid.UUID
    start: date = Field(ge=FIRST_START, le=LAST_START)
    periods: int = Field(default=2, ge=1, le=MAX_PERIODS)
    period_months: int = Field(default=6, ge=1, le=12)
    seconds: float = Field(default=10.0, gt=0, le=MAX_SOLVE_SECONDS,
                           description="How long the solver may search.")
    zone: TimeZone = Field(default="Europe/Brussels",
                           description="Where the weeks of duty hand over (Monday 09:00).")


class MemberOut(BaseModel):
    expert_id: uuid.UUID
    name: str
    org: str
    slot_skill: str
    lead: bool


class RotationDraft(BaseModel):
    label: str
    start: date
    end: date
    members: list[MemberOut]


class UnfilledOut(BaseModel):
    """Seats left empty, with the counts behind the reason: ``why`` is ``none`` (nobody in
    the pool qualifies), ``away`` (all who qualify are unavailable then) or ``held`` (the
    free ones are held by other seats or by the team's rules)."""

    period: str
    skill: str
    min_level: int
    clearance: int = 0  # the rank a seat needs: 0 none, 1 RESTREINT UE ... 3 SECRET UE
    count: int = 1
    missing: int
    qualified: int = 0
    free: int = 0
    why: Literal["none", "away", "held"] = "held"
    reason: str


class RuleGap(BaseModel):
    """A team rule a period misses: fewer nations than asked, or a language nobody speaks."""

    period: str
    rule: Literal["nations", "language"]
    have: int | None = None
    need: int | None = None
    language: str | None = None


class NationShare(BaseModel):
    assigned: int
    target: float


class Metrics(BaseModel):
    solve_seconds: float
    objective: float
    bound: float
    gap: float
    nations: dict[str, NationShare]


class PlanOut(BaseModel):
    id: uuid.UUID
    template_id: uuid.UUID
    template: str
    state: PlanState
    status: SolveStatus
    start: date
    periods: int
    period_months: int
    zone: str
    rotations: list[RotationDraft]
    unfilled: list[UnfilledOut]
    rule_gaps: list[RuleGap]
    explanation: list[str]
    violations: list[str]
    metrics: Metrics
    created_at: datetime
    published_at: datetime | None


class PlanSummary(BaseModel):
    id: uuid.UUID
    template: str
    state: PlanState
    status: SolveStatus
    start: date
    periods: int
    period_months: int
    created_at: datetime


class RotationMemberOut(MemberOut):
    id: uuid.UUID
    time_zone: str


class RotationOut(BaseModel):
    id: uuid.UUID
    plan_id: uuid.UUID
    label: str
    start: date
    end: date
    zone: str
    members: list[RotationMemberOut]


class ReplaceIn(Input):
    expert_id: uuid.UUID
    reason: ShortNote = ""


class ReplaceOut(BaseModel):
    rotation: RotationOut
    changes: list[str]
    unfilled: list[str]


class DutyOfficer(BaseModel):
    expert_id: uuid.UUID
    name: str
    org: str
    time_zone: str


class ShiftOut(BaseModel):
    rotation_id: uuid.UUID
    start: datetime
    end: datetime
    primary: DutyOfficer | None
    backup: DutyOfficer | None
    role: DutyRole | None = None  # on one's own roster: what one holds that week


class FeedOut(BaseModel):
    """A new secret calendar address, shown once."""

    url: str
    created_at: datetime
