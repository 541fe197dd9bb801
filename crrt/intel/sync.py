"""One sync round with a peer, over TAXII 2.1 (any conformant server: another crrt node,
medallion, a vendor's).

**Pull**: ``GET {api_root}collections/{id}/objects/`` with ``added_after``, ``limit`` and every
version, following ``next`` while ``more``. Each page is stored through
:func:`crrt.intel.service.add_objects` (validated, what is there skipped, the collection's TLP
enforced) as the node itself, in one transaction with the cursor: a round killed between
pages loses nothing and repeats nothing, and the next resumes with the same ``next`` token. A
server that forgot its token is asked again from the last date added committed, inclusive,
and the store skips what it holds. A finished walk starts the next one a little before its
last date added (:data:`OVERLAP`): a server's placement committed late with an earlier date
is still found.

**Push**: our placements after the push cursor (date added, then placement), those our own
organisations shared (what came from a peer is not relayed), each sent only if
:func:`crrt.intel.peers.leaves`; envelopes ``POST``-ed to the peer's collection, the cursor
moved only once the peer answered with a status resource.

Requests time out per step and per answer, answers are bounded in size, redirects are not
followed, and no error, log line or log entry carries the token.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from crrt.access.enums import Role, Tlp
from crrt.access.principal import Principal
from crrt.audit import service as audit
from crrt.core import clock, secretbox
from crrt.core.config import Settings
from crrt.core.db import Database, removed
from crrt.core.errors import Conflict
from crrt.intel import markings, peers, service, stix
from crrt.intel.enums import Direction, PeerAuth, SyncOutcome
from crrt.intel.models import Collection, CollectionObject, Peer, StixObject, SyncLog
from crrt.intel.peer_schemas import SyncLogOut

log = logging.getLogger("crrt.intel.sync")

TAXII = "application/taxii+json;version=2.1"
PAGE = 100
MAX_PAGES = 200  # a direction's pages in one round; the next round goes on
ROUND_SECONDS = 240.0
LEASE = timedelta(minutes=10)  # renewed with every page, so it only needs to outlast one
STEP_SECONDS = 10.0  # connecting, each read, each write
ANSWER_SECONDS = 60.0  # one whole answer, however slowly it drips
MAX_ANSWER = 32 * 1024 * 1024
MAX_SEND = 8 * 1024 * 1024  # an envelope we send (crrt takes 16 MiB)
MAX_ERROR = 1000
OVERLAP = timedelta(minutes=2)
KEEP_LOG = 500  # rounds kept per peer


class PeerFailed(Exception):
    """A request to the peer failed; the message says why, without secrets."""


class NextRefused(PeerFailed):
    """The peer refused a ``next`` token it gave (it forgot it, or restarted)."""


class LostLease(Exception):
    """Another round took the peer over (this one outlived its lease)."""


@dataclass
class Progress:
    """How far a direction is: objects handled so far, of ``total`` when it is known."""

    direction: Direction
    done: int
    total: int | None = None


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
    token: str | None
    pull_after: str | None
    pull_next: str | None
    pull_seen: str | None
    push_added: datetime | None
    push_placement: int

    @property
    def objects_url(self) -> str:
        return f"{self.api_root}collections/{self.remote}/objects/"

    def scrub(self, text: str) -> str:
        """``text`` bounded, and without the token, should a server have echoed it."""
        if self.token:
            text = text.replace(self.token, "[token]")
        return text[:MAX_ERROR]


def node(peer: uuid.UUID) -> Principal:
    """The node itself storing what a peer sent: the coordination cell's rights, no
    organisation (so AMBER+STRICT never enters a shared collection this way), named in the
    audit log by the peer."""
    return Principal(user_id=None, email=f"system:peer:{peer}", name="crrt federation",
                     role=Role.COORDINATOR, org_id=None, org_code=None)


# --- talking to the peer -----------------------------------------------------------------------

class Remote:
    """The peer's TAXII 2.1 collection over one HTTP client (its connections reused)."""

    def __init__(self, target: Target, http: httpx.Client) -> None:
        self.target = target
        self.http = http
        self.headers = {"Accept": TAXII}
        if target.token and target.auth is PeerAuth.BASIC:
            pair = f"{target.username}:{target.token}".encode()
            self.headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        elif target.token:
            self.headers["Authorization"] = f"Bearer {target.token}"

    def _call(self, method: str, params: dict[str, str] | None = None,
              body: bytes | None = None) -> tuple[httpx.Response, bytes]:
        headers = dict(self.headers) | ({"Content-Type": TAXII} if body is not None else {})
        deadline = time.monotonic() + ANSWER_SECONDS
        try:
            with self.http.stream(method, self.target.objects_url, params=params,
                                  content=body, headers=headers) as answer:
                chunks, size = [], 0
                for chunk in answer.iter_bytes():
                    size += len(chunk)
                    if size > MAX_ANSWER:
                        raise PeerFailed(f"the answer is larger than {MAX_ANSWER // 2**20} MiB")
                    if time.monotonic() > deadline:
                        raise PeerFailed(f"the answer took over {ANSWER_SECONDS:.0f} s")
                    chunks.append(chunk)
        except httpx.HTTPError as exc:
            raise PeerFailed(self.target.scrub(
                f"{method} {self.target.objects_url}: {type(exc).__name__}: {exc}")) from None
        return answer, b"".join(chunks)

    def _json(self, answer: httpx.Response, content: bytes, expected: tuple[int, ...]
              ) -> dict[str, Any]:
        if answer.status_code not in expected:
            raise PeerFailed(self.target.scrub(_refusal(answer, content)))
        kind = answer.headers.get("content-type", "").replace(" ", "").lower()
        if not kind.startswith(("application/taxii+json", "application/json")):
            raise PeerFailed(f"the peer answered {kind or 'no content type'}, not TAXII JSON")
        try:
            found = orjson.loads(content)
        except orjson.JSONDecodeError:
            raise PeerFailed("the peer's answer is not JSON") from None
        if not isinstance(found, dict):
            raise PeerFailed("the peer's answer is not a JSON object")
        return found

    def objects(self, *, added_after: str | None, next_token: str | None, limit: int
                ) -> tuple[dict[str, Any], str | None]:
        """One page (the envelope) and its ``X-TAXII-Date-Added-Last``."""
        params = {"limit": str(limit), "match[version]": "all"}
        if added_after:
            params["added_after"] = added_after
        if next_token:
            params["next"] = next_token
        answer, content = self._call("GET", params=params)
        if next_token and answer.status_code in (400, 404):
            raise NextRefused(self.target.scrub(_refusal(answer, content)))
        envelope = self._json(answer, content, (200,))
        objects = envelope.get("objects", [])
        if not isinstance(objects, list):
            raise PeerFailed("the peer's envelope holds no list of objects")
        return envelope, answer.headers.get("x-taxii-date-added-last")

    def add(self, objects: list[dict[str, Any]]) -> dict[str, Any]:
        """Send an envelope; the peer's status resource."""
        answer, content = self._call("POST", body=orjson.dumps({"objects": objects}))
        status = self._json(answer, content, (200, 201, 202))
        if "status" not in status or not isinstance(status.get("success_count", 0), int):
            raise PeerFailed("the peer did not answer with a TAXII status resource")
        return status


