"""Configuration from the environment (``CRRT_*``), one object for the whole process."""

from __future__ import annotations

import contextlib
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SMTP_SCHEMES = ("smtp", "smtps", "smtp+starttls")
MIN_AUDIT_KEY = 32  # characters: a guessable key would let anyone re-seal a rewritten chain
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def make_private_dir(path: Path) -> list[Path]:
    """Create ``path`` and its missing parents for this account alone (0700), whatever the
    umask: the data directory holds the database, the secret key and stored files. A
    directory that exists already keeps the mode its operator gave it. Returns the
    directories created, parents first (the file store makes each durable)."""
    missing: list[Path] = []
    while not path.is_dir():
        missing.append(path)
        path = path.parent
    created: list[Path] = []
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            continue
        directory.chmod(PRIVATE_DIR)  # mkdir's mode is narrowed by the umask, never widened
        created.append(directory)
    return created


def smtp_url_problem(url: str, *, allow_plain_login: bool) -> str | None:
    """What is wrong with ``url`` as ``CRRT_SMTP_URL``, or None; never echoes the password.

    Checked when the settings are read (a clear error at start) and again before sending, as
    settings can be built without validation.
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return "CRRT_SMTP_URL is not a valid URL"
    if parts.scheme not in SMTP_SCHEMES:
        return f"CRRT_SMTP_URL must start with {', '.join(s + '://' for s in SMTP_SCHEMES)}"
    if not parts.hostname:
        return "CRRT_SMTP_URL names no host"
    if parts.scheme == "smtp" and parts.username and not allow_plain_login:
        return ("CRRT_SMTP_URL logs in over plain smtp://, which would send the password in "
                "clear: use smtp+starttls:// or smtps://, or set "
                "CRRT_SMTP_ALLOW_PLAIN_LOGIN=true")
    return None


class Settings(BaseSettings):
    """Everything an operator may set; defaults make ``make run`` work with no set-up."""

    # hide_input_in_errors: a refused setting is reported without its value (a password).
    model_config = SettingsConfigDict(env_prefix="CRRT_", extra="ignore",
                                      hide_input_in_errors=True)

    database_url: str = "sqlite:///./var/crrt.db"
    data_dir: Path = Path("./var")
    smtp_url: str | None = None
    smtp_ca_file: Path | None = None
    smtp_allow_plain_login: bool = False
    secret_key: str | None = None
    # SecretStr: the key that seals the audit chain never shows in a repr, an error or a log.
    audit_key: SecretStr | None = None
    mail_from: str = "crrt@localhost"
    session_hours: int = 12
    secure_cookies: bool = False
    login_max_failures: int = 5
    login_window_minutes: int = 15
    embedded_worker: bool | None = None
    # Where people reach crrt (https://crrt.example.eu): the links in notices and calendar
    # addresses; unset, a calendar address is made from the request's own address.
    public_url: str | None = None
    # Hours from a request's receipt to a team on its way (the project's 72-hour promise).
    response_hours: int = Field(default=72, ge=1, le=720)
    # The CRRT Council's rule for an activation: no participant objects (the default), or
    # more support than objections among the positions given.
    council_rule: Literal["no_objection", "majority"] = "no_objection"
    # Minutes a called-out expert has to answer before the call-out escalates (the next
    # qualified candidate, the team lead, the coordinators).
    callout_minutes: int = Field(default=30, ge=1, le=1440)
    # Seconds a worker holds an outbox message it claimed: longer than one delivery takes
    # (SMTP's timeout is 30 s); a worker that dies holding one delays it by at most this.
    outbox_lease_seconds: int = Field(default=120, ge=2, le=3600)
    # The TLP of a shared STIX object that carries no TLP marking: never open by default.
    intel_default_tlp: Literal["clear", "green", "amber", "amber+strict", "red"] = "amber"
    # Minutes between two sync rounds with each federation peer (the worker's "intel.sync").
    intel_sync_minutes: int = Field(default=15, ge=1, le=1440)
    # Seconds a "sync now" (POST /intel/peers/{id}/sync) starts pages for; the page under way
    # then ends (a peer has a minute to answer one) and it answers. What is left is the
    # worker's, the peer due again at once.
    intel_sync_request_seconds: float = Field(default=20.0, gt=0, le=600)

    @model_validator(mode="after")
    def _check_smtp(self) -> Settings:
        if self.public_url is not None:
            if not self.public_url.startswith(("https://", "http://")) or \
                    any(c.isspace() for c in self.public_url) or len(self.public_url) > 200:
                raise ValueError("CRRT_PUBLIC_URL must be an http(s) address such as "
                                 "https://crrt.example.eu")
            self.public_url = self.public_url.rstrip("/")
        if self.smtp_url:
            problem = smtp_url_problem(self.smtp_url,
                                       allow_plain_login=self.smtp_allow_plain_login)
            if problem:
                raise ValueError(problem)
        if self.smtp_ca_file is not None and not self.smtp_ca_file.is_file():
            raise ValueError("CRRT_SMTP_CA_FILE names no readable file")
        if self.audit_key is not None and len(self.audit_key.get_secret_value()) < MIN_AUDIT_KEY:
            raise ValueError(f"CRRT_AUDIT_KEY must be at least {MIN_AUDIT_KEY} characters")
        return self

    def runs_embedded_worker(self, *, sqlite: bool) -> bool:
        """Whether ``crrt serve`` runs a worker in its process: by default on SQLite only."""
        return sqlite if self.embedded_worker is None else self.embedded_worker

    def resolved_secret_key(self) -> str:
        """The signing key: the configured one, else one generated once into the data dir."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        key = path.read_text().strip() if path.exists() else ""
        if not key:  # missing, or left empty by a crash between creating and writing it
            make_private_dir(self.data_dir)
            path.touch(mode=PRIVATE_FILE)
            path.chmod(PRIVATE_FILE)
            path.write_text(secrets.token_urlsafe(48))
            key = path.read_text().strip()
        return key

    def resolved_audit_key(self) -> str:
        """The key that seals the audit chain: the configured one, else one generated once
        into the data dir. It lives outside the database, so a copy of the database alone can
        neither re-seal a rewritten chain nor forge its head."""
        if self.audit_key is not None:
            return self.audit_key.get_secret_value()
        return _key_file(self.data_dir / "audit_key")


def _key_file(path: Path) -> str:
    """The key kept in ``path``, made on first use (mode 0600, in a 0700 directory if new).

    A new key is written to a temporary file and linked into place, which fails if another
    process got there first: two first uses at once end with one key, never an empty file. An
    empty file was emptied by something else, and is not silently replaced: a new key would
    leave everything sealed with the old one unverifiable.
    """
    if path.exists():
        key = path.read_text().strip()
        if not key:
            raise RuntimeError(f"{path} is empty: restore it from its backup")
        return key
    make_private_dir(path.parent)
    draft = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48))
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):  # another process made one first: use it
            os.link(draft, path)
    finally:
        draft.unlink()
    return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
