"""SMTP over TLS checks the server (chain and host name), and no password goes in clear.

A private CA (trustme) issues the mail server's certificate; aiosmtpd serves SMTPS or STARTTLS.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from pydantic import ValidationError

from crrt.core.config import Settings
from crrt.notify import service as notify
from crrt.notify.models import OutboxMessage
from tests.support import MailServer

SENDER = "crrt@test.example"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "private-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def _server_context(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    return context


@pytest.fixture
def serve() -> Iterator:
    """Start a MailServer with the given options; stopped after the test."""
    started: list[MailServer] = []

    def start(**options: object) -> MailServer:
        server = MailServer(**options).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def _settings(url: str, **more: object) -> Settings:
    return Settings(smtp_url=url, mail_from=SENDER, secret_key="k", embedded_worker=False,
                    **more)


def _send_one(database, settings: Settings) -> OutboxMessage:
    with database.session() as db:
        message_id = notify.enqueue_email(db=db, to="ana@ee.example", subject="Call-out",
                                          body="On duty.").id
    notify.deliver_due(database, settings=settings)
    with database.session(read_only=True) as db:
        stored = db.get(OutboxMessage, message_id)
        assert stored is not None
        return stored


def test_smtps_to_a_server_certified_by_the_configured_ca_delivers(database, ca, ca_file,
                                                                    serve):
    server = serve(ssl_context=_server_context(ca, "127.0.0.1", "localhost"))
    stored = _send_one(database, _settings(f"smtps://127.0.0.1:{server.port}",
                                           smtp_ca_file=ca_file))
    assert stored.delivered_at is not None, stored.last_error
    assert [m["Subject"] for m in server.messages] == ["Call-out"]


def test_smtps_to_a_certificate_for_another_host_is_refused(database, ca, ca_file, serve):
    server = serve(ssl_context=_server_context(ca, "mail.wrong.example"))
    stored = _send_one(database, _settings(f"smtps://127.0.0.1:{server.port}",
                                           smtp_ca_file=ca_file))
    assert stored.delivered_at is None and stored.attempts == 1
    assert "certificate" in stored.last_error and "127.0.0.1" in stored.last_error
    assert server.messages == []


def test_smtps_without_the_private_ca_is_refused(database, ca, serve):
    server = serve(ssl_context=_server_context(ca, "127.0.0.1"))
    stored = _send_one(database, _settings(f"smtps://127.0.0.1:{server.port}"))
    assert stored.delivered_at is None
    assert "certificate verify failed" in stored.last_error
    assert server.messages == []


def test_starttls_with_a_login_delivers_to_the_right_server(database, ca, ca_file, serve):
    server = serve(tls_context=_server_context(ca, "localhost"), require_starttls=True,
                   accounts={"crrt": "p@ss word"})
    stored = _send_one(database, _settings(
        f"smtp+starttls://crrt:p%40ss%20word@localhost:{server.port}", smtp_ca_file=ca_file))
    assert stored.delivered_at is not None, stored.last_error
    assert server.logins == ["crrt"] and len(server.messages) == 1


def test_starttls_to_a_certificate_for_another_host_is_refused_before_the_login(
        database, ca, ca_file, serve):
    server = serve(tls_context=_server_context(ca, "mail.wrong.example"),
                   require_starttls=True, accounts={"crrt": "secret"})
    stored = _send_one(database, _settings(
        f"smtp+starttls://crrt:secret@127.0.0.1:{server.port}", smtp_ca_file=ca_file))
    assert stored.delivered_at is None and "certificate" in stored.last_error
    assert server.logins == [] and server.messages == []


def test_a_plain_login_url_is_refused_without_echoing_the_password():
    with pytest.raises(ValidationError) as refused:
        Settings(smtp_url="smtp://crrt:hunter2-secret@mail.example:25")
    assert "CRRT_SMTP_ALLOW_PLAIN_LOGIN" in str(refused.value)
    assert "hunter2-secret" not in str(refused.value)


def test_a_plain_login_is_used_only_when_allowed(database, serve):
    server = serve(accounts={"crrt": "secret"}, auth_require_tls=False)
    stored = _send_one(database, _settings(f"smtp://crrt:secret@127.0.0.1:{server.port}",
                                           smtp_allow_plain_login=True))
    assert stored.delivered_at is not None, stored.last_error
    assert server.logins == ["crrt"]


def test_a_refused_url_is_checked_again_when_sending(database, serve):
    """Settings copied without validation still cannot send a password in clear."""
    server = serve(accounts={"crrt": "secret"}, auth_require_tls=False)
    unchecked = _settings(f"smtp://127.0.0.1:{server.port}").model_copy(
        update={"smtp_url": f"smtp://crrt:secret@127.0.0.1:{server.port}"})
    stored = _send_one(database, unchecked)
    assert stored.delivered_at is None and stored.attempts == 0  # waits, spends nothing
    assert stored.last_error.startswith("waiting: ")
    assert "CRRT_SMTP_ALLOW_PLAIN_LOGIN" in stored.last_error
    assert server.logins == [] and server.messages == []


@pytest.mark.parametrize("url", ["http://mail.example", "smtps://", "smtp://mail.example:x",
                                 "mail.example:25"])
def test_a_malformed_smtp_url_is_a_clear_error_at_start(url):
    with pytest.raises(ValidationError, match="CRRT_SMTP_URL"):
        Settings(smtp_url=url)


def test_a_missing_ca_file_is_a_clear_error_at_start(tmp_path):
    with pytest.raises(ValidationError, match="CRRT_SMTP_CA_FILE"):
        Settings(smtp_url="smtps://mail.example", smtp_ca_file=tmp_path / "none.pem")
