"""My account in the browser: changing one's password and one's own API tokens."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from crrt.access.enums import Role
from crrt.audit.models import AuditEvent
from crrt.auth import passwords
from crrt.auth import service as auth_service
from crrt.auth.identify import SESSION_COOKIE
from crrt.auth.models import ApiToken, LoginAttempt, User
from crrt.auth.schemas import TokenIn
from crrt.core.db import Database
from tests.conftest import SYSTEM
from tests.web.conftest import PASSWORD, csrf_of, make_user, open_session

NEW_PASSWORD = "a brand new passphrase 2031"
SECRET = re.compile(r'<code class="code" id="new-token">([^<]+)</code>')


def _signed_in(app, database: Database, email: str) -> TestClient:
    client = TestClient(app, raise_server_exceptions=False)
    client.cookies.set(SESSION_COOKIE, open_session(database, email))
    return client


def _person(app, database: Database, role: Role = Role.COORDINATOR,
            ) -> tuple[TestClient, str]:
    """A signed-in browser of an account with :data:`PASSWORD`, and its email."""
    email = make_user(database, role)
    return _signed_in(app, database, email), email


def _change(client: TestClient, current: str = PASSWORD, new: str = NEW_PASSWORD,
            again: str | None = None, **extra: str):
    token = csrf_of(client.get("/account/password").text)
    answer = client.post("/account/password", follow_redirects=False, data={
        "csrf_token": token, "current_password": current, "new_password": new,
        "new_password_again": new if again is None else again, **extra})
    renewed = answer.cookies.get(SESSION_COOKIE)
    if renewed:  # the browser's cookie is replaced (the test client keeps both otherwise)
        client.cookies.clear()
        client.cookies.set(SESSION_COOKIE, renewed)
    return answer


def _create(client: TestClient, name: str = "backup script", days: str = "30",
            password: str = PASSWORD):
    token = csrf_of(client.get("/account/tokens").text)
    return client.post("/account/tokens", follow_redirects=False, data={
        "csrf_token": token, "name": name, "days": days, "password": password})


def _user(database: Database, email: str) -> User:
    with database.session() as db:
        user = auth_service.find_by_email(db=db, actor=SYSTEM, email=email)
        assert user is not None
        db.expunge(user)
        return user


def _token_for(database: Database, email: str, name: str = "cli") -> tuple[int, str]:
    with database.session() as db:
        user = auth_service.find_by_email(db=db, actor=SYSTEM, email=email)
        token, secret = auth_service.create_token(
            db=db, actor=auth_service.principal_of(db, user), user=user, data=TokenIn(name=name))
        return token.id, secret


def _field_error(html: str, field: str) -> str:
    found = re.search(rf'<p class="field-error" id="{field}-error">(.*?)</p>', html, re.S)
    assert found, f"no error beside {field}"
    return re.sub(r"<[^>]+>", "", found.group(1))


def _works(database: Database, secret: str) -> bool:
    with database.session(read_only=True) as db:
        try:
            auth_service.check_token(db, secret)
        except Exception:
            return False
        return True


# --- the password -----------------------------------------------------------------------------

def test_account_links_to_the_password_and_the_tokens(browser):
    page = browser(Role.OBSERVER).get("/account")
    assert 'href="/account/password"' in page.text and 'href="/account/tokens"' in page.text


def test_a_wrong_current_password_is_told_by_its_field_and_counted(app, database, world):
    client, email = _person(app, database)
    answer = _change(client, current="not my password at all")
    assert answer.status_code == 422
    assert _field_error(answer.text, "current_password")
    assert 'aria-invalid="true"' in answer.text
    assert "not my password at all" not in answer.text and NEW_PASSWORD not in answer.text
    with database.session(read_only=True) as db:
        failed = db.scalars(select(LoginAttempt).where(LoginAttempt.email == email)).all()
    assert [a.succeeded for a in failed] == [False]
    assert client.get("/account").status_code == 200  # still signed in
    assert _user(database, email).password_hash is not None
    assert _works_with(app, database, email, PASSWORD)


def _works_with(app, database: Database, email: str, password: str) -> bool:
    with TestClient(app) as fresh:
        page = fresh.get("/login")
        answer = fresh.post("/login", follow_redirects=False, data={
            "csrf_token": csrf_of(page.text), "email": email, "password": password})
    return answer.status_code == 303


def test_a_short_new_password_is_refused_before_any_check(app, database, world):
    client, email = _person(app, database)
    answer = _change(client, new="too short")
    assert answer.status_code == 422
    assert "12" in _field_error(answer.text, "new_password")
    with database.session(read_only=True) as db:
        assert not db.scalars(select(LoginAttempt).where(LoginAttempt.email == email)).all()


def test_the_new_password_must_be_typed_the_same_twice(app, database, world):
    client, _email = _person(app, database)
    answer = _change(client, again=NEW_PASSWORD + "!")
    assert answer.status_code == 422
    assert _field_error(answer.text, "new_password_again")
    assert NEW_PASSWORD not in answer.text and PASSWORD not in answer.text


def test_a_password_change_signs_out_the_other_browsers_and_revokes_the_tokens(app, database,
                                                                              world):
    client, email = _person(app, database)
    elsewhere = _signed_in(app, database, email)
    _token_id, secret = _token_for(database, email)
    before = client.cookies.get(SESSION_COOKIE)
    answer = _change(client)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/account?saved=password&revoked=1"
    assert client.cookies.get(SESSION_COOKIE) not in (None, before)  # a new session id
    confirmed = client.get(answer.headers["location"])
    assert confirmed.status_code == 200 and 'role="status"' in confirmed.text
    assert elsewhere.get("/account", follow_redirects=False).status_code == 303  # to sign in
    assert not _works(database, secret)
    assert _works_with(app, database, email, NEW_PASSWORD)
    assert not _works_with(app, database, email, PASSWORD)
    user_id = _user(database, email).id
    with database.session(read_only=True) as db:
        actions = db.scalars(select(AuditEvent.action).where(
            AuditEvent.object_type == "user", AuditEvent.object_id == str(user_id))).all()
    assert "user.password" in actions


def test_a_password_change_keeps_the_tokens_when_asked(app, database, world):
    client, email = _person(app, database)
    _token_id, secret = _token_for(database, email)
    answer = _change(client, keep_tokens="1")
    assert answer.headers["location"] == "/account?saved=password&revoked=0"
    assert _works(database, secret)
    assert client.get("/account/tokens").status_code == 200


def test_changing_the_password_is_throttled_like_signing_in(app, database, world, settings):
    client, _email = _person(app, database)
    for _attempt in range(settings.login_max_failures):
        assert _change(client, current="wrong wrong wrong").status_code == 422
    throttled = _change(client)  # even the right password waits now
    assert throttled.status_code == 429 and "Retry-After" in throttled.headers
    assert _field_error(throttled.text, "current_password")


def test_an_account_without_a_password_cannot_set_one_here(browser):
    answer = _change(browser(Role.RESPONDER))
    assert answer.status_code == 422
    assert _field_error(answer.text, "current_password")


def test_the_password_form_refuses_a_post_without_its_csrf_token(app, database, world):
    client, email = _person(app, database)
    answer = client.post("/account/password", follow_redirects=False, data={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD,
        "new_password_again": NEW_PASSWORD})
    assert answer.status_code == 403
    assert _works_with(app, database, email, PASSWORD)


# --- the tokens -------------------------------------------------------------------------------

def test_a_new_token_is_shown_once_and_never_again(app, database, world):
    client, _email = _person(app, database, Role.RESPONDER)
    answer = _create(client, name="backup script")
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    found = SECRET.search(answer.text)
    assert found, "the new secret is not on the page"
    secret = found.group(1)
    assert _works(database, secret)
    assert secret not in str(answer.url) and secret not in answer.headers.get("location", "")
    listing = client.get("/account/tokens")
    assert "backup script" in listing.text and secret[:12] in listing.text
    assert secret not in listing.text
    with database.session(read_only=True) as db:
        stored = db.scalars(select(ApiToken).where(ApiToken.name == "backup script")).one()
        assert stored.token_hash != secret and secret not in stored.token_hash
        assert stored.expires_at is not None


def test_a_token_needs_the_password_again(app, database, world):
    client, _email = _person(app, database)
    wrong = _create(client, password="not the password")
    assert wrong.status_code == 422 and not SECRET.search(wrong.text)
    assert _field_error(wrong.text, "password")
    assert "not the password" not in wrong.text
    assert 'value="backup script"' in wrong.text  # the name is kept, the password is not
    empty = _create(client, password="")
    assert empty.status_code == 422 and _field_error(empty.text, "password")


def test_a_token_needs_a_name_and_days_in_range(app, database, world):
    client, _email = _person(app, database)
    answer = _create(client, name="", days="400")
    assert answer.status_code == 422
    assert _field_error(answer.text, "name") and _field_error(answer.text, "days")
    with database.session(read_only=True) as db:
        assert not db.scalars(select(LoginAttempt)).all()  # no password was checked


def test_creating_tokens_is_throttled_like_signing_in(app, database, world, settings):
    client, _email = _person(app, database)
    for _attempt in range(settings.login_max_failures):
        assert _create(client, password="wrong wrong wrong").status_code == 422
    throttled = _create(client)
    assert throttled.status_code == 429 and not SECRET.search(throttled.text)


def test_a_person_revokes_their_own_token(app, database, world):
    client, email = _person(app, database, Role.REQUESTER)
    token_id, secret = _token_for(database, email, name="old laptop")
    page = client.get("/account/tokens")
    assert "Revoke “old laptop”" in page.text
    answer = client.post(f"/account/tokens/{token_id}/revoke", follow_redirects=False,
                         data={"csrf_token": csrf_of(page.text)})
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/account/tokens?revoked={token_id}"
    assert not _works(database, secret)
    after = client.get(answer.headers["location"])
    assert 'role="status"' in after.text and "old laptop" in after.text
    assert f"/account/tokens/{token_id}/revoke" not in after.text  # no button any more


def test_another_persons_token_cannot_be_revoked_here_even_by_an_admin(app, database, world):
    _other, other_email = _person(app, database, Role.OBSERVER)
    token_id, secret = _token_for(database, other_email)
    admin, _email = _person(app, database, Role.ADMIN)
    page = admin.get("/account/tokens")
    answer = admin.post(f"/account/tokens/{token_id}/revoke", follow_redirects=False,
                        data={"csrf_token": csrf_of(page.text)})
    assert answer.status_code in (403, 404)
    assert _works(database, secret)
    assert f"/account/tokens/{token_id}/revoke" not in page.text


def test_the_token_forms_refuse_a_post_without_the_csrf_token(app, database, world):
    client, email = _person(app, database)
    token_id, secret = _token_for(database, email)
    created = client.post("/account/tokens", follow_redirects=False,
                          data={"name": "x", "days": "5", "password": PASSWORD})
    assert created.status_code == 403 and not SECRET.search(created.text)
    revoked = client.post(f"/account/tokens/{token_id}/revoke", follow_redirects=False,
                          data={"csrf_token": "forged"})
    assert revoked.status_code == 403
    assert _works(database, secret)


@pytest.mark.parametrize("days", ["²", "٣٠", "0", "367", "thirty"])
def test_a_token_expiry_that_is_not_a_plain_number_of_days_is_told_not_a_crash(app, database,
                                                                                world, days):
    client, _email = _person(app, database, Role.OBSERVER)
    answer = _create(client, days=days)
    assert answer.status_code == 422
    assert 'id="days-error"' in answer.text


def test_a_current_password_longer_than_any_password_is_refused_before_argon2(app, database,
                                                                              world):
    client, email = _person(app, database, Role.OBSERVER)
    answer = _change(client, current="x" * 5000)
    assert answer.status_code == 422
    assert "current password is not right" in answer.text
    assert passwords.verify_password(_user(database, email).password_hash, PASSWORD)
