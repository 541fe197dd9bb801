"""Closed sets of the experts domain."""

from enum import StrEnum


class Skill(StrEnum):
    """The one skill taxonomy (DESIGN §2)."""

    TEAM_LEAD = "team_lead"
    INCIDENT_HANDLING = "incident_handling"
    DIGITAL_FORENSICS = "digital_forensics"
    MALWARE_ANALYSIS = "malware_analysis"
    NETWORK_FORENSICS = "network_forensics"
    THREAT_INTELLIGENCE = "threat_intelligence"
    VULNERABILITY_ASSESSMENT = "vulnerability_assessment"
    OT_ICS = "ot_ics"
    CLOUD = "cloud"
    LEGAL_ADVISOR = "legal_advisor"
    COMMUNICATIONS = "communications"


class Clearance(StrEnum):
    """EU classified information levels, lowest first."""

    NONE = "none"
    RESTREINT_UE = "RESTREINT UE"
    CONFIDENTIEL_UE = "CONFIDENTIEL UE"
    SECRET_UE = "SECRET UE"

    @property
    def rank(self) -> int:
        return list(Clearance).index(self)


class Deployability(StrEnum):
    REMOTE = "remote"
    ON_SITE = "on_site"