def _refusal(answer: httpx.Response, content: bytes) -> str:
    """Why the peer said no, in words: its TAXII error's title and description if any."""
    code = answer.status_code
    meaning = {401: "the peer refused our credentials",
               403: "the peer's account may not do this",
               404: "no such collection at the peer (or our account does not read it)",
               406: "the peer does not speak TAXII 2.1 here",
               413: "the envelope is larger than the peer takes",
               415: "the peer does not take TAXII 2.1 envelopes here"}.get(code, "")
    detail = ""
    try:
        found = orjson.loads(content[:65536])
        if isinstance(found, dict):
            detail = " ".join(str(found.get(k, "")) for k in ("title", "description")).strip()
    except orjson.JSONDecodeError:
        pass
    text = f"HTTP {code}" + (f" ({meaning})" if meaning else "")
    return text + (f": {detail[:300]}" if detail else "")


def client() -> httpx.Client:
    """TLS verified, no redirect followed (a token must not go elsewhere), bounded steps."""
    return httpx.Client(timeout=STEP_SECONDS, follow_redirects=False, verify=True)


# --- the round ---------------------------------------------------------------------------------

Report = Callable[[Progress], None]


def run_round(*, database: Database, actor: Principal, peer_id: uuid.UUID, settings: Settings,
              page_size: int = PAGE, progress: Report | None = None,
              http: httpx.Client | None = None) -> SyncLogOut:
    """One round with a peer, each way its direction says; its log entry. A failure of the
    peer (or of ours) is the entry's outcome and error, not an exception; another round
    holding the peer is a 409."""
    holder = str(uuid.uuid4())
    with database.session() as db:
        peer = peers.get_peer(db=db, actor=actor, peer_id=peer_id)
        entry = _begin(db, peer, holder)
        target, unreadable = _target(db, peer, settings.resolved_secret_key())
        entry_id = entry.id
    tally = Tally()
    started = time.monotonic()
    if unreadable:
        tally.errors.append(unreadable)
    else:
        own = http is None
        session = http or client()
        try:
            remote = Remote(target, session)
            report = progress or (lambda _p: None)
            ways = [(Direction.PULL, _pull)] * target.direction.pulls + \
                [(Direction.PUSH, _push)] * target.direction.pushes
            for direction, run in ways:
                try:
                    run(database, remote, holder, tally, settings=settings,
                        page_size=page_size, until=started + ROUND_SECONDS, report=report)
                except (PeerFailed, LostLease) as exc:
                    tally.errors.append(f"{direction.value}: {target.scrub(str(exc))}")
                except Exception as exc:  # ours (the database): recorded, never fatal to others
                    log.exception("sync with peer %s (%s) failed", target.public_id, direction)
                    tally.errors.append(f"{direction.value}: {type(exc).__name__}: "
                                        f"{target.scrub(str(exc))}")
        finally:
            if own:
                session.close()
    return _end(database, target.id, entry_id, holder, tally,
                every=timedelta(minutes=settings.intel_sync_minutes))


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
        id=peer.id, public_id=peer.public_id, api_root=peer.api_root,
        remote=peer.remote_collection, collection_id=collection.id,
        collection=collection.public_id,
        members=frozenset(m.organisation_id for m in collection.members),
        direction=peer.direction, ceiling=peer.max_tlp, organisation_id=peer.organisation_id,
        auth=peer.auth, username=peer.username, token=token, pull_after=peer.pull_after,
        pull_next=peer.pull_next, pull_seen=peer.pull_seen, push_added=peer.push_added,
        push_placement=peer.push_placement), unreadable


