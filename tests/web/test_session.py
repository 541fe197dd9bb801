"""Sessions and CSRF as a browser meets them: cookies, sign-in, sign-out, forged forms."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from crrt.access.enums import Role
from crrt.api import create_app
from crrt.auth import service as auth_service
from crrt.auth.identify import CSRF_COOKIE, SESSION_COOKIE
from crrt.auth.models import User
from crrt.auth.tokens import csrf_token, nonce_binding
from crrt.web.session import safe_next
from tests.web.conftest import PASSWORD, csrf_of, make_user, open_session, sign_in


@pytest.mark.parametrize("target", [
    None, "", "dashboard", "//evil.example/", "https://evil.example/", "/\\evil.example",
    "/\tevil", "http:/x",
])
def test_next_that_could_leave_the_site_falls_back_to_the_dashboard(target):
    assert safe_next(target) == "/"


@pytest.mark.parametrize("target", ["/", "/experts?skill=cloud&min_level=2", "/organisations/EE"])
def test_next_within_the_site_is_kept(target):
    assert safe_next(target) == target


def test_sign_in_page_hands_out_a_csrf_cookie_and_matching_token(client):
    page = client.get("/login")
    assert page.status_code == 200
    cookie = page.headers["set-cookie"]
    assert cookie.startswith(f"{CSRF_COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "samesite=strict" in cookie.lower()
    token = csrf_of(page.text)
    assert f'<meta name="csrf-token" content="{token}">' in page.text
    again = client.get("/login")
    assert "set-cookie" not in again.headers
    assert csrf_of(again.text) == token


def test_right_password_opens_a_session_and_goes_to_the_dashboard(client, database, world):
    email = make_user(database, Role.COORDINATOR)
    response = sign_in(client, email)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    assert "max-age=43200" in cookie
    assert "secure" not in cookie
    dashboard = client.get("/")
    assert dashboard.status_code == 200
    assert "Web Coordinator" in dashboard.text
    assert "Sign out" in dashboard.text


def test_wrong_password_shows_an_error_and_no_session(client, database, world):
    email = make_user(database, Role.COORDINATOR)
    response = sign_in(client, email, "not the password at all")
    assert response.status_code == 401
    assert "The email address or the password is not right." in response.text
    assert 'aria-invalid="true"' in response.text
    assert f'value="{email}"' in response.text
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
    assert client.get("/", follow_redirects=False).status_code == 303


def test_sixth_failed_sign_in_is_throttled_even_with_the_right_password(client, database,
                                                                       world):
    email = make_user(database, Role.COORDINATOR)
    for _ in range(5):
        assert sign_in(client, email, "wrong password, again").status_code == 401
    throttled = sign_in(client, email, PASSWORD)
    assert throttled.status_code == 429
    assert "Too many failed sign-ins" in throttled.text
    assert int(throttled.headers["retry-after"]) > 0
    assert SESSION_COOKIE not in throttled.headers.get("set-cookie", "")


def test_unknown_account_fails_like_a_wrong_password(client, world):
    response = sign_in(client, "nobody@test.example")
    assert response.status_code == 401
    assert "not right" in response.text


def test_empty_sign_in_form_asks_for_both_fields(client, world):
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"csrf_token": token, "email": "", "password": ""})
    assert response.status_code == 401
    assert "Enter your email address and your password." in response.text


def _cookie_named(response, name: str) -> str:
    """The Set-Cookie header that sets ``name``, lower-cased."""
    found = [c for c in response.headers.get_list("set-cookie") if c.startswith(f"{name}=")]
    assert found, f"no cookie {name} in {response.headers.get_list('set-cookie')}"
    return found[0].lower()


def test_secure_cookies_are_host_only_secure_cookies_with_the_host_prefix(settings, database,
                                                                          world):
    """``__Host-``: the browser keeps them only if Secure, for Path=/ and without Domain, so a
    sibling subdomain or a plain-HTTP page can neither plant nor shadow them."""
    app = create_app(settings.model_copy(update={"secure_cookies": True}), database=database)
    email = make_user(database, Role.COORDINATOR)
    with TestClient(app, base_url="https://testserver") as client:
        nonce = _cookie_named(client.get("/login"), f"__Host-{CSRF_COOKIE}")
        response = sign_in(client, email)
        assert response.status_code == 303
        cookie = _cookie_named(response, f"__Host-{SESSION_COOKIE}")
        for attributes in (nonce, cookie):
            assert "secure" in attributes and "path=/" in attributes
            assert "domain=" not in attributes
        assert client.get("/").status_code == 200
        token = csrf_of(client.get("/").text)
        out = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
        assert out.status_code == 303
        assert f"__host-{SESSION_COOKIE}=" in out.headers["set-cookie"].lower()
        assert client.get("/", follow_redirects=False).status_code == 303


def test_with_secure_cookies_a_cookie_without_the_host_prefix_is_ignored(settings, database,
                                                                         world):
    app = create_app(settings.model_copy(update={"secure_cookies": True}), database=database)
    email = make_user(database, Role.COORDINATOR)
    with TestClient(app, base_url="https://testserver") as client:
        client.cookies.set(SESSION_COOKIE, open_session(database, email))
        response = client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"


def test_signed_out_visitor_is_sent_to_sign_in_and_back_to_the_page(client, database, world):
    response = client.get("/organisations?kind=nation", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/organisations%3Fkind%3Dnation"
    page = client.get(response.headers["location"])
    assert 'name="next" value="/organisations?kind=nation"' in page.text
    email = make_user(database, Role.OBSERVER)
    back = sign_in(client, email, next="/organisations?kind=nation")
    assert back.status_code == 303
    assert back.headers["location"] == "/organisations?kind=nation"


def test_signed_out_visitor_of_the_dashboard_goes_to_plain_sign_in(client):
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/x",
                                    "/\\evil.example"])
def test_sign_in_never_redirects_to_another_site(client, database, world, target):
    email = make_user(database, Role.OBSERVER)
    response = sign_in(client, email, next=target)
    assert response.status_code == 303
    assert response.headers["location"] == "/"


def test_signed_in_visitor_of_the_sign_in_page_goes_on(client, database, world):
    email = make_user(database, Role.OBSERVER)
    sign_in(client, email)
    response = client.get("/login?next=/organisations", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/organisations"


def test_sign_out_ends_the_session_for_good(client, database, world):
    email = make_user(database, Role.COORDINATOR)
    sign_in(client, email)
    secret = client.cookies[SESSION_COOKIE]
    token = csrf_of(client.get("/").text)
    response = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert f'{SESSION_COOKIE}=""' in response.headers["set-cookie"] or \
        "max-age=0" in response.headers["set-cookie"].lower()
    client.cookies.set(SESSION_COOKIE, secret)
    stale = client.get("/", follow_redirects=False)
    assert stale.status_code == 303
    assert stale.headers["location"] == "/login"


def test_sign_out_without_the_csrf_token_is_refused_and_the_session_stays(client, database,
                                                                         world):
    email = make_user(database, Role.COORDINATOR)
    sign_in(client, email)
    response = client.post("/logout", data={}, follow_redirects=False)
    assert response.status_code == 403
    assert "did not come from this site" in response.text
    assert client.get("/").status_code == 200


def test_sign_in_with_a_forged_csrf_token_is_refused(client, database, world):
    email = make_user(database, Role.COORDINATOR)
    client.get("/login")
    response = client.post("/login", data={"csrf_token": "0" * 64, "email": email,
                                            "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 403
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")


def test_csrf_token_of_another_browser_is_refused(app, client, database, world):
    email = make_user(database, Role.COORDINATOR)
    with TestClient(app) as other:
        foreign_token = csrf_of(other.get("/login").text)
    client.get("/login")
    response = client.post("/login", data={"csrf_token": foreign_token, "email": email,
                                            "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 403


def test_sign_in_with_a_non_ascii_csrf_token_is_a_403_page_not_a_crash(client, world):
    client.get("/login")
    response = client.post("/login", data={"csrf_token": "é", "email": "admin@test.example",
                                            "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "did not come from this site" in response.text
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")


def test_signing_in_again_ends_the_browsers_previous_session(client, database, world,
                                                             settings):
    email = make_user(database, Role.OBSERVER)
    sign_in(client, email)
    first = client.cookies.get(SESSION_COOKIE)
    # the sign-in form takes the token of the browser's (renewed) nonce, even signed in
    token = csrf_token(settings.resolved_secret_key(),
                       nonce_binding(client.cookies.get(CSRF_COOKIE)))
    again = client.post("/login", data={"csrf_token": token, "email": email,
                                        "password": PASSWORD}, follow_redirects=False)
    assert again.status_code == 303
    assert client.cookies.get(SESSION_COOKIE) != first
    with database.session() as db:
        assert auth_service.session_principal(db, first) is None


def _lock_is_free(database, email: str) -> bool:
    """Whether another writer gets what a sign-in must not hold while Argon2 runs, within
    250 ms: SQLite's write lock, or PostgreSQL's advisory lock on the account's attempts."""
    if database.engine.dialect.name == "sqlite":
        connection = sqlite3.connect(database.engine.url.database, timeout=0.25,
                                     isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError:
            return False
        finally:
            connection.close()
    with database.engine.connect() as connection, connection.begin():
        connection.exec_driver_sql("SET LOCAL lock_timeout = '250ms'")
        try:
            connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                               {"key": f"login:{email}"})
            return True
        except OperationalError:
            return False


