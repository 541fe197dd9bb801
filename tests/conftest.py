"""Shared fixtures: a migrated database per test on SQLite and, when configured, PostgreSQL.

Every test that takes ``database`` (or anything built on it) runs once per backend. PostgreSQL
runs when ``CRRT_TEST_DATABASE_URL`` is set (CI sets it); otherwise it is skipped with a reason.
In CI (``CI=true``) a missing PostgreSQL fails the run instead of skipping.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url

from crrt import parts
from crrt.access.enums import Role
from crrt.access.principal import Principal
from crrt.api import create_app
from crrt.audit import service as audit
from crrt.audit.models import GENESIS
from crrt.auth import service as auth_service
from crrt.auth.schemas import TokenIn, UserIn
from crrt.core import migrations
from crrt.core.config import Settings
from crrt.core.db import Base, Database, normalise_url
from crrt.organisations import service as org_service
from crrt.organisations.enums import Membership, OrgKind
from crrt.organisations.schemas import OrganisationIn

PG_URL = os.environ.get("CRRT_TEST_DATABASE_URL")
IN_CI = os.environ.get("CI", "").lower() == "true"
SYSTEM = Principal.system("tests")
# One audit key for the whole run, set before any settings are read: the migrations seal the
# template's head with it, and every Settings, every CLI run and the fixtures use the same.
AUDIT_KEY = "test-audit-key-" + "0123456789" * 4
os.environ["CRRT_AUDIT_KEY"] = AUDIT_KEY

parts.load()  # every table, and every job in the registry


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test gets a copy, which is faster than migrating."""
    path = tmp_path_factory.mktemp("template") / "crrt.db"
    url = f"sqlite:///{path}"
    migrations.upgrade(url)  # its engine is disposed, so SQLite folds the WAL into the file
    return path


def _worker_url(base: str, worker: str) -> str:
    """The database of one xdist worker: the configured one's name with the worker's suffix,
    on the same server, so parallel workers never truncate each other's tables."""
    url = make_url(normalise_url(base))
    return url.set(database=f"{url.database}_{worker}").render_as_string(hide_password=False)


