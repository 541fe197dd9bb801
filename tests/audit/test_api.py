"""Reading the audit log over the API: admins and coordinators only, with filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from crrt.access.enums import Role
from crrt.audit import service as audit
from crrt.core import clock
from tests.conftest import SYSTEM


def test_an_admin_reads_events_oldest_first_with_their_hashes(client, world):
    response = client.get("/api/v1/audit", headers=world.headers(Role.ADMIN))
    assert response.status_code == 200
    items = response.json()["items"]
    assert [e["seq"] for e in items] == list(range(1, len(items) + 1))
    assert items[0]["action"] == "organisation.create"
    assert {"at", "actor", "object_type", "object_id", "changes", "prev_hash", "hash"} \
        <= set(items[0])


def test_filters_narrow_by_actor_action_object_and_time(client, database, world):
    headers = world.headers(Role.COORDINATOR)
    start = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
    with clock.frozen(start):
        for i in range(3):
            with database.session() as db:
                audit.record(db=db, actor=world.principals[Role.NATIONAL_POC],
                             action="test.poke", object_type="widget", object_id=i)
            clock.advance(timedelta(hours=1))

    def seqs(**params: str) -> list[int]:
        response = client.get("/api/v1/audit", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return [e["object_id"] for e in response.json()["items"]]

    assert seqs(actor=f"user:{world.users[Role.NATIONAL_POC]}") == ["0", "1", "2"]
    assert seqs(action="test.poke", object_id="1") == ["1"]
    assert seqs(object_type="widget", since="2030-06-01T13:00:00Z") == ["1", "2"]
    assert seqs(object_type="widget", until="2030-06-01T13:00:00Z") == ["0"]
    # a time without a zone is read as UTC
    assert seqs(object_type="widget", since="2030-06-01T14:00:00") == ["2"]
    assert seqs(actor="nobody@test.example") == []


def test_the_audit_log_pages_with_a_cursor(client, database, world):
    with database.session() as db:
        for i in range(5):
            audit.record(db=db, actor=SYSTEM, action="test.page", object_type="t", object_id=i)
    headers = world.headers(Role.ADMIN)
    first = client.get("/api/v1/audit", params={"action": "test.page", "limit": 3},
                       headers=headers).json()
    second = client.get("/api/v1/audit", params={"action": "test.page", "limit": 3,
                                                  "cursor": first["next_cursor"]},
                        headers=headers).json()
    assert [e["object_id"] for e in first["items"] + second["items"]] == list("01234")
    assert second["next_cursor"] is None


@pytest.mark.parametrize("since", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"])
def test_a_time_beyond_the_calendar_in_utc_is_a_422(client, world, since):
    response = client.get("/api/v1/audit", params={"since": since},
                          headers=world.headers(Role.ADMIN))
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "since"]


def test_other_roles_may_not_read_the_audit_log(client, world):
    for role in (Role.NATIONAL_POC, Role.RESPONDER, Role.REQUESTER, Role.OBSERVER):
        response = client.get("/api/v1/audit", headers=world.headers(role))
        assert response.status_code == 403, role


def test_an_anonymous_caller_is_a_401(client, world):
    assert client.get("/api/v1/audit").status_code == 401


def _spoil_changes(database, object_id: str) -> int:
    """The stored changes of the ``test.tamper`` event about ``object_id`` made unreadable
    behind the JSON type (text that is not JSON on SQLite, which keeps any value; a key twice
    on PostgreSQL, whose json type checks the syntax); returns the event's seq."""
    postgres = database.engine.dialect.name == "postgresql"
    with database.engine.begin() as connection:
        seq = connection.execute(text("SELECT seq FROM audit_events WHERE action = 'test.tamper' "
                                      "AND object_id = :o"), {"o": object_id}).scalar_one()
        connection.execute(text("UPDATE audit_events SET changes = CAST(:raw AS json) "
                                "WHERE seq = :seq" if postgres else
                                "UPDATE audit_events SET changes = :raw WHERE seq = :seq"),
                           {"raw": '{"n":1,"n":2}' if postgres else "{not json", "seq": seq})
    return seq


def test_an_event_whose_stored_changes_cannot_be_read_is_listed_as_unreadable(
        client, database, world):
    with database.session() as db:
        for i in range(3):
            audit.record(db=db, actor=SYSTEM, action="test.tamper", object_type="t",
                         object_id=i, changes={"n": i})
    spoiled = _spoil_changes(database, "1")
    response = client.get("/api/v1/audit", params={"action": "test.tamper"},
                          headers=world.headers(Role.ADMIN))
    assert response.status_code == 200, response.text
    items = {item["seq"]: item for item in response.json()["items"]}
    assert len(items) == 3
    assert items[spoiled]["changes"] == {}
    reason = items[spoiled]["unreadable"]
    assert reason.startswith("changes ")
    assert ("holds the key 'n' twice" if database.engine.dialect.name == "postgresql"
            else "is not valid JSON") in reason
    assert [(item["changes"], item["unreadable"]) for seq, item in sorted(items.items())
            if seq != spoiled] == [({"n": 0}, None), ({"n": 2}, None)]
