"""``crrt jobs list``: every job, its next run and its last error, for operators."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crrt.core import clock
from crrt.jobs import registry, service
from tests.support import Cli


@pytest.fixture
def cli(database, monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    return Cli(database.url, monkeypatch, str(tmp_path / "data"))


def test_jobs_list_shows_each_job_its_next_run_and_last_error(cli, database, settings):
    def broken(ctx: registry.JobContext) -> None:
        raise RuntimeError("the TAXII server said 503\nand more")

    registry.periodic("test.pull", every=timedelta(minutes=10))(broken)
    registry.task("test.remind")(lambda ctx: None)
    now = clock.now().replace(microsecond=0)
    with clock.frozen(now):
        service.run_due(database, settings, worker_id="w")
    with database.session() as db:
        service.schedule(db=db, name="test.remind", at=now + timedelta(days=1))
    result = cli("jobs", "list")
    assert result.exit_code == 0, result.stderr
    lines = {line.split("\t")[0]: line.split("\t") for line in result.stdout.splitlines()}
    assert lines["test.pull"] == [
        "test.pull", "every 0:10:00",
        f"next {now + timedelta(minutes=20):%Y-%m-%d %H:%M:%S} UTC",
        "1 failure(s) in a row", "RuntimeError: the TAXII server said 503"]
    assert lines["test.remind"][1:4] == [
        "task", f"next {now + timedelta(days=1):%Y-%m-%d %H:%M:%S} UTC", "1 queued, 0 failed"]
    assert lines["outbox.deliver"][1:3] == ["every 0:00:05", "next -"]
    assert "auth.prune_login_attempts" in lines
