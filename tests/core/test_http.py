"""Every error an API client can meet is an RFC 9457 problem, never an HTML page or a traceback."""

from __future__ import annotations

import logging

import pytest
from fastapi import Response
from fastapi.testclient import TestClient

from crrt.access.enums import Role
from crrt.auth.models import User
from crrt.core.http import Db, WriteDb

PROBLEM_FIELDS = {"type", "title", "status", "detail", "instance"}


def assert_problem(response, status: int) -> dict:
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


def test_an_unhandled_error_is_a_500_problem_without_internals(fresh_app, caplog):
    app = fresh_app
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


MiB = 1024 * 1024


def _organisation_count(database) -> int:
    from sqlalchemy import func, select

    from crrt.organisations.models import Organisation

    with database.session() as db:
        return db.scalar(select(func.count()).select_from(Organisation)) or 0


def _padded_organisation(size: int) -> bytes:
    """A valid organisation as JSON, padded with whitespace (still valid JSON) to ``size``."""
    body = b'{"code": "enisa", "name": "ENISA", "kind": "eu_institution"}'
    return body + b" " * (size - len(body))


@pytest.mark.parametrize("token", [False, True], ids=["anonymous", "admin"])
def test_a_json_body_over_a_mebibyte_is_a_413_before_anything_else(client, database, world,
                                                                    token):
    before = _organisation_count(database)
    response = client.post("/api/v1/organisations", content=_padded_organisation(2 * MiB),
                           headers={"Content-Type": "application/json",
                                    **(world.headers(Role.ADMIN) if token else {})})
    body = assert_problem(response, 413)
    assert body["type"] == "/problems/too-large"
    assert "1024 KiB" in body["detail"]
    assert _organisation_count(database) == before
    # the same organisation under the limit goes through: the size alone was refused
    accepted = client.post("/api/v1/organisations", content=_padded_organisation(MiB - 1),
                           headers={"Content-Type": "application/json",
                                    **world.headers(Role.ADMIN)})
    assert accepted.status_code == 201, accepted.text


def test_a_streamed_body_without_a_length_is_counted_and_refused(client, database, world):
    def chunks():
        yield b'{"code": "enisa", "name": "ENISA", "kind": "eu_institution"}'
        for _ in range(18):
            yield b" " * (64 * 1024)

    before = _organisation_count(database)
    response = client.post("/api/v1/organisations", content=chunks(),
                           headers={"Content-Type": "application/json",
                                    **world.headers(Role.ADMIN)})
    assert "content-length" not in response.request.headers
    body = assert_problem(response, 413)
    assert body["type"] == "/problems/too-large"
    assert _organisation_count(database) == before


