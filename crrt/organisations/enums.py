"""Closed sets of the organisations domain."""

from enum import StrEnum


class OrgKind(StrEnum):
    NATION = "nation"
    EU_INSTITUTION = "eu_institution"
    PARTNER = "partner"


class Membership(StrEnum):
    """A nation's role in the project; no membership is ``None``, not a member of this set."""

    LEAD = "lead"
    PARTICIPANT = "participant"
    OBSERVER = "observer"


class MembershipEvent(StrEnum):
    JOINED = "joined"
    ROLE_CHANGED = "role_changed"
    LEFT = "left"


class InstitutionKind(StrEnum):
    CSIRT = "csirt"
    MILITARY = "military"
    POLICE = "police"
    INTELLIGENCE = "intelligence"
    ACADEMIA = "academia"
    OTHER = "other"
