"""The intel part's inputs and answers: sharing groups, and the outcome of adding objects
(as a TAXII status resource reports it: each object's success or failure)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, model_validator

from crrt.access.enums import Tlp
from crrt.core.inputs import Input
from crrt.core.text import Label, Note, ShortNote
from crrt.intel.observables import Kind

MAX_MEMBERS = 100
OrgCode = Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z0-9-]{2,64}$",
                               description="An organisation's code (EE, cert-eu).")]
Codes = Annotated[list[OrgCode], Field(max_length=MAX_MEMBERS)]


class CollectionIn(Input):
    """A sharing group. ``members`` read and write; ``readers`` only read."""

    title: Annotated[Label, Field(min_length=1)]
    description: Note = ""
    members: Annotated[Codes, Field(min_length=1)]
    readers: Codes = []
    max_tlp: Tlp = Tlp.GREEN

    @model_validator(mode="after")
    def _carriable(self) -> CollectionIn:
        if self.max_tlp is Tlp.RED:
            raise ValueError("A collection never carries TLP:RED: it is for named people, "
                             "not for organisations' systems.")
        if self.max_tlp is Tlp.AMBER_STRICT and len(set(self.members + self.readers)) > 1:
            raise ValueError("TLP:AMBER+STRICT stays in one organisation: a collection that "
                             "carries it has one member.")
        if not self.title.strip():
            raise ValueError("A collection has a title.")
        return self


class MemberOut(BaseModel):
    org: str
    can_read: bool
    can_write: bool


class CollectionOut(BaseModel):
    id: uuid.UUID = Field(description="The TAXII collection id.")
    title: str
    description: str
    max_tlp: Tlp
    members: list[MemberOut]
    can_read: bool = Field(description="Whether the caller reads it.")
    can_write: bool = Field(description="Whether the caller adds objects to it.")
    created_at: datetime


class Failure(BaseModel):
    id: str | None
    message: str


class Success(BaseModel):
    id: str
    version: str


class AddOut(BaseModel):
    """Each object's outcome, as a TAXII 2.1 status resource counts them."""

    total_count: int
    success_count: int
    failure_count: int
    successes: list[Success]
    failures: list[Failure]


IndicatorType = Annotated[str, Field(max_length=64, pattern=r"^[a-z0-9-]+$",
                                     description="STIX's indicator-type-ov.")]


class ObservableIn(Input):
    type: Kind
    value: Annotated[str, Field(min_length=1, max_length=2048)]
    description: ShortNote = ""


class IndicatorsIn(Input):
    """Observables to share as indicators, marked ``tlp``, in these collections."""

    observables: Annotated[list[ObservableIn], Field(min_length=1, max_length=1000)]
    collections: Annotated[list[uuid.UUID], Field(min_length=1, max_length=20)]
    tlp: Tlp = Tlp.AMBER
    indicator_types: Annotated[list[IndicatorType], Field(min_length=1, max_length=10)] = [
        "malicious-activity"]
    valid_until: datetime | None = None
    sightings: bool = Field(default=True, description="Also the observables, observed-data "
                                                      "and the organisation's sightings.")


class Published(BaseModel):
    collection_id: uuid.UUID
    outcome: AddOut


class IndicatorsOut(BaseModel):
    identity: str = Field(description="The sharing organisation's STIX identity.")
    indicators: list[str]
    objects: int
    published: list[Published]


class Observed(Input):
    type: Kind
    value: Annotated[str, Field(min_length=1, max_length=2048)]


class CorrelateIn(Input):
    observables: Annotated[list[Observed], Field(min_length=1, max_length=1000)]


class CollectionRef(BaseModel):
    id: uuid.UUID
    title: str


class Hit(BaseModel):
    id: str = Field(description="The STIX object that says the value.")
    type: str
    matched: str = Field(description="The value it says.")
    how: str = Field(description="same; within (a network holding it); contains (a value "
                                 "inside the network asked); above or below (domains)")
    collections: list[CollectionRef] = []
    organisations: list[str] = Field(default=[], description="Who shared it.")


class CorrelationOut(BaseModel):
    type: Kind
    value: str
    normalised: str | None = None
    error: str | None = None
    hits: list[Hit] = []


class CorrelateOut(BaseModel):
    results: list[CorrelationOut]
