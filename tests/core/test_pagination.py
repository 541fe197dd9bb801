"""Lists come in pages: a bounded ``limit`` and an opaque cursor that resumes where one ended."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crrt.access.enums import Role
from crrt.core.errors import Invalid
from crrt.core.pagination import MAX_LIMIT, encode_cursor, paginate
from crrt.organisations.models import Organisation


def test_cursor_round_trip_visits_every_item_once(client, world):
    headers = world.headers(Role.ADMIN)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        body = client.get("/api/v1/organisations", params=params, headers=headers).json()
        assert len(body["items"]) <= 2
        seen += [o["code"] for o in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(["LT", "EE", "ES", "DE", "cert-eu"])
    assert len(seen) == len(set(seen))
    assert pages == 3


def test_last_full_page_has_no_next_cursor(client, world):
    body = client.get("/api/v1/organisations", params={"limit": 5},
                      headers=world.headers(Role.ADMIN)).json()
    assert len(body["items"]) == 5
    assert body["next_cursor"] is None


def test_items_added_after_a_page_appear_on_a_later_page(client, world):
    headers = world.headers(Role.ADMIN)
    first = client.get("/api/v1/organisations", params={"limit": 5}, headers=headers).json()
    assert first["next_cursor"] is None
    client.post("/api/v1/organisations", headers=headers,
                json={"code": "enisa", "name": "ENISA", "kind": "eu_institution"})
    first = client.get("/api/v1/organisations", params={"limit": 4}, headers=headers).json()
    second = client.get("/api/v1/organisations",
                        params={"limit": 4, "cursor": first["next_cursor"]}, headers=headers)
    assert [o["code"] for o in second.json()["items"]] == ["cert-eu", "enisa"]


def test_limit_out_of_bounds_is_a_422_and_the_bounds_themselves_are_fine(client, world):
    headers = world.headers(Role.ADMIN)
    for limit in (0, -1, MAX_LIMIT + 1):
        response = client.get("/api/v1/organisations", params={"limit": limit}, headers=headers)
        assert response.status_code == 422, limit
        assert response.json()["errors"][0]["loc"] == ["query", "limit"]
    for limit in (1, MAX_LIMIT):
        response = client.get("/api/v1/organisations", params={"limit": limit}, headers=headers)
        assert response.status_code == 200
        assert len(response.json()["items"]) == min(limit, 5)


BAD_CURSORS = ["garbage!!", "e30", encode_cursor("not-an-id"), "%%%", encode_cursor(None),
               encode_cursor(True), encode_cursor(2**70), encode_cursor(1.5)]


def test_a_cursor_the_server_did_not_give_is_a_422(client, world):
    for cursor in BAD_CURSORS:
        response = client.get("/api/v1/organisations", params={"cursor": cursor},
                              headers=world.headers(Role.ADMIN))
        assert response.status_code == 422, (cursor, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["errors"][0]["loc"] == ["query", "cursor"]


def test_paginate_refuses_a_limit_out_of_bounds_in_the_service_too(database, world):
    with database.session() as db, pytest.raises(Invalid):
        paginate(db, select(Organisation), Organisation.id, limit=MAX_LIMIT + 1, cursor=None)


def test_paginate_defaults_and_converts(database, world):
    with database.session() as db:
        codes, cursor = paginate(db, select(Organisation), Organisation.id, limit=None,
                                 cursor=None, convert=lambda org: org.code)
    assert codes == ["LT", "EE", "ES", "DE", "cert-eu"]
    assert cursor is None