def test_a_streamed_sign_in_form_over_a_mebibyte_is_a_413_page_not_a_crash(client, world):
    def chunks():
        yield b"csrf_token=x&email=admin%40test.example&password="
        for _ in range(18):
            yield b"a" * (64 * 1024)

    response = client.post("/login", content=chunks(), follow_redirects=False,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert "content-length" not in response.request.headers
    assert response.status_code == 413, response.text[:300]
    assert response.headers["content-type"].startswith("text/html")

def _expert_rows(size: int) -> bytes:
    """A CSV of valid rows (long notes) of about ``size`` bytes."""
    notes = "n" * 1900
    lines = ["name,email,skills,notes"]
    total, n = len(lines[0]), 0
    while total < size:
        lines.append(f"Expert {n},expert{n}@ee.example,cloud:1,{notes}")
        total += len(lines[-1]) + 1
        n += 1
    return ("\n".join(lines) + "\n").encode()


def test_an_upload_to_the_import_has_its_own_larger_limit(client, world):
    headers = world.headers(Role.NATIONAL_POC)

    def upload(content: bytes, dry_run: str = "true"):
        return client.post("/api/v1/experts/import", headers=headers,
                           data={"org": "EE", "dry_run": dry_run},
                           files={"file": ("experts.csv", content, "text/csv")})

    content = _expert_rows(3 * MiB)
    rows = content.count(b"\n") - 1
    response = upload(content)
    assert response.status_code == 200, response.text[:500]
    assert response.json() == {"created": rows, "updated": 0, "rejected": [], "complete": True,
                               "dry_run": True, "applied": False}
    # between the importer's 5 MiB and the upload limit's 6 MiB: the importer's own answer
    body = assert_problem(upload(b"x" * (5 * MiB + MiB // 2)), 413)
    assert "over 5 MiB" in body["detail"]
    # past the upload limit: refused at the door
    body = assert_problem(upload(b"x" * (7 * MiB)), 413)
    assert "6144 KiB" in body["detail"]


def _failing_app(settings, database, error: Exception):
    """The real application with one test-only route, on the API and on a page, that raises."""
    from crrt.api import create_app

    app = create_app(settings, database=database)

    def fail() -> None:
        raise error

    app.add_api_route("/api/v1/test-database-error", fail, methods=["POST"])
    app.add_api_route("/test-database-error", fail, methods=["POST"])
    return app


def _database_error(kind: str, message: str) -> Exception:
    from sqlalchemy import exc

    return getattr(exc, kind)("INSERT INTO x", {}, Exception(message))


def test_an_integrity_error_is_a_409_conflict_problem(settings, database):
    app = _failing_app(settings, database,
                       _database_error("IntegrityError", "dup key uq_secret_index"))
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/api/v1/test-database-error")
        page = client.post("/test-database-error")
    body = assert_problem(response, 409)
    assert body["type"] == "/problems/conflict"
    assert "uq_secret_index" not in response.text and "INSERT" not in response.text
    assert "content-security-policy" in response.headers
    assert page.status_code == 409 and page.headers["content-type"].startswith("text/html")


def test_a_locked_database_is_a_503_with_retry_after(settings, database):
    app = _failing_app(settings, database,
                       _database_error("OperationalError", "database is locked"))
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/api/v1/test-database-error")
        page = client.post("/test-database-error")
    body = assert_problem(response, 503)
    assert body["type"] == "/problems/busy"
    assert int(response.headers["retry-after"]) > 0
    assert "content-security-policy" in response.headers
    assert page.status_code == 503 and page.headers["content-type"].startswith("text/html")


def test_any_other_operational_error_is_a_500_with_the_security_headers(settings, database,
                                                                         caplog):
    app = _failing_app(settings, database,
                       _database_error("OperationalError", "server closed the connection"))
    with caplog.at_level(logging.ERROR, logger="crrt"), \
            TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/api/v1/test-database-error")
        page = client.post("/test-database-error")
    body = assert_problem(response, 500)
    assert body["type"] == "/problems/internal"
    assert "retry-after" not in response.headers
    assert "server closed" not in response.text and "INSERT" not in response.text
    for answer in (response, page):
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        assert answer.headers["x-content-type-options"] == "nosniff"
    assert page.status_code == 500 and page.headers["content-type"].startswith("text/html")


# --- redirects, HSTS, the 413's caching ---------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/organisations/", "/api/v1/me/tokens/", "/experts/",
                                  "/organisations/"])
def test_a_trailing_slash_never_redirects_to_the_host_a_request_names(client, world, path):
    """Starlette's slash redirect is built from the Host header, which a client (or a cache
    keyed without it) controls; crrt answers the address as it is: not found."""
    response = client.get(path, headers={"Host": "evil.example", **world.headers(Role.ADMIN)},
                          follow_redirects=False)
    assert "evil.example" not in response.headers.get("location", "")
    assert response.status_code == 404, response.headers.get("location")


def test_hsts_is_sent_when_cookies_are_secure(settings, database, world):
    from crrt.api import create_app

    hsts = "max-age=63072000; includeSubDomains"
    secure = create_app(settings.model_copy(update={"secure_cookies": True}), database=database)
    with TestClient(secure, base_url="https://testserver",
                    raise_server_exceptions=False) as client:
        answers = [client.get("/api/v1/health"), client.get("/login"),
                   client.get("/api/v1/nothing-here"), client.get("/static/crrt.css"),
                   client.post("/api/v1/organisations", content=b"x" * (2 * MiB),
                               headers={"Content-Type": "application/json"})]
    for answer in answers:
        assert answer.headers.get("strict-transport-security") == hsts, answer.request.url
    assert answers[-1].status_code == 413


def test_no_hsts_without_secure_cookies(client):
    assert "strict-transport-security" not in client.get("/api/v1/health").headers
    assert "strict-transport-security" not in client.get("/login").headers


@pytest.mark.parametrize("path", ["/api/v1/organisations", "/login"])
def test_the_413_answer_is_not_cached(client, path):
    response = client.post(path, content=b"x" * (2 * MiB),
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_a_422_lists_at_most_twenty_errors_each_cut_short(client, world):
    """Unknown keys are the client's text, any length: the answer stays small whatever the
    body holds, and says how many errors there were."""
    body = {"email": "x", "name": "", "role": "pilot", "org": "D", "password": "short",
            **{f"{n:02d}" + "k" * 20_000: 1 for n in range(20)}}
    response = client.post("/api/v1/users", headers=world.headers(Role.ADMIN), json=body)
    problem = assert_problem(response, 422)
    assert len(problem["errors"]) == 20
    assert "25 invalid field(s) (the first 20 listed)" in problem["detail"]
    assert len(problem["detail"]) < 2000
    for error in problem["errors"]:
        assert len(error["loc"]) == 1 and len(error["loc"][0]) <= 64
        assert len(error["msg"]) <= 200
    assert len(response.content) < 8 * 1024


def test_a_body_of_thousands_of_unknown_fields_is_one_error(client, world):
    body = {f"field{n}": 0 for n in range(70_000)}  # under the 1 MiB body limit
    response = client.patch(f"/api/v1/users/{world.users[Role.OBSERVER]}",
                            headers=world.headers(Role.ADMIN), json=body)
    problem = assert_problem(response, 422)
    assert [error["loc"] for error in problem["errors"]] == [["body"]]
    assert "70000 fields were sent" in problem["errors"][0]["msg"]


def test_a_constraint_refusal_is_logged_by_its_name_never_its_values(fresh_app, database,
                                                                     world, caplog):
    """PostgreSQL's DETAIL quotes the duplicate key ("Key (email)=(…) already exists"): the
    log names the constraint and the SQLSTATE, never the address, and neither does the 409.
    The route is added to an app of its own: the shared one is held to the matrix."""
    app = fresh_app
    def duplicate(db: WriteDb) -> None:
        taken = db.get(User, world.users[Role.OBSERVER])
        db.add(User(email=taken.email, name="Someone Else", role=Role.OBSERVER,
                    organisation_id=taken.organisation_id))
        db.flush()

    app.add_api_route("/api/v1/test-duplicate", duplicate, methods=["POST"])
    with caplog.at_level(logging.WARNING, logger="crrt"), \
            TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/api/v1/test-duplicate")
    assert_problem(response, 409)
    logged = [r for r in caplog.records if "constraint refused a change" in r.getMessage()]
    assert len(logged) == 1
    message = logged[0].getMessage()
    if database.engine.dialect.name == "postgresql":
        assert "SQLSTATE 23505" in message and "uq_users_email" in message
    else:
        assert "UNIQUE constraint failed: users.email" in message
    for record in caplog.records:
        assert "observer@test.example" not in record.getMessage()
        assert "observer@test.example" not in (record.exc_text or "")
    assert "observer@test.example" not in response.text


# --- the request's unit of work ---------------------------------------------------------------

def _unit_app(database):
    """A bare app with routes on crrt's request session: what the dependency does alone."""
    import time

    from fastapi import FastAPI
    from sqlalchemy import text

    app = FastAPI()
    app.state.database = database

    @app.get("/slow")
    def slow(db: Db) -> Response:  # no response model: its check would need a thread too
        db.execute(text("SELECT 1"))
        time.sleep(0.2)
        return Response(b"{}", media_type="application/json")

    @app.post("/fails-after-writing")
    def fails(db: WriteDb) -> dict[str, int]:
        db.execute(text("INSERT INTO unit_rows (n) VALUES (1)"))
        raise RuntimeError("the route failed after writing")

    @app.post("/commit-fails")
    def commit_fails(db: WriteDb) -> dict[str, int]:
        db.execute(text("INSERT INTO unit_rows (n) VALUES (NULL)"))  # NOT NULL, deferred
        return {}

    return app


def test_commits_never_wait_behind_requests_that_wait_for_a_connection(tmp_path):
    """A route that is done holds its pooled connection until its session ends. With every
    worker thread taken by requests waiting for that connection, the end must still run:
    it has a thread of its own, else the requests time out (this answered 500s)."""
    import asyncio

    import anyio.to_thread
    import httpx

    from crrt.core.db import Database

    database = Database(f"sqlite:///{tmp_path}/pool.db", pool_size=1, max_overflow=0,
                        pool_timeout=3)
    app = _unit_app(database)

    async def four_at_once() -> list[int]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = 2  # this loop only
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            answers = await asyncio.gather(*(client.get("/slow") for _ in range(4)))
        return [a.status_code for a in answers]

    try:
        assert asyncio.run(four_at_once()) == [200, 200, 200, 200]
    finally:
        database.dispose()


def test_a_route_that_fails_leaves_nothing_written_and_no_2xx(database):
    from sqlalchemy import text

    with database.engine.begin() as connection:
        connection.execute(text("CREATE TABLE unit_rows (n INTEGER NOT NULL)"))
    try:
        with TestClient(_unit_app(database), raise_server_exceptions=False) as client:
            assert client.post("/fails-after-writing").status_code == 500
            assert client.post("/commit-fails").status_code >= 400
        with database.session(read_only=True) as db:
            assert db.execute(text("SELECT count(*) FROM unit_rows")).scalar_one() == 0
    finally:
        with database.engine.begin() as connection:
            connection.execute(text("DROP TABLE unit_rows"))


def test_a_hot_read_names_the_bearer_scheme_to_a_caller_who_sent_another(client):
    response = client.get("/api/v1/experts", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    body = assert_problem(response, 401)
    assert "Bearer" in body["detail"]
