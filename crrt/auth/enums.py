"""Closed sets of the auth domain."""

from enum import StrEnum


class Role(StrEnum):
    """What a user does in the project (DESIGN §1)."""

    ADMIN = "admin"
    COORDINATOR = "coordinator"
    NATIONAL_POC = "national_poc"
    RESPONDER = "responder"
    REQUESTER = "requester"
    OBSERVER = "observer"
