"""The account API: who am I, my tokens, and user management for admins."""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from crrt.access.enums import Role
from crrt.auth import passwords
from crrt.auth.identify import CSRF_HEADER, SESSION_COOKIE
from crrt.auth.models import ApiToken, LoginAttempt, User
from crrt.core import clock
from tests.support import open_web_session


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


# --- tokens from a browser session, and an admin's view of anyone's tokens ----------------------

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
PASSWORD = "the observer's own password"


@functools.cache
def _password_hash() -> str:
    return passwords.hash_password(PASSWORD)


def _signed_in_browser(client, database, user_id) -> dict[str, str]:
    """Sign ``user_id`` in (with :data:`PASSWORD`); the CSRF header its pages hand out."""
    with database.session() as db:
        db.get(User, user_id).password_hash = _password_hash()
    client.cookies.set(SESSION_COOKIE, open_web_session(database, user_id))
    found = CSRF_META.search(client.get("/").text)
    assert found, "the dashboard carries no CSRF token"
    return {CSRF_HEADER: found.group(1)}


def _token_count(database, user_id) -> int:
    with database.session() as db:
        return db.scalar(select(func.count()).select_from(ApiToken)
                         .where(ApiToken.user_id == user_id)) or 0


def test_a_browser_session_must_give_the_password_again_to_create_a_token(client, database,
                                                                         world):
    observer = world.users[Role.OBSERVER]
    headers = _signed_in_browser(client, database, observer)
    missing = client.post("/api/v1/me/tokens", headers=headers, json={"name": "from a cookie"})
    assert missing.status_code == 422, missing.text
    assert missing.json()["errors"][0]["loc"] == ["password"]
    wrong = client.post("/api/v1/me/tokens", headers=headers,
                        json={"name": "from a cookie", "password": "not the password at all"})
    assert wrong.status_code == 401, wrong.text
    assert "password" in wrong.json()["detail"]
    assert _token_count(database, observer) == 1  # the world's own token, nothing more
    right = client.post("/api/v1/me/tokens", headers=headers,
                        json={"name": "from a cookie", "password": PASSWORD})
    assert right.status_code == 201, right.text
    client.cookies.clear()
    made = {"Authorization": f"Bearer {right.json()['token']}"}
    assert client.get("/api/v1/me", headers=made).json()["role"] == "observer"


def test_a_wrong_password_for_a_token_counts_as_a_failed_sign_in(client, database, world):
    headers = _signed_in_browser(client, database, world.users[Role.OBSERVER])
    client.post("/api/v1/me/tokens", headers=headers, json={"password": "a wrong password"})
    with database.session() as db:
        attempts = db.execute(select(LoginAttempt.email, LoginAttempt.succeeded)).all()
    assert [tuple(a) for a in attempts] == [("observer@test.example", False)]


def test_token_passwords_are_throttled_like_sign_in(client, database, world):
    headers = _signed_in_browser(client, database, world.users[Role.OBSERVER])
    with database.session() as db:  # five failures, as five wrong sign-ins leave them
        db.add_all(LoginAttempt(email="observer@test.example", address=f"192.0.2.{n}",
                                at=clock.now(), succeeded=False) for n in range(5))
    response = client.post("/api/v1/me/tokens", headers=headers, json={"password": PASSWORD})
    assert response.status_code == 429, response.text
    assert int(response.headers["retry-after"]) > 0
    assert _token_count(database, world.users[Role.OBSERVER]) == 1


def test_a_bearer_token_creates_a_token_without_the_password(client, world):
    response = client.post("/api/v1/me/tokens", headers=world.headers(Role.OBSERVER),
                           json={"name": "from a script"})
    assert response.status_code == 201, response.text


