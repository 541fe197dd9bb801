"""Migration 0004 keys an existing chain: it re-seals the events with CRRT_AUDIT_KEY once their
SHA-256 chain verifies, and refuses to seal a chain that does not."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from crrt.audit import service as audit
from crrt.audit.models import GENESIS
from crrt.core import migrations
from crrt.core.db import Database, UTCDateTime
from crrt.core.errors import Conflict
from tests.conftest import AUDIT_KEY, SYSTEM
from tests.support import Cli

EVENTS = sa.table("audit_events", sa.column("seq", sa.BigInteger), sa.column("at", UTCDateTime()),
                  sa.column("actor", sa.String), sa.column("action", sa.String),
                  sa.column("object_type", sa.String), sa.column("object_id", sa.String),
                  sa.column("changes", sa.JSON), sa.column("prev_hash", sa.String),
                  sa.column("hash", sa.String))
HEAD = sa.table("audit_head", sa.column("id", sa.Integer), sa.column("seq", sa.BigInteger),
                sa.column("hash", sa.String))


@pytest.fixture
def url(empty_url: str) -> str:
    """An empty database of each engine (tests/conftest.py), to migrate step by step."""
    return empty_url


def _sha256(event: dict[str, object]) -> str:
    """The unkeyed hash of revisions 0001-0003."""
    body = {**event, "at": event["at"].isoformat()}  # type: ignore[attr-defined]
    return hashlib.sha256(audit.canonical(body).encode()).hexdigest()


def _old_chain(url: str, count: int) -> list[dict[str, object]]:
    """A database at 0003 holding ``count`` events chained the old way, head included."""
    migrations.upgrade(url, "0003")
    start = datetime(2026, 3, 1, 9, 0, 0, 123456, tzinfo=UTC)
    events, prev = [], GENESIS
    for seq in range(1, count + 1):
        event = {"seq": seq, "at": start + timedelta(seconds=seq), "actor": "system:cli",
                 "action": "expert.nominate", "object_type": "expert",
                 "object_id": str(uuid.UUID(int=seq)),
                 "changes": {"name": "(personal data)", "level": [None, seq % 3]},
                 "prev_hash": prev}
        event["hash"] = prev = _sha256(event)
        events.append(event)
    database = Database(url)
    try:
        with database.engine.begin() as connection:
            connection.execute(EVENTS.insert(), events)
            connection.execute(HEAD.update().values(seq=count, hash=prev))
    finally:
        database.dispose()
    return events


def _stored(database: Database) -> list[dict[str, object]]:
    with database.engine.connect() as connection:
        return [dict(row) for row in connection.execute(
            sa.select(EVENTS).order_by(EVENTS.c.seq)).mappings()]


def _old_chain_intact(database: Database) -> bool:
    prev = GENESIS
    for event in _stored(database):
        if event["prev_hash"] != prev or _sha256(
                {k: v for k, v in event.items() if k != "hash"}) != event["hash"]:
            return False
        prev = event["hash"]
    with database.engine.connect() as connection:
        return connection.execute(sa.select(HEAD.c.hash)).scalar() == prev


def test_upgrading_keys_every_existing_event_and_the_head(url):
    before = _old_chain(url, 40)
    migrations.upgrade(url)
    database = audit.bind_key(Database(url), AUDIT_KEY)
    try:
        after = _stored(database)
        same = ("seq", "at", "actor", "action", "object_type", "object_id", "changes")
        assert [{k: e[k] for k in same} for e in after] == [{k: e[k] for k in same}
                                                            for e in before]
        assert not {e["hash"] for e in after} & {e["hash"] for e in before}
        with database.session(read_only=True) as db:
            result = audit.verify(db=db)
        assert (result.ok, result.events) == (True, 40)
        with database.session() as db:  # the chain goes on where it was
            audit.record(db=db, actor=SYSTEM, action="test.after", object_type="thing",
                         object_id=1)
        with database.session(read_only=True) as db:
            assert audit.verify(db=db).events == 41
        other = audit.bind_key(Database(url), "not-the-key-" + "x" * 32)
        try:
            with other.session(read_only=True) as db:
                assert audit.verify(db=db).first_bad_seq == 1
        finally:
            other.dispose()
    finally:
        database.dispose()


@pytest.mark.parametrize(("tamper", "event"), [
    ("UPDATE audit_events SET object_id = 'forged' WHERE seq = 7", 7),
    ("DELETE FROM audit_events WHERE seq > 30", 31),
])
def test_a_broken_chain_stops_the_upgrade_before_anything_changes(url, tamper, event):
    _old_chain(url, 40)
    database = Database(url)
    try:
        with database.engine.begin() as connection:
            connection.exec_driver_sql(tamper)
        before = _stored(database)
        with pytest.raises(Conflict, match=f"broken at event {event} .*restore the last backup"):
            migrations.upgrade(url)
        assert migrations.current_revision(database.engine) == "0003"
        assert _stored(database) == before
        columns = {c["name"] for c in sa.inspect(database.engine).get_columns("audit_head")}
        assert "mac" not in columns
    finally:
        database.dispose()


def test_db_upgrade_names_the_broken_event_without_a_traceback(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path}/old.db"
    _old_chain(url, 5)
    database = Database(url)
    with database.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE audit_events SET changes = '{\"a\": 1, \"a\": 1}' "
                                   "WHERE seq = 2")
    database.dispose()
    result = Cli(url, monkeypatch, str(tmp_path / "data"))("db", "upgrade")
    assert result.exit_code == 1
    assert "broken at event 2 (changes holds the key 'a' twice)" in result.stderr
    assert "Traceback" not in result.stderr


def test_downgrading_restores_the_unkeyed_chain(url):
    _old_chain(url, 12)
    migrations.upgrade(url)
    database = Database(url)
    try:
        assert not _old_chain_intact(database)
        _downgrade(url, "0003")
        assert _old_chain_intact(database)
        migrations.upgrade(url)
        with audit.bind_key(database, AUDIT_KEY).session(read_only=True) as db:
            assert audit.verify(db=db).events == 12
    finally:
        database.dispose()


def _downgrade(url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(migrations.alembic_config(url), revision)