def test_sign_in_holds_no_lock_while_it_checks_the_password(app, client, database, world):
    """Argon2 takes a good part of a second; a writing transaction held meanwhile would make
    every SQLite writer (and every attempt on the account) wait for it."""
    email = make_user(database, Role.COORDINATOR)
    slow = PasswordHasher(time_cost=10).hash(PASSWORD)  # a second or more to verify
    with database.session() as db:
        db.scalars(select(User).where(User.email == email)).one().password_hash = slow
    token = csrf_of(client.get("/login").text)
    nonce = client.cookies.get(CSRF_COOKIE)
    answers: list[int] = []

    def sign_in_slowly() -> None:
        with TestClient(app, cookies={CSRF_COOKIE: nonce}) as other:
            answers.append(other.post("/login", follow_redirects=False, data={
                "csrf_token": token, "email": email, "password": PASSWORD}).status_code)

    thread = threading.Thread(target=sign_in_slowly)
    thread.start()
    checks, held = 0, 0
    while thread.is_alive():
        time.sleep(0.05)
        free = _lock_is_free(database, email)
        if thread.is_alive():
            checks += 1
            held += not free
    thread.join()
    assert answers == [303]
    assert checks >= 3, "the sign-in ended before it could be watched"
    # A lock held through Argon2 keeps every probe waiting; the sign-in's own short writes at
    # the end may catch one probe on a machine busy with other tests (a solver), never more.
    assert held <= 1, f"{held} of {checks} writers waited over 250 ms for the sign-in"


