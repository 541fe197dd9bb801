"""Every error an API client can meet is an RFC 9457 problem, never an HTML page or a traceback."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from crrt.auth.enums import Role

PROBLEM_FIELDS = {"type", "title", "status", "detail", "instance"}


def assert_problem(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert set(body) >= PROBLEM_FIELDS
    assert body["status"] == status
    assert body["instance"] == response.request.url.path
    assert body["type"].startswith("/problems/")
    assert body["title"] and body["detail"]
    return body


def test_malformed_json_is_a_400_problem(client, world):
    response = client.post("/api/v1/organisations", content=b'{"code": "XX", "name": ',
                           headers={**world.headers(Role.ADMIN),
                                    "Content-Type": "application/json"})
    body = assert_problem(response, 400)
    assert "JSON" in body["detail"]


def test_invalid_fields_are_a_422_listing_each_field(client, world):
    response = client.post("/api/v1/users", headers=world.headers(Role.ADMIN),
                           json={"email": "not-an-email", "name": "", "role": "pilot",
                                 "org": "LT"})
    body = assert_problem(response, 422)
    locs = {tuple(error["loc"]) for error in body["errors"]}
    assert {("email",), ("name",), ("role",)} <= locs
    assert all(error["msg"] for error in body["errors"])
    assert "email" in body["detail"] and "role" in body["detail"]


def test_invalid_query_parameter_names_its_location(client, world):
    response = client.get("/api/v1/organisations?kind=planet",
                          headers=world.headers(Role.ADMIN))
    body = assert_problem(response, 422)
    assert body["errors"][0]["loc"] == ["query", "kind"]


def test_missing_token_is_a_401_with_a_bearer_challenge(client):
    response = client.get("/api/v1/me")
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_unknown_token_is_a_401_not_anonymity(client):
    response = client.get("/api/v1/health", headers={"Authorization": "Bearer crrt_nonsense"})
    # health needs no caller, so a bad token there is ignored; on a guarded route it is a 401
    assert response.status_code == 200
    response = client.get("/api/v1/me", headers={"Authorization": "Bearer crrt_nonsense"})
    assert_problem(response, 401)
    assert "WWW-Authenticate" in response.headers


def test_a_non_bearer_authorization_header_is_a_401(client):
    response = client.get("/api/v1/me", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    body = assert_problem(response, 401)
    assert "Bearer" in body["detail"]


def test_a_role_without_the_permission_gets_a_403(client, world):
    response = client.get("/api/v1/users", headers=world.headers(Role.OBSERVER))
    body = assert_problem(response, 403)
    assert "observer" in body["detail"]


def test_unknown_route_is_a_404_problem(client):
    body = assert_problem(client.get("/api/v1/no-such-thing"), 404)
    assert body["type"] == "/problems/not-found"


def test_unknown_organisation_is_a_404_problem(client, world):
    body = assert_problem(client.get("/api/v1/organisations/XX",
                                     headers=world.headers(Role.ADMIN)), 404)
    assert "XX" in body["detail"]


def test_duplicate_organisation_is_a_409_problem(client, world):
    response = client.post("/api/v1/organisations", headers=world.headers(Role.ADMIN),
                           json={"code": "EE", "name": "Estonia again", "kind": "nation"})
    body = assert_problem(response, 409)
    assert "EE" in body["detail"]


def test_wrong_method_is_a_405_problem_naming_the_allowed_ones(client, world):
    response = client.put("/api/v1/health")
    assert_problem(response, 405)
    assert "GET" in response.headers["allow"]


def test_api_answers_carry_security_and_no_store_headers(client):
    response = client.get("/api/v1/health")
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_an_unhandled_error_is_a_500_problem_without_internals(app, caplog):
    def explode() -> None:
        raise RuntimeError("password=hunter2 at /srv/crrt/secret.py line 42")

    app.add_api_route("/api/v1/test-explode", explode, methods=["GET"])
    with caplog.at_level(logging.ERROR, logger="crrt"), \
            TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/v1/test-explode")
    body = assert_problem(response, 500)
    text = response.text
    for leak in ("hunter2", "RuntimeError", "Traceback", "secret.py", "line 42"):
        assert leak not in text
    assert body["reference"] in body["detail"]
    # the operator finds the details in the log under the same reference
    assert any(body["reference"] in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("path", ["/api/v1/organisations/%00", "/api/v1/users/99999999999"])
def test_hostile_path_values_are_client_errors(client, world, path):
    response = client.get(path, headers=world.headers(Role.ADMIN))
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"].startswith("application/problem+json")


def test_a_value_the_database_refuses_is_a_client_error(client, world):
    """PostgreSQL refuses NUL characters that SQLite stores: either way, never a 500."""
    response = client.post("/api/v1/organisations", headers=world.headers(Role.ADMIN),
                           json={"code": "nul-org", "name": "Bad\u0000name", "kind": "partner"})
    assert response.status_code in (201, 422)
    if response.status_code == 422:
        assert_problem(response, 422)
