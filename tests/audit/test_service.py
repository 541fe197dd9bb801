"""The audit log: one event per change in the change's own transaction, chained by hashes that
``crrt audit verify`` recomputes, so any edit, deletion or reordering is found."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, event, func, select, text, update

from crrt.access.enums import Role
from crrt.audit import service as audit
from crrt.audit.models import GENESIS, AuditEvent, AuditHead
from crrt.organisations import service as org_service
from crrt.organisations.schemas import InstitutionIn, OrganisationIn
from tests.conftest import AUDIT_KEY, SYSTEM
from tests.support import Cli

EVENTS = AuditEvent.__table__


@pytest.fixture
def cli(database, monkeypatch, tmp_path):
    return Cli(database.url, monkeypatch, str(tmp_path / "data"))


def _events(database) -> list[AuditEvent]:
    with database.session() as db:
        return list(db.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


def _record(database, n: int = 5) -> None:
    for i in range(n):
        with database.session() as db:
            audit.record(db=db, actor=SYSTEM, action="test.event", object_type="thing",
                         object_id=i, changes={"n": [None, i]})


def test_every_change_writes_its_event(database, world):
    with database.session() as db:
        inst = org_service.create_institution(db=db, actor=world.principals[Role.NATIONAL_POC],
                                              code="EE",
                                              data=InstitutionIn(name="CERT-EE", kind="csirt"))
        inst_id = inst.public_id
    last = _events(database)[-1]
    assert (last.actor, last.action, last.object_type, last.object_id) == (
        f"user:{world.users[Role.NATIONAL_POC]}", "institution.create", "institution",
        str(inst_id))
    assert last.changes == {"org": "EE", "name": [None, "CERT-EE"], "kind": [None, "csirt"]}


def test_a_rolled_back_change_leaves_no_event(database, world):
    before = _events(database)
    with pytest.raises(RuntimeError), database.session() as db:
        org_service.create(db=db, actor=SYSTEM, data=OrganisationIn(
            code="FI", name="Finland", kind="nation", membership="participant"))
        assert audit.seal(db) == 2  # in the chain, in this transaction
        assert db.scalar(select(func.count()).select_from(AuditEvent)) == len(before) + 2
        raise RuntimeError("the request failed after the change")
    assert [e.hash for e in _events(database)] == [e.hash for e in before]
    with database.session() as db:
        head = db.get(AuditHead, 1)
        assert (head.seq, head.hash) == (before[-1].seq, before[-1].hash)
        assert audit.verify(db=db).ok


def test_the_chain_links_each_event_to_the_one_before(database):
    _record(database, 3)
    events = _events(database)
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[0].prev_hash == GENESIS
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]


def test_diff_lists_changed_fields_and_hides_personal_ones():
    before = {"name": "Ana", "email": "a@x.example", "role": "responder", "same": 1}
    after = {"name": "Anna", "email": "a@x.example", "role": "coordinator", "same": 1,
             "new": True}
    assert audit.diff(before, after, personal=("name", "email")) == {
        "name": audit.PERSONAL, "role": ["responder", "coordinator"], "new": [None, True]}


def test_changes_are_stored_in_their_canonical_json_form(database):
    with database.session() as db:
        audit.record(db=db, actor=SYSTEM, action="test.event", object_type="thing", object_id=1,
                     changes={"when": datetime(2030, 1, 1, tzinfo=UTC), "n": 1})
    assert _events(database)[-1].changes == {"when": "2030-01-01 00:00:00+00:00", "n": 1}
    with database.session() as db:
        assert audit.verify(db=db).ok


def test_verify_accepts_an_untouched_log(cli, database, world):
    _record(database)
    result = cli("audit", "verify")
    assert result.exit_code == 0, result.stderr
    assert "intact" in result.stdout
    count = len(_events(database))
    assert f"{count} events verified" in result.stdout


def test_verify_accepts_an_empty_log(cli, database):
    result = cli("audit", "verify")
    assert result.exit_code == 0
    assert "0 events verified" in result.stdout


@pytest.mark.parametrize(("column", "value"), [
    ("changes", {"n": [None, 999]}),
    ("actor", "someone-else@test.example"),
    ("at", datetime(2001, 1, 1, 0, 0, tzinfo=UTC)),
    ("action", "test.other"),
    ("object_id", "42"),
])
def test_verify_names_the_first_edited_event(cli, database, column, value):
    _record(database, 5)
    with database.engine.begin() as connection:
        connection.execute(update(EVENTS).where(EVENTS.c.seq == 3).values({column: value}))
    result = cli("audit", "verify")
    assert result.exit_code != 0
    assert "BROKEN at event 3" in result.stderr
    assert "2 events before it verified" in result.stderr


def test_verify_finds_an_edit_even_when_the_hash_is_recomputed(cli, database):
    """Rewriting one event and its own hash, even with the key, still breaks the link from
    the next one."""
    _record(database, 4)
    event = _events(database)[1]
    forged = audit.Seal(AUDIT_KEY).event(
        seq=event.seq, at=event.at, actor="forger", action=event.action,
        object_type=event.object_type, object_id=event.object_id, changes=event.changes,
        prev_hash=event.prev_hash)
    with database.engine.begin() as connection:
        connection.execute(update(EVENTS).where(EVENTS.c.seq == 2)
                           .values(actor="forger", hash=forged))
    result = cli("audit", "verify")
    assert result.exit_code != 0
    assert "BROKEN at event 3" in result.stderr


def test_verify_names_the_gap_a_deleted_event_leaves(cli, database):
    _record(database, 5)
    with database.engine.begin() as connection:
        connection.execute(delete(EVENTS).where(EVENTS.c.seq == 2))
    result = cli("audit", "verify")
    assert result.exit_code != 0
    assert "BROKEN at event 3" in result.stderr
    assert "sequence gap" in result.stderr


def test_verify_notices_the_newest_events_deleted(cli, database):
    _record(database, 5)
    with database.engine.begin() as connection:
        connection.execute(delete(EVENTS).where(EVENTS.c.seq >= 4))
    result = cli("audit", "verify")
    assert result.exit_code != 0
    assert "BROKEN at event 4" in result.stderr
    assert "deleted" in result.stderr


def test_verify_names_the_first_event_out_of_order(cli, database):
    """Swap the contents of events 2 and 3 but keep their numbers: the order is wrong."""
    _record(database, 5)
    two, three = _events(database)[1:3]
    fields = ("at", "actor", "action", "object_type", "object_id", "changes", "prev_hash",
              "hash")
    with database.engine.begin() as connection:
        # hashes are unique: park one first
        connection.execute(update(EVENTS).where(EVENTS.c.seq == 2).values(hash="parked"))
        connection.execute(update(EVENTS).where(EVENTS.c.seq == 3).values(
            {f: getattr(two, f) for f in fields}))
        connection.execute(update(EVENTS).where(EVENTS.c.seq == 2).values(
            {f: getattr(three, f) for f in fields}))
    result = cli("audit", "verify")
    assert result.exit_code != 0
    assert "BROKEN at event 2" in result.stderr


def test_verify_notices_rows_renumbered_into_another_order(cli, database):
    """Events 2 and 3 swap numbers: the row in second place now claims to be event 3."""
    _record(database, 5)
    with database.engine.begin() as connection:
        connection.execute(update(EVENTS).where(EVENTS.c.seq == 2).values(seq=-2))
        connection.execute(update(EVENTS).where(EVENTS.c.seq == 3).values(seq=2))
        connection.execute(update(EVENTS).where(EVENTS.c.seq == -2).values(seq=3))
    result = cli("audit", "verify")
    assert result.exit_code != 0
    assert "BROKEN at event 3: sequence gap: expected 2, found 3" in result.stderr


def test_concurrent_appends_keep_one_contiguous_valid_chain(database):
    """Two writers at once (several workers and web processes share one database)."""
    errors: list[BaseException] = []

    def append(name: str) -> None:
        try:
            for i in range(50):
                with database.session() as db:
                    audit.record(db=db, actor=SYSTEM, action=f"test.{name}",
                                 object_type="thing", object_id=i)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    events = _events(database)
    assert [e.seq for e in events] == list(range(1, 101))
    assert {e.action for e in events} == {"test.a", "test.b"}
    with database.session() as db:
        assert audit.verify(db=db).ok


def test_a_transaction_seals_all_its_events_at_commit_under_one_lock_of_the_head(database):
    """An ingest of many records takes the head once, at its commit, however many it made."""
    statements: list[str] = []

    def seen(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        statements.append(statement)

    event.listen(database.engine, "before_cursor_execute", seen)
    try:
        with database.session() as db:
            for i in range(200):
                audit.record(db=db, actor=SYSTEM, action="test.bulk", object_type="thing",
                             object_id=i, changes={"n": [None, i]})
            assert not any("audit" in s for s in statements)  # nothing locked until commit
    finally:
        event.remove(database.engine, "before_cursor_execute", seen)
    assert len([s for s in statements if "audit_head" in s]) == 2  # locked, then moved
    assert len([s for s in statements if s.startswith("INSERT INTO audit_events")]) == 1
    events = _events(database)
    assert [e.object_id for e in events] == [str(i) for i in range(200)]
    assert [e.seq for e in events] == list(range(1, 201))
    with database.session(read_only=True) as db:
        assert audit.verify(db=db).ok


def test_a_rolled_back_savepoint_takes_its_events_and_keeps_the_rest(database):
    with database.session() as db:
        audit.record(db=db, actor=SYSTEM, action="test.kept", object_type="thing", object_id=1)
        with pytest.raises(RuntimeError), db.begin_nested():
            audit.record(db=db, actor=SYSTEM, action="test.undone", object_type="thing",
                         object_id=2)
            raise RuntimeError("the savepoint is rolled back")
        with db.begin_nested():
            audit.record(db=db, actor=SYSTEM, action="test.released", object_type="thing",
                         object_id=3)
    assert [e.action for e in _events(database)] == ["test.kept", "test.released"]


def test_a_released_savepoint_seals_nothing_before_the_commit(database):
    """Releasing a savepoint leaves the head alone (another writer would otherwise wait for
    the head from there to this transaction's end): everything is sealed at the commit."""
    with database.session() as db:
        audit.record(db=db, actor=SYSTEM, action="test.before", object_type="thing",
                     object_id=1)
        with db.begin_nested():
            audit.record(db=db, actor=SYSTEM, action="test.inside", object_type="thing",
                         object_id=2)
        assert db.scalar(select(func.count()).select_from(AuditEvent)) == 0
    assert [e.action for e in _events(database)] == ["test.before", "test.inside"]


def test_a_session_used_again_never_seals_a_former_transactions_events(database):
    with database.sessions() as db:
        audit.record(db=db, actor=SYSTEM, action="test.rolled_back", object_type="thing",
                     object_id=1)
        db.rollback()
        audit.record(db=db, actor=SYSTEM, action="test.closed", object_type="thing",
                     object_id=2)
        db.close()
        audit.record(db=db, actor=SYSTEM, action="test.committed", object_type="thing",
                     object_id=3)
        db.commit()
    assert [e.action for e in _events(database)] == ["test.committed"]


def test_a_writer_still_working_does_not_hold_back_another_writers_audited_commit(database):
    """On PostgreSQL, writers run side by side: the head is held from a commit's sealing to
    its end, not from a transaction's first event (SQLite runs one writer at a time)."""
    if database.engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writing transaction at a time")
    with database.session() as slow:
        audit.record(db=slow, actor=SYSTEM, action="test.slow", object_type="thing",
                     object_id=1)
        slow.execute(text("SELECT 1"))  # its transaction is open
        with database.session() as quick:
            quick.execute(text("SET LOCAL lock_timeout = '2s'"))
            audit.record(db=quick, actor=SYSTEM, action="test.quick", object_type="thing",
                         object_id=2)
    assert [e.action for e in _events(database)] == ["test.quick", "test.slow"]
    with database.session(read_only=True) as db:
        assert audit.verify(db=db).ok


def test_a_deleted_head_is_reported_and_never_silently_recreated(cli, database):
    _record(database, 3)
    with database.engine.begin() as connection:
        connection.execute(delete(AuditHead.__table__))
    with database.session() as db:
        result = audit.verify(db=db)
    assert not result.ok
    assert "head" in result.reason
    verified = cli("audit", "verify")
    assert verified.exit_code != 0
    assert "BROKEN" in verified.stderr and "head" in verified.stderr
    with pytest.raises(RuntimeError, match="audit head"), database.session() as db:
        org_service.create(db=db, actor=SYSTEM, data=OrganisationIn(
            code="FI", name="Finland", kind="nation", membership="participant"))
    with database.session() as db:
        assert db.get(AuditHead, 1) is None
        assert db.scalar(select(func.count()).select_from(AuditEvent)) == 3
        assert org_service.all_organisations(db=db, actor=SYSTEM) == []


def test_a_deleted_head_is_reported_even_before_the_first_event(cli, database):
    with database.engine.begin() as connection:
        connection.execute(delete(AuditHead.__table__))
    with database.session() as db:
        result = audit.verify(db=db)
    assert not result.ok
    verified = cli("audit", "verify")
    assert verified.exit_code != 0 and "BROKEN" in verified.stderr


# --- A keyed chain: tampering by someone who can write to the database but lacks the key ---


def _sha256_rechain(database, *, start: int, edit: dict[str, object]) -> None:
    """What an attacker without the key does: edit event ``start``, recompute every SHA-256
    hash from there on after the documented format, and move the head to the new tip."""
    import hashlib

    prev = GENESIS
    with database.engine.begin() as connection:
        rows = connection.execute(select(EVENTS).order_by(EVENTS.c.seq)).mappings().all()
        for row in rows:
            if row["seq"] < start:
                prev = row["hash"]
                continue
            values = {**row, **(edit if row["seq"] == start else {}), "prev_hash": prev}
            body = {"seq": values["seq"], "at": values["at"].isoformat(),
                    "actor": values["actor"], "action": values["action"],
                    "object_type": values["object_type"], "object_id": values["object_id"],
                    "changes": values["changes"], "prev_hash": prev}
            prev = hashlib.sha256(audit.canonical(body).encode()).hexdigest()
            connection.execute(update(EVENTS).where(EVENTS.c.id == row["id"]).values(
                {**{k: values[k] for k in edit}, "prev_hash": values["prev_hash"],
                 "hash": prev}))
        connection.execute(update(AuditHead.__table__).values(seq=rows[-1]["seq"], hash=prev))


def _cut_tail(database, *, keep: int) -> None:
    """Delete every event after ``keep`` and move the head back to event ``keep``."""
    with database.engine.begin() as connection:
        kept = connection.execute(select(EVENTS.c.hash).where(EVENTS.c.seq == keep)).scalar()
        connection.execute(delete(EVENTS).where(EVENTS.c.seq > keep))
        connection.execute(update(AuditHead.__table__).values(seq=keep, hash=kept))


def _set_changes_text(database, seq: int, raw: str) -> None:
    """Store ``raw`` as event ``seq``'s ``changes``, byte for byte, past the JSON type."""
    statement = ("UPDATE audit_events SET changes = CAST(:raw AS json) WHERE seq = :seq"
                 if database.engine.dialect.name == "postgresql" else
                 "UPDATE audit_events SET changes = :raw WHERE seq = :seq")
    with database.engine.begin() as connection:
        connection.execute(text(statement), {"raw": raw, "seq": seq})


def test_verify_catches_the_last_20_events_deleted_and_the_head_moved_back(cli, database):
    _record(database, 30)
    _cut_tail(database, keep=10)
    result = cli("audit", "verify")
    assert result.exit_code == 1
    assert "BROKEN at event 11" in result.stderr and "head" in result.stderr
    assert "10 events before it verified" in result.stderr


def test_an_audited_write_refuses_to_extend_a_head_moved_back(cli, database):
    """The next append must not seal the cut tail over: it checks the head's MAC first."""
    _record(database, 30)
    _cut_tail(database, keep=10)
    with pytest.raises(RuntimeError, match="audit head"), database.session() as db:
        org_service.create(db=db, actor=SYSTEM, data=OrganisationIn(
            code="FI", name="Finland", kind="nation", membership="participant"))
    assert len(_events(database)) == 10
    assert cli("audit", "verify").exit_code == 1


@pytest.mark.parametrize("edit", [
    {"changes": {"n": [None, 999]}},
    {"actor": "user:1", "action": "test.other"},
])
def test_verify_catches_a_tail_rewritten_with_recomputed_sha256_hashes(cli, database, edit):
    _record(database, 8)
    _sha256_rechain(database, start=3, edit=edit)
    result = cli("audit", "verify")
    assert result.exit_code == 1
    assert "BROKEN at event 3: content does not match its hash" in result.stderr


@pytest.mark.parametrize(("raw", "problem"), [
    ('{"n": [null, 999], "n": [null, 2]}', "holds the key 'n' twice"),
    ('{"n": [null, 2]', "is not valid JSON"),
    ('[["n", [null, 2]]]', "is not a JSON object"),
])
def test_verify_reports_unreadable_changes_as_broken_at_that_event(cli, database, raw, problem):
    """Duplicate keys are refused: readers disagree on which value counts, so a hash over one
    reading would vouch for a value another reader shows."""
    if problem == "is not valid JSON" and database.engine.dialect.name == "postgresql":
        pytest.skip("PostgreSQL's json type refuses invalid JSON before it is stored")
    _record(database, 5)
    _set_changes_text(database, 3, raw)
    result = cli("audit", "verify")
    assert result.exit_code == 1
    assert f"BROKEN at event 3: changes {problem}" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_verify_names_an_unreadable_time_without_a_traceback(cli, database):
    if database.engine.dialect.name == "postgresql":
        pytest.skip("PostgreSQL's timestamp type refuses a value that is not a time")
    _record(database, 5)
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE audit_events SET at = 'not a time' WHERE seq = 3"))
    result = cli("audit", "verify")
    assert result.exit_code == 1
    assert "BROKEN at event 3: a stored value cannot be read" in result.stderr


def test_the_chain_verifies_only_under_its_own_key(cli, database, monkeypatch):
    _record(database, 3)
    assert cli("audit", "verify").exit_code == 0
    monkeypatch.setenv("CRRT_AUDIT_KEY", "another-key-" + "k" * 32)
    result = cli("audit", "verify")
    assert result.exit_code == 1
    assert "BROKEN at event 1: content does not match its hash" in result.stderr


def _checkpoint(cli, tmp_path, name: str = "checkpoint.json"):
    made = cli("audit", "checkpoint")
    assert made.exit_code == 0, made.stderr
    path = tmp_path / name
    path.write_text(made.stdout)
    return path


def test_a_checkpoint_catches_a_cut_tail_even_under_a_replayed_head(cli, database, tmp_path):
    """Someone who copied the head row when the chain was shorter can put it back after
    cutting the tail; the head's MAC is then valid, and only a checkpoint kept elsewhere
    notices."""
    _record(database, 10)
    with database.engine.begin() as connection:
        old_head = dict(connection.execute(select(AuditHead.__table__)).mappings().one())
    _record(database, 20)
    checkpoint = _checkpoint(cli, tmp_path)
    with database.engine.begin() as connection:
        connection.execute(delete(EVENTS).where(EVENTS.c.seq > 10))
        connection.execute(update(AuditHead.__table__).values(old_head))
    assert cli("audit", "verify").exit_code == 0  # what the head alone cannot tell
    result = cli("audit", "verify", "--checkpoint", str(checkpoint))
    assert result.exit_code == 1
    assert "BROKEN at event 11" in result.stderr
    assert "before the checkpoint" in result.stderr and "event 30" in result.stderr


def test_a_checkpoint_catches_the_last_20_events_deleted(cli, database, tmp_path):
    _record(database, 30)
    checkpoint = _checkpoint(cli, tmp_path)
    _cut_tail(database, keep=10)
    result = cli("audit", "verify", "--checkpoint", str(checkpoint))
    assert result.exit_code == 1
    assert "BROKEN at event 11" in result.stderr


def test_a_checkpoint_catches_a_rewrite_before_it_even_by_a_key_holder(cli, database,
                                                                       tmp_path):
    """Whoever holds the key can re-seal a rewritten chain and its head; an earlier
    checkpoint still names the hash the event had."""
    _record(database, 6)
    checkpoint = _checkpoint(cli, tmp_path)
    seal = audit.Seal(AUDIT_KEY)
    with database.session() as db:
        events = list(db.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
        prev = GENESIS
        for event in events:
            if event.seq == 2:
                event.changes = {"n": [None, 999]}
            event.prev_hash = prev
            event.hash = prev = seal.event(
                seq=event.seq, at=event.at, actor=event.actor, action=event.action,
                object_type=event.object_type, object_id=event.object_id,
                changes=event.changes, prev_hash=prev)
            db.flush()
        head = db.get(AuditHead, 1)
        head.hash, head.mac = prev, seal.head(head.seq, prev)
    assert cli("audit", "verify").exit_code == 0
    result = cli("audit", "verify", "--checkpoint", str(checkpoint))
    assert result.exit_code == 1
    assert "BROKEN at event 6: it does not match the checkpoint" in result.stderr


def test_verify_runs_while_a_writer_holds_the_lock(cli, database):
    """A writer in the middle of an audited write (on SQLite the database's write lock, on
    PostgreSQL the head's row lock) does not hold up a verification of thousands of events."""
    for _ in range(6):
        _record_in_one(database, 500)
    with database.session() as writer:
        writer.get(AuditHead, 1, with_for_update=True)  # what audit.record holds till commit
        started = time.monotonic()
        result = cli("audit", "verify")
        elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.stderr
    assert "3000 events verified" in result.stdout
    assert elapsed < 8  # SQLite's busy timeout is 10 s


def _record_in_one(database, n: int) -> None:
    with database.session() as db:
        for i in range(n):
            audit.record(db=db, actor=SYSTEM, action="test.event", object_type="thing",
                         object_id=i, changes={"n": [None, i]})


def test_an_unkeyed_database_refuses_to_append(database):
    """A database opened without the key cannot write an unsealed event by mistake."""
    from crrt.core.db import Database

    bare = Database(database.url)
    try:
        with pytest.raises(RuntimeError, match="no audit key"), bare.session() as db:
            audit.record(db=db, actor=SYSTEM, action="test.event", object_type="thing",
                         object_id=1)
    finally:
        bare.dispose()
    assert _events(database) == []


def _new_nation(client, world, code: str):
    return client.post("/api/v1/organisations", headers=world.headers(Role.ADMIN),
                       json={"code": code, "name": "Finland", "kind": "nation"})


def test_the_app_seals_with_the_key_of_its_settings(database, settings, world):
    from fastapi.testclient import TestClient

    from crrt.api import create_app
    from crrt.core.db import Database

    bare = Database(database.url)  # as `crrt serve` opens it: no key until create_app binds it
    try:
        with TestClient(create_app(settings, database=bare)) as client:
            assert _new_nation(client, world, "FI").status_code == 201
    finally:
        bare.dispose()
    with database.session(read_only=True) as db:
        assert audit.verify(db=db).ok
    assert _events(database)[-1].object_id == "FI"


def test_a_server_with_another_key_refuses_audited_writes(database, settings, world):
    """A server whose CRRT_AUDIT_KEY differs from the one that sealed the chain would fork it;
    its audited writes fail instead, and nothing is written."""
    from fastapi.testclient import TestClient
    from pydantic import SecretStr

    from crrt.api import create_app
    from crrt.core.db import Database

    before = len(_events(database))
    other = settings.model_copy(update={"audit_key": SecretStr("another-server-" + "s" * 32)})
    bare = Database(database.url)
    try:
        with TestClient(create_app(other, database=bare), raise_server_exceptions=False) as client:
            assert _new_nation(client, world, "FI").status_code == 500
    finally:
        bare.dispose()
    assert len(_events(database)) == before
    with database.session(read_only=True) as db:
        assert audit.verify(db=db).ok


def test_verify_reads_one_moment_while_events_are_appended(database):
    """Appends that commit while a verification runs belong to a later moment: the head,
    read last, must not run ahead of the events walked, or a busy server would report its
    own appends as events deleted."""
    from sqlalchemy import event

    from crrt.core.db import Database

    _record(database, 6)
    other = audit.bind_key(Database(database.url), AUDIT_KEY)
    appended = []

    def append_once(conn, cursor, statement, *args) -> None:
        if not appended and "FROM audit_head" in statement:
            appended.append(True)
            _record(other, 2)  # another process commits after the walk, before the head

    event.listen(database.engine, "before_cursor_execute", append_once)
    try:
        with database.session(read_only=True) as db:
            result = audit.verify(db=db, batch=2)
    finally:
        event.remove(database.engine, "before_cursor_execute", append_once)
        other.dispose()
    assert appended and (result.ok, result.events) == (True, 6), result.reason
    with database.session(read_only=True) as db:
        assert audit.verify(db=db).events == 8


@pytest.mark.parametrize(("head_at", "message"), [
    (2, "BROKEN at event 3: the chain runs past its head"),
    (0, "BROKEN at event 1: the chain runs past its head"),
])
def test_verify_notices_a_head_moved_back_over_events_left_in_place(cli, database, head_at,
                                                                    message):
    """Even a correctly sealed head must name the last event: one moved back by a key
    holder, over events left in place, is reported."""
    _record(database, 3)
    seal = audit.Seal(AUDIT_KEY)
    digest = _events(database)[head_at - 1].hash if head_at else GENESIS
    with database.engine.begin() as connection:
        connection.execute(update(AuditHead.__table__).values(
            seq=head_at, hash=digest, mac=seal.head(head_at, digest)))
    result = cli("audit", "verify")
    assert result.exit_code == 1
    assert message in result.stderr


def test_verify_notices_a_head_that_names_another_hash(cli, database):
    _record(database, 3)
    seal = audit.Seal(AUDIT_KEY)
    with database.engine.begin() as connection:
        connection.execute(update(AuditHead.__table__).values(
            hash="f" * 64, mac=seal.head(3, "f" * 64)))
    result = cli("audit", "verify")
    assert result.exit_code == 1
    assert "BROKEN at event 3: the head does not hold the last event's hash" in result.stderr
