"""Closed sets of the rotations domain."""

from enum import StrEnum


class PlanState(StrEnum):
    """A plan is a draft until the coordination cell publishes it; a draft may be discarded."""

    DRAFT = "draft"
    PUBLISHED = "published"
    DISCARDED = "discarded"


class SolveStatus(StrEnum):
    """What the solver could prove: every seat filled and optimal, every seat filled, or some
    seats or rules left unmet (the plan then says which and why)."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"


class DutyRole(StrEnum):
    """The week's first contact for call-outs, and who stands in."""

    PRIMARY = "primary"
    BACKUP = "backup"
