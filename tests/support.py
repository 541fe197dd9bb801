"""Helpers shared by several test modules: direct set-up rows and running the ``crrt`` command.

Set-up that is not the point of a test writes rows straight through the models (an expert, a
signed-in browser), so the tests stay fast and do not depend on parts still being written.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from crrt.auth import tokens
from crrt.auth.models import WebSession
from crrt.core import clock
from crrt.core.config import get_settings
from crrt.core.db import Database
from crrt.experts.enums import Skill
from crrt.experts.models import Expert, ExpertSkill, Unavailability
from crrt.organisations.enums import InstitutionKind
from crrt.organisations.models import Institution, Organisation


def org_id(database: Database, code: str) -> int:
    with database.session() as db:
        return db.scalars(select(Organisation.id).where(Organisation.code == code)).one()


def add_expert(database: Database, org: str, *, name: str = "Test Expert",
               user_id: int | None = None) -> uuid.UUID:
    """An expert row of ``org`` (optionally linked to a user account); returns its public id."""
    with database.session() as db:
        organisation = db.scalars(select(Organisation).where(Organisation.code == org)).one()
        expert = Expert(organisation_id=organisation.id, name=name,
                        email=f"{name.lower().replace(' ', '.')}@{org.lower()}.example",
                        user_id=user_id)
        expert.skills.append(ExpertSkill(skill=Skill.INCIDENT_HANDLING, level=2))
        db.add(expert)
        db.flush()
        return expert.public_id


def add_unavailability(database: Database, expert_id: uuid.UUID, *, starts_on: date,
                       days: int = 3) -> uuid.UUID:
    with database.session() as db:
        expert = db.scalars(select(Expert).where(Expert.public_id == expert_id)).one()
        period = Unavailability(expert_id=expert.id, starts_on=starts_on,
                                ends_on=starts_on + timedelta(days=days), reason="leave")
        db.add(period)
        db.flush()
        return period.public_id


def add_institution(database: Database, org: str, name: str) -> uuid.UUID:
    with database.session() as db:
        organisation = db.scalars(select(Organisation).where(Organisation.code == org)).one()
        inst = Institution(organisation_id=organisation.id, name=name, kind=InstitutionKind.CSIRT)
        db.add(inst)
        db.flush()
        return inst.public_id


def open_web_session(database: Database, user_id: int, *, hours: int = 12) -> str:
    """A signed-in browser for ``user_id`` without a password round (no Argon2 cost)."""
    secret = tokens.new_session_id()
    with database.session() as db:
        db.add(WebSession(user_id=user_id, session_hash=tokens.digest(secret),
                          expires_at=clock.now() + timedelta(hours=hours)))
    return secret


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


class Cli:
    """Runs ``crrt`` in-process against one database URL (settings re-read for each call)."""

    def __init__(self, url: str, monkeypatch: pytest.MonkeyPatch, data_dir: str) -> None:
        self.url = url
        self.monkeypatch = monkeypatch
        self.data_dir = data_dir

    def __call__(self, *args: str, stdin: str | None = None) -> CliResult:
        from crrt.cli import app

        self.monkeypatch.setenv("CRRT_DATABASE_URL", self.url)
        self.monkeypatch.setenv("CRRT_DATA_DIR", self.data_dir)
        get_settings.cache_clear()
        try:
            result = CliRunner().invoke(app, list(args), input=stdin)
        finally:
            get_settings.cache_clear()
        return CliResult(result.exit_code, result.stdout, result.stderr)


class MailServer:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it receives.

    ``options`` go to aiosmtpd's ``Controller``: ``ssl_context=`` for SMTPS, ``tls_context=``
    and ``require_starttls=True`` for STARTTLS, ``accounts=`` to offer a login.
    """

    def __init__(self, *, accounts: dict[str, str] | None = None,
                 refuse: Collection[str] = (), **options: Any) -> None:
        import socket
        import threading

        from aiosmtpd.controller import Controller

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.logins: list[str] = []
        self.peers: list[Any] = []  # each message's client address: one per SMTP session
        self.refuse = set(refuse)  # recipients answered 550
        self.accounts = accounts
        self._arrived = threading.Condition()
        if accounts is not None:
            options["authenticator"] = self._authenticate
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, **options)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult

        login = auth_data.login.decode()
        if (self.accounts or {}).get(login) == auth_data.password.decode():
            self.logins.append(login)
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        from email import message_from_bytes, policy

        with self._arrived:
            self.peers.append(session.peer)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        """Block until ``count`` messages arrived (another thread sends them) or time is up."""
        with self._arrived:
            return self._arrived.wait_for(lambda: len(self.messages) >= count, timeout)

    def start(self) -> MailServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    payload: Any  # what the verifier returned, or None when it refused
    refusal: str  # why the verifier refused, or ""


class WebhookReceiver:
    """A real HTTP server on 127.0.0.1 that checks every delivery's signature with the
    reference verifier of the Standard Webhooks specification (``standardwebhooks``).

    It answers 204 to a delivery that verifies with ``secret``, 401 to one that does not;
    ``answers`` (status codes, used in turn) override that.
    """

    def __init__(self) -> None:
        self.secret = ""
        self.answers: list[int] = []
        self.deliveries: list[Delivery] = []
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                from standardwebhooks import Webhook
                from standardwebhooks.webhooks import WebhookVerificationError

                try:
                    payload, refusal = Webhook(receiver.secret).verify(body, headers), ""
                except WebhookVerificationError as exc:
                    payload, refusal = None, str(exc)
                receiver.deliveries.append(Delivery(headers, body, payload, refusal))
                status = receiver.answers.pop(0) if receiver.answers else (
                    204 if refusal == "" else 401)
                self.send_response(status)
                if status in (301, 302, 307, 308):
                    self.send_header("Location", f"{receiver.url}/moved")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/crrt"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def unreachable_smtp_url() -> str:
    """An SMTP URL whose port nothing listens on (connection refused at once)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"smtp://127.0.0.1:{port}"


def impatient(database: Database) -> Database:
    """Another ``Database`` on the same data whose lock waits end within 0.2 s (not 10 s),
    so a test sees "database is locked" at once where crrt would wait out its timeout."""
    from sqlalchemy import event

    from crrt.core.db import is_sqlite

    if not is_sqlite(database.engine):
        return Database(database.url, connect_args={"options": "-c lock_timeout=200"})
    other = Database(database.url)

    @event.listens_for(other.engine, "connect")
    def _short_wait(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=100")  # after crrt's 10 s

    return other


@contextmanager
def write_lock(database: Database, tables: str) -> Iterator[None]:
    """Another connection holds what a writer of ``tables`` needs until the block ends.

    SQLite: the database's write lock (``BEGIN IMMEDIATE``), which every writer needs.
    PostgreSQL: ``tables`` in EXCLUSIVE mode, which lets plain reads through, not writes.
    """
    import sqlite3

    from crrt.core.db import is_sqlite

    if is_sqlite(database.engine):
        connection = sqlite3.connect(str(database.engine.url.database), isolation_level=None,
                                     timeout=0)
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            connection.execute("ROLLBACK")
            connection.close()
        return
    with database.engine.connect() as connection, connection.begin():
        connection.exec_driver_sql(f"LOCK TABLE {tables} IN EXCLUSIVE MODE")
        yield


def free_port() -> int:
    """A port on loopback nobody listens on (for a server a test starts)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """The application under uvicorn in a thread, on loopback; its base URL."""
    import threading
    import time

    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
