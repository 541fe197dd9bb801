"""Append to and verify the keyed, hash-chained audit log.

Each event's hash is HMAC-SHA256 under the audit key (``CRRT_AUDIT_KEY``, kept outside the
database) over its canonical JSON (sorted keys, no spaces) including the previous event's
hash, so editing, deleting or reordering any row breaks every hash after it, and only the key
can seal a rewritten chain again. The head carries a MAC of its sequence and hash, so moving
it back over a cut tail takes the key too. Checkpoints, signed copies of the head that
operators keep elsewhere, catch what a key holder or a replayed head could still hide.

Personal data never enters the log (only the names of the fields that changed), which is what
lets an expert be erased while the chain stays valid.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, event, insert, select, update
from sqlalchemy.orm import Session, SessionTransaction

from crrt.access import policy
from crrt.access.principal import Principal
from crrt.audit.models import GENESIS, AuditEvent, AuditHead
from crrt.audit.schemas import AuditEventOut
from crrt.core import clock
from crrt.core.at_commit import inside, rolled_back_savepoint
from crrt.core.db import Base, Database
from crrt.core.errors import Invalid
from crrt.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_after, encode_cursor

PERSONAL = "(personal data)"
KEY_INFO = "crrt.audit.seal"  # where a session (``Session.info``) carries the audit key
PENDING_INFO = "crrt.audit.pending"  # the events it recorded and has not sealed yet
HEAD_DOMAIN = b"crrt audit head\n"  # an event's message is a JSON object: it starts with "{"
CHECKPOINT_DOMAIN = b"crrt audit checkpoint\n"


def canonical(value: Any) -> str:
    """The one byte-exact JSON form hashed and stored (no NaN: it is not JSON)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False, default=str)


class Seal:
    """The audit key at work: seals events, the head and checkpoints, and never shows itself
    (no repr, no attribute that prints it), so it cannot reach a log by accident."""

    __slots__ = ("_key",)

    def __init__(self, key: str) -> None:
        if not key:
            raise ValueError("the audit key is empty")
        self._key = key.encode()

    def __repr__(self) -> str:
        return "Seal(<audit key>)"

    def _mac(self, message: bytes) -> str:
        return hmac.digest(self._key, message, "sha256").hex()

    def event(self, *, seq: int, at: datetime, actor: str, action: str, object_type: str,
              object_id: str, changes: Mapping[str, Any], prev_hash: str) -> str:
        """An event's hash: its content and the hash before it, under the key."""
        body = {"seq": seq, "at": at.isoformat(), "actor": actor, "action": action,
                "object_type": object_type, "object_id": object_id, "changes": changes,
                "prev_hash": prev_hash}
        return self._mac(canonical(body).encode())

    def head(self, seq: int, digest: str) -> str:
        """The head's MAC: without the key, the head cannot be moved to another event."""
        return self._mac(HEAD_DOMAIN + canonical({"hash": digest, "seq": seq}).encode())

    def checkpoint(self, seq: int, digest: str, time: str) -> str:
        return self._mac(CHECKPOINT_DOMAIN
                         + canonical({"hash": digest, "seq": seq, "time": time}).encode())


def bind_key(database: Database, key: str) -> Database:
    """Give every session of ``database`` the audit key, so services keep passing only the
    session: the app, the CLI (and so the worker) and the test fixtures call this where they
    open the database."""
    database.info[KEY_INFO] = Seal(key)
    return database


def seal_of(db: Session) -> Seal:
    """The audit key of the session's database; none bound is a programming error."""
    seal = db.info.get(KEY_INFO)
    if not isinstance(seal, Seal):
        raise RuntimeError("this database has no audit key: call audit.service.bind_key() "
                           "where it is opened (create_app and the CLI do)")
    return seal


def _same(one: str, other: str) -> bool:
    """Constant-time comparison that also survives a non-ASCII value planted in a row."""
    return hmac.compare_digest(str(one).encode(), str(other).encode())


def diff(before: Mapping[str, Any], after: Mapping[str, Any], *,
         personal: Iterable[str] = ()) -> dict[str, Any]:
    """``{field: [old, new]}`` for each field that changed; personal fields only say so."""
    hidden = set(personal)
    changed: dict[str, Any] = {}
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old != new:
            changed[key] = PERSONAL if key in hidden else [old, new]
    return changed


