"""The closed sets access is decided by: roles (DESIGN §1) and TLP 2.0 markings."""

from enum import StrEnum


class Role(StrEnum):
    """What a user does in the project (DESIGN §1)."""

    ADMIN = "admin"
    COORDINATOR = "coordinator"
    NATIONAL_POC = "national_poc"
    RESPONDER = "responder"
    REQUESTER = "requester"
    OBSERVER = "observer"


class Tlp(StrEnum):
    """The Traffic Light Protocol 2.0 (FIRST), most open first."""

    CLEAR = "clear"
    GREEN = "green"
    AMBER = "amber"
    AMBER_STRICT = "amber+strict"
    RED = "red"

    @property
    def label(self) -> str:
        """How the marking is written on the item: ``TLP:AMBER+STRICT``."""
        return f"TLP:{self.value.upper()}"

    @property
    def rank(self) -> int:
        """0 for CLEAR up to 4 for RED: a higher rank is more restricted."""
        return _TLP_RANKS[self]


_TLP_RANKS = {marking: n for n, marking in enumerate(Tlp)}  # asked per object, thousands a request


class Audience(StrEnum):
    """Where a marked record would go when it leaves this node."""

    PUBLIC = "public"            # anyone: a published report, an open feed
    COMMUNITY = "community"      # every node of the project's community
    ORGANISATION = "organisation"  # the node of one named organisation
