"""A round's push: our placements in the local collection after the push cursor (date added,
then placement), those our own organisations shared (what came from a peer is not relayed),
sent in envelopes ``POST``-ed to the peer's collection.

What leaves: only an object that carries its TLP itself (a TLP marking definition among its
own ``object_marking_refs``: one stored under the default TLP would leave unmarked, and a peer
whose default is lower would spread it), and only if :func:`crrt.intel.peers.leaves`; the
others are withheld.

When: a placement is stamped with its date added before its transaction commits, so one may
commit after a placement stamped later; only placements :data:`SETTLE` old are sent, so the
cursor never passes one that is still to commit.

The cursor moves, with one audit event, once the peer answered for an envelope with a status
resource. A status still ``pending`` (a server that stores envelopes later) is asked again,
waiting longer each time, for up to :data:`PENDING_WAIT`: what it then still holds pending is
counted pending, not accepted (the audit event and the log say how many); the envelope was
delivered, so the cursor moves on.

An envelope the peer refuses whole for what it holds (a 4xx such as 413) is sent again in
halves, down to single objects, and an object still refused is counted refused and passed:
one object the peer will never take does not hold back all that follow. A failure of the
peer (5xx, no answer, our credentials refused) moves nothing: the next round sends again.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Select, and_, func, or_, select, update

from crrt.access.enums import Tlp
from crrt.audit import service as audit
from crrt.core import clock
from crrt.intel import markings, peers
from crrt.intel.enums import Direction
from crrt.intel.models import CollectionObject, Peer, StixObject
from crrt.intel.taxii_client import MAX_SEND, EnvelopeRefused, PeerFailed, Remote

if TYPE_CHECKING:
    from crrt.intel.sync import Round, Target

log = logging.getLogger("crrt.intel.push")

# Longer than any transaction that adds objects takes between stamping its date added and
# committing (an envelope of 10,000 objects takes seconds)
SETTLE = timedelta(minutes=2)
PENDING_WAIT = 30.0  # seconds an envelope's status is asked again while the peer works on it
FIRST_ASK = 0.2  # seconds before it is asked again the first time; twice as long each time


class OutOfTime(Exception):
    """The round's time ran out while an envelope was being sent again in halves."""


def _pending(target: Target, *, added: datetime | None, placement: int, settled: datetime
            ) -> Select[Any]:
    """Our organisations' placements in the local collection after the push cursor (``added``,
    ``placement``), added ``settled`` or before."""
    stmt = (select(CollectionObject.id, CollectionObject.date_added, StixObject.tlp,
                   StixObject.organisation_id, StixObject.body, StixObject.stix_id,
                   StixObject.version)
            .join(StixObject, StixObject.id == CollectionObject.object_id)
            .where(CollectionObject.collection_id == target.collection_id,
                   StixObject.organisation_id.is_not(None),
                   CollectionObject.date_added <= settled))
    if added is not None:
        stmt = stmt.where(or_(CollectionObject.date_added > added,
                              and_(CollectionObject.date_added == added,
                                   CollectionObject.id > placement)))
    return stmt


def _marked(body: dict[str, Any], tlp: Tlp) -> bool:
    """Whether an object carries its stored TLP in its own markings."""
    refs = body.get("object_marking_refs")
    if not isinstance(refs, list):
        return False
    own = [str(r) for r in refs]
    return any(markings.is_tlp_definition(r) for r in own) and markings.tlp_of(own) is tlp


@dataclass
class Offer:
    """Envelopes sent in order; one refused whole is sent again in halves. ``decided``: how
    many of the objects, from the first, the peer has answered for."""

    remote: Remote
    until: float
    decided: int = 0
    accepted: int = 0
    refused: int = 0
    pending: int = 0
    reasons: list[str] = field(default_factory=list)

    def send(self, bodies: list[dict[str, Any]]) -> None:
        if not bodies:
            return
        try:
            status = self.remote.add(bodies)
        except EnvelopeRefused as exc:
            if len(bodies) == 1:
                self.refused += 1
                self.decided += 1
                self.reasons.append(f"{bodies[0].get('id')}: {exc}")
                return
            if time.monotonic() > self.until:
                raise OutOfTime from None
            half = (len(bodies) + 1) // 2
            self.send(bodies[:half])
            self.send(bodies[half:])
            return
        status = self._settled(status)
        # what the peer says, never more than was sent
        left = len(bodies)
        for name, key in (("accepted", "success_count"), ("refused", "failure_count"),
                          ("pending", "pending_count")):
            said = min(int(status.get(key, 0)), left)
            setattr(self, name, getattr(self, name) + said)
            left -= said
        self.decided += len(bodies)

    def _settled(self, status: dict[str, Any]) -> dict[str, Any]:
        """The status once the peer has decided on every object, or as it stands after
        :data:`PENDING_WAIT` (or at the round's end); a failure to ask keeps the last."""
        deadline = min(time.monotonic() + PENDING_WAIT, self.until)
        wait = FIRST_ASK
        while status.get("status") == "pending" and status.get("pending_count", 0) > 0 and \
                isinstance(status.get("id"), str) and time.monotonic() + wait < deadline:
            time.sleep(wait)
            wait = min(wait * 2, 5.0)
            try:
                status = self.remote.status(status["id"])
            except PeerFailed as exc:
                log.info("the status of an envelope sent could not be read: %s", exc)
                break
        return status


