"""Closed sets of requests for assistance."""

from __future__ import annotations

from enum import StrEnum


class Category(StrEnum):
    """Who asks: what decides whether they may (DESIGN §4, the project's eligibility)."""

    PARTICIPANT = "participant"
    MEMBER_STATE = "member_state"          # an EU member state outside the project
    EU_INSTITUTION = "eu_institution"
    CSDP_MISSION = "csdp_mission"
    PARTNER = "partner"                    # needs an arrangement on file


class Service(StrEnum):
    INCIDENT_RESPONSE = "incident_response"
    DIGITAL_FORENSICS = "digital_forensics"
    MALWARE_ANALYSIS = "malware_analysis"
    VULNERABILITY_ASSESSMENT = "vulnerability_assessment"
    ELECTION_SUPPORT = "election_support"
    TRAINING = "training"
    OTHER = "other"


class Mode(StrEnum):
    REMOTE = "remote"
    ON_SITE = "on_site"
    HYBRID = "hybrid"


class OtherSupport(StrEnum):
    """Help engaged besides the CRRTs, so nobody duplicates it."""

    NATO = "nato"
    EU_CYBERSECURITY_RESERVE = "eu_cybersecurity_reserve"
    CSIRTS_NETWORK = "csirts_network"
    BILATERAL = "bilateral"


class Channel(StrEnum):
    """How the request reached the coordination cell."""

    WEB = "web"
    API = "api"
    PHONE = "phone"
    EMAIL = "email"


class RequestState(StrEnum):
    """Submitted, then triaged into the Council, which ends it activated or declined; the
    requester may withdraw it until the Council has decided."""

    SUBMITTED = "submitted"
    COUNCIL = "council"
    ACTIVATED = "activated"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class Clock(StrEnum):
    """The SLA clocks of a request, each counted from its receipt."""

    TRIAGE = "triage"
    DECISION = "decision"
    RESPONSE = "response"  # a team on its way: 72 hours by default


class Position(StrEnum):
    """A participant's word in the CRRT Council."""

    SUPPORT = "support"
    OBJECT = "object"
    ABSTAIN = "abstain"


class Outcome(StrEnum):
    ACTIVATE = "activate"
    DECLINE = "decline"


class DeploymentState(StrEnum):
    """A deployment's life: planned on activation, then on its way, in the field, closed; or
    cancelled (the request then ends activated, not deployed)."""

    PLANNED = "planned"
    DEPLOYING = "deploying"
    DEPLOYED = "deployed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class Consent(StrEnum):
    """A contributing nation's word on sending one of its experts."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    DECLINED = "declined"


class Callout(StrEnum):
    """A team member's call-out: sent once the nation consents, then answered, or escalated
    when the answer does not come in time."""

    PENDING = "pending"
    SENT = "sent"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    ESCALATED = "escalated"


class Source(StrEnum):
    """Where a proposed member came from: the team on duty, or the wider pool."""

    ROTATION = "rotation"
    POOL = "pool"


class CostKind(StrEnum):
    TRAVEL = "travel"
    ACCOMMODATION = "accommodation"
    PER_DIEM = "per_diem"
    EQUIPMENT = "equipment"
    LICENCES = "licences"
    OTHER = "other"


class Sharing(StrEnum):
    """Who bears a deployment's costs."""

    REQUESTER_PAYS = "requester_pays"
    LIE_WHERE_THEY_FALL = "lie_where_they_fall"   # each nation bears what it paid
    COMMON_BUDGET = "common_budget"               # split among nations by a key
