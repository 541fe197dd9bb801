"""Configuration comes from CRRT_* variables; a secret key is made once and kept."""

from __future__ import annotations

import stat
from pathlib import Path

from crrt.core.config import Settings, get_settings


def test_secret_key_is_generated_once_with_owner_only_permissions(tmp_path):
    data_dir = tmp_path / "var"
    first = Settings(data_dir=data_dir).resolved_secret_key()
    key_file = data_dir / "secret_key"
    assert len(first) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    # a second process (or a restart) reads the same key back
    assert Settings(data_dir=data_dir).resolved_secret_key() == first
    assert key_file.read_text().strip() == first


def test_the_data_dir_is_created_for_its_owner_alone_whatever_the_umask(tmp_path,
                                                                       permissive_umask):
    data_dir = tmp_path / "srv" / "crrt"
    Settings(data_dir=data_dir).resolved_secret_key()
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((data_dir / "secret_key").stat().st_mode) == 0o600


def test_each_data_dir_gets_its_own_key(tmp_path):
    one = Settings(data_dir=tmp_path / "a").resolved_secret_key()
    two = Settings(data_dir=tmp_path / "b").resolved_secret_key()
    assert one != two


def test_a_configured_secret_key_wins_and_nothing_is_written(tmp_path):
    settings = Settings(data_dir=tmp_path / "var", secret_key="from-the-environment")
    assert settings.resolved_secret_key() == "from-the-environment"
    assert not (tmp_path / "var").exists()


def test_an_empty_key_file_is_replaced_not_used(tmp_path):
    """A crash between creating the file and writing the key must not leave an empty key."""
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    (data_dir / "secret_key").touch(mode=0o600)
    key = Settings(data_dir=data_dir).resolved_secret_key()
    assert len(key) >= 32
    assert Settings(data_dir=data_dir).resolved_secret_key() == key


def test_settings_come_from_crrt_variables(monkeypatch, tmp_path):
    monkeypatch.setenv("CRRT_DATABASE_URL", "sqlite:///elsewhere.db")
    monkeypatch.setenv("CRRT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CRRT_SMTP_URL", "smtp://mail.example:2525")
    get_settings.cache_clear()
    try:
        settings = get_settings()
        assert settings.database_url == "sqlite:///elsewhere.db"
        assert settings.data_dir == Path(tmp_path)
        assert settings.smtp_url == "smtp://mail.example:2525"
        assert get_settings() is settings  # read once per process
    finally:
        get_settings.cache_clear()


def test_defaults_run_with_no_set_up(monkeypatch):
    for name in ("CRRT_DATABASE_URL", "CRRT_DATA_DIR", "CRRT_SECRET_KEY", "CRRT_SMTP_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.database_url == "sqlite:///./var/crrt.db"
    assert settings.data_dir == Path("./var")
    assert settings.smtp_url is None