@dataclass(frozen=True)
class _Pending:
    """An event recorded in a transaction and not yet sealed into the chain."""

    savepoint: SessionTransaction | None  # the innermost savepoint open when it was recorded
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    changes: dict[str, Any]


def _pending(db: Session) -> list[_Pending]:
    found: list[_Pending] = db.info.setdefault(PENDING_INFO, [])
    return found


def record(*, db: Session, actor: Principal, action: str, object_type: str,
           object_id: object, changes: Mapping[str, Any] | None = None) -> None:
    """Record one event in the caller's transaction: it joins the chain when the transaction
    commits, and is forgotten if it rolls back.

    Nothing is locked here: a transaction that records a thousand events (an import, an
    intel feed) takes the head's lock once, at its commit, and seals them all in one pass
    (``seal``). Its time is the moment of the call; its place in the chain is its commit's.
    """
    seal_of(db)  # a database without its key fails here, at the write, not at the commit
    if not db.in_transaction():
        db.begin()  # no statement yet: its end, commit or rollback, is what the events follow
    _pending(db).append(_Pending(
        savepoint=db.get_nested_transaction(), at=clock.now(), actor=actor.actor, action=action,
        object_type=object_type, object_id=str(object_id),
        changes=json.loads(canonical(dict(changes or {})))))


_HEAD = Base.metadata.tables[AuditHead.__tablename__]
_EVENTS = Base.metadata.tables[AuditEvent.__tablename__]


def seal(db: Session) -> int:
    """Append the session's recorded events to the chain; how many. Runs at every commit
    (a listener below); readers of the log in a writing session call it first to see their
    own events.

    The session's changes are flushed first, so every writer takes its row locks before the
    head's lock (one order everywhere: no deadlock on PostgreSQL), and holds the head only
    from here to its commit. The head's MAC is checked before the chain grows: sealing new
    events onto a head moved back by hand would hide the cut.
    """
    pending = db.info.get(PENDING_INFO)
    if not pending:
        return 0
    key = seal_of(db)
    db.flush()
    head = db.execute(select(_HEAD.c.seq, _HEAD.c.hash, _HEAD.c.mac)
                      .where(_HEAD.c.id == 1).with_for_update()).one_or_none()
    if head is None:  # the migration writes it; a missing head means the log was tampered with
        raise RuntimeError("the audit head row is missing: run `crrt audit verify`")
    seq, digest, mac = head
    if not _same(mac, key.head(seq, digest)):
        raise RuntimeError("the audit head does not match its MAC (moved by hand, or "
                           "CRRT_AUDIT_KEY is not this database's key): run `crrt audit verify`")
    rows = []
    for waiting in pending:
        seq, prev_hash = seq + 1, digest
        digest = key.event(seq=seq, at=waiting.at, actor=waiting.actor, action=waiting.action,
                           object_type=waiting.object_type, object_id=waiting.object_id,
                           changes=waiting.changes, prev_hash=prev_hash)
        rows.append({"seq": seq, "at": waiting.at, "actor": waiting.actor, "action": waiting.action,
                     "object_type": waiting.object_type, "object_id": waiting.object_id,
                     "changes": waiting.changes, "prev_hash": prev_hash, "hash": digest})
    db.execute(insert(_EVENTS), rows)  # one executemany: no ORM objects for the log
    db.execute(update(_HEAD).where(_HEAD.c.id == 1)
               .values(seq=seq, hash=digest, mac=key.head(seq, digest)))
    pending.clear()
    return len(rows)


@event.listens_for(Session, "before_commit")
def _seal_at_commit(db: Session) -> None:
    """Seal at the transaction's commit. SQLAlchemy fires this for a savepoint's release too:
    sealing there would take the head's lock in the middle of the transaction and hold it to
    its end, making every other writer wait (the events are sealed with the rest at the
    end)."""
    if not db.in_nested_transaction():
        seal(db)


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(db: Session, previous: SessionTransaction) -> None:
    """A savepoint rolled back takes the events recorded inside it along."""
    pending = db.info.get(PENDING_INFO)
    undone = rolled_back_savepoint(previous)
    if not pending or undone is None:
        return
    pending[:] = [waiting for waiting in pending if not inside(waiting.savepoint, undone)]