def _hold(db: Session, peer_id: int, holder: str) -> None:
    """Renew the round's hold on the peer, in the transaction that moves a cursor: a round
    that lost it writes nothing."""
    held = db.execute(update(Peer).where(Peer.id == peer_id, Peer.lease_holder == holder)
                      .values(lease_until=clock.now() + LEASE))
    if removed(held) == 0:
        raise LostLease("another round took the peer over")


def _end(database: Database, peer_id: int, entry_id: int, holder: str, tally: Tally, *,
         every: timedelta) -> SyncLogOut:
    now = clock.now()
    outcome = SyncOutcome.FAILED if tally.errors else (
        SyncOutcome.COMPLETE if tally.finished else SyncOutcome.INCOMPLETE)
    with database.session() as db:
        entry = db.get(SyncLog, entry_id)
        peer = db.get(Peer, peer_id)
        assert entry is not None and peer is not None
        entry.finished_at = now
        entry.outcome = outcome
        entry.pulled, entry.pushed = tally.pulled, tally.pushed
        entry.withheld, entry.refused = tally.withheld, tally.refused
        entry.error = "; ".join(tally.errors)[:MAX_ERROR]
        if peer.lease_holder == holder:
            peer.lease_holder, peer.lease_until = None, None
            peer.next_sync_at = now if outcome is SyncOutcome.INCOMPLETE else now + every
        db.flush()
        return peers.log_out(entry, peer)


# --- pull --------------------------------------------------------------------------------------

def _before(stamp: str) -> str:
    """A moment just before ``stamp``, so that ``added_after`` (exclusive) takes it in."""
    moment = datetime.fromisoformat(stix.parse_stamp(stamp).replace("Z", "+00:00"))
    return stix.stamp(moment - timedelta(microseconds=1))


def _pull(database: Database, remote: Remote, holder: str, tally: Tally, *,
          settings: Settings, page_size: int, until: float, report: Report) -> None:
    target = remote.target
    if target.pull_next:
        after, next_token = target.pull_after, target.pull_next
    else:  # a new walk, from a little before where the last one ended
        after, next_token = _overlapped(target.pull_seen), None
    seen = target.pull_seen
    done = 0
    for _page in range(MAX_PAGES):
        if time.monotonic() > until:
            tally.finished = False
            return
        try:
            envelope, last = remote.objects(added_after=after, next_token=next_token,
                                            limit=page_size)
        except NextRefused:
            after, next_token = (_before(seen) if seen else None), None
            continue
        more = envelope.get("more") is True
        following = envelope.get("next") if more else None
        if following is not None and (not isinstance(following, str) or len(following) > 1000):
            raise PeerFailed("the peer's next token is not a string of at most 1000 "
                             "characters")
        if last is not None:
            try:
                last = stix.parse_stamp(last)
            except stix.Refused:
                raise PeerFailed("the peer's X-TAXII-Date-Added-Last is not a "
                                 "timestamp") from None
        if more and following is None and last is None:
            raise PeerFailed("the peer says there is more but gives neither a next token "
                             "nor the last date added")
        objects = [o for o in envelope.get("objects", [])
                   if not (isinstance(o, dict) and markings.is_tlp_definition(str(o.get("id"))))]
        seen = last or seen
        with database.session() as db:
            _hold(db, target.id, holder)
            new, refused = _store(db, target, objects, settings)
            db.execute(update(Peer).where(Peer.id == target.id).values(
                pull_after=after if more else None, pull_next=following, pull_seen=seen))
        tally.pulled += new
        tally.refused += refused
        done += len(objects)
        report(Progress(Direction.PULL, done))
        if not more:
            return
        if following is None:  # a server without next tokens: on from the last date added
            after = last
        next_token = following
    tally.finished = False