def _maintain(base: str, statement: str) -> None:
    server = Database(make_url(normalise_url(base)).set(database="postgres")
                      .render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    try:
        with server.engine.connect() as connection:
            connection.exec_driver_sql(statement)
    finally:
        server.dispose()


@pytest.fixture(scope="session")
def pg_migrated(worker_id: str) -> Iterator[str]:
    """The PostgreSQL test database (one per xdist worker), emptied and migrated once per run
    and, for a worker's own database, dropped at the end."""
    if not PG_URL:
        if IN_CI:
            pytest.fail("CI=true but CRRT_TEST_DATABASE_URL is not set: PostgreSQL must run")
        pytest.skip("PostgreSQL tests need CRRT_TEST_DATABASE_URL (CI sets it)")
    url = PG_URL if worker_id == "master" else _worker_url(PG_URL, worker_id)
    name = make_url(normalise_url(url)).database
    try:
        if url != PG_URL:
            _maintain(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            _maintain(PG_URL, f'CREATE DATABASE "{name}"')
        database = Database(url)
        try:
            with database.engine.begin() as connection:
                connection.exec_driver_sql("DROP SCHEMA public CASCADE")
                connection.exec_driver_sql("CREATE SCHEMA public")
        finally:
            database.dispose()
    except Exception as exc:  # a server that is down is a skip outside CI, a failure inside
        if IN_CI:
            raise
        pytest.skip(f"PostgreSQL at CRRT_TEST_DATABASE_URL is unreachable: {exc}")
    migrations.upgrade(url)
    yield url
    if url != PG_URL:
        _maintain(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _empty_postgres(database: Database) -> None:
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with database.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        connection.execute(text("INSERT INTO audit_head (id, seq, hash, mac) "
                                "VALUES (1, 0, :h, :mac)"),
                           {"h": GENESIS, "mac": audit.Seal(AUDIT_KEY).head(0, GENESIS)})


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database of each backend."""
    if request.param == "sqlite":
        path = tmp_path / "crrt.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        db = Database(f"sqlite:///{path}")
    else:
        db = Database(request.getfixturevalue("pg_migrated"))
        _empty_postgres(db)
    yield audit.bind_key(db, AUDIT_KEY)
    db.dispose()


@pytest.fixture
def settings(database: Database, tmp_path: Path) -> Settings:
    return Settings(database_url=database.url, data_dir=tmp_path / "data",
                    secret_key="test-secret-key-not-for-production", login_max_failures=5,
                    embedded_worker=False)  # test clients start no worker thread


@pytest.fixture
def app(settings: Settings, database: Database):
    return create_app(settings, database=database)


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


ORGS = [
    ("LT", "Lithuania", OrgKind.NATION, Membership.LEAD),
    ("EE", "Estonia", OrgKind.NATION, Membership.PARTICIPANT),
    ("ES", "Spain", OrgKind.NATION, Membership.PARTICIPANT),
    ("DE", "Germany", OrgKind.NATION, Membership.OBSERVER),
    ("cert-eu", "CERT-EU", OrgKind.EU_INSTITUTION, None),
]

ROLE_ORGS = {
    Role.ADMIN: "LT",
    Role.COORDINATOR: "LT",
    Role.NATIONAL_POC: "EE",
    Role.RESPONDER: "EE",
    Role.REQUESTER: "cert-eu",
    Role.OBSERVER: "DE",
}


@dataclass
class World:
    """A small project: five organisations and one user (with a token) per role."""

    users: dict[Role, int] = field(default_factory=dict)
    tokens: dict[Role, str] = field(default_factory=dict)
    principals: dict[Role, Principal] = field(default_factory=dict)

    def headers(self, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def seed_world(database: Database) -> World:
    world = World()
    with database.session() as db:
        for code, name, kind, membership in ORGS:
            org_service.create(db=db, actor=SYSTEM, data=OrganisationIn(
                code=code, name=name, kind=kind, membership=membership))
        for role, org in ROLE_ORGS.items():
            user = auth_service.create_user(db=db, actor=SYSTEM, data=UserIn(
                email=f"{role.value.replace('_', '-')}@test.example", name=role.value.title(),
                role=role, org=org))
            _token, secret = auth_service.create_token(db=db, actor=SYSTEM, user=user,
                                                       data=TokenIn(name="tests"))
            world.users[role] = user.id
            world.tokens[role] = secret
            world.principals[role] = auth_service.principal_of(db, user)
    return world


@pytest.fixture
def world(database: Database) -> World:
    return seed_world(database)


@pytest.fixture
def job_registry() -> Iterator[None]:
    """Tests register jobs named ``test.…``; this forgets them afterwards."""
    from crrt.jobs import registry

    yield
    for name in [*registry.PERIODIC, *registry.TASKS]:
        if name.startswith("test."):
            registry.unregister(name)


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on 127.0.0.1 and a free port; see tests/support.py."""
    from tests.support import MailServer

    server = MailServer().start()
    yield server
    server.stop()


@pytest.fixture
def receiver():
    """A real webhook receiver on 127.0.0.1 that verifies signatures; see tests/support.py."""
    from tests.support import WebhookReceiver

    server = WebhookReceiver().start()
    yield server
    server.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say plainly how many PostgreSQL and browser tests ran, so a CI log shows they did."""
    tally: dict[tuple[str, str], int] = {}
    for outcome in ("passed", "failed", "skipped", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            if getattr(report, "when", "call") != "call" and outcome == "passed":
                continue
            params = report.nodeid.partition("[")[2]
            kinds = [k for k, hit in (("postgresql", "postgresql" in params),
                                      ("sqlite", "sqlite" in params),
                                      ("browser", "browser" in report.keywords)) if hit]
            for kind in kinds:
                tally[(kind, outcome)] = tally.get((kind, outcome), 0) + 1
    terminalreporter.write_sep("-", "crrt: what ran")
    for kind in ("sqlite", "postgresql", "browser"):
        counts = ", ".join(f"{tally[(kind, o)]} {o}" for o in ("passed", "failed", "skipped",
                                                                "error") if (kind, o) in tally)
        terminalreporter.write_line(f"{kind:>10} tests: {counts or 'none'}")
