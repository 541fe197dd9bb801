"""A keyed audit chain: each event's hash becomes HMAC-SHA256 under CRRT_AUDIT_KEY, and the
head carries a MAC of its sequence and hash.

The existing events are re-sealed with the key, but only after their SHA-256 chain verifies:
sealing a tampered chain would make the tampering look authentic, so a broken chain stops
the upgrade with the event and the reason. The formulas are copied here, not imported, so this
revision keeps doing what it did when the service changes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 10:00:00.000000

"""
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from typing import Any, Sequence, Union

import sqlalchemy as sa
from alembic import op

from crrt.core.config import get_settings
from crrt.core.db import UTCDateTime
from crrt.core.errors import Conflict

# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

GENESIS = "0" * 64
BATCH = 5000

EVENTS = sa.table("audit_events", sa.column("id", sa.BigInteger), sa.column("seq", sa.BigInteger),
                  sa.column("at", UTCDateTime()), sa.column("actor", sa.String),
                  sa.column("action", sa.String), sa.column("object_type", sa.String),
                  sa.column("object_id", sa.String), sa.column("changes", sa.JSON),
                  sa.column("prev_hash", sa.String), sa.column("hash", sa.String))
HEAD = sa.table("audit_head", sa.column("id", sa.Integer), sa.column("seq", sa.BigInteger),
                sa.column("hash", sa.String), sa.column("mac", sa.String))

Digest = Callable[[bytes], str]


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise ValueError(f"changes holds the key {key[:40]!r} twice")
        found[key] = value
    return found


def _no_constant(name: str) -> Any:
    raise ValueError(f"changes holds {name}, which is not JSON")


def _changes(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except (TypeError, RecursionError, json.JSONDecodeError):
        raise ValueError("changes is not valid JSON") from None
    if not isinstance(value, dict):
        raise ValueError("changes is not a JSON object")
    return value


def _body_digest(row: Any, changes: dict[str, Any], prev_hash: str, digest: Digest) -> str:
    body = {"seq": row.seq, "at": row.at.isoformat(), "actor": row.actor, "action": row.action,
            "object_type": row.object_type, "object_id": row.object_id, "changes": changes,
            "prev_hash": prev_hash}
    return digest(_canonical(body).encode())


def _sha256(message: bytes) -> str:
    return hashlib.sha256(message).hexdigest()


def _hmac(key: bytes) -> Digest:
    return lambda message: hmac.digest(key, message, "sha256").hex()


def _head_mac(key: bytes, seq: int, digest: str) -> str:
    return _hmac(key)(b"crrt audit head\n" + _canonical({"hash": digest, "seq": seq}).encode())


def _rows(connection: sa.Connection) -> Iterator[Any]:
    last = 0
    while True:
        batch = connection.execute(
            sa.select(EVENTS.c.id, EVENTS.c.seq, EVENTS.c.at, EVENTS.c.actor, EVENTS.c.action,
                      EVENTS.c.object_type, EVENTS.c.object_id,
                      sa.cast(EVENTS.c.changes, sa.Text).label("changes"),
                      EVENTS.c.prev_hash, EVENTS.c.hash)
            .where(EVENTS.c.id > last).order_by(EVENTS.c.id).limit(BATCH)).all()
        yield from batch
        if len(batch) < BATCH:
            return
        last = batch[-1].id


def _verify(connection: sa.Connection, digest: Digest,
            head_mac: Callable[[int, str], str] | None) -> None:
    """Walk the chain under ``digest`` and check its head; Conflict naming the first bad event.
    Nothing is written before this passes."""
    expected, prev = 1, GENESIS

    def broken(seq: int, reason: str) -> Conflict:
        return Conflict(f"The audit chain is broken at event {seq} ({reason}), so this "
                        "migration will not re-seal it: that would make the tampering look "
                        "authentic. Run `crrt audit verify` with the version that wrote it, "
                        "and restore the last backup whose chain is intact.")

    try:
        for row in _rows(connection):
            if row.seq != expected:
                raise broken(row.seq, f"sequence gap: expected {expected}")
            if row.prev_hash != prev:
                raise broken(row.seq, "prev_hash does not match the event before")
            try:
                changes = _changes(row.changes)
            except ValueError as exc:
                raise broken(row.seq, str(exc)) from None
            if not hmac.compare_digest(_body_digest(row, changes, prev, digest).encode(),
                                       str(row.hash).encode()):
                raise broken(row.seq, "content does not match its hash")
            prev, expected = row.hash, expected + 1
    except (ValueError, TypeError, OverflowError) as exc:  # SQLite keeps any value
        raise broken(expected, f"a stored value cannot be read ({type(exc).__name__})") from None
    columns = [HEAD.c.seq, HEAD.c.hash] + ([HEAD.c.mac] if head_mac else [])
    head = connection.execute(sa.select(*columns).where(HEAD.c.id == 1)).first()
    if head is None:
        raise broken(expected, "the audit head row is missing")
    if (head.seq, head.hash) != (expected - 1, prev):
        raise broken(expected, "the chain does not end where its head says")
    if head_mac and not hmac.compare_digest(str(head.mac).encode(),
                                            head_mac(head.seq, head.hash).encode()):
        raise broken(expected, "the audit head does not match its MAC")


def _reseal(connection: sa.Connection, digest: Digest) -> tuple[int, str]:
    """Recompute every hash of the (verified) chain under ``digest``, a batch at a time;
    the new tip's sequence and hash."""
    statement = (EVENTS.update().where(EVENTS.c.id == sa.bindparam("row_id"))
                 .values(prev_hash=sa.bindparam("new_prev"), hash=sa.bindparam("new_hash")))
    seq, prev = 0, GENESIS
    updates: list[dict[str, Any]] = []
    for row in _rows(connection):
        new = _body_digest(row, _changes(row.changes), prev, digest)
        updates.append({"row_id": row.id, "new_prev": prev, "new_hash": new})
        seq, prev = row.seq, new
        if len(updates) == BATCH:
            connection.execute(statement, updates)
            updates = []
    if updates:
        connection.execute(statement, updates)
    return seq, prev


def upgrade() -> None:
    """Re-seal the verified chain with the key; MAC the head."""
    key = get_settings().resolved_audit_key().encode()
    connection = op.get_bind()
    _verify(connection, _sha256, head_mac=None)
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mac', sa.String(length=64), nullable=True))
    seq, digest = _reseal(connection, _hmac(key))
    connection.execute(HEAD.update().where(HEAD.c.id == 1)
                       .values(seq=seq, hash=digest, mac=_head_mac(key, seq, digest)))
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.alter_column('mac', existing_type=sa.String(length=64), nullable=False)


def downgrade() -> None:
    """Back to the unkeyed SHA-256 chain, after the keyed one verifies."""
    key = get_settings().resolved_audit_key().encode()
    connection = op.get_bind()
    _verify(connection, _hmac(key), head_mac=lambda seq, digest: _head_mac(key, seq, digest))
    seq, digest = _reseal(connection, _sha256)
    connection.execute(HEAD.update().where(HEAD.c.id == 1).values(seq=seq, hash=digest))
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.drop_column('mac')
