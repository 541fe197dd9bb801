"""The account API: who am I, my tokens, and user management for admins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crrt.access.enums import Role
from crrt.core import clock


def test_me_says_who_the_token_belongs_to(client, world):
    response = client.get("/api/v1/me", headers=world.headers(Role.NATIONAL_POC))
    assert response.status_code == 200
    assert response.json() == {"id": world.users[Role.NATIONAL_POC],
                               "email": "national-poc@test.example", "name": "National_Poc",
                               "role": "national_poc", "org": "EE"}


def test_my_tokens_are_listed_without_their_secrets(client, world):
    response = client.get("/api/v1/me/tokens", headers=world.headers(Role.OBSERVER))
    assert response.status_code == 200
    [token] = response.json()
    assert token["name"] == "tests"
    assert world.tokens[Role.OBSERVER] not in response.text
    assert world.tokens[Role.OBSERVER].startswith(token["prefix"])


def test_a_new_token_is_shown_once_works_and_can_be_revoked(client, world):
    headers = world.headers(Role.OBSERVER)
    created = client.post("/api/v1/me/tokens", headers=headers,
                          json={"name": "script", "expires_at": "2099-01-01T00:00:00Z"})
    assert created.status_code == 201
    body = created.json()
    secret = body["token"]
    assert body["expires_at"].startswith("2099-01-01")
    listed = client.get("/api/v1/me/tokens", headers=headers).json()
    assert {t["name"] for t in listed} == {"tests", "script"}
    assert secret not in str(listed)

    mine = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/me", headers=mine).json()["role"] == "observer"
    assert client.delete(f"/api/v1/me/tokens/{body['id']}", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=mine).status_code == 401
    revoked = [t for t in client.get("/api/v1/me/tokens", headers=headers).json()
               if t["id"] == body["id"]]
    assert revoked[0]["revoked_at"] is not None


def test_an_expired_token_is_a_401(client, world):
    start = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    with clock.frozen(start):
        created = client.post("/api/v1/me/tokens", headers=world.headers(Role.OBSERVER),
                              json={"expires_at": "2030-01-01T13:00:00Z"}).json()
        mine = {"Authorization": f"Bearer {created['token']}"}
        assert client.get("/api/v1/me", headers=mine).status_code == 200
        clock.advance(timedelta(hours=1))
        response = client.get("/api/v1/me", headers=mine)
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_a_token_can_revoke_itself(client, world):
    headers = world.headers(Role.REQUESTER)
    [token] = client.get("/api/v1/me/tokens", headers=headers).json()
    assert client.delete(f"/api/v1/me/tokens/{token['id']}", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_another_users_token_is_not_found(client, world):
    [theirs] = client.get("/api/v1/me/tokens", headers=world.headers(Role.OBSERVER)).json()
    response = client.delete(f"/api/v1/me/tokens/{theirs['id']}",
                             headers=world.headers(Role.REQUESTER))
    assert response.status_code == 404
    assert client.get("/api/v1/me", headers=world.headers(Role.OBSERVER)).status_code == 200


def test_a_token_with_a_past_or_naive_expiry_is_refused(client, world):
    headers = world.headers(Role.OBSERVER)
    for expires_at in ("2001-01-01T00:00:00Z", "2099-01-01T00:00:00"):
        response = client.post("/api/v1/me/tokens", headers=headers,
                               json={"expires_at": expires_at})
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["expires_at"]


def test_a_token_expiry_is_kept_in_utc_and_one_beyond_year_9999_is_refused(client, world):
    headers = world.headers(Role.OBSERVER)
    zoned = client.post("/api/v1/me/tokens", headers=headers,
                        json={"expires_at": "2099-06-01T03:00:00+03:00"})
    assert zoned.json()["expires_at"] in ("2099-06-01T00:00:00Z", "2099-06-01T00:00:00+00:00")
    beyond = client.post("/api/v1/me/tokens", headers=headers,
                         json={"expires_at": "9999-12-31T23:59:59-14:00"})
    assert beyond.status_code == 422
    assert beyond.json()["errors"][0]["loc"] == ["expires_at"]


def test_an_admin_creates_reads_lists_and_updates_users(client, world):
    headers = world.headers(Role.ADMIN)
    created = client.post("/api/v1/users", headers=headers, json={
        "email": "Mari.Maasikas@Test.Example", "name": "Mari Maasikas",
        "role": "national_poc", "org": "EE"})
    assert created.status_code == 201
    user = created.json()
    assert user["email"] == "mari.maasikas@test.example"
    assert (user["role"], user["org"], user["is_active"]) == ("national_poc", "EE", True)
    assert "password" not in user and "password_hash" not in user

    fetched = client.get(f"/api/v1/users/{user['id']}", headers=headers)
    assert fetched.json() == user

    patched = client.patch(f"/api/v1/users/{user['id']}", headers=headers,
                           json={"name": "Mari M.", "role": "coordinator", "org": "LT"})
    assert patched.status_code == 200
    assert (patched.json()["name"], patched.json()["role"], patched.json()["org"]) == (
        "Mari M.", "coordinator", "LT")

    emails, cursor = [], None
    while True:
        page = client.get("/api/v1/users", headers=headers,
                          params={"limit": 3} | ({"cursor": cursor} if cursor else {})).json()
        emails += [u["email"] for u in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert len(emails) == 7 and "mari.maasikas@test.example" in emails


def test_a_deactivated_user_is_locked_out_at_once(client, world):
    response = client.patch(f"/api/v1/users/{world.users[Role.OBSERVER]}",
                            headers=world.headers(Role.ADMIN), json={"is_active": False})
    assert response.json()["is_active"] is False
    assert client.get("/api/v1/me", headers=world.headers(Role.OBSERVER)).status_code == 401


def test_a_duplicate_user_is_a_409(client, world):
    response = client.post("/api/v1/users", headers=world.headers(Role.ADMIN), json={
        "email": "OBSERVER@test.example", "name": "Twin", "role": "observer", "org": "DE"})
    assert response.status_code == 409


def test_a_user_of_an_unknown_organisation_is_a_422_on_org(client, world):
    response = client.post("/api/v1/users", headers=world.headers(Role.ADMIN), json={
        "email": "x@test.example", "name": "X", "role": "observer", "org": "XX"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["org"]


def test_a_short_password_and_unknown_fields_are_422(client, world):
    response = client.post("/api/v1/users", headers=world.headers(Role.ADMIN), json={
        "email": "x@test.example", "name": "X", "role": "observer", "org": "DE",
        "password": "short", "is_admin": True})
    assert response.status_code == 422
    assert {tuple(e["loc"]) for e in response.json()["errors"]} == {("password",),
                                                                    ("is_admin",)}


def test_an_unknown_user_is_a_404(client, world):
    assert client.get("/api/v1/users/99999", headers=world.headers(Role.ADMIN)).status_code \
        == 404


def test_nobody_but_an_admin_sees_or_manages_users(client, world):
    for role in (Role.COORDINATOR, Role.NATIONAL_POC, Role.RESPONDER, Role.REQUESTER,
                 Role.OBSERVER):
        headers = world.headers(role)
        assert client.get("/api/v1/users", headers=headers).status_code == 403
        assert client.get(f"/api/v1/users/{world.users[role]}",
                          headers=headers).status_code == 403
        assert client.patch(f"/api/v1/users/{world.users[role]}", headers=headers,
                            json={"role": "admin"}).status_code == 403
    assert client.get("/api/v1/me", headers=world.headers(Role.OBSERVER)).json()["role"] \
        == "observer"


def test_a_blank_user_name_is_refused(client, world):
    headers = world.headers(Role.ADMIN)
    response = client.post("/api/v1/users", headers=headers, json={
        "email": "x@test.example", "name": "   ", "role": "observer", "org": "DE"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["name"]
    response = client.patch(f"/api/v1/users/{world.users[Role.OBSERVER]}", headers=headers,
                            json={"name": " "})
    assert response.status_code == 422


def test_the_last_active_admin_cannot_be_demoted_or_deactivated(client, world):
    headers = world.headers(Role.ADMIN)
    me = world.users[Role.ADMIN]
    for change in ({"role": "coordinator"}, {"is_active": False}):
        response = client.patch(f"/api/v1/users/{me}", headers=headers, json=change)
        assert response.status_code == 409, change
        assert "last active admin" in response.json()["detail"]
    other = client.post("/api/v1/users", headers=headers, json={
        "email": "second-admin@test.example", "name": "Second Admin", "role": "admin",
        "org": "LT"})
    assert other.status_code == 201
    demoted = client.patch(f"/api/v1/users/{me}", headers=headers, json={"role": "coordinator"})
    assert demoted.status_code == 200 and demoted.json()["role"] == "coordinator"
