"""Signed webhooks: delivered to a real HTTP server that verifies them with the reference
verifier, retried with the same id, given up on 410, and never signed with a stored secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook

from crrt.access.enums import Role
from crrt.access.principal import Principal
from crrt.audit.models import AuditEvent
from crrt.core import clock
from crrt.core.config import Settings
from crrt.core.db import Database
from crrt.core.errors import Conflict, Forbidden, Invalid, NotFound
from crrt.notify import service as notify
from crrt.notify import webhooks
from crrt.notify.models import OutboxMessage, WebhookEndpoint
from crrt.organisations import service as organisations
from crrt.organisations.enums import Membership, OrgKind
from crrt.organisations.schemas import OrganisationIn

KEY = "webhook-test-server-key"
ADMIN = Principal.system("tests")
SETTINGS = Settings(secret_key=KEY, embedded_worker=False)  # no SMTP: mail would wait


def _endpoint(database: Database, url: str, *, name: str = "SOC") -> tuple[uuid.UUID, str]:
    with database.session() as db:
        org = organisations.create(db=db, actor=ADMIN, data=OrganisationIn(
            code="EE", name="Estonia", kind=OrgKind.NATION, membership=Membership.PARTICIPANT))
        endpoint, secret = webhooks.add_endpoint(db=db, actor=ADMIN, organisation_id=org.id,
                                                 organisation_code=org.code, name=name,
                                                 url=url, secret_key=KEY)
        return endpoint.public_id, secret


def _enqueue(database: Database, public_id: uuid.UUID, event: str = "expert.nominated",
             **data: object) -> OutboxMessage:
    with database.session() as db:
        return notify.enqueue_webhook(db=db, endpoint_public_id=public_id, event=event,
                                      data=data or {"expert": 7})


def _message(database: Database, message_id: int) -> OutboxMessage:
    with database.session(read_only=True) as db:
        found = db.get(OutboxMessage, message_id)
        assert found is not None
        return found


def _endpoint_row(database: Database, public_id: uuid.UUID) -> WebhookEndpoint:
    with database.session(read_only=True) as db:
        return webhooks.get_endpoint(db=db, public_id=public_id)


def test_a_webhook_arrives_signed_and_the_reference_verifier_accepts_it(database, receiver):
    public_id, secret = _endpoint(database, receiver.url)
    with database.session(read_only=True) as db:
        added = db.scalars(select(AuditEvent).where(AuditEvent.action == "webhook.add")).one()
    assert added.changes["org"] == "EE" and "organisation_id" not in added.changes
    receiver.secret = secret
    message = _enqueue(database, public_id, name="Žydrūnė Kairė", skills=["forensics"])
    assert notify.deliver_due(database, settings=SETTINGS) == 1
    [delivery] = receiver.deliveries
    assert delivery.refusal == ""
    assert delivery.payload["type"] == "expert.nominated"
    assert delivery.payload["data"] == {"name": "Žydrūnė Kairė", "skills": ["forensics"]}
    assert delivery.headers["webhook-id"] == message.payload["webhook_id"]
    assert delivery.headers["content-type"] == "application/json"
    assert delivery.headers["webhook-signature"].startswith("v1,")
    assert delivery.body == message.body.encode()
    stored = _message(database, message.id)
    assert stored.delivered_at is not None and stored.attempts == 1


def test_a_receiver_with_the_wrong_secret_refuses_the_signature(database, receiver):
    public_id, secret = _endpoint(database, receiver.url)
    receiver.secret = webhooks.endpoint_secret("another-server", public_id, 1)
    message = _enqueue(database, public_id)
    assert notify.deliver_due(database, settings=SETTINGS) == 0
    [delivery] = receiver.deliveries
    assert delivery.payload is None and "signature" in delivery.refusal.lower()
    assert Webhook(secret).verify(delivery.body, delivery.headers)  # the right one accepts
    stored = _message(database, message.id)
    assert stored.delivered_at is None and stored.last_error == \
        "WebhookRefused: HTTP 401 from the endpoint"


def test_a_500_is_retried_with_backoff_and_the_same_id_and_body(database, receiver):
    public_id, secret = _endpoint(database, receiver.url)
    receiver.secret, receiver.answers = secret, [500]
    start = clock.now()  # the verifier allows five minutes of skew from the real time
    with clock.frozen(start):
        message = _enqueue(database, public_id)
        assert notify.deliver_due(database, settings=SETTINGS) == 0
        first = _message(database, message.id)
        assert first.attempts == 1 and "HTTP 500" in first.last_error
        assert first.available_at == start + timedelta(minutes=2)
        clock.advance(timedelta(minutes=1))
        assert notify.deliver_due(database, settings=SETTINGS) == 0  # not yet
        clock.advance(timedelta(minutes=1))
        assert notify.deliver_due(database, settings=SETTINGS) == 1
    failed, retried = receiver.deliveries
    assert failed.headers["webhook-id"] == retried.headers["webhook-id"]
    assert failed.body == retried.body
    assert int(retried.headers["webhook-timestamp"]) == \
        int(failed.headers["webhook-timestamp"]) + 120  # signed afresh at each attempt
    assert retried.refusal == ""
    assert _message(database, message.id).attempts == 2


def test_a_webhook_is_given_up_after_eight_attempts(database, receiver):
    public_id, secret = _endpoint(database, receiver.url)
    receiver.secret, receiver.answers = secret, [503] * 10
    with clock.frozen(clock.now()):
        message = _enqueue(database, public_id)
        for _ in range(notify.MAX_ATTEMPTS):
            notify.deliver_due(database, settings=SETTINGS)
            clock.advance(_message(database, message.id).available_at - clock.now())
        clock.advance(timedelta(days=1))
        notify.deliver_due(database, settings=SETTINGS)
    stored = _message(database, message.id)
    assert stored.attempts == notify.MAX_ATTEMPTS and stored.failed_at is not None
    assert len(receiver.deliveries) == notify.MAX_ATTEMPTS


def test_a_redirect_is_not_followed(database, receiver):
    public_id, secret = _endpoint(database, receiver.url)
    receiver.secret, receiver.answers = secret, [302]
    message = _enqueue(database, public_id)
    assert notify.deliver_due(database, settings=SETTINGS) == 0
    assert len(receiver.deliveries) == 1  # /moved was never asked for
    assert "HTTP 302" in _message(database, message.id).last_error


def test_a_410_deactivates_the_endpoint_and_gives_the_message_up(database, receiver):
    public_id, secret = _endpoint(database, receiver.url)
    receiver.secret, receiver.answers = secret, [410]
    gone = _enqueue(database, public_id)
    queued_behind = _enqueue(database, public_id, event="expert.updated")
    assert notify.deliver_due(database, settings=SETTINGS, batch=1) == 0
    assert _message(database, gone.id).failed_at is not None
    assert _endpoint_row(database, public_id).active is False
    with database.session(read_only=True) as db:
        event = db.scalars(select(AuditEvent).where(AuditEvent.action == "webhook.deactivate")
                           ).one()
    assert event.actor == "system:worker" and event.object_id == str(public_id)
    # what was queued behind it is given up too, without a request
    notify.deliver_due(database, settings=SETTINGS)
    later = _message(database, queued_behind.id)
    assert later.failed_at is not None and "deactivated" in later.last_error
    assert len(receiver.deliveries) == 1
    with pytest.raises(Conflict):
        _enqueue(database, public_id)


def test_webhooks_go_while_mail_waits_for_smtp(database, receiver):
    public_id, secret = _endpoint(database, receiver.url)
    receiver.secret = secret
    with database.session() as db:
        mail = notify.enqueue_email(db=db, to="poc@ee.example", subject="s", body="b")
    hook = _enqueue(database, public_id)
    assert notify.deliver_due(database, settings=SETTINGS) == 1
    assert _message(database, hook.id).delivered_at is not None
    waiting = _message(database, mail.id)
    assert waiting.attempts == 0 and waiting.last_error == "waiting: CRRT_SMTP_URL is not set"


def test_the_secret_is_derived_from_the_server_key_and_never_stored(database, receiver):
    public_id, secret = _endpoint(database, receiver.url)
    expected = hmac.new(KEY.encode(), f"webhook:{public_id}:1".encode(), hashlib.sha256)
    assert secret == "whsec_" + base64.b64encode(expected.digest()).decode()
    with database.engine.connect() as connection:
        dump = json.dumps([list(map(str, row)) for table in (
            "webhook_endpoints", "audit_events", "outbox") for row in connection.exec_driver_sql(
                f"SELECT * FROM {table}")])  # noqa: S608 - fixed table names
    assert secret not in dump and secret.removeprefix("whsec_") not in dump


def test_rotating_the_secret_makes_the_old_one_fail(database, receiver):
    public_id, old = _endpoint(database, receiver.url)
    with database.session() as db:
        endpoint, new = webhooks.rotate_secret(db=db, actor=ADMIN, public_id=public_id,
                                               secret_key=KEY)
        assert endpoint.secret_version == 2
    assert new != old
    receiver.secret = new
    _enqueue(database, public_id)
    assert notify.deliver_due(database, settings=SETTINGS) == 1
    [delivery] = receiver.deliveries
    with pytest.raises(Exception, match="signature"):
        Webhook(old).verify(delivery.body, delivery.headers)


def test_enqueueing_checks_the_endpoint_the_event_and_the_data(database, receiver):
    public_id, _secret = _endpoint(database, receiver.url)
    with database.session() as db:
        with pytest.raises(NotFound):
            notify.enqueue_webhook(db=db, endpoint_public_id=uuid.uuid4(), event="a.b", data={})
        with pytest.raises(Invalid):
            notify.enqueue_webhook(db=db, endpoint_public_id=public_id, event="Not An Event",
                                   data={})
        with pytest.raises(Invalid):
            notify.enqueue_webhook(db=db, endpoint_public_id=public_id, event="a.b",
                                   data={"when": object()})


def test_nothing_is_sent_for_a_change_that_rolled_back(database, receiver):
    public_id, _secret = _endpoint(database, receiver.url)
    with pytest.raises(RuntimeError), database.session() as db:
        notify.enqueue_webhook(db=db, endpoint_public_id=public_id, event="a.b", data={})
        raise RuntimeError("the change failed")
    assert notify.deliver_due(database, settings=SETTINGS) == 0
    assert receiver.deliveries == []


def test_only_an_admin_manages_endpoints(database, receiver):
    _endpoint(database, receiver.url)
    coordinator = Principal(user_id=1, email="c@x.example", name="C", role=Role.COORDINATOR,
                            org_id=1, org_code="LT")
    with database.session() as db, pytest.raises(Forbidden):
        webhooks.list_endpoints(db=db, actor=coordinator)
    with database.session() as db:
        [listed] = webhooks.list_endpoints(db=db, actor=ADMIN)
        assert listed.name == "SOC" and listed.active


def test_an_organisation_names_each_endpoint_once(database, receiver):
    public_id, _secret = _endpoint(database, receiver.url)
    org_id = _endpoint_row(database, public_id).organisation_id
    with database.session() as db, pytest.raises(Conflict):
        webhooks.add_endpoint(db=db, actor=ADMIN, organisation_id=org_id,
                              organisation_code="EE", name="SOC",
                              url=receiver.url, secret_key=KEY)


def test_an_endpoint_url_must_be_https_or_this_machine(database):
    with pytest.raises(Invalid, match="https://") as refused:
        _endpoint(database, "http://soc.ee.example/hooks")
    assert [e.loc for e in refused.value.errors] == [["url"]]


@pytest.mark.parametrize(("name", "problem"), [
    ("\u200b\u200b", "invisible characters"),       # only zero-width spaces
    ("SOC \u202egnp.exe", "invisible characters"),   # a right-to-left override
    ("\u3164", "visible character"),                 # a filler that draws nothing
])
def test_an_endpoint_name_must_be_one_that_can_be_seen(database, receiver, name, problem):
    with pytest.raises(Invalid, match=problem):
        _endpoint(database, receiver.url, name=name)


@pytest.fixture
def dripping_server():
    """A real HTTP server that answers one byte of its status line at a time, slowly: each
    read is quick enough for a per-read timeout, the whole answer never comes."""
    import socket
    import threading
    import time

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                for byte in b"HTTP/1.1 200 OK\r\n" * 100:
                    if stop.is_set():
                        break
                    try:
                        conn.sendall(bytes([byte]))
                    except OSError:
                        break
                    time.sleep(0.2)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
    stop.set()
    thread.join(timeout=5)
    listener.close()


def test_an_endpoint_that_drips_its_answer_is_cut_off_at_the_deadline(dripping_server):
    import time

    target = webhooks.Target(public_id=uuid.uuid4(), url=dripping_server, secret_version=1)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        webhooks.post(target, webhook_id="msg_1", body="{}", secret_key=KEY, deadline=1.0)
    assert time.monotonic() - started < 3  # the per-read timeout alone would wait for ever


def test_a_message_claimed_again_by_another_worker_is_neither_sent_nor_settled_twice(
        database, receiver):
    public_id, secret = _endpoint(database, receiver.url)
    receiver.secret = secret
    message = _enqueue(database, public_id)
    with database.session() as db:
        [first] = notify.claim(db=db)
    with clock.frozen(clock.now() + timedelta(minutes=11)), database.session() as db:
        [second] = notify.claim(db=db)  # the first claim ran out; another worker takes it
    assert (first.attempts, second.attempts) == (1, 2)
    with database.session() as db:
        assert not notify.still_claimed(db, first)  # worker one does not send it
        notify.settle(db=db, outgoing=first, error="late answer")  # nor records its outcome
    stored = _message(database, message.id)
    assert (stored.attempts, stored.last_error, stored.failed_at) == (2, "", None)