def test_an_admin_lists_and_revokes_any_users_tokens_and_each_revocation_is_audited(client,
                                                                                  world):
    admin, observer = world.headers(Role.ADMIN), world.users[Role.OBSERVER]
    listed = client.get(f"/api/v1/users/{observer}/tokens", headers=admin)
    assert listed.status_code == 200, listed.text
    [token] = listed.json()
    assert token["name"] == "tests" and world.tokens[Role.OBSERVER] not in listed.text
    revoked = client.delete(f"/api/v1/users/{observer}/tokens/{token['id']}", headers=admin)
    assert revoked.status_code == 204
    assert client.get("/api/v1/me", headers=world.headers(Role.OBSERVER)).status_code == 401
    [after] = client.get(f"/api/v1/users/{observer}/tokens", headers=admin).json()
    assert after["revoked_at"] is not None
    events = client.get("/api/v1/audit", headers=admin,
                        params={"action": "token.revoke"}).json()["items"]
    assert [(e["object_type"], e["object_id"], e["actor"]) for e in events] == [
        ("api_token", str(token["id"]), f"user:{world.users[Role.ADMIN]}")]


def test_a_token_is_revoked_only_under_the_user_it_belongs_to(client, world):
    admin = world.headers(Role.ADMIN)
    [theirs] = client.get(f"/api/v1/users/{world.users[Role.OBSERVER]}/tokens",
                          headers=admin).json()
    response = client.delete(f"/api/v1/users/{world.users[Role.REQUESTER]}/tokens/"
                             f"{theirs['id']}", headers=admin)
    assert response.status_code == 404
    assert client.get("/api/v1/me", headers=world.headers(Role.OBSERVER)).status_code == 200
    assert client.get("/api/v1/users/99999/tokens", headers=admin).status_code == 404


def test_nobody_but_an_admin_lists_or_revokes_another_users_tokens(client, world):
    [theirs] = client.get(f"/api/v1/users/{world.users[Role.OBSERVER]}/tokens",
                          headers=world.headers(Role.ADMIN)).json()
    for role in (Role.COORDINATOR, Role.NATIONAL_POC, Role.RESPONDER, Role.REQUESTER):
        headers = world.headers(role)
        base = f"/api/v1/users/{world.users[Role.OBSERVER]}/tokens"
        assert client.get(base, headers=headers).status_code == 404, role
        assert client.delete(f"{base}/{theirs['id']}", headers=headers).status_code == 404, role
    assert client.get("/api/v1/me", headers=world.headers(Role.OBSERVER)).status_code == 200


def test_a_password_set_by_an_admin_revokes_the_users_tokens_unless_kept(client, world):
    admin = world.headers(Role.ADMIN)
    response = client.patch(f"/api/v1/users/{world.users[Role.OBSERVER]}", headers=admin,
                            json={"password": "a new password for them"})
    assert response.status_code == 200, response.text
    assert client.get("/api/v1/me", headers=world.headers(Role.OBSERVER)).status_code == 401
    kept = client.patch(f"/api/v1/users/{world.users[Role.REQUESTER]}", headers=admin,
                        json={"password": "a new password for them", "keep_tokens": True})
    assert kept.status_code == 200, kept.text
    assert client.get("/api/v1/me", headers=world.headers(Role.REQUESTER)).status_code == 200


def test_a_reactivated_user_does_not_get_revoked_tokens_back(client, world):
    admin, observer = world.headers(Role.ADMIN), world.users[Role.OBSERVER]
    for active in (False, True):
        response = client.patch(f"/api/v1/users/{observer}", headers=admin,
                                json={"is_active": active})
        assert response.json()["is_active"] is active
    assert client.get("/api/v1/me", headers=world.headers(Role.OBSERVER)).status_code == 401
    [token] = client.get(f"/api/v1/users/{observer}/tokens", headers=admin).json()
    assert token["revoked_at"] is not None


def test_a_user_deactivated_with_keep_tokens_gets_them_back_on_reactivation(client, world):
    admin, observer = world.headers(Role.ADMIN), world.users[Role.OBSERVER]
    client.patch(f"/api/v1/users/{observer}", headers=admin,
                 json={"is_active": False, "keep_tokens": True})
    assert client.get("/api/v1/me", headers=world.headers(Role.OBSERVER)).status_code == 401
    client.patch(f"/api/v1/users/{observer}", headers=admin, json={"is_active": True})
    assert client.get("/api/v1/me", headers=world.headers(Role.OBSERVER)).status_code == 200
