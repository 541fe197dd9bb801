"""The audit log page: its filters and pages, the chain's check on request, and an event
whose stored changes cannot be read."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from crrt.access.enums import Role
from crrt.audit import service as audit
from crrt.audit.service import PERSONAL
from crrt.core import clock
from tests.conftest import SYSTEM
from tests.web.conftest import post_form

READERS = [Role.ADMIN, Role.COORDINATOR]
OTHERS = [Role.NATIONAL_POC, Role.RESPONDER, Role.REQUESTER, Role.OBSERVER]


def record(database, count: int = 1, *, action: str = "test.poke", object_type: str = "widget",
           changes: dict[str, Any] | None = None, start: int = 0) -> None:
    """``count`` events in one transaction, object ids ``start``, ``start + 1``…"""
    with database.session() as db:
        for i in range(start, start + count):
            audit.record(db=db, actor=SYSTEM, action=action, object_type=object_type,
                         object_id=i, changes=changes)


def seq_of(database, action: str, object_id: str) -> int:
    with database.engine.connect() as connection:
        return connection.execute(text("SELECT seq FROM audit_events WHERE action = :a AND "
                                       "object_id = :o"), {"a": action, "o": object_id}
                                  ).scalar_one()


def corrupt_changes(database, seq: int) -> None:
    """Event ``seq``'s stored changes made unreadable behind the JSON type: text that is not
    JSON on SQLite, which keeps any value; on PostgreSQL, whose json type checks the syntax,
    an object holding a key twice."""
    if database.engine.dialect.name == "postgresql":
        statement = "UPDATE audit_events SET changes = CAST(:raw AS json) WHERE seq = :seq"
        raw = '{"name":"one","name":"two"}'
    else:
        statement, raw = "UPDATE audit_events SET changes = :raw WHERE seq = :seq", "{not json"
    with database.engine.begin() as connection:
        connection.execute(text(statement), {"raw": raw, "seq": seq})


def table_rows(page: str) -> list[dict[str, str]]:
    """The events of the page's table, each as its number and its cells' HTML."""
    body = re.search(r"<tbody>(.*?)</tbody>", page, re.S)
    if body is None:
        return []
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S):
        seq = re.search(r'<th scope="row">(\d+)</th>', row)
        assert seq, row
        rows.append({"seq": seq.group(1), "html": row})
    return rows


def object_ids(page: str) -> list[str]:
    return re.findall(r'<span class="audit-id">([^<]*)</span>', page)


def link(page: str, words: str) -> str | None:
    """Where the link reading ``words`` goes, if the page has one."""
    found = re.search(rf'<a [^>]*href="([^"]+)"[^>]*>{re.escape(words)}</a>', page)
    return html.unescape(found.group(1)) if found else None


def verify_result(database) -> audit.Verification:
    with database.session(read_only=True) as db:
        return audit.verify(db=db)


# --- the list ------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", READERS)
def test_a_reader_sees_the_events_oldest_first_with_their_changes(browser, database, role):
    page_client = browser(role)
    record(database, 3, changes={"kind": ["csirt", "academia"], "name": PERSONAL})
    page = page_client.get("/audit", params={"action": "test.poke"})
    assert page.status_code == 200
    rows = table_rows(page.text)
    assert [int(r["seq"]) for r in rows] == sorted(int(r["seq"]) for r in rows)
    assert object_ids(page.text) == ["0", "1", "2"]
    first = html.unescape(rows[0]["html"])
    assert '<code class="code">test.poke</code>' in first
    assert '<code class="code">widget</code>' in first
    assert "<dt><code>kind</code></dt><dd>[\"csirt\", \"academia\"]</dd>" in first
    assert f"<dt><code>name</code></dt><dd>{PERSONAL}</dd>" in first
    assert re.search(r'<time datetime="[^"]+">[^<]+\(UTC\)</time>', first)
    assert 'class="table-scroll" role="region"' in page.text
    assert 'aria-describedby="audit-scroll-cue"' in page.text


def test_a_long_value_is_cut_and_a_long_list_of_fields_counted(browser, database):
    page_client = browser(Role.ADMIN)
    changes = {f"field_{i:02}": i for i in range(15)}
    changes["field_00"] = "x" * 500
    changes["field_01"] = "left\u202eright\u200b"
    record(database, action="test.big", changes=changes)
    page = page_client.get("/audit", params={"action": "test.big"})
    row = table_rows(page.text)[0]["html"]
    assert len(re.findall(r"<dt>", row)) == 12
    assert "And 3 more fields." in row
    shown = re.search(r"<dt><code>field_00</code></dt><dd>([^<]*)</dd>", row).group(1)
    assert shown.endswith("…") and len(shown) == 120
    assert "\u202e" not in page.text and "\u200b" not in page.text
    assert "left\ufffdright\ufffd" in row


def test_filters_narrow_by_actor_action_and_object(browser, database, world):
    page_client = browser(Role.COORDINATOR)
    record(database, 3)
    with database.session() as db:
        audit.record(db=db, actor=world.principals[Role.NATIONAL_POC], action="test.poke",
                     object_type="gadget", object_id="g1")
    poc = f"user:{world.users[Role.NATIONAL_POC]}"

    def shown(**params: str) -> list[str]:
        page = page_client.get("/audit", params=params)
        assert page.status_code == 200, page.text
        return object_ids(page.text)

    assert shown(action="test.poke") == ["0", "1", "2", "g1"]
    assert shown(action="test.poke", actor=poc) == ["g1"]
    assert shown(object_type="widget", object_id="1") == ["1"]
    assert shown(object_type="gadget") == ["g1"]
    page = page_client.get("/audit", params={"actor": "nobody"})
    assert table_rows(page.text) == []
    assert 'id="actor" name="actor" value="nobody"' in page.text
    # each row links to the events of its actor and of its object
    page = page_client.get("/audit", params={"object_type": "gadget"})
    assert link(page.text, poc) == f"/audit?actor=user%3A{world.users[Role.NATIONAL_POC]}"


def test_days_are_the_viewers_and_until_takes_its_whole_day(browser, database):
    page_client = browser(Role.ADMIN)
    with clock.frozen(datetime(2030, 6, 1, 11, 30, tzinfo=UTC)):  # 23:30 in Auckland
        record(database, action="test.day")
        clock.advance(timedelta(hours=1))                         # 00:30 on 2 June there
        record(database, action="test.day", start=1)

    def shown(**params: str) -> list[str]:
        page = page_client.get("/audit", params={"action": "test.day", **params})
        assert page.status_code == 200, page.text
        return object_ids(page.text)

    assert shown(since="2030-06-01", until="2030-06-01") == ["0", "1"]
    assert shown(since="2030-06-02") == []
    assert shown(until="2030-05-31") == []
    saved = post_form(page_client, "/account", "/account",
                      {"name": "Web Admin", "language": "", "time_zone": "Pacific/Auckland"})
    assert saved.status_code == 303
    assert shown(until="2030-06-01") == ["0"]
    assert shown(since="2030-06-02") == ["1"]
    assert shown(until="9999-12-31") == ["0", "1"]
    page = page_client.get("/audit", params={"action": "test.day"})
    assert "(Pacific/Auckland)</time>" in page.text
    # the first day of the calendar, from Auckland, begins before year 1 in UTC
    early = page_client.get("/audit", params={"since": "0001-01-01"})
    assert early.status_code == 422
    assert 'id="since-error"' in early.text


@pytest.mark.parametrize(("params", "field"), [
    ({"since": "2030-13-01"}, "since"),
    ({"until": "yesterday"}, "until"),
    ({"actor": "u" * 321}, "actor"),
    ({"object_id": "7" * 65}, "object_id"),
])
def test_a_bad_filter_is_told_beside_its_field(browser, params, field):
    page = browser(Role.ADMIN).get("/audit", params=params)
    assert page.status_code == 422
    assert f'id="{field}-error"' in page.text
    assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', page.text)
    assert "<tbody>" not in page.text


def test_a_cursor_not_of_this_server_is_a_422_page(browser):
    page = browser(Role.ADMIN).get("/audit", params={"cursor": "not-a-cursor"})
    assert page.status_code == 422
    assert "alert--error" in page.text


def test_the_log_pages_with_next_and_first_page_links(browser, database):
    page_client = browser(Role.ADMIN)
    record(database, 60, action="test.page")
    first = page_client.get("/audit", params={"action": "test.page"})
    assert object_ids(first.text) == [str(i) for i in range(50)]
    assert link(first.text, "First page") is None
    following = link(first.text, "Next page")
    assert following is not None and "action=test.page" in following
    second = page_client.get(following)
    assert object_ids(second.text) == [str(i) for i in range(50, 60)]
    assert link(second.text, "Next page") is None
    assert link(second.text, "First page") == "/audit?action=test.page"


# --- the chain's check ---------------------------------------------------------------------------

@pytest.mark.parametrize("role", READERS)
def test_the_chain_is_verified_only_when_asked_and_found_intact(browser, database, role):
    page_client = browser(role)
    record(database, 3)
    page = page_client.get("/audit", params={"action": "test.poke"})
    assert "alert--success" not in page.text and "alert--error" not in page.text
    verify_form = re.search(r'<form method="post" action="([^"]+)" class="inline-form">\s*'
                            r'<input type="hidden" name="csrf_token"[^>]*>\s*'
                            r'<button type="submit"[^>]*>Verify the chain</button>', page.text)
    assert verify_form and html.unescape(verify_form.group(1)) == "/audit?action=test.poke"
    assert "verify" not in (link(page.text, "Verify the chain") or "")  # no link runs it
    expected = verify_result(database)
    assert expected.ok
    checked = post_form(page_client, "/audit", "/audit?action=test.poke", {})
    assert checked.status_code == 200
    assert (f"Intact: {expected.events} events verified, the last is event "
            f"{expected.events}.") in checked.text
    assert object_ids(checked.text) == ["0", "1", "2"]  # the filters and the table stay


def test_one_check_runs_at_a_time_and_another_is_told_to_wait(browser, database):
    from crrt.web import audit_pages

    page_client = browser(Role.ADMIN)
    record(database, 1)
    with audit_pages._CHECKING:  # a check under way in this process
        busy = post_form(page_client, "/audit", "/audit", {})
    assert busy.status_code == 429
    assert "already running" in busy.text
    assert post_form(page_client, "/audit", "/audit", {}).status_code == 200


def test_a_broken_chain_names_the_event_and_why(browser, database):
    page_client = browser(Role.ADMIN)
    record(database, 3)
    edited = seq_of(database, "test.poke", "1")
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE audit_events SET actor = 'user:999' WHERE seq = :s"),
                           {"s": edited})
    page = post_form(page_client, "/audit", "/audit", {})
    assert page.status_code == 200
    alert = re.search(r'<div class="alert alert--error" role="alert">(.*?)</div>', page.text,
                      re.S)
    assert alert, page.text
    assert f"Broken at event {edited}: content does not match its hash" in alert.group(1)
    assert f"{edited - 1} events before it verified." in alert.group(1)


# --- who may read it -----------------------------------------------------------------------------

@pytest.mark.parametrize("role", OTHERS)
@pytest.mark.parametrize("params", [{}, {"since": "nonsense"}])
def test_other_roles_get_the_403_page(browser, role, params):
    page = browser(role).get("/audit", params=params)
    assert page.status_code == 403
    assert "<tbody>" not in page.text and "Integrity" not in page.text
    checked = post_form(browser(role), "/", "/audit", {})
    assert checked.status_code == 403 and "Intact" not in checked.text


def test_the_menu_offers_the_audit_log_to_its_readers_only(browser):
    for role in READERS:
        page = browser(role).get("/audit")
        assert re.search(r'<a href="/audit" aria-current="page">', page.text), role
    for role in OTHERS:
        assert 'href="/audit"' not in browser(role).get("/").text, role


# --- a stored value that cannot be read ----------------------------------------------------------

def test_an_event_whose_changes_cannot_be_read_is_shown_as_such(browser, database):
    page_client = browser(Role.ADMIN)
    record(database, 3, action="test.tamper", changes={"name": PERSONAL})
    spoiled = seq_of(database, "test.tamper", "1")
    corrupt_changes(database, spoiled)
    page = page_client.get("/audit", params={"action": "test.tamper"})
    assert page.status_code == 200
    rows = {row["seq"]: row["html"] for row in table_rows(page.text)}
    assert len(rows) == 3
    assert 'class="audit-unreadable"' in rows[str(spoiled)]
    assert "These changes cannot be read: changes " in rows[str(spoiled)]
    assert "<dt>" not in rows[str(spoiled)]
    assert all("<dt><code>name</code></dt>" in row and "audit-unreadable" not in row
               for seq, row in rows.items() if seq != str(spoiled))
    checked = post_form(page_client, "/audit", "/audit?action=test.tamper", {})
    assert checked.status_code == 200
    assert f"Broken at event {spoiled}: changes " in checked.text