def test_the_sign_in_pages_token_does_not_work_once_signed_in(client, database, world):
    email = make_user(database, Role.COORDINATOR)
    anonymous = csrf_of(client.get("/login").text)
    assert sign_in(client, email).status_code == 303
    response = client.post("/logout", data={"csrf_token": anonymous}, follow_redirects=False)
    assert response.status_code == 403
    assert client.get("/").status_code == 200  # still signed in


def test_signing_in_renews_the_csrf_token(client, database, world):
    email = make_user(database, Role.COORDINATOR)
    anonymous = csrf_of(client.get("/login").text)
    sign_in(client, email)
    renewed = csrf_of(client.get("/").text)
    assert renewed != anonymous
    response = client.post("/logout", data={"csrf_token": renewed}, follow_redirects=False)
    assert response.status_code == 303


def test_an_anonymous_token_with_a_signed_in_cookie_cannot_post_a_form(client, database,
                                                                      world):
    """The review's finding on the pages: the sign-in page's nonce and token, kept by a
    browser that then holds a coordinator's session cookie, must not post its forms."""
    anonymous = csrf_of(client.get("/login").text)
    email = make_user(database, Role.COORDINATOR)
    client.cookies.set(SESSION_COOKIE, open_session(database, email))
    response = client.post("/experts/new", follow_redirects=False, data={
        "csrf_token": anonymous, "org": "EE", "name": "Forged", "email": "forged@ee.example",
        "skill.cloud": "1", "deployability": "remote"})
    assert response.status_code == 403
    assert client.get("/").status_code == 200  # the session itself is untouched


def test_a_form_sent_after_the_session_ended_leads_back_to_its_page_saying_why(browser,
                                                                               database):
    from crrt.auth.models import WebSession

    client = browser(Role.NATIONAL_POC)
    token = csrf_of(client.get("/experts/new").text)
    with database.session() as db:  # the session ends (expired, or signed out elsewhere)
        db.execute(WebSession.__table__.delete())
    response = client.post("/experts/new", data={"csrf_token": token, "name": "Mari Saar"},
                           headers={"Referer": "http://testserver/experts/new?org=EE"},
                           follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fexperts%2Fnew%3Forg%3DEE&ended=1"
    page = client.get(response.headers["location"])
    assert "data-session-ended" in page.text and "nothing was saved" in page.text
    assert 'name="next" value="/experts/new?org=EE"' in page.text
    # another site's page is never where the sign-in leads
    elsewhere = client.post("/experts/new", data={"csrf_token": token},
                            headers={"Referer": "https://evil.example/experts/new"},
                            follow_redirects=False)
    assert elsewhere.headers["location"] == "/login?next=%2Fexperts%2Fnew&ended=1"
    assert "data-session-ended" not in client.get("/login").text


def test_a_form_without_a_page_of_its_own_or_a_session_leads_to_sign_in_not_a_dead_end(
        browser, database, client):
    from crrt.auth.models import WebSession

    poc = browser(Role.NATIONAL_POC)
    token = csrf_of(poc.get("/experts/import").text)
    with database.session() as db:
        db.execute(WebSession.__table__.delete())
    # no Referer, and the address takes only a POST: sign in, then the dashboard
    confirm = poc.post("/experts/import/confirm", data={"csrf_token": token},
                       follow_redirects=False)
    assert confirm.headers["location"] == "/login?next=%2F&ended=1"
    # an upload from a browser whose session cookie is gone: sign in too, not a 403
    poc.cookies.delete(SESSION_COOKIE)
    upload = poc.post("/experts/import", data={"csrf_token": token, "org": "EE"},
                      files={"file": ("x.csv", b"name,email,skills\n", "text/csv")},
                      follow_redirects=False)
    assert upload.status_code == 303
    assert upload.headers["location"].startswith("/login?next=")
    assert upload.headers["location"].endswith("&ended=1")