@event.listens_for(Session, "after_transaction_end")
def _forget_at_end(db: Session, transaction: SessionTransaction) -> None:
    """A transaction that ended without sealing its events (rolled back, closed) loses them,
    so a session used again never seals a former transaction's events."""
    if transaction.parent is None and PENDING_INFO in db.info:
        db.info[PENDING_INFO].clear()


def events_about(*, db: Session, object_type: str, object_id: object) -> list[AuditEvent]:
    """Every event about one object, oldest first; the caller has checked access to it."""
    seal(db)
    return list(db.scalars(select(AuditEvent).where(AuditEvent.object_type == object_type,
                                                    AuditEvent.object_id == str(object_id))
                           .order_by(AuditEvent.seq)))


def events_by(*, db: Session, actors: Iterable[str]) -> list[AuditEvent]:
    """Every event made by these actors (``user:<id>``), oldest first; for a person's copy
    of their data, which the caller has checked they may have."""
    names = sorted(set(actors))
    seal(db)
    if not names:
        return []
    return list(db.scalars(select(AuditEvent).where(AuditEvent.actor.in_(names))
                           .order_by(AuditEvent.seq)))


@dataclass(frozen=True)
class Checkpoint:
    """A signed copy of the head at a moment, for operators to keep away from this node."""

    seq: int
    hash: str
    time: str
    hmac: str

    def as_json(self) -> str:
        return canonical({"seq": self.seq, "hash": self.hash, "time": self.time,
                          "hmac": self.hmac})


@dataclass
class Verification:
    """What ``crrt audit verify`` found."""

    events: int
    first_bad_seq: int | None = None
    reason: str = ""
    last_hash: str = GENESIS

    @property
    def ok(self) -> bool:
        return self.first_bad_seq is None


class _Unreadable(ValueError):
    """A stored ``changes`` value that no reader could agree on."""


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _Unreadable(f"holds the key {key[:40]!r} twice")
        found[key] = value
    return found


def _refuse_constant(name: str) -> Any:
    raise _Unreadable(f"holds {name}, which is not JSON")


def strict_changes(text: str) -> dict[str, Any]:
    """A stored ``changes`` as one JSON object; raises ``ValueError`` saying what is wrong.

    Duplicate keys are refused: readers differ on which value counts (the first, the last),
    so a hash over one reading would vouch for a value another reader shows.
    """
    try:
        value = json.loads(text, object_pairs_hook=_refuse_duplicates,
                           parse_constant=_refuse_constant)
    except _Unreadable:
        raise
    except json.JSONDecodeError as exc:
        raise ValueError(f"is not valid JSON ({exc.msg} at character {exc.pos})") from None
    except (TypeError, RecursionError):
        raise ValueError("is not valid JSON") from None
    if not isinstance(value, dict):
        raise ValueError("is not a JSON object")
    return value


def _one_snapshot(db: Session) -> None:
    """Read the whole chain as of one moment, so appends made meanwhile are not taken for
    tampering: PostgreSQL at REPEATABLE READ (read-only, it never conflicts); a SQLite
    transaction reads one snapshot already. Only a session that has not begun can choose."""
    if not db.in_transaction() and db.get_bind().dialect.name == "postgresql":
        db.connection(execution_options={"isolation_level": "REPEATABLE READ"})


# The columns verify and list_events read: no ORM objects (the house pattern for long
# reads), and ``changes`` as its stored text, so a value that is not JSON, or holds a key
# twice, is reported instead of failing (or being silently resolved) in the JSON type.
_CHAIN = (AuditEvent.id, AuditEvent.seq, AuditEvent.at, AuditEvent.actor, AuditEvent.action,
          AuditEvent.object_type, AuditEvent.object_id, cast(AuditEvent.changes, Text),
          AuditEvent.prev_hash, AuditEvent.hash)


