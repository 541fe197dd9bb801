"""Configuration from the environment (``CRRT_*``), one object for the whole process."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything an operator may set; defaults make ``make run`` work with no set-up."""

    model_config = SettingsConfigDict(env_prefix="CRRT_", extra="ignore")

    database_url: str = "sqlite:///./var/crrt.db"
    data_dir: Path = Path("./var")
    smtp_url: str | None = None
    secret_key: str | None = None
    mail_from: str = "crrt@localhost"
    session_hours: int = 12
    secure_cookies: bool = False
    login_max_failures: int = 5
    login_window_minutes: int = 15

    def resolved_secret_key(self) -> str:
        """The signing key: the configured one, else one generated once into the data dir."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        key = path.read_text().strip() if path.exists() else ""
        if not key:  # missing, or left empty by a crash between creating and writing it
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.chmod(0o600)
            path.write_text(secrets.token_urlsafe(48))
            key = path.read_text().strip()
        return key


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
