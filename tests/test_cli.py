"""The ``crrt`` command as an operator uses it: schema, accounts, tokens, jobs, webhooks, and
its errors."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from crrt.access.enums import Role
from crrt.api import create_app
from crrt.auth import service as auth_service
from crrt.core import clock, migrations
from crrt.core.config import Settings
from crrt.core.errors import Unauthenticated
from crrt.jobs import registry
from crrt.jobs import service as jobs
from crrt.notify import service as notify
from tests.conftest import SYSTEM
from tests.support import Cli


@pytest.fixture
def cli(database, monkeypatch, tmp_path):
    return Cli(database.url, monkeypatch, str(tmp_path / "data"))


@pytest.fixture
def fresh_cli(monkeypatch, tmp_path):
    return Cli(f"sqlite:///{tmp_path}/fresh/crrt.db", monkeypatch, str(tmp_path / "data"))


def test_db_upgrade_builds_a_fresh_sqlite_database(fresh_cli):
    before = fresh_cli("db", "current")
    assert before.exit_code == 0
    assert "database: empty" in before.stdout
    upgraded = fresh_cli("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.stderr
    head = migrations.head_revision()
    assert f"database at {head}" in upgraded.stdout
    after = fresh_cli("db", "current")
    assert f"database: {head}" in after.stdout and f"code:     {head}" in after.stdout
    assert fresh_cli("db", "upgrade").exit_code == 0  # upgrading twice is harmless


def test_commands_refuse_a_database_that_is_behind(fresh_cli):
    result = fresh_cli("user", "add", "ana@ee.example", "--role", "responder", "--org", "EE")
    assert result.exit_code != 0
    assert "crrt db upgrade" in result.stderr
    result = fresh_cli("audit", "verify")
    assert result.exit_code != 0
    assert "crrt db upgrade" in result.stderr


def test_user_add_with_a_password_from_stdin(cli, database, world):
    result = cli("user", "add", "Ana.Tamm@EE.example", "--role", "responder", "--org", "EE",
                 "--name", "Ana Tamm", "--password-stdin", stdin="a long enough password\n")
    assert result.exit_code == 0, result.stderr
    assert "ana.tamm@ee.example (responder, EE) created" in result.stdout
    with database.session() as db:
        user = auth_service.find_by_email(db=db, actor=SYSTEM, email="ana.tamm@ee.example")
        assert user.name == "Ana Tamm"
        assert user.password_hash.startswith("$argon2id$")
    assert auth_service.login(database=database, email="ana.tamm@ee.example",
                              password="a long enough password", address="cli-test",
                              session_hours=1) is not None


def test_user_add_without_a_password_makes_a_token_only_account(cli, database, world):
    result = cli("user", "add", "bot@lt.example", "--role", "observer", "--org", "LT")
    assert result.exit_code == 0, result.stderr
    with database.session() as db:
        user = auth_service.find_by_email(db=db, actor=SYSTEM, email="bot@lt.example")
        assert (user.name, user.password_hash) == ("bot@lt.example", None)


@pytest.mark.parametrize(("args", "stdin", "message"), [
    (["--role", "responder", "--org", "XX"], None, "No organisation has the code 'XX'"),
    (["--role", "national_poc", "--org", "cert-eu"], None, "belongs to a nation"),
    (["--role", "responder", "--org", "EE", "--password-stdin"], "short\n", "invalid"),
])
def test_user_add_errors_exit_non_zero_with_a_message(cli, world, args, stdin, message):
    result = cli("user", "add", "ana@ee.example", *args, stdin=stdin)
    assert result.exit_code != 0
    assert message in result.stderr


def test_user_add_refuses_a_duplicate(cli, world):
    result = cli("user", "add", "observer@test.example", "--role", "observer", "--org", "DE")
    assert result.exit_code != 0
    assert "exists already" in result.stderr


def test_user_add_refuses_an_unknown_role(cli, world):
    result = cli("user", "add", "ana@ee.example", "--role", "pilot", "--org", "EE")
    assert result.exit_code != 0


def test_token_create_prints_a_working_token_last(cli, settings, database, world):
    result = cli("token", "create", "observer@test.example", "--name", "ci",
                 "--expires-in-days", "30")
    assert result.exit_code == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("crrt_")
    assert "expires" in result.stderr
    with TestClient(create_app(settings, database=database)) as client:
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["email"] == "observer@test.example"


def test_token_list_and_revoke(cli, settings, database, world):
    token = cli("token", "create", "observer@test.example", "--name", "laptop") \
        .stdout.strip().splitlines()[-1]
    listing = cli("token", "list", "observer@test.example")
    assert listing.exit_code == 0
    assert token not in listing.stdout
    [row] = [line for line in listing.stdout.splitlines() if "\tlaptop\t" in line]
    token_id = row.split("\t")[0]
    assert token[:12] in row and "\tactive\t" in row

    revoked = cli("token", "revoke", token_id)
    assert revoked.exit_code == 0
    assert f"token {token_id} revoked" in revoked.stdout
    relisted = cli("token", "list", "observer@test.example").stdout.splitlines()
    assert "\trevoked\t" in next(line for line in relisted if line.startswith(f"{token_id}\t"))
    with TestClient(create_app(settings, database=database)) as client:
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401


@pytest.mark.parametrize("args", [["token", "create", "nobody@test.example"],
                                  ["token", "list", "nobody@test.example"]])
def test_token_commands_for_an_unknown_user_fail(cli, world, args):
    result = cli(*args)
    assert result.exit_code != 0
    assert "no user has the email nobody@test.example" in result.stderr


def test_revoking_an_unknown_token_fails(cli, world):
    result = cli("token", "revoke", "99999")
    assert result.exit_code != 0
    assert "No such token" in result.stderr


def test_user_password_sets_it_from_stdin(cli, database, world):
    result = cli("user", "password", "observer@test.example", stdin="a fresh long password\n")
    assert result.exit_code == 0, result.stderr
    assert "sessions were ended" in result.stdout
    assert "1 token revoked" in result.stdout
    short = cli("user", "password", "observer@test.example", stdin="short\n")
    assert short.exit_code != 0
    assert "12 characters" in short.stderr
    unknown = cli("user", "password", "nobody@test.example", stdin="a fresh long password\n")
    assert unknown.exit_code != 0


def test_user_password_revokes_the_users_tokens_unless_told_to_keep_them(cli, database, world):
    kept = cli("user", "password", "requester@test.example", "--keep-tokens",
               stdin="a fresh long password\n")
    assert kept.exit_code == 0, kept.stderr
    assert "tokens kept" in kept.stdout
    cli("user", "password", "observer@test.example", stdin="a fresh long password\n")
    with database.session() as db:
        assert auth_service.authenticate_token(db, world.tokens[Role.REQUESTER]).role \
            is Role.REQUESTER
        with pytest.raises(Unauthenticated):
            auth_service.authenticate_token(db, world.tokens[Role.OBSERVER])


def test_no_arguments_shows_help(fresh_cli):
    result = fresh_cli()
    assert "Usage" in result.stdout + result.stderr


def test_a_bad_setting_stops_every_command_with_a_clear_message(cli, monkeypatch):
    monkeypatch.setenv("CRRT_SMTP_URL", "smtp://crrt:hunter2-secret@mail.example:25")
    result = cli("org", "list")
    assert result.exit_code == 1
    assert "invalid configuration" in result.stderr
    assert "CRRT_SMTP_ALLOW_PLAIN_LOGIN" in result.stderr
    assert "hunter2-secret" not in result.stderr + result.stdout
    monkeypatch.setenv("CRRT_SMTP_ALLOW_PLAIN_LOGIN", "true")
    assert cli("org", "list").exit_code == 0


def test_a_setting_of_the_wrong_type_is_named(cli, monkeypatch):
    monkeypatch.setenv("CRRT_SESSION_HOURS", "twelve")
    result = cli("org", "list")
    assert result.exit_code == 1
    assert "CRRT_SESSION_HOURS" in result.stderr and "twelve" not in result.stderr


def test_jobs_list_shows_each_job_its_next_run_and_last_error(cli, database, settings,
                                                             job_registry):
    def broken(ctx: registry.JobContext) -> None:
        raise RuntimeError("the TAXII server said 503\nand more")

    registry.periodic("test.pull", every=timedelta(minutes=10))(broken)
    registry.task("test.remind")(lambda ctx: None)
    now = clock.now().replace(microsecond=0)
    with clock.frozen(now):
        jobs.run_due(database, settings, worker_id="w")
    with database.session() as db:
        jobs.schedule(db=db, name="test.remind", at=now + timedelta(days=1))
    result = cli("jobs", "list")
    assert result.exit_code == 0, result.stderr
    lines = {line.split("\t")[0]: line.split("\t") for line in result.stdout.splitlines()}
    assert lines["test.pull"] == [
        "test.pull", "every 0:10:00",
        f"next {now + timedelta(minutes=20):%Y-%m-%d %H:%M:%S} UTC",
        "1 failure(s) in a row", "RuntimeError: the TAXII server said 503"]
    assert lines["test.remind"][1:4] == [
        "task", f"next {now + timedelta(days=1):%Y-%m-%d %H:%M:%S} UTC", "1 queued, 0 failed"]
    assert lines["outbox.deliver"][1:3] == ["each worker's every pass", "next -"]
    assert "auth.prune_login_attempts" in lines


def test_an_endpoint_added_on_the_command_line_receives_verified_webhooks(
        cli, database, world, receiver, tmp_path):
    added = cli("webhook", "add", "EE", receiver.url, "--name", "EE SOC")
    assert added.exit_code == 0, added.stderr
    secret = added.stdout.strip().splitlines()[-1]
    assert secret.startswith("whsec_") and secret not in added.stderr
    public_id = added.stderr.split()[2]
    listing = cli("webhook", "list")
    assert listing.exit_code == 0
    assert f"{public_id}\tEE\tEE SOC\tactive\tv1\t{receiver.url}" in listing.stdout
    assert secret not in listing.stdout

    receiver.secret = secret
    with database.session() as db:
        notify.enqueue_webhook(db=db, endpoint_public_id=uuid.UUID(public_id),
                               event="deployment.dispatched", data={"deployment": 3})
    server = Settings(data_dir=tmp_path / "data", embedded_worker=False)  # the CLI's key
    assert notify.deliver_due(database, settings=server) == 1
    assert receiver.deliveries[0].payload["data"] == {"deployment": 3}


def test_webhook_rotate_prints_a_new_secret_and_remove_deactivates(cli, world, receiver):
    added = cli("webhook", "add", "EE", receiver.url, "--name", "SOC")
    public_id, first = added.stderr.split()[2], added.stdout.strip().splitlines()[-1]
    rotated = cli("webhook", "rotate", public_id)
    assert rotated.exit_code == 0, rotated.stderr
    second = rotated.stdout.strip().splitlines()[-1]
    assert second.startswith("whsec_") and second != first
    assert "\tv2\t" in cli("webhook", "list").stdout
    removed = cli("webhook", "remove", public_id)
    assert removed.exit_code == 0 and "deactivated" in removed.stdout
    assert "\tinactive\t" in cli("webhook", "list").stdout


@pytest.mark.parametrize(("args", "message"), [
    (["add", "XX", "https://soc.example/h", "--name", "SOC"], "No organisation"),
    (["add", "EE", "http://soc.example/h", "--name", "SOC"], "https://"),
    (["rotate", "not-an-id"], "not an endpoint id"),
    (["remove", "00000000-0000-0000-0000-000000000000"], "No webhook endpoint"),
])
def test_webhook_refusals_are_clear_exits(cli, world, args, message):
    result = cli("webhook", *args)
    assert result.exit_code == 1
    assert message in result.stderr


def test_org_list_shows_todays_membership_and_what_is_planned(cli, database, world):
    from crrt.organisations import service as org_service
    from crrt.organisations.enums import Membership
    from crrt.organisations.schemas import OrganisationPatch

    later = clock.today() + timedelta(days=30)
    with database.session() as db:
        org_service.update(db=db, actor=SYSTEM, code="DE", data=OrganisationPatch(
            membership=Membership.PARTICIPANT, effective_on=later))
    lines = {line.split("\t")[0]: line for line in cli("org", "list").stdout.splitlines()}
    assert lines["DE"].split("\t")[1:4] == ["nation", "observer", "Germany"]
    assert lines["DE"].endswith(f"(planned: participant from {later.isoformat()})")
    assert "planned" not in lines["EE"]


def test_serve_logs_each_request_without_its_query_or_the_callers_address(sqlite_template,
                                                                          tmp_path):
    """A search's query string names people (?q=Kadri+Saar): the real server's access log
    keeps method, path, status and time, and nothing of the query or the caller."""
    import os
    import shutil
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    import httpx

    shutil.copyfile(sqlite_template, tmp_path / "crrt.db")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "CRRT_DATABASE_URL": f"sqlite:///{tmp_path}/crrt.db",
           "CRRT_DATA_DIR": str(tmp_path / "data"), "CRRT_EMBEDDED_WORKER": "false"}
    server = subprocess.Popen(  # noqa: S603 - our own command line
        [sys.executable, "-m", "crrt", "serve", "--port", str(port)], env=env,
        cwd=Path(__file__).resolve().parents[1], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60  # a loaded 2-core machine starts it slowly
        while time.monotonic() < deadline and server.poll() is None:
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        searched = httpx.get(f"{base}/api/v1/experts?q=Kadri+Saar&language=et", timeout=5)
        assert searched.status_code == 401
        assert httpx.get(f"{base}/experts?q=Saar", timeout=5).status_code == 303
    finally:
        server.terminate()
        stdout, stderr = server.communicate(timeout=30)
    access = [line for line in stdout.splitlines() if " /api/v1/experts" in line
              or " /experts" in line]
    assert [line.split(" ", 2)[2] for line in access] == ["GET /api/v1/experts 401",
                                                          "GET /experts 303"]
    assert all(line[:4].isdigit() for line in access)  # each line starts with its time
    for text in (stdout, stderr):
        assert "Kadri" not in text and "Saar" not in text and "q=" not in text
    assert "127.0.0.1:" not in stdout


def _audited(database, n: int) -> None:
    from crrt.audit import service as audit

    with database.session() as db:
        for i in range(n):
            audit.record(db=db, actor=SYSTEM, action="test.event", object_type="thing",
                         object_id=i)


def test_audit_checkpoint_prints_the_head_signed_with_the_time(cli, database, tmp_path):
    import json
    from datetime import UTC, datetime

    from sqlalchemy import select

    from crrt.audit.models import AuditEvent

    _audited(database, 4)
    with clock.frozen(datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC)):
        made = cli("audit", "checkpoint")
    assert made.exit_code == 0, made.stderr
    checkpoint = json.loads(made.stdout)
    with database.session() as db:
        last = db.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert set(checkpoint) == {"seq", "hash", "time", "hmac"}
    assert (checkpoint["seq"], checkpoint["hash"]) == (4, last.hash)
    assert checkpoint["time"] == "2030-05-06T07:08:09Z"
    assert len(checkpoint["hmac"]) == 64
    path = tmp_path / "kept.json"
    path.write_text(made.stdout)
    _audited(database, 2)  # the chain grows past a checkpoint: that is fine
    verified = cli("audit", "verify", "--checkpoint", str(path))
    assert verified.exit_code == 0, verified.stderr
    assert verified.stdout.splitlines() == [
        "audit chain intact: 6 events verified",
        "checkpoint of 2030-05-06T07:08:09Z: event 4 is in the chain, unchanged"]


def test_verify_takes_several_checkpoints_and_names_the_one_a_cut_passes(cli, database,
                                                                         tmp_path):
    from sqlalchemy import delete

    from crrt.audit.models import AuditEvent

    paths = []
    for name in ("early", "late"):
        _audited(database, 5)
        path = tmp_path / f"{name}.json"
        path.write_text(cli("audit", "checkpoint").stdout)
        paths.append(str(path))
    with database.engine.begin() as connection:
        connection.execute(delete(AuditEvent.__table__).where(AuditEvent.seq > 7))
    result = cli("audit", "verify", "--checkpoint", paths[0], "--checkpoint", paths[1])
    assert result.exit_code == 1
    assert "BROKEN at event 8: the chain ends at event 7, before the checkpoint" in result.stderr
    assert "at event 10 (events deleted)" in result.stderr


@pytest.mark.parametrize(("edit", "message"), [
    (lambda c: {**c, "seq": c["seq"] - 1}, "hmac does not match this node's audit key"),
    (lambda c: {**c, "time": "2020-01-01T00:00:00Z"}, "hmac does not match"),
    (lambda c: {k: v for k, v in c.items() if k != "hmac"}, "exactly seq, hash, time and hmac"),
    (lambda c: {**c, "seq": str(c["seq"])}, "seq must be a number"),
])
def test_verify_refuses_a_checkpoint_that_is_not_this_nodes(cli, database, tmp_path, edit,
                                                            message):
    import json

    _audited(database, 3)
    checkpoint = json.loads(cli("audit", "checkpoint").stdout)
    path = tmp_path / "kept.json"
    path.write_text(json.dumps(edit(checkpoint)))
    result = cli("audit", "verify", "--checkpoint", str(path))
    assert result.exit_code == 1
    assert f"checkpoint {path}: " in result.stderr and message in result.stderr


@pytest.mark.parametrize(("content", "message"), [
    (None, "cannot be read (FileNotFoundError)"),
    (b"\xff\xfe", "cannot be read (UnicodeDecodeError)"),
    (b"seq=4", "is not valid JSON"),
    (b'{"seq": 1, "seq": 2, "hash": "", "time": "", "hmac": ""}', "holds the key 'seq' twice"),
    (b"[4]", "is not a JSON object"),
])
def test_verify_names_what_is_wrong_with_a_checkpoint_file(cli, database, tmp_path, content,
                                                           message):
    path = tmp_path / "kept.json"
    if content is not None:
        path.write_bytes(content)
    result = cli("audit", "verify", "--checkpoint", str(path))
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_checkpoint_made_under_another_key_is_refused(cli, database, tmp_path, monkeypatch):
    _audited(database, 2)
    path = tmp_path / "kept.json"
    path.write_text(cli("audit", "checkpoint").stdout)
    monkeypatch.setenv("CRRT_AUDIT_KEY", "another-node-" + "n" * 32)
    result = cli("audit", "verify", "--checkpoint", str(path))
    assert result.exit_code == 1 and "hmac does not match" in result.stderr


def test_no_checkpoint_is_made_of_a_broken_chain(cli, database):
    from sqlalchemy import update

    from crrt.audit.models import AuditEvent

    _audited(database, 3)
    with database.engine.begin() as connection:
        connection.execute(update(AuditEvent.__table__).where(AuditEvent.seq == 2)
                           .values(action="test.forged"))
    result = cli("audit", "checkpoint")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "audit chain BROKEN at event 2" in result.stderr


def test_a_short_audit_key_stops_every_command_without_showing_it(cli, monkeypatch):
    monkeypatch.setenv("CRRT_AUDIT_KEY", "short-secret-key")
    result = cli("audit", "verify")
    assert result.exit_code == 1
    assert "invalid configuration: CRRT_AUDIT_KEY must be at least 32 characters" \
        in result.stderr
    assert "short-secret-key" not in result.stderr + result.stdout


def test_an_emptied_audit_key_file_stops_commands_with_a_clear_message(cli, monkeypatch,
                                                                       tmp_path):
    monkeypatch.delenv("CRRT_AUDIT_KEY")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "audit_key").write_text("")
    result = cli("audit", "verify")
    assert result.exit_code == 1
    assert "audit_key is empty: restore it from its backup" in result.stderr