def verify(*, db: Session, checkpoints: Sequence[Checkpoint] = (),
           batch: int = 5000) -> Verification:
    """Recompute the whole chain in order and check the head's MAC and every checkpoint;
    stop at the first event that does not match. Reads only: give it a read-only session."""
    seal = seal_of(db)
    _one_snapshot(db)
    expected = {c.seq: c for c in checkpoints}
    prev_hash, expected_seq, count = GENESIS, 1, 0
    last_id = 0
    while True:
        # Core, not the ORM: its rows are converted one at a time, so an unreadable value
        # is pinned to its place in the chain.
        rows = db.connection().execute(select(*_CHAIN).where(AuditEvent.id > last_id)
                                       .order_by(AuditEvent.id).limit(batch))
        seen = 0
        while True:
            try:
                row = next(rows, None)
            except (ValueError, TypeError, OverflowError) as exc:  # SQLite keeps any value
                return Verification(count, expected_seq, "a stored value cannot be read "
                                    f"({type(exc).__name__})", prev_hash)
            if row is None:
                break
            seen += 1
            (last_id, seq, at, actor, action, object_type, object_id, changes_text,
             stored_prev, stored_hash) = row
            if seq != expected_seq:
                return Verification(count, seq, f"sequence gap: expected {expected_seq}, "
                                    f"found {seq}", prev_hash)
            if stored_prev != prev_hash:
                return Verification(count, seq, "prev_hash does not match the event before",
                                    prev_hash)
            try:
                changes = strict_changes(changes_text)
            except ValueError as exc:
                return Verification(count, seq, f"changes {exc}", prev_hash)
            recomputed = seal.event(seq=seq, at=at, actor=actor, action=action,
                                    object_type=object_type, object_id=object_id,
                                    changes=changes, prev_hash=stored_prev)
            if not _same(recomputed, stored_hash):
                return Verification(count, seq, "content does not match its hash (edited, or "
                                    "not sealed with this CRRT_AUDIT_KEY)", prev_hash)
            kept = expected.get(seq)
            if kept is not None and not _same(kept.hash, stored_hash):
                return Verification(count, seq, f"it does not match the checkpoint of "
                                    f"{kept.time} (the chain was rewritten)", prev_hash)
            prev_hash, expected_seq, count = stored_hash, expected_seq + 1, count + 1
        if seen < batch:
            break
    for kept in sorted(checkpoints, key=lambda c: c.seq):
        if kept.seq > count:
            return Verification(count, count + 1, f"the chain ends at event {count}, before "
                                f"the checkpoint of {kept.time} at event {kept.seq} "
                                "(events deleted)", prev_hash)
    return _check_head(db, seal, count, prev_hash)


def verify_for(*, database: Database, actor: Principal) -> Verification:
    """``verify`` for someone who may read the log (a page's button), in a reading session of
    its own: a request's session has begun already, and on PostgreSQL only a session that
    has not begun reads the whole chain and its head as of one moment, so an event appended
    meanwhile is not reported as tampering."""
    policy.require(actor, policy.Permission.AUDIT_READ)
    with database.session(read_only=True) as db:
        return verify(db=db)


def _check_head(db: Session, seal: Seal, count: int, last_hash: str) -> Verification:
    head = db.get(AuditHead, 1)
    if head is None:  # the migration writes it; only a hand in the database removes it
        return Verification(count, count + 1, "the audit head row is missing (tail deleted?)",
                            last_hash)
    if head.seq > count:
        return Verification(count, count + 1,
                            "the chain is shorter than its head records (events deleted)",
                            last_hash)
    if head.seq < count:
        return Verification(head.seq, head.seq + 1,
                            "the chain runs past its head (events added by hand?)", last_hash)
    if head.hash != last_hash:
        return Verification(max(count - 1, 0), max(count, 1),
                            "the head does not hold the last event's hash", last_hash)
    if not _same(head.mac, seal.head(head.seq, head.hash)):
        return Verification(count, count + 1, "the audit head does not match its MAC (moved "
                            "back by hand over deleted events?)", last_hash)
    return Verification(count, last_hash=last_hash)


