"""What the planner is given and what it answers, as plain values: the planner and the
independent checker read the same words, and neither needs a database."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class Candidate:
    """An expert as the planner sees one: skills with levels 1-3, languages, clearance as a
    rank (0 none, 1 RESTREINT UE ... 3 SECRET UE), the days they are away and their time zone
    as a whole-hour UTC offset (a team spread over zones answers more hours of the day)."""

    id: int
    org: str
    skills: Mapping[str, int]
    languages: frozenset[str] = frozenset({"en"})
    clearance: int = 0
    away: tuple[tuple[date, date], ...] = ()
    zone_offset: int = 0

    def qualifies(self, slot: Slot) -> bool:
        return self.skills.get(slot.skill, 0) >= slot.min_level and \
            self.clearance >= slot.clearance

    def free(self, period: Period) -> bool:
        """Not away on any day of the period (both ends included)."""
        return all(end < period.start or start > period.end for start, end in self.away)


@dataclass(frozen=True)
class Slot:
    """Seats of a team that need one skill at a minimum level (and clearance)."""

    skill: str
    min_level: int = 1
    count: int = 1
    clearance: int = 0
    lead: bool = False


@dataclass(frozen=True)
class Template:
    """A team: its slots and the rules every team of the horizon keeps.

    A team's size is its seats (the slots' counts), so size bounds are a check on the
    template, not a choice of the planner. The issue's bounds for a real team are 8 to 12
    (``TEAM_SIZE``); the defaults here bound nothing, so that small teams stay expressible, and
    whoever accepts a template from a user passes the bounds to have them checked here."""

    slots: tuple[Slot, ...]
    min_nations: int = 1
    max_per_nation: int = 99
    languages: frozenset[str] = frozenset({"en"})
    consecutive: bool = False  # may an expert serve two periods in a row
    min_size: int = 0
    max_size: int | None = None

    def __post_init__(self) -> None:
        size = self.size
        if size < self.min_size or (self.max_size is not None and size > self.max_size):
            bounds = f"{self.min_size} to {'any' if self.max_size is None else self.max_size}"
            raise ValueError(f"a team of {size} seats, {bounds} allowed")

    @property
    def size(self) -> int:
        return sum(slot.count for slot in self.slots)


TEAM_SIZE = (8, 12)  # the bounds on a real team's seats


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # the last day, included

    @property
    def label(self) -> str:
        half = "H1" if self.start.month <= 6 else "H2"
        return f"{half} {self.start.year}" if (self.end - self.start).days > 150 else \
            f"{self.start.isoformat()} to {self.end.isoformat()}"


@dataclass(frozen=True)
class Problem:
    template: Template
    periods: tuple[Period, ...]
    candidates: tuple[Candidate, ...]
    # seats each nation should hold over the horizon; proportional to its qualified experts
    # when not given
    targets: Mapping[str, float] | None = None


@dataclass(frozen=True)
class Assignment:
    period: int   # index into Problem.periods
    expert: int
    org: str
    slot: int     # index into Template.slots
    lead: bool = False


@dataclass(frozen=True)
class Unfilled:
    period: int
    slot: int
    missing: int
    reason: str


@dataclass
class Plan:
    status: str  # optimal, feasible, partial (some seats or rules could not be met), unknown
    assignments: list[Assignment] = field(default_factory=list)
    unfilled: list[Unfilled] = field(default_factory=list)
    explanation: list[str] = field(default_factory=list)
    objective: float = 0.0
    bound: float = 0.0
    shortfall: float = 0.0  # the objective's price of seats and rules missed; the rest prefers
    solve_seconds: float = 0.0
    targets: dict[str, float] = field(default_factory=dict)

    def seats(self) -> dict[str, int]:
        """Seats each nation holds over the horizon."""
        held: dict[str, int] = {}
        for a in self.assignments:
            held[a.org] = held.get(a.org, 0) + 1
        return held


@dataclass(frozen=True)
class Move:
    """One seat whose holder a replacement changed; ``None`` is an empty seat."""

    period: int
    slot: int
    old: int | None
    new: int | None


@dataclass
class Replacement:
    """A plan repaired after a withdrawal: the new plan, its moves for the service to apply,
    and the same moves in words for the coordinator."""

    plan: Plan
    changes: list[str] = field(default_factory=list)
    moved: list[Move] = field(default_factory=list)
    fewest: bool = False  # the solver proved no repair changes fewer seats