def push(run: Round) -> None:
    target, tally = run.target, run.tally
    settled = clock.now() - SETTLE
    added, placement, done = target.push_added, target.push_placement, 0
    with run.database.session(read_only=True) as db:
        total = db.scalar(select(func.count()).select_from(_pending(
            target, added=added, placement=placement, settled=settled).subquery()))
    for _batch in range(run.max_pages):
        if run.out_of_time():
            tally.finished = False
            return
        with run.database.session(read_only=True) as db:
            rows = db.execute(_pending(target, added=added, placement=placement,
                                       settled=settled)
                              .order_by(CollectionObject.date_added, CollectionObject.id)
                              .limit(run.page_size)).all()
        if not rows:
            return
        batch = _envelope(rows, target)
        offer = Offer(run.remote, run.until)
        failure: Exception | None = None
        try:
            offer.send([body for _row, body in batch if body is not None])
        except (PeerFailed, OutOfTime) as exc:
            failure = exc
        answered = _answered(batch, offer.decided)
        if answered:
            _record(run, answered, offer)
            added, placement = answered[-1][0].date_added, answered[-1][0].id
            done += len(answered)
            run.report(Direction.PUSH, done, total)
        if isinstance(failure, OutOfTime):
            tally.finished = False
            return
        if failure is not None:
            raise failure
        if len(rows) < run.page_size and len(batch) == len(rows):
            return
    tally.finished = False


def _envelope(rows: Sequence[Any], target: Target) -> list[tuple[Any, dict[str, Any] | None]]:
    """The rows one envelope covers (at most :data:`MAX_SEND` of what is sent, at least one
    row), each with the body to send, or None when it is withheld."""
    batch: list[tuple[Any, dict[str, Any] | None]] = []
    size = 0
    for row in rows:
        body = dict(row.body)
        leaves = _marked(body, row.tlp) and peers.leaves(
            row.tlp, ceiling=target.ceiling, owner_org=row.organisation_id,
            members=target.members, peer_org=target.organisation_id)
        if leaves:
            size += len(orjson.dumps(body))
            if size > MAX_SEND and any(b is not None for _r, b in batch):
                break
        batch.append((row, body if leaves else None))
    return batch


def _answered(batch: list[tuple[Any, dict[str, Any] | None]], decided: int
              ) -> list[tuple[Any, dict[str, Any] | None]]:
    """The rows from the first that are settled: withheld, or sent and answered for."""
    sent = 0
    for at, (_row, body) in enumerate(batch):
        if body is not None:
            if sent == decided:
                return batch[:at]
            sent += 1
    return batch


def _record(run: Round, answered: list[tuple[Any, dict[str, Any] | None]], offer: Offer
            ) -> None:
    """Move the cursor past ``answered``, with the audit event of what went."""
    target, tally = run.target, run.tally
    sent = [f"{row.stix_id} {row.version}" for row, body in answered if body is not None]
    withheld = len(answered) - len(sent)
    last = answered[-1][0]
    with run.database.session() as db:
        run.hold(db)
        db.execute(update(Peer).where(Peer.id == target.id)
                   .values(push_added=last.date_added, push_placement=last.id))
        if sent:
            digest = hashlib.sha256("\n".join(sorted(sent)).encode()).hexdigest()
            audit.record(db=db, actor=run.actor, action="intel.objects_pushed",
                         object_type=peers.KIND, object_id=target.public_id,
                         changes={"sent": len(sent), "accepted": offer.accepted,
                                  "refused": offer.refused, "pending": offer.pending,
                                  "withheld": withheld, "digest": digest})
    for reason in offer.reasons:
        log.warning("peer %s refused an object: %s", target.public_id, reason)
    if offer.pending:
        log.info("peer %s still works on %d objects sent", target.public_id, offer.pending)
    tally.pushed += offer.accepted
    tally.refused += offer.refused
    tally.withheld += withheld
