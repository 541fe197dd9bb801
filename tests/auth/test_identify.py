"""A browser session authenticates reads; its writes also need the CSRF header."""

from __future__ import annotations

import re

from crrt.access.enums import Role
from crrt.auth import tokens
from crrt.auth.identify import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE
from tests.support import open_web_session

KEY = "test-secret-key-not-for-production"  # the conftest settings' key
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def _browser(client, database, world, role=Role.COORDINATOR):
    """A signed-in browser that also holds an anonymous nonce (as after the sign-in page)."""
    client.cookies.set(SESSION_COOKIE, open_web_session(database, world.users[role]))
    client.cookies.set(CSRF_COOKIE, "nonce-1")
    return client


def _session_token(client, key=KEY):
    """The CSRF token of the browser's session: the HMAC of its session id's hash."""
    return tokens.csrf_token(key, tokens.session_binding(client.cookies[SESSION_COOKIE]))


def test_a_session_cookie_reads_the_api(client, database, world):
    browser = _browser(client, database, world)
    assert browser.get("/api/v1/me").json()["role"] == "coordinator"


def test_a_session_write_without_the_csrf_header_is_forbidden(client, database, world):
    browser = _browser(client, database, world)
    response = browser.post("/api/v1/organisations",
                            json={"code": "enisa", "name": "ENISA", "kind": "eu_institution"})
    assert response.status_code == 403
    assert CSRF_HEADER in response.json()["detail"]


def test_a_session_write_with_a_forged_csrf_header_is_forbidden(client, database, world):
    browser = _browser(client, database, world)
    response = browser.post("/api/v1/organisations",
                            headers={CSRF_HEADER: _session_token(browser, "another-key")},
                            json={"code": "enisa", "name": "ENISA", "kind": "eu_institution"})
    assert response.status_code == 403


def test_a_session_write_with_the_csrf_header_goes_through(client, database, world):
    browser = _browser(client, database, world)
    response = browser.post("/api/v1/organisations",
                            headers={CSRF_HEADER: _session_token(browser)},
                            json={"code": "enisa", "name": "ENISA", "kind": "eu_institution"})
    assert response.status_code == 201


def test_an_unknown_session_cookie_is_anonymous(client, world):
    client.cookies.set(SESSION_COOKIE, "made-up")
    assert client.get("/api/v1/me").status_code == 401


def test_a_bearer_token_needs_no_csrf_even_with_a_cookie_present(client, database, world):
    client.cookies.set(SESSION_COOKIE, open_web_session(database, world.users[Role.OBSERVER]))
    response = client.post("/api/v1/organisations", headers=world.headers(Role.ADMIN),
                           json={"code": "enisa", "name": "ENISA", "kind": "eu_institution"})
    assert response.status_code == 201


def test_a_session_write_with_a_non_ascii_csrf_header_is_a_403_problem(client, database, world):
    browser = _browser(client, database, world)
    response = browser.post("/api/v1/organisations",
                            headers={CSRF_HEADER: "é".encode()},  # sent as raw UTF-8 bytes
                            json={"code": "enisa", "name": "ENISA", "kind": "eu_institution"})
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert CSRF_HEADER in response.json()["detail"]
    assert client.get("/api/v1/organisations/enisa",
                      headers=world.headers(Role.ADMIN)).status_code == 404


def test_the_token_of_the_browsers_own_nonce_does_not_work_with_its_session(client, database,
                                                                            world):
    browser = _browser(client, database, world)
    response = browser.post("/api/v1/organisations",
                            headers={CSRF_HEADER: tokens.csrf_token(
                                KEY, tokens.nonce_binding("nonce-1"))},
                            json={"code": "enisa", "name": "ENISA", "kind": "eu_institution"})
    assert response.status_code == 403


def test_an_anonymous_csrf_token_does_not_work_with_a_signed_in_cookie(client, database, world):
    """The hostile review's request: a nonce and token taken anonymously from /login, sent
    with a coordinator's session cookie."""
    page = client.get("/login")
    anonymous = CSRF_META.search(page.text).group(1)
    client.cookies.set(SESSION_COOKIE, open_web_session(database,
                                                        world.users[Role.COORDINATOR]))
    response = client.post("/api/v1/organisations", headers={CSRF_HEADER: anonymous},
                           json={"code": "enisa", "name": "ENISA", "kind": "eu_institution"})
    assert response.status_code == 403, response.text
    assert client.get("/api/v1/organisations/enisa",
                      headers=world.headers(Role.ADMIN)).status_code == 404


def test_the_csrf_token_of_one_session_does_not_work_with_another(client, database, world):
    browser = _browser(client, database, world)
    token = CSRF_META.search(browser.get("/").text).group(1)
    client.cookies.set(SESSION_COOKIE, open_web_session(database,
                                                        world.users[Role.COORDINATOR]))
    response = client.post("/api/v1/organisations", headers={CSRF_HEADER: token},
                           json={"code": "enisa", "name": "ENISA", "kind": "eu_institution"})
    assert response.status_code == 403, response.text


def test_the_csrf_token_a_signed_in_page_carries_works_for_api_writes(client, database, world):
    browser = _browser(client, database, world)
    token = CSRF_META.search(browser.get("/").text).group(1)
    response = browser.post("/api/v1/organisations", headers={CSRF_HEADER: token},
                            json={"code": "enisa", "name": "ENISA", "kind": "eu_institution"})
    assert response.status_code == 201, response.text