def _overlapped(seen: str | None) -> str | None:
    if seen is None:
        return None
    moment = datetime.fromisoformat(seen.replace("Z", "+00:00"))
    return stix.stamp(moment - OVERLAP)


def _store(db: Session, target: Target, objects: list[Any], settings: Settings
           ) -> tuple[int, int]:
    """Add a page to the local collection as the node; (new here, refused)."""
    if not objects:
        return 0, 0
    ids = sorted({str(o["id"]) for o in objects
                  if isinstance(o, dict) and isinstance(o.get("id"), str)})
    held = {(row[0], row[1]) for row in db.execute(
        select(StixObject.stix_id, StixObject.version)
        .join(CollectionObject, CollectionObject.object_id == StixObject.id)
        .where(CollectionObject.collection_id == target.collection_id,
               StixObject.stix_id.in_(ids)))}
    outcome = service.add_objects(db=db, actor=node(target.public_id),
                                  collection_id=target.collection,
                                  envelope={"objects": objects},
                                  default_tlp=Tlp(settings.intel_default_tlp))
    new = sum(1 for s in outcome.successes if (s.id, s.version) not in held)
    return new, outcome.failure_count


# --- push --------------------------------------------------------------------------------------

def _pending(target: Target, added: datetime | None, placement: int) -> Any:
    """Our organisations' placements in the local collection after the push cursor."""
    stmt = (select(CollectionObject.id, CollectionObject.date_added, StixObject.tlp,
                   StixObject.organisation_id, StixObject.body, StixObject.stix_id,
                   StixObject.version)
            .join(StixObject, StixObject.id == CollectionObject.object_id)
            .where(CollectionObject.collection_id == target.collection_id,
                   StixObject.organisation_id.is_not(None)))
    if added is not None:
        stmt = stmt.where(or_(CollectionObject.date_added > added,
                              and_(CollectionObject.date_added == added,
                                   CollectionObject.id > placement)))
    return stmt


def _push(database: Database, remote: Remote, holder: str, tally: Tally, *,
          settings: Settings, page_size: int, until: float, report: Report) -> None:
    target = remote.target
    added, placement = target.push_added, target.push_placement
    with database.session(read_only=True) as db:
        total = db.scalar(select(func.count()).select_from(
            _pending(target, added, placement).subquery()))
    done = 0
    for _batch in range(MAX_PAGES):
        if time.monotonic() > until:
            tally.finished = False
            return
        with database.session(read_only=True) as db:
            rows = db.execute(_pending(target, added, placement)
                              .order_by(CollectionObject.date_added, CollectionObject.id)
                              .limit(page_size)).all()
        if not rows:
            return
        sending: list[dict[str, Any]] = []
        sent_keys: list[str] = []
        size, taken = 0, 0
        for row in rows:
            body = dict(row.body)
            size += len(orjson.dumps(body))
            if sending and size > MAX_SEND:
                break
            taken += 1
            if peers.leaves(row.tlp, ceiling=target.ceiling, owner_org=row.organisation_id,
                            members=target.members, peer_org=target.organisation_id):
                sending.append(body)
                sent_keys.append(f"{row.stix_id} {row.version}")
        fetched, rows = len(rows), rows[:taken]
        withheld = len(rows) - len(sending)
        status = remote.add(sending) if sending else {}
        accepted = int(status.get("success_count", 0)) + int(status.get("pending_count", 0))
        refused = int(status.get("failure_count", 0))
        added, placement = rows[-1].date_added, rows[-1].id
        with database.session() as db:
            _hold(db, target.id, holder)
            db.execute(update(Peer).where(Peer.id == target.id)
                       .values(push_added=added, push_placement=placement))
            if sending:
                digest = hashlib.sha256("\n".join(sorted(sent_keys)).encode()).hexdigest()
                audit.record(db=db, actor=node(target.public_id), action="intel.objects_pushed",
                             object_type=peers.KIND, object_id=target.public_id,
                             changes={"sent": len(sending), "accepted": accepted,
                                      "refused": refused, "withheld": withheld,
                                      "digest": digest})
        tally.pushed += accepted
        tally.refused += refused
        tally.withheld += withheld
        done += len(rows)
        report(Progress(Direction.PUSH, done, total))
        if fetched < page_size and taken == fetched:
            return
    tally.finished = False


# --- the log's bound ---------------------------------------------------------------------------

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
