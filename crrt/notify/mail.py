"""Mail by SMTP: TLS that checks the server's certificate and name, no password in clear."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote, urlsplit

from crrt.core.config import Settings, smtp_url_problem

DEFAULT_PORTS = {"smtp": 25, "smtps": 465, "smtp+starttls": 587}


class SmtpRefused(ValueError):
    """The SMTP configuration is refused, so nothing is sent (and no attempt is spent)."""


def smtp_problem(settings: Settings) -> str | None:
    """Why mail cannot be sent with these settings, or None when it can."""
    if not settings.smtp_url:
        return "CRRT_SMTP_URL is not set"
    return smtp_url_problem(settings.smtp_url,
                            allow_plain_login=settings.smtp_allow_plain_login)


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """A client context that verifies the server's certificate chain and host name.

    ``ca_file`` (``CRRT_SMTP_CA_FILE``) is then the only CA trusted, in place of the
    system's: the mail server of a private network, pinned to its own CA.
    """
    return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)


class Mailer:
    """One SMTP session for several messages (a worker's batch): the connection, TLS and
    login once, not once a message. Any failure drops the session; the next message opens a
    new one, so a refusal of one message never poisons the next."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def send(self, mail: EmailMessage) -> None:
        if self._smtp is None:
            self._smtp = _connect(self.settings)
        try:
            self._smtp.send_message(mail)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


def send(mail: EmailMessage, *, settings: Settings) -> None:
    """Hand ``mail`` to the server of ``CRRT_SMTP_URL`` in a session of its own."""
    with Mailer(settings) as mailer:
        mailer.send(mail)


def _connect(settings: Settings) -> smtplib.SMTP:
    """A session with the server of ``CRRT_SMTP_URL``, checked again here before use.

    ``smtps://`` speaks TLS from the start, ``smtp+starttls://`` upgrades with STARTTLS (and
    fails if the server does not offer it); both verify the server. A login over plain
    ``smtp://`` needs ``CRRT_SMTP_ALLOW_PLAIN_LOGIN=true``.
    """
    problem = smtp_problem(settings)
    if problem or not settings.smtp_url:
        raise SmtpRefused(problem)
    parts = urlsplit(settings.smtp_url)
    host, port = parts.hostname or "localhost", parts.port or DEFAULT_PORTS[parts.scheme]
    smtp: smtplib.SMTP
    if parts.scheme == "smtps":
        smtp = smtplib.SMTP_SSL(host, port, timeout=30,
                                context=tls_context(settings.smtp_ca_file))
    else:
        smtp = smtplib.SMTP(host, port, timeout=30)
    try:
        if parts.scheme == "smtp+starttls":
            smtp.starttls(context=tls_context(settings.smtp_ca_file))
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
    except BaseException:
        smtp.close()
        raise
    return smtp
