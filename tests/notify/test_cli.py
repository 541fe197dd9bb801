"""``crrt webhook``: add (the secret printed last, once), list, rotate, remove."""

from __future__ import annotations

import uuid

import pytest

from crrt.core.config import Settings
from crrt.notify import service as notify
from tests.support import Cli


@pytest.fixture
def cli(database, monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    return Cli(database.url, monkeypatch, str(tmp_path / "data"))


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


def test_rotate_prints_a_new_secret_and_remove_deactivates(cli, world, receiver):
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
def test_refusals_are_clear_exits(cli, world, args, message):
    result = cli("webhook", *args)
    assert result.exit_code == 1
    assert message in result.stderr
