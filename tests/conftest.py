"""Shared fixtures: a migrated database per test on SQLite and, when configured, PostgreSQL.

Every test that takes ``database`` (or anything built on it) runs once per backend. PostgreSQL
runs when ``CRRT_TEST_DATABASE_URL`` is set (CI sets it); otherwise it is skipped with a reason.
In CI (``CI=true``) a missing PostgreSQL fails the run instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from crrt import parts
from crrt.access.enums import Role
from crrt.access.principal import Principal
from crrt.api import create_app
from crrt.audit import service as audit
from crrt.audit.models import GENESIS
from crrt.auth import passwords
from crrt.auth import service as auth_service
from crrt.auth.schemas import TokenIn, UserIn
from crrt.core import migrations
from crrt.core.config import Settings
from crrt.core.db import Base, Database, normalise_url
from crrt.organisations import service as org_service
from crrt.organisations.enums import Membership, OrgKind
from crrt.organisations.schemas import OrganisationIn

PG_URL = os.environ.get("CRRT_TEST_DATABASE_URL")
# Argon2 at the test suite's cost: one test (tests/auth/test_passwords.py) keeps production's.
TEST_ARGON2 = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}
passwords.configure(**TEST_ARGON2)
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


def _script(*statements: str) -> str:
    """Statements without parameters sent as one string: one round trip, not one each."""
    return ";\n".join(statements)


def _deletes() -> list[str]:
    return [f'DELETE FROM public."{t.name}"' for t in reversed(Base.metadata.sorted_tables)]  # noqa: S608


def _sequence_resets() -> list[str]:
    return [f"SELECT setval(pg_get_serial_sequence('public.\"{t.name}\"', 'id'), "  # noqa: S608
            f'COALESCE(MAX(id), 0) + 1, false) FROM public."{t.name}"'
            for t in Base.metadata.sorted_tables if "id" in t.c and t.c.id.primary_key]


def _empty_postgres(database: Database) -> None:
    """Every table emptied, ids from 1 again, the audit head at its genesis, in one round
    trip. DELETE, not TRUNCATE: on tables this small it takes milliseconds, TRUNCATE most of
    a second."""
    genesis = (f"INSERT INTO audit_head (id, seq, hash, mac) VALUES (1, 0, '{GENESIS}', "  # noqa: S608 - hex digests of our own
               f"'{audit.Seal(AUDIT_KEY).head(0, GENESIS)}')")
    with database.engine.begin() as connection:
        connection.exec_driver_sql(_script(*_deletes(), *_sequence_resets(), genesis))


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database of each backend."""
    if request.param == "sqlite":
        path = tmp_path / "crrt.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        db = Database(f"sqlite:///{path}")
    else:
        db = Database(request.getfixturevalue("pg_migrated"))
        if "world" not in request.fixturenames:  # the world's restore empties it anyway
            _empty_postgres(db)
    yield audit.bind_key(db, AUDIT_KEY)
    db.dispose()


@pytest.fixture
def settings(database: Database, tmp_path: Path) -> Settings:
    return Settings(database_url=database.url, data_dir=tmp_path / "data",
                    secret_key="test-secret-key-not-for-production", login_max_failures=5,
                    embedded_worker=False)  # test clients start no worker thread


@pytest.fixture(scope="session")
def shared_app() -> FastAPI:
    """The application, built once per test process: each test points it at its own database
    and settings (``app``), which is all that differs between tests."""
    return create_app(Settings(secret_key="placeholder", embedded_worker=False),
                      database=Database("sqlite://"), check_schema=False)


@pytest.fixture
def app(shared_app: FastAPI, settings: Settings, database: Database) -> FastAPI:
    shared_app.state.settings = settings
    shared_app.state.database = database
    shared_app.state.worker = None
    return shared_app


@pytest.fixture
def fresh_app(settings: Settings, database: Database) -> FastAPI:
    """An application of the test's own, for a test that adds routes or changes the app."""
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


@pytest.fixture(scope="session")
def sqlite_world(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
                 ) -> tuple[Path, World]:
    """A migrated SQLite file holding the world, seeded once per test process."""
    path = tmp_path_factory.mktemp("world") / "crrt.db"
    shutil.copyfile(sqlite_template, path)
    database = audit.bind_key(Database(f"sqlite:///{path}"), AUDIT_KEY)
    world = seed_world(database)
    database.dispose()  # SQLite folds the WAL into the file
    return path, world


@pytest.fixture(scope="session")
def pg_world(pg_migrated: str) -> World:
    """The world seeded once per test process into PostgreSQL, kept as a copy of every table in
    the schema ``seed``, from which each test's database is restored in one transaction."""
    database = audit.bind_key(Database(pg_migrated), AUDIT_KEY)
    try:
        _empty_postgres(database)
        world = seed_world(database)
        with database.engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA IF EXISTS seed CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA seed")
            for table in Base.metadata.sorted_tables:
                connection.exec_driver_sql(
                    f'CREATE TABLE seed."{table.name}" AS TABLE public."{table.name}"')
    finally:
        database.dispose()
    return world


def _restore_postgres(database: Database) -> None:
    """The seeded world copied back from the ``seed`` schema, in one transaction and one
    round trip."""
    copies = [f'INSERT INTO public."{t.name}" SELECT * FROM seed."{t.name}"'  # noqa: S608
              for t in Base.metadata.sorted_tables]
    with database.engine.begin() as connection:
        connection.exec_driver_sql(_script(*_deletes(), *copies, *_sequence_resets()))


@pytest.fixture
def world(request: pytest.FixtureRequest, database: Database) -> World:
    """The small project of :func:`seed_world`, seeded once and copied into each test's
    database (much faster than seeding it through the services every time)."""
    if database.engine.dialect.name == "sqlite":
        template, seeded = request.getfixturevalue("sqlite_world")
        database.dispose()
        target = Path(str(database.engine.url.database))
        for suffix in ("-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(template, target)
    else:
        seeded = request.getfixturevalue("pg_world")
        _restore_postgres(database)
    return World(users=dict(seeded.users), tokens=dict(seeded.tokens),
                 principals=dict(seeded.principals))


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """A umask of 0 (new files world-writable unless made otherwise) for the test's length."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


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


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """A URL to a database with nothing in it: a new SQLite file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/empty.db"
        return
    if not PG_URL:
        pytest.skip("PostgreSQL tests need CRRT_TEST_DATABASE_URL (CI sets it)")
    schema = f"fresh_{uuid.uuid4().hex[:10]}"
    admin = Database(PG_URL)
    with admin.engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.engine.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()
