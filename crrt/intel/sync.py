"""One sync round with a peer: the peer taken (so two rounds never move one cursor), a pull
(:mod:`crrt.intel.pull`) and a push (:mod:`crrt.intel.push`) as its direction says, with no
session open while the peer answers, and the round's entry in the sync log.

A failure of the peer, or of ours, is the entry's outcome and error, never an exception that
stops the caller (the job goes on with other peers); no error, log line or entry carries the
token.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from crrt.access.enums import Role, Tlp
from crrt.access.principal import Principal
from crrt.core import clock, secretbox
from crrt.core.config import Settings
from crrt.core.db import Database, removed
from crrt.core.errors import Conflict, NotFound
from crrt.intel import peers, pull, push, taxii_client
from crrt.intel.enums import Direction, PeerAuth, SyncOutcome
from crrt.intel.models import Collection, Peer, SyncLog
from crrt.intel.peer_schemas import SyncLogOut
from crrt.intel.taxii_client import PeerFailed, Remote

log = logging.getLogger("crrt.intel.sync")

PAGE = 100
MAX_PAGES = 200  # a direction's pages in one round; the next round goes on
ROUND_SECONDS = 240.0  # pages are started for this long; one more request may follow
LEASE = timedelta(minutes=10)  # renewed with every page, so it only needs to outlast one
KEEP_LOG = 500  # rounds kept per peer


class LostLease(Exception):
    """Another round took the peer over (this one outlived its lease)."""


@dataclass
class Progress:
    """How far a direction is: objects handled so far, of ``total`` when it is known."""

    direction: Direction
    done: int
    total: int | None = None


Report = Callable[[Progress], None]


@dataclass
class Tally:
    pulled: int = 0
    pushed: int = 0
    withheld: int = 0
    refused: int = 0
    errors: list[str] = field(default_factory=list)
    finished: bool = True


@dataclass(frozen=True)
class Target:
    """A peer as a round reads it once, at its start, so no session stays open over HTTP."""

    id: int
    public_id: uuid.UUID
    name: str
    api_root: str
    remote: str
    collection_id: int
    collection: uuid.UUID
    members: frozenset[int]
    direction: Direction
    ceiling: Tlp
    organisation_id: int | None
    auth: PeerAuth
    username: str
    token: str | None = field(repr=False)
    pull_after: str | None
    pull_next: str | None
    pull_seen: str | None
    push_added: datetime | None
    push_placement: int

    @property
    def objects_url(self) -> str:
        return f"{self.api_root}collections/{self.remote}/objects/"

    def scrub(self, text: str) -> str:
        return taxii_client.scrub(text, self.token)


def node(peer: uuid.UUID) -> Principal:
    """The node itself storing what a peer sent: the coordination cell's rights, no
    organisation (so AMBER+STRICT never enters a shared collection this way), named in the
    audit log by the peer."""
    return Principal(user_id=None, email=f"system:peer:{peer}", name="crrt federation",
                     role=Role.COORDINATOR, org_id=None, org_code=None)


@dataclass
class Round:
    """A round under way, as its pull and push share it."""

    database: Database
    remote: Remote
    target: Target
    holder: str
    tally: Tally
    page_size: int
    until: float  # time.monotonic() after which no page or envelope is started
    default_tlp: Tlp
    progress: Report
    max_pages: int = MAX_PAGES

    @property
    def actor(self) -> Principal:
        return node(self.target.public_id)

    def out_of_time(self) -> bool:
        return time.monotonic() > self.until

    def hold(self, db: Session) -> None:
        """Renew the round's hold on the peer, in the transaction that moves a cursor: a
        round that lost it writes nothing."""
        held = db.execute(update(Peer).where(Peer.id == self.target.id,
                                             Peer.lease_holder == self.holder)
                          .values(lease_until=clock.now() + LEASE))
        if removed(held) == 0:
            raise LostLease("another round took the peer over, or the peer was deleted")

    def report(self, direction: Direction, done: int, total: int | None = None) -> None:
        self.progress(Progress(direction, done, total))


def run_round(*, database: Database, actor: Principal, peer_id: uuid.UUID, settings: Settings,
              page_size: int = PAGE, seconds: float = ROUND_SECONDS,
              progress: Report | None = None, http: httpx.Client | None = None
              ) -> SyncLogOut:
    """One round with a peer, each way its direction says, starting pages for ``seconds``;
    its log entry. A failure of the peer (or of ours) is the entry's outcome and error, not
    an exception; another round holding the peer is a 409, a peer deleted meanwhile a 404."""
    holder = str(uuid.uuid4())
    with database.session() as db:
        peer = peers.get_peer(db=db, actor=actor, peer_id=peer_id)
        entry = _begin(db, peer, holder)
        target, unreadable = _target(db, peer, settings.resolved_secret_key())
        entry_id = entry.id
    tally = Tally()
    if unreadable:
        tally.errors.append(unreadable)
    else:
        own = http is None
        session = http or taxii_client.client()
        try:
            _directions(Round(
                database=database, target=target, holder=holder, tally=tally,
                remote=Remote(session, objects_url=target.objects_url, auth=target.auth,
                              username=target.username, token=target.token),
                page_size=page_size, until=time.monotonic() + seconds,
                default_tlp=Tlp(settings.intel_default_tlp),
                progress=progress or (lambda _p: None)))
        finally:
            if own:
                session.close()
    return _end(database, target, entry_id, holder, tally,
                every=timedelta(minutes=settings.intel_sync_minutes))


def _directions(run: Round) -> None:
    target = run.target
    ways = [(Direction.PULL, pull.pull)] * target.direction.pulls + \
        [(Direction.PUSH, push.push)] * target.direction.pushes
    for direction, way in ways:
        try:
            way(run)
        except (PeerFailed, LostLease) as exc:
            run.tally.errors.append(f"{direction.value}: {target.scrub(str(exc))}")
        except Exception as exc:  # ours (the database): recorded, never fatal to others
            log.exception("sync with peer %s (%s) failed", target.public_id, direction)
            run.tally.errors.append(f"{direction.value}: {type(exc).__name__}: "
                                    f"{target.scrub(str(exc))}")


def _begin(db: Session, peer: Peer, holder: str) -> SyncLog:
    """Take the peer (409 if a round holds it) and open the round's log entry; a round left
    running by a process that died is marked interrupted."""
    if not peer.active:
        raise Conflict(f"Peer '{peer.name}' is inactive: activate it to sync with it.")
    now = clock.now()
    taken = db.execute(update(Peer).where(
        Peer.id == peer.id, or_(Peer.lease_until.is_(None), Peer.lease_until < now))
        .values(lease_holder=holder, lease_until=now + LEASE))
    if removed(taken) == 0:
        raise Conflict(f"A sync round with peer '{peer.name}' is running already.")
    db.execute(update(SyncLog).where(SyncLog.peer_id == peer.id,
                                     SyncLog.outcome == SyncOutcome.RUNNING)
               .values(outcome=SyncOutcome.INTERRUPTED, finished_at=now,
                       error="its process ended before the round did"))
    entry = SyncLog(public_id=uuid.uuid4(), peer_id=peer.id, direction=peer.direction,
                    started_at=now, outcome=SyncOutcome.RUNNING, error="", pulled=0, pushed=0,
                    withheld=0, refused=0)
    db.add(entry)
    db.flush()
    return entry


def _target(db: Session, peer: Peer, secret_key: str) -> tuple[Target, str | None]:
    collection = db.get(Collection, peer.collection_id)
    assert collection is not None  # a foreign key
    try:
        token, unreadable = peers.token_of(peer, secret_key), None
    except secretbox.Unreadable:
        token, unreadable = None, ("the peer's token cannot be read (was CRRT_SECRET_KEY "
                                   "changed?): set it again")
    return Target(
        id=peer.id, public_id=peer.public_id, name=peer.name, api_root=peer.api_root,
        remote=peer.remote_collection, collection_id=collection.id,
        collection=collection.public_id,
        members=frozenset(m.organisation_id for m in collection.members),
        direction=peer.direction, ceiling=peer.max_tlp, organisation_id=peer.organisation_id,
        auth=peer.auth, username=peer.username, token=token, pull_after=peer.pull_after,
        pull_next=peer.pull_next, pull_seen=peer.pull_seen, push_added=peer.push_added,
        push_placement=peer.push_placement), unreadable


def _end(database: Database, target: Target, entry_id: int, holder: str, tally: Tally, *,
         every: timedelta) -> SyncLogOut:
    """Close the round's entry and free the peer (due again at once if the round's budget ran
    out with more to do); :class:`NotFound` if the peer was deleted meanwhile, its log with
    it."""
    now = clock.now()
    outcome = SyncOutcome.FAILED if tally.errors else (
        SyncOutcome.COMPLETE if tally.finished else SyncOutcome.INCOMPLETE)
    with database.session() as db:
        entry = db.get(SyncLog, entry_id)
        peer = db.get(Peer, target.id)
        if entry is None or peer is None:
            log.warning("peer %s was deleted while a round with it ran (%s: %d pulled, "
                        "%d pushed)", target.public_id, outcome, tally.pulled, tally.pushed)
            raise NotFound(f"Peer '{target.name}' was deleted while the round ran.")
        entry.finished_at = now
        entry.outcome = outcome
        entry.pulled, entry.pushed = tally.pulled, tally.pushed
        entry.withheld, entry.refused = tally.withheld, tally.refused
        entry.error = "; ".join(tally.errors)[:taxii_client.MAX_ERROR]
        if peer.lease_holder == holder:
            peer.lease_holder, peer.lease_until = None, None
            peer.next_sync_at = now if outcome is SyncOutcome.INCOMPLETE else now + every
        db.flush()
        return peers.log_out(entry, peer)


def prune(database: Database, *, keep: int = KEEP_LOG) -> int:
    """Keep each peer's newest ``keep`` rounds; returns how many older ones went."""
    gone = 0
    with database.session() as db:
        for peer_id in db.scalars(select(Peer.id)).all():
            cut = db.scalar(select(SyncLog.id).where(SyncLog.peer_id == peer_id)
                            .order_by(SyncLog.id.desc()).offset(keep).limit(1))
            if cut is not None:
                gone += removed(db.execute(delete(SyncLog).where(
                    SyncLog.peer_id == peer_id, SyncLog.id <= cut)))
    return gone
