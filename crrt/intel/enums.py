"""The closed sets of federation: which way a peer syncs, how crrt signs in to it, and how a
round ended."""

from __future__ import annotations

from enum import StrEnum


class Direction(StrEnum):
    """What a round does with a peer: take its objects, send ours, or both."""

    PULL = "pull"
    PUSH = "push"
    BOTH = "both"

    @property
    def pulls(self) -> bool:
        return self is not Direction.PUSH

    @property
    def pushes(self) -> bool:
        return self is not Direction.PULL


class PeerAuth(StrEnum):
    """How the peer's token is sent: as a bearer token, or as HTTP Basic's password."""

    BEARER = "bearer"
    BASIC = "basic"


class SyncOutcome(StrEnum):
    """How a round ended. ``incomplete``: its budget (pages, time) ran out with more to do, and
    the next round goes on from its cursors; ``interrupted``: its process died mid-round."""

    RUNNING = "running"
    COMPLETE = "complete"
    INCOMPLETE = "incomplete"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
