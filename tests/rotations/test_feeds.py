"""Duty calendars: an expert's behind a secret, revocable address; a nation's and a rotation's
for those who may read rotations. Every feed is parsed back with icalendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select

from crrt.access.enums import Role
from crrt.core import clock
from crrt.experts.models import Expert
from tests.rotations.test_service import HANDLER, LEAD, SMALL, START, add_expert

API = "/api/v1"
PROBLEM = "application/problem+json"


@pytest.fixture
def rotation(client, world, database) -> dict:
    """January's team, led by the responder's own expert record (the only one who can lead)."""
    add_expert(database, "EE", "Rita Responder", LEAD, zone="Europe/Tallinn",
               user_id=world.users[Role.RESPONDER])
    add_expert(database, "LT", "Lars Handler", HANDLER, zone="Europe/Vilnius")
    add_expert(database, "LT", "Lina Handler", HANDLER, zone="Europe/Vilnius")
    add_expert(database, "ES", "Sara Handler", HANDLER, zone="Europe/Madrid")
    headers = world.headers(Role.COORDINATOR)
    template = client.post(f"{API}/team-templates", json=SMALL, headers=headers).json()
    plan = client.post(f"{API}/rotations/plan", headers=headers, json={
        "template_id": template["id"], "start": START.isoformat(), "periods": 1,
        "period_months": 1, "seconds": 2}).json()
    published = client.post(f"{API}/rotations/plans/{plan['id']}/publish", headers=headers)
    assert published.status_code == 200, published.text
    [team] = published.json()
    assert team["members"][0]["name"] == "Rita Responder"
    return team


def _calendar(response) -> Calendar:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    return Calendar.from_ical(response.content)


def _events(calendar: Calendar, category: str | None = None) -> list:
    found = calendar.walk("VEVENT")
    if category is None:
        return found
    return [e for e in found if category in [str(c) for c in e.get("categories").cats]]


def _utc(event, name: str) -> datetime:
    value = event.decoded(name)
    assert isinstance(value, datetime) and value.utcoffset() == timedelta(0)
    return value


def _new_feed(client, world) -> str:
    response = client.post(f"{API}/me/calendar", headers=world.headers(Role.RESPONDER))
    assert response.status_code == 201, response.text
    url = response.json()["url"]
    assert url.startswith("http") and "/api/v1/calendars/crrtcal_" in url
    assert url.endswith(".ics")
    return url


def test_an_experts_feed_holds_their_rotation_and_weeks_of_duty(client, world, rotation):
    url = _new_feed(client, world)
    calendar = _calendar(client.get(url))  # no credentials: the address is the secret
    assert str(calendar["x-wr-timezone"]) == "Europe/Tallinn"
    [team] = _events(calendar, "rotation")
    assert str(team["summary"]) == ("Rapid response team 2027-01-01 to 2027-01-31: team_lead "
                                    "(team lead)")
    # the rotation's days in its hand-over zone (Brussels), as UTC instants
    assert _utc(team, "dtstart") == datetime(2026, 12, 31, 23, tzinfo=UTC)
    assert _utc(team, "dtend") == datetime(2027, 1, 31, 23, tzinfo=UTC)
    assert b"DTSTART:20261231T230000Z" in client.get(url).content
    duty = client.get(f"{API}/me/duty", params={"upcoming": "false"},
                      headers=world.headers(Role.RESPONDER)).json()
    assert duty and all(s["rotation_id"] == rotation["id"] for s in duty)
    weeks = _events(calendar, "duty")
    assert [(_utc(e, "dtstart"), _utc(e, "dtend")) for e in weeks] == [
        (datetime.fromisoformat(s["start"]), datetime.fromisoformat(s["end"])) for s in duty]
    assert [str(e["summary"]) for e in weeks] == [f"Duty officer ({s['role']})" for s in duty]
    assert all(str(e["transp"]) == "OPAQUE" for e in weeks)


def test_a_new_address_revokes_the_old_one_and_delete_revokes_it(client, world, rotation):
    first = _new_feed(client, world)
    second = _new_feed(client, world)
    assert first != second
    assert client.get(first).status_code == 404
    _calendar(client.get(second))
    headers = world.headers(Role.RESPONDER)
    assert client.delete(f"{API}/me/calendar", headers=headers).status_code == 204
    gone = client.get(second)
    assert gone.status_code == 404 and gone.headers["content-type"] == PROBLEM
    assert client.delete(f"{API}/me/calendar", headers=headers).status_code == 404
    assert client.get(f"{API}/calendars/crrtcal_{'x' * 43}.ics").status_code == 404


def test_a_new_address_says_when_it_was_made(client, world, rotation):
    headers = world.headers(Role.RESPONDER)
    with clock.frozen(datetime(2026, 12, 1, 10, tzinfo=UTC)):
        first = client.post(f"{API}/me/calendar", headers=headers).json()
    with clock.frozen(datetime(2026, 12, 5, 10, tzinfo=UTC)):
        second = client.post(f"{API}/me/calendar", headers=headers).json()
    assert datetime.fromisoformat(first["created_at"]) == datetime(2026, 12, 1, 10, tzinfo=UTC)
    assert datetime.fromisoformat(second["created_at"]) == datetime(2026, 12, 5, 10, tzinfo=UTC)


def test_an_erased_experts_address_stops_working(client, world, rotation, database):
    url = _new_feed(client, world)
    with database.session() as db:
        expert = db.scalars(select(Expert).where(
            Expert.user_id == world.users[Role.RESPONDER])).one()
        expert.erased_at = datetime(2026, 12, 1, tzinfo=UTC)
    assert client.get(url).status_code == 404


def test_an_account_without_an_expert_record_has_no_calendar(client, world):
    for role in (Role.COORDINATOR, Role.NATIONAL_POC):
        headers = world.headers(role)
        response = client.post(f"{API}/me/calendar", headers=headers)
        assert response.status_code == 404, response.text
        assert "not linked to an expert record" in response.json()["detail"]
        assert client.get(f"{API}/me/duty", headers=headers).status_code == 404
    for role in (Role.REQUESTER, Role.OBSERVER):  # who reads no rotation has no duty either
        assert client.post(f"{API}/me/calendar", headers=world.headers(role)).status_code \
            == 403
    assert client.post(f"{API}/me/calendar").status_code == 401


def test_a_nations_feed_holds_its_members_and_their_duty(client, world, rotation):
    members = {m["name"]: m["org"] for m in rotation["members"]}
    duty = client.get(f"{API}/rotations/{rotation['id']}/duty",
                      headers=world.headers(Role.RESPONDER)).json()
    for code in ("EE", "LT", "ES"):
        calendar = _calendar(client.get(f"{API}/calendars/nations/{code}.ics",
                                        headers=world.headers(Role.NATIONAL_POC)))
        mine = sorted(name for name, org in members.items() if org == code)
        teams = _events(calendar, "rotation")
        if not mine:
            assert teams == [] and _events(calendar, "duty") == []
            continue
        [team] = teams
        described = sorted(line.split(":")[0] for line in str(team["description"]).splitlines())
        assert described == mine
        expected = [s for s in duty if code in (s["primary"]["org"], s["backup"]["org"])]
        weeks = _events(calendar, "duty")
        assert [_utc(e, "dtstart") for e in weeks] == [
            datetime.fromisoformat(s["start"]) for s in expected]
    _calendar(client.get(f"{API}/calendars/nations/DE.ics",
                         headers=world.headers(Role.RESPONDER)))  # no rotation, still a feed
    assert client.get(f"{API}/calendars/nations/XX.ics",
                      headers=world.headers(Role.RESPONDER)).status_code == 404


def test_a_rotations_feed_holds_the_team_and_every_week(client, world, rotation):
    calendar = _calendar(client.get(f"{API}/rotations/{rotation['id']}/calendar.ics",
                                    headers=world.headers(Role.RESPONDER)))
    assert str(calendar["x-wr-timezone"]) == "Europe/Brussels"
    [team] = _events(calendar, "rotation")
    assert len(str(team["description"]).splitlines()) == 3
    weeks = _events(calendar, "duty")
    assert len(weeks) == 5
    assert _utc(weeks[0], "dtstart") == datetime(2027, 1, 1, 8, tzinfo=UTC)
    assert _utc(weeks[-1], "dtend") == datetime(2027, 2, 1, 8, tzinfo=UTC)
    for week in weeks:
        primary, backup = str(week["summary"]).removeprefix("Duty: ").split(" / ")
        assert primary != backup and "nobody" not in (primary, backup)


def test_a_requester_may_read_no_rotation_or_nation_feed(client, world, rotation):
    headers = world.headers(Role.REQUESTER)
    for url in (f"/rotations/{rotation['id']}/calendar.ics", "/calendars/nations/EE.ics",
                "/rotations"):
        response = client.get(API + url, headers=headers)
        assert response.status_code == 403, url
        assert response.headers["content-type"] == PROBLEM
