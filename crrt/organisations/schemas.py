"""What the organisations API takes and gives."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta
from typing import Annotated

import pycountry
from pydantic import AfterValidator, BaseModel, Field, model_validator

from crrt.access.enums import Tlp
from crrt.core import clock
from crrt.core.contact import Fingerprint, Messenger, Phone
from crrt.core.inputs import Input
from crrt.core.text import Email, Name, Note
from crrt.organisations.enums import InstitutionKind, Membership, MembershipEvent, OrgKind

EARLIEST = date(1990, 1, 1)


def _plausible(day: date | None) -> date | None:
    """A membership date within reason: a far-future one would block every later change."""
    if day is not None and not EARLIEST <= day <= clock.today() + timedelta(days=366):
        raise ValueError(f"must lie between {EARLIEST.isoformat()} and a year from today")
    return day


EffectiveOn = Annotated[date | None, AfterValidator(_plausible)]

SLUG = re.compile(r"^[a-z][a-z0-9-]{1,63}$")


def nation_code_problem(code: str) -> str | None:
    """Why ``code`` is not an ISO 3166-1 alpha-2 country code, or None if it is one."""
    if len(code) != 2 or not code.isupper() or pycountry.countries.get(alpha_2=code) is None:
        return f"'{code}' is not an ISO 3166-1 alpha-2 country code (e.g. LT, EE)."
    return None


class ContactIn(Input):
    """A change to the contact card: only the fields sent change; ``null`` clears one."""

    hotline: Phone = Field(default=None, description="The 24/7 hotline (+370 5 000 0000).")
    email: Email | None = Field(default=None, description="The team's e-mail address.")
    pgp_fingerprint: Fingerprint = Field(
        default=None, description="The team key's fingerprint: 40 or 64 hexadecimal digits.")
    messenger: Messenger = None
    default_tlp: Tlp | None = Field(default=None,
                                    description="The TLP it shares under unless it says "
                                                "otherwise.")


class ContactOut(BaseModel):
    """How other teams reach the organisation; every field may be unset (null)."""

    hotline: str | None
    email: str | None
    pgp_fingerprint: str | None = Field(description="Upper-case hexadecimal, no spaces.")
    messenger: str | None
    default_tlp: Tlp | None


class OrganisationIn(Input):
    code: str = Field(min_length=2, max_length=64,
                      description="ISO 3166-1 alpha-2 for a nation (LT), a slug otherwise.")
    name: Name
    kind: OrgKind
    membership: Membership | None = None
    effective_on: EffectiveOn = Field(default=None,
                                      description="When the membership began; today if unset.")
    contact: ContactIn | None = None

    @model_validator(mode="after")
    def _code_fits_kind(self) -> OrganisationIn:
        if self.kind is OrgKind.NATION:
            problem = nation_code_problem(self.code)
            if problem:
                raise ValueError(problem)
        else:
            if not SLUG.match(self.code):
                raise ValueError("A non-nation code is a lowercase slug (e.g. cert-eu).")
            if self.membership is not None:
                raise ValueError("Only a nation holds a membership in the project.")
        return self


class OrganisationPatch(Input):
    """Change the name, the membership (null means the nation leaves the project), or the
    contact card; a national POC may send only the card, and only for its own nation."""

    name: Name | None = None
    membership: Membership | None = None
    effective_on: EffectiveOn = None
    note: Note = ""
    contact: ContactIn | None = None


class MembershipChangeOut(BaseModel):
    id: uuid.UUID
    event: MembershipEvent
    previous: Membership | None
    membership: Membership | None
    effective_on: date
    planned: bool = Field(description="Dated in the future: not in force yet.")
    note: str
    recorded_at: datetime
    recorded_by: str


class OrganisationOut(BaseModel):
    code: str
    name: str
    kind: OrgKind
    membership: Membership | None = Field(description="The membership in force (today, or on "
                                                      "the day asked for).")
    member_since: date | None = Field(description="When the membership in force began.")
    planned: list[MembershipChangeOut] = Field(
        description="Changes recorded for a later day, in the order they take effect.")
    contact: ContactOut


class InstitutionIn(Input):
    name: Name
    kind: InstitutionKind


class InstitutionPatch(Input):
    name: Name | None = None
    kind: InstitutionKind | None = None


class InstitutionOut(BaseModel):
    id: uuid.UUID
    org: str
    name: str
    kind: InstitutionKind