def checkpoint(*, db: Session) -> tuple[Verification, Checkpoint | None]:
    """Verify the chain and, if it is intact, sign its head with the time: a checkpoint for
    operators to keep away from this node. A broken chain gets none, as it would vouch for
    the tampering."""
    verified = verify(db=db)
    if not verified.ok:
        return verified, None
    time = clock.iso(clock.now())
    return verified, Checkpoint(seq=verified.events, hash=verified.last_hash, time=time,
                                hmac=seal_of(db).checkpoint(verified.events,
                                                            verified.last_hash, time))


def read_checkpoint(*, db: Session, text: str) -> Checkpoint:
    """A checkpoint that ``crrt audit checkpoint`` printed with this node's key; Invalid
    naming what is wrong otherwise (not JSON, a field missing, the HMAC not matching)."""
    try:
        data = strict_changes(text)
    except ValueError as exc:
        raise Invalid(f"the checkpoint {exc}") from None
    if set(data) != {"seq", "hash", "time", "hmac"}:
        raise Invalid("the checkpoint must hold exactly seq, hash, time and hmac")
    seq, digest, time, mac = data["seq"], data["hash"], data["time"], data["hmac"]
    if (type(seq) is not int or seq < 0 or not all(isinstance(v, str)
                                                   for v in (digest, time, mac))):
        raise Invalid("the checkpoint's seq must be a number, its hash, time and hmac text")
    if not _same(mac, seal_of(db).checkpoint(seq, digest, time)):
        raise Invalid("the checkpoint's hmac does not match this node's audit key (altered, "
                      "or made on another node)")
    return Checkpoint(seq=seq, hash=digest, time=time, hmac=mac)


def _instant(name: str, moment: datetime) -> datetime:
    """A query time in UTC; one whose zone pushes it past year 1 or 9999 is a 422."""
    try:
        return clock.as_utc(moment)
    except OverflowError as exc:
        raise Invalid.field(["query", name], "The time is out of range.") from exc


def _event_out(row: Any) -> AuditEventOut:
    """One listed event; a stored ``changes`` that is not one JSON object (a row altered in
    the database) comes as ``{}`` with ``unreadable`` saying why, as ``verify`` reports it."""
    (_id, seq, at, actor, action, object_type, object_id, changes_text, prev_hash,
     digest) = row
    unreadable = None
    try:
        changes = strict_changes(changes_text)
    except ValueError as exc:
        changes, unreadable = {}, f"changes {exc}"
    return AuditEventOut(seq=seq, at=at, actor=actor, action=action, object_type=object_type,
                         object_id=object_id, changes=changes, prev_hash=prev_hash,
                         hash=digest, unreadable=unreadable)


def list_events(*, db: Session, actor: Principal, limit: int | None, cursor: str | None,
                who: str | None = None, action: str | None = None,
                object_type: str | None = None, object_id: str | None = None,
                since: datetime | None = None, until: datetime | None = None,
                ) -> tuple[list[AuditEventOut], str | None]:
    """Audit events, oldest first, filtered; only those the policy lets read it.

    The rows are read as columns with ``changes`` as its stored text (as ``verify`` reads
    them), so one altered row is shown as unreadable instead of failing the whole page.
    """
    policy.require(actor, policy.Permission.AUDIT_READ)
    seal(db)
    stmt = select(*_CHAIN)
    for column, value in ((AuditEvent.actor, who), (AuditEvent.action, action),
                          (AuditEvent.object_type, object_type),
                          (AuditEvent.object_id, object_id)):
        if value is not None:
            stmt = stmt.where(column == value)
    if since is not None:
        stmt = stmt.where(AuditEvent.at >= _instant("since", since))
    if until is not None:
        stmt = stmt.where(AuditEvent.at < _instant("until", until))
    size = DEFAULT_LIMIT if limit is None else limit
    if not 1 <= size <= MAX_LIMIT:
        raise Invalid.field(["query", "limit"], f"limit must be between 1 and {MAX_LIMIT}.")
    if cursor:
        stmt = stmt.where(AuditEvent.id > decode_after(cursor))
    rows = db.connection().execute(stmt.order_by(AuditEvent.id).limit(size + 1)).all()
    more = len(rows) > size
    rows = rows[:size]
    return ([_event_out(row) for row in rows],
            encode_cursor(rows[-1][0]) if more and rows else None)
