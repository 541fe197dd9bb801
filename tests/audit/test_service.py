"""The audit log: one event per change in the change's own transaction, chained by hashes that
``crrt audit verify`` recomputes, so any edit, deletion or reordering is found."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, func, select, update

from crrt.access.enums import Role
from crrt.audit import service as audit
from crrt.audit.models import GENESIS, AuditEvent, AuditHead
from crrt.organisations import service as org_service
from crrt.organisations.schemas import InstitutionIn, OrganisationIn
from tests.conftest import SYSTEM
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
    """Rewriting one event and its own hash still breaks the link from the next one."""
    _record(database, 4)
    event = _events(database)[1]
    forged = audit.event_hash(seq=event.seq, at=event.at, actor="forger", action=event.action,
                              object_type=event.object_type, object_id=event.object_id,
                              changes=event.changes, prev_hash=event.prev_hash)
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
