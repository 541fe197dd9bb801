"""What the expert pool takes and gives; the rules the form, the API and the import share."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

import pycountry
from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    field_validator,
    model_validator,
)

from crrt.core.contact import Fingerprint, Messenger, Phone
from crrt.core.inputs import Input
from crrt.core.text import NAME_LENGTH, Email, Note, Search, ShortNote, visible_name
from crrt.core.zones import TimeZone
from crrt.experts.enums import Clearance, Deployability, Skill

ORG_CODE = r"^[A-Za-z0-9-]{2,64}$"
# An expert speaks a handful of languages; the bound keeps a hostile list from costing time.
MAX_LANGUAGES = 20


def _name(value: str) -> str:
    return visible_name(value).strip()


def language_problem(code: str) -> str | None:
    """Why ``code`` is not an ISO 639-1 language code, or None if it is one."""
    if len(code) == 2 and code.isascii() and code.isalpha() \
            and pycountry.languages.get(alpha_2=code) is not None:
        return None
    return f"'{code}' is not an ISO 639-1 language code (e.g. en, et, lt)."


def _language(value: str) -> str:
    code = value.strip().lower()
    problem = language_problem(code)
    if problem:
        raise ValueError(problem)
    return code


def _languages(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError("each language once")
    return values


def _deployability(values: list[Deployability]) -> list[Deployability]:
    if len(set(values)) != len(values):
        raise ValueError("each deployability once")
    return values


Name = Annotated[str, Field(min_length=1, max_length=NAME_LENGTH), AfterValidator(_name)]
Language = Annotated[str, Field(max_length=8), AfterValidator(_language)]
Languages = Annotated[list[Language], Field(max_length=MAX_LANGUAGES),
                      AfterValidator(_languages)]
Deployabilities = Annotated[list[Deployability],
                            Field(min_length=1, max_length=len(Deployability)),
                            AfterValidator(_deployability)]
OrgCode = Annotated[str, Field(max_length=64, pattern=ORG_CODE,
                               description="The organisation's code (EE).")]
InstitutionId = Annotated[uuid.UUID, Field(description="The institution's public id.")]


class SkillLevel(Input):
    """A skill of the taxonomy at level 1 (working), 2 (advanced) or 3 (expert)."""

    skill: Skill
    level: int = Field(ge=1, le=3)


def _skills(values: list[SkillLevel]) -> list[SkillLevel]:
    seen = [s.skill for s in values]
    if len(set(seen)) != len(seen):
        raise ValueError("each skill once")
    return values


Skills = Annotated[list[SkillLevel], Field(min_length=1, max_length=len(Skill)),
                   AfterValidator(_skills)]


class ExpertIn(Input):
    """A nomination; ``user_email`` links an existing account (admins and coordinators only)."""

    org: OrgCode
    institution_id: InstitutionId | None = None
    name: Name
    email: Email
    phone: Phone = None
    skills: Skills
    languages: Languages = Field(default_factory=list,
                                 description="ISO 639-1 codes (en, et).")
    clearance: Clearance = Clearance.NONE
    deployability: Deployabilities = Field(
        default_factory=lambda: [Deployability.REMOTE])
    time_zone: TimeZone = "UTC"
    notes: Note = ""
    messenger: Messenger = None
    pgp_fingerprint: Fingerprint = None
    clearance_expires_on: date | None = None
    user_email: Email | None = Field(
        default=None, description="Links the expert to this user's account.")


class ExpertPatch(Input):
    """A change: only the fields sent; ``null`` clears phone, institution and the user link."""

    org: OrgCode | None = None
    institution_id: InstitutionId | None = None
    name: Name | None = None
    email: Email | None = None
    phone: Phone = None
    skills: Skills | None = None
    languages: Languages | None = None
    clearance: Clearance | None = None
    deployability: Deployabilities | None = None
    time_zone: TimeZone | None = None
    notes: Note | None = None
    messenger: Messenger = None
    pgp_fingerprint: Fingerprint = None
    clearance_expires_on: date | None = None
    user_email: Email | None = None

    @model_validator(mode="after")
    def _required_stay_set(self) -> ExpertPatch:
        clearable = {"institution_id", "phone", "user_email", "notes", "messenger",
                     "pgp_fingerprint", "clearance_expires_on"}
        nulled = sorted(f for f in self.model_fields_set - clearable
                        if getattr(self, f) is None)
        if nulled:
            raise ValueError(f"{', '.join(nulled)} cannot be cleared, only changed")
        return self


class UnavailabilityIn(Input):
    """A period, inclusive of both dates, when the expert cannot be called out."""

    starts_on: date
    ends_on: date
    reason: ShortNote = ""

    @model_validator(mode="after")
    def _ordered(self) -> UnavailabilityIn:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on must not be before starts_on")
        return self


class UnavailabilityOut(BaseModel):
    id: uuid.UUID
    starts_on: date
    ends_on: date
    reason: str


class ExpertOut(BaseModel):
    id: uuid.UUID
    org: str
    org_name: str
    institution_id: uuid.UUID | None
    institution: str | None
    name: str
    email: str | None
    phone: str | None
    skills: list[SkillLevel]
    languages: list[str]
    clearance: Clearance
    deployability: list[Deployability]
    time_zone: str
    notes: str
    messenger: str | None
    pgp_fingerprint: str | None
    clearance_expires_on: date | None
    unavailability: list[UnavailabilityOut]
    available_today: bool
    verified_at: datetime | None
    stale: bool = Field(description="Not confirmed current for a year (or never).")
    created_at: datetime
    updated_at: datetime
    erased: bool


class ExpertFilter(BaseModel):
    """What to look for in the pool; every criterion narrows the list."""

    org: OrgCode | None = None
    skill: Skill | None = None
    min_level: int | None = Field(default=None, ge=1, le=3,
                                  description="With skill: at least this level in it; "
                                              "alone: at least this level in some skill.")
    language: str | None = Field(default=None, max_length=8)
    clearance: Clearance | None = Field(default=None,
                                        description="At least this clearance.")
    deployability: Deployability | None = None
    available_on: date | None = Field(default=None,
                                      description="Not inside any unavailability period.")
    available_until: date | None = Field(
        default=None, description="With available_on (else from today): no unavailability "
                                  "period touches any day of the span, this day included.")
    q: Search | None = Field(default=None, description="Part of the name, any case.")
    stale: bool | None = Field(default=None, description="true: only records not confirmed "
                                                         "current for a year; false: only "
                                                         "the others.")
    include_erased: bool = False

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        return None if value is None else _language(value)

    @model_validator(mode="after")
    def _span(self) -> ExpertFilter:
        if self.available_until is not None and self.available_on is not None \
                and self.available_until < self.available_on:
            raise ValueError("available_until must not be before available_on")
        return self


class RowRejection(BaseModel):
    row: int = Field(description="The spreadsheet row (the header is row 1).")
    email: str | None
    errors: list[str]


class ImportReport(BaseModel):
    """What an import did, or (when not applied) would do and why it did not."""

    created: int = Field(description="Rows that create an expert (would, if not applied).")
    updated: int = Field(description="Rows that update an expert (would, if not applied).")
    rejected: list[RowRejection]
    complete: bool = Field(description="False when checking stopped at the 100th rejected "
                           "row: the counts cover the rows up to it.")
    dry_run: bool
    applied: bool
