"""Configuration comes from CRRT_* variables; a secret key is made once and kept."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest
from pydantic import ValidationError

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


@pytest.fixture
def no_audit_key(monkeypatch):
    """The tests' conftest sets CRRT_AUDIT_KEY for the whole run; these tests need it unset."""
    monkeypatch.delenv("CRRT_AUDIT_KEY", raising=False)


@pytest.mark.usefixtures("no_audit_key")
def test_the_audit_key_is_generated_once_owner_only_beside_the_secret_key(tmp_path):
    data_dir = tmp_path / "var"
    first = Settings(data_dir=data_dir).resolved_audit_key()
    key_file = data_dir / "audit_key"
    assert len(first) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert Settings(data_dir=data_dir).resolved_audit_key() == first
    assert first != Settings(data_dir=data_dir).resolved_secret_key()
    assert [p.name for p in data_dir.iterdir() if p.name.startswith(".")] == []


@pytest.mark.usefixtures("no_audit_key")
def test_processes_starting_at_once_end_up_with_one_audit_key(tmp_path):
    data_dir = tmp_path / "var"
    keys: list[str] = []
    start = threading.Barrier(8)

    def first_use() -> None:
        start.wait()
        keys.append(Settings(data_dir=data_dir).resolved_audit_key())

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8 and len(set(keys)) == 1


@pytest.mark.usefixtures("no_audit_key")
def test_an_emptied_audit_key_file_is_refused_not_replaced(tmp_path):
    """A new key would leave everything sealed with the old one unverifiable."""
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    (data_dir / "audit_key").touch(mode=0o600)
    with pytest.raises(RuntimeError, match="empty: restore it"):
        Settings(data_dir=data_dir).resolved_audit_key()
    assert (data_dir / "audit_key").read_text() == ""


def test_a_configured_audit_key_wins_and_nothing_is_written(monkeypatch, tmp_path):
    monkeypatch.setenv("CRRT_AUDIT_KEY", "k" * 40)
    settings = Settings(data_dir=tmp_path / "var")
    assert settings.resolved_audit_key() == "k" * 40
    assert not (tmp_path / "var").exists()


def test_the_audit_key_never_shows_in_the_settings_or_their_errors(monkeypatch):
    monkeypatch.setenv("CRRT_AUDIT_KEY", "a-key-no-log-may-hold-" + "z" * 20)
    assert "a-key-no-log-may-hold" not in repr(Settings()) + str(Settings())
    monkeypatch.setenv("CRRT_AUDIT_KEY", "too-short-secret")
    with pytest.raises(ValidationError, match="at least 32 characters") as refused:
        Settings()
    assert "too-short-secret" not in str(refused.value)


@pytest.mark.parametrize("address", ["crrt.example.eu", "ftp://crrt.example.eu",
                                     "https://crrt.example.eu/ x", "https://" + "a" * 300])
def test_a_public_url_is_an_http_address(tmp_path, address):
    with pytest.raises(ValidationError, match="CRRT_PUBLIC_URL"):
        Settings(data_dir=tmp_path, public_url=address)


def test_a_public_url_loses_its_trailing_slash(tmp_path):
    assert Settings(data_dir=tmp_path, public_url="https://crrt.example.eu/").public_url == \
        "https://crrt.example.eu"
