"""Federation between two crrt nodes on loopback, on both databases: node A and node B, each
its own database and application under uvicorn, each its own accounts and tokens, talking
TAXII 2.1 through a relay that keeps what crossed the wire (and can cut an answer short).

What A shares at TLP:GREEN reaches B, by B's pull and by A's push; AMBER goes only to the node
of an organisation it is shared with; AMBER+STRICT and RED never leave A; a pull cut off
mid-page resumes from its cursor, and every object is at B exactly once.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, update

from crrt.access.enums import Role, Tlp
from crrt.api import create_app
from crrt.audit import service as audit
from crrt.audit.models import AuditEvent
from crrt.auth import service as auth_service
from crrt.auth.models import User
from crrt.auth.schemas import TokenIn, UserIn
from crrt.core import clock
from crrt.core.config import Settings
from crrt.core.db import Base, Database
from crrt.intel import jobs, markings, peers, push, service, stix, sync, taxii_client
from crrt.intel.enums import Direction, PeerAuth, SyncOutcome
from crrt.intel.models import CollectionObject, Peer, StixObject, SyncLog
from crrt.intel.peer_schemas import PeerIn
from crrt.intel.schemas import CollectionIn
from crrt.jobs.registry import JobContext
from tests.conftest import (
    AUDIT_KEY,
    SYSTEM,
    World,
    _maintain,
    _restore_postgres,
    seed_world,
)
from tests.intel.test_api import _indicator
from tests.support import Cli, free_port, org_id, serving

PEERS = "/api/v1/intel/peers"
TAXII = taxii_client.TAXII
STRICT_AND_RED = {markings.TLP2_IDS[Tlp.AMBER_STRICT], markings.TLP2_IDS[Tlp.RED]}


# --- two nodes, and the wire between them ------------------------------------------------------

@dataclass
class Exchange:
    method: str
    path: str
    query: dict[str, list[str]]
    sent: bytes
    status: int
    answered: bytes


@dataclass
class Relay:
    """A plain HTTP relay on loopback in front of a node: it forwards every request, keeps
    each exchange, and after ``pages`` object pages cuts the next one off half-way (its
    status and headers sent, half its body, then the connection closed). ``before`` sees each
    request first (its method and body) and may answer it with an error status instead."""

    target: str
    pages: int | None = None
    exchanges: list[Exchange] = field(default_factory=list)
    before: Callable[[str, bytes], int | None] | None = None

    def __post_init__(self) -> None:
        relay = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                sent = self.rfile.read(int(self.headers.get("content-length", "0")))
                parts = urlsplit(self.path)
                refused = relay.before(self.command, sent) if relay.before else None
                if refused is not None:
                    body = json.dumps({"title": "Refused", "description": "by the relay"})
                    relay.exchanges.append(Exchange(self.command, parts.path,
                                                    parse_qs(parts.query), sent, refused,
                                                    body.encode()))
                    self.send_response(refused)
                    self.send_header("Content-Type", TAXII)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body.encode())
                    return
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "content-length", "connection",
                                                "accept-encoding")}
                with httpx.Client(base_url=relay.target, timeout=30) as http:
                    answer = http.request(self.command, self.path, content=sent or None,
                                          headers=headers)
                relay.exchanges.append(Exchange(self.command, parts.path, parse_qs(parts.query),
                                                sent, answer.status_code, answer.content))
                body = answer.content
                cut = self.command == "GET" and parts.path.endswith("/objects/") and \
                    relay.pages is not None and relay.object_pages() > relay.pages
                self.send_response(answer.status_code)
                for name in ("content-type", "x-taxii-date-added-first",
                             "x-taxii-date-added-last"):
                    if name in answer.headers:
                        self.send_header(name, answer.headers[name])
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if cut:
                    self.wfile.write(body[:len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

            do_GET = do_POST = _forward

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def object_pages(self) -> int:
        return sum(1 for e in self.exchanges
                   if e.method == "GET" and e.path.endswith("/objects/"))

    def wire(self) -> bytes:
        return b"".join(e.sent + e.answered for e in self.exchanges)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Feed:
    """A bare TAXII 2.1 collection on loopback, as some servers are: no ``next`` tokens, only
    ``added_after`` (exclusive) and ``limit`` (unless it ignores ``limit``), and
    ``X-TAXII-Date-Added-Last``. ``placed``: (date added, object), in the order added.

    An envelope sent is kept in ``received`` and answered ``pending``, as a server that stores
    later does; its status turns ``complete`` at the ``decides_after``-th time it is asked
    (never, if None), every object a success but ``refuse`` (ids)."""

    def __init__(self, placed: list[tuple[str, dict[str, Any]]], *,
                 honours_limit: bool = True, decides_after: int | None = 1,
                 refuse: frozenset[str] = frozenset()) -> None:
        self.asked: list[dict[str, list[str]]] = []
        self.received: list[dict[str, Any]] = []
        self.status_asked = 0
        feed = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self, code: int, found: dict[str, Any]) -> None:
                body = json.dumps(found).encode()
                self.send_response(code)
                self.send_header("Content-Type", TAXII)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _status(self) -> dict[str, Any]:
                done = decides_after is not None and feed.status_asked >= decides_after
                ids = [o["id"] for o in feed.received]
                failed = [i for i in ids if i in refuse] if done else []
                return {"id": "envelope-1", "status": "complete" if done else "pending",
                        "total_count": len(ids), "success_count": len(ids) - len(failed)
                        if done else 0, "failure_count": len(failed),
                        "pending_count": 0 if done else len(ids)}

            def do_POST(self) -> None:
                sent = json.loads(self.rfile.read(int(self.headers["content-length"])))
                feed.received.extend(sent["objects"])
                self._answer(202, self._status())

            def do_GET(self) -> None:
                if "/status/envelope-1/" in self.path:
                    feed.status_asked += 1
                    self._answer(200, self._status())
                    return
                query = parse_qs(urlsplit(self.path).query)
                feed.asked.append(query)
                after = query.get("added_after", [None])[0]
                found = [(d, o) for d, o in placed if after is None or _at(d) > _at(after)]
                size = int(query["limit"][0]) if honours_limit else len(found)
                page = found[:size]
                body = json.dumps({"more": len(found) > size,
                                   "objects": [o for _d, o in page]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", TAXII)
                if page:
                    self.send_header("X-TAXII-Date-Added-Last", page[-1][0])
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.api_root = f"http://127.0.0.1:{self.server.server_address[1]}/taxii2/feed/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def __enter__(self) -> Feed:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


@dataclass
class Node:
    database: Database
    world: World
    settings: Settings
    app: FastAPI

    def session(self, **kwargs: Any) -> Any:
        return self.database.session(**kwargs)

    def principal(self, role: Role) -> Any:
        return self.world.principals[role]


@pytest.fixture(scope="session")
def pg_node_b(pg_migrated: str, worker_id: str) -> Iterator[tuple[str, World]]:
    """Node B's PostgreSQL database beside the test database (its name with ``_b``),
    migrated and seeded once, kept in a ``seed`` schema to restore from."""
    from sqlalchemy.engine import make_url

    from crrt.core import migrations
    from crrt.core.db import normalise_url

    url = make_url(normalise_url(pg_migrated))
    url = url.set(database=f"{url.database}_b").render_as_string(hide_password=False)
    name = url.rsplit("/", 1)[-1].split("?")[0]
    _maintain(pg_migrated, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _maintain(pg_migrated, f'CREATE DATABASE "{name}"')
    migrations.upgrade(url)
    database = audit.bind_key(Database(url), AUDIT_KEY)
    try:
        world = seed_world(database)
        with database.engine.begin() as connection:
            connection.exec_driver_sql("CREATE SCHEMA seed")
            for table in Base.metadata.sorted_tables:
                connection.exec_driver_sql(
                    f'CREATE TABLE seed."{table.name}" AS TABLE public."{table.name}"')
    finally:
        database.dispose()
    yield url, world
    _maintain(pg_migrated, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def node_a(fresh_app, database, world, settings) -> Node:
    return Node(database, world, settings, fresh_app)


@pytest.fixture
def node_b(request, database, world, tmp_path) -> Iterator[Node]:
    """A second node: its own database (a second SQLite file, or a second PostgreSQL
    database), the same project's organisations and people, its own secret key."""
    if database.engine.dialect.name == "sqlite":
        template, seeded = request.getfixturevalue("sqlite_world")
        path = tmp_path / "node-b" / "crrt.db"
        path.parent.mkdir()
        shutil.copyfile(template, path)
        b = Database(f"sqlite:///{path}")
    else:
        url, seeded = request.getfixturevalue("pg_node_b")
        b = Database(url)
        _restore_postgres(b)
    audit.bind_key(b, AUDIT_KEY)
    settings = Settings(database_url=b.url, data_dir=tmp_path / "node-b-data",
                        secret_key="node-b-secret-key-not-for-production",
                        embedded_worker=False)
    yield Node(b, World(users=dict(seeded.users), tokens=dict(seeded.tokens),
                        principals=dict(seeded.principals)), settings,
               create_app(settings, database=b))
    b.dispose()


def token_on(node: Node, *, role: Role | None = None, account: tuple[str, Role, str] | None
             = None) -> str:
    """A token minted on ``node`` alone: for a role's user, or for a new account (email,
    role, organisation), as a node's operator makes one for a peer."""
    with node.session() as db:
        if account is not None:
            email, made_role, org = account
            user = auth_service.create_user(db=db, actor=SYSTEM, data=UserIn(
                email=email, name="Federation", role=made_role, org=org))
        else:
            user = db.get(User, node.world.users[role or Role.NATIONAL_POC])
        return auth_service.create_token(db=db, actor=SYSTEM, user=user,
                                         data=TokenIn(name="federation"))[1]


def collection_on(node: Node, title: str, members: list[str], max_tlp: str) -> uuid.UUID:
    with node.session() as db:
        return service.create_collection(db=db, actor=node.principal(Role.COORDINATOR),
                                         data=CollectionIn(title=title, members=members,
                                                           max_tlp=max_tlp)).public_id


def share(node: Node, collection: uuid.UUID, objects: list[dict[str, Any]]) -> None:
    with node.session() as db:
        out = service.add_objects(db=db, actor=node.principal(Role.NATIONAL_POC),
                                  collection_id=collection, envelope={"objects": objects})
    assert out.failure_count == 0, out.failures


def plant(node: Node, collection: uuid.UUID, obj: dict[str, Any], tlp: Tlp) -> None:
    """A row no service would write (RED, or AMBER+STRICT among other members), put straight
    into a collection: whatever the store holds, federation must not send it."""
    with node.session() as db:
        stored = StixObject(stix_id=obj["id"], type="indicator", version=obj["modified"],
                            marking_refs=obj["object_marking_refs"], tlp=tlp,
                            organisation_id=org_id(node.database, "EE"), body=obj)
        db.add(stored)
        db.flush()
        internal = service.get_collection(db=db, actor=SYSTEM, collection_id=collection).id
        db.add(CollectionObject(collection_id=internal, object_id=stored.id,
                                date_added=clock.now(), latest=True))


def ids_at(node: Node, collection: uuid.UUID) -> list[str]:
    with node.session(read_only=True) as db:
        internal = service.get_collection(db=db, actor=SYSTEM, collection_id=collection).id
        return list(db.scalars(select(StixObject.stix_id).join(
            CollectionObject, CollectionObject.object_id == StixObject.id).where(
            CollectionObject.collection_id == internal)))


def add_peer(node: Node, **fields: Any) -> uuid.UUID:
    with node.session() as db:
        return peers.create_peer(db=db, actor=SYSTEM, data=PeerIn(**fields),
                                 secret_key=node.settings.resolved_secret_key()).public_id


def api(base: str, node: Node, role: Role = Role.COORDINATOR) -> httpx.Client:
    return httpx.Client(base_url=base, timeout=60,
                        headers={"Authorization": f"Bearer {node.world.tokens[role]}"})


# --- the acceptance: two nodes ------------------------------------------------------------------

def test_two_nodes_share_green_and_amber_strict_or_red_never_leaves(node_a, node_b):
    a, b = node_a, node_b
    baltic = collection_on(a, "Baltic", ["EE", "LT"], "amber")
    strict_home = collection_on(a, "Estonia only", ["EE"], "amber+strict")
    greens = [_indicator(f"198.51.100.{n}") for n in (1, 2)]
    amber = _indicator("198.51.100.3", tlp=Tlp.AMBER)
    share(a, baltic, [*greens, amber])
    share(a, strict_home, [_indicator("198.51.100.4", tlp=Tlp.AMBER_STRICT)])
    strict = _indicator("198.51.100.5", tlp=Tlp.AMBER_STRICT)
    red = _indicator("198.51.100.6", tlp=Tlp.RED)
    plant(a, baltic, strict, Tlp.AMBER_STRICT)
    plant(a, baltic, red, Tlp.RED)
    never = {strict["id"], red["id"]}

    pulled_into = collection_on(b, "Pulled from A", ["EE", "LT"], "green")
    pushed_into = collection_on(b, "Pushed by A", ["EE", "LT"], "amber")
    with serving(a.app) as a_url, serving(b.app) as b_url:
        to_a, to_b = Relay(a_url), Relay(b_url)
        try:
            # B pulls, with an account A made for Lithuania's node (HTTP Basic)
            pull_token = token_on(a, account=("node-lt@a.example", Role.RESPONDER, "LT"))
            b_peer = add_peer(b, name="node-a", api_root=f"{to_a.url}/taxii2/crrt/",
                              collection=str(baltic), local_collection=pulled_into,
                              direction="pull", auth="basic", username="node-lt",
                              token=pull_token)
            with api(b_url, b) as b_api:
                entry = b_api.post(f"{PEERS}/{b_peer}/sync")
                shown = b_api.get(f"{PEERS}/{b_peer}").text + b_api.get(PEERS).text + \
                    b_api.get(f"{PEERS}/{b_peer}/log").text
            assert entry.status_code == 200, entry.text
            assert (entry.json()["outcome"], entry.json()["pulled"],
                    entry.json()["refused"]) == ("complete", 2, 1)  # AMBER: B's is GREEN
            assert sorted(ids_at(b, pulled_into)) == sorted(o["id"] for o in greens)

            # A pushes to B (an account of B's), first at GREEN
            push_token = token_on(b, role=Role.NATIONAL_POC)
            a_peer = add_peer(a, name="node-b", api_root=f"{to_b.url}/taxii2/crrt/",
                              collection=str(pushed_into), local_collection=baltic,
                              direction="push", token=push_token)
            # what is pushed has settled (a placement stamped earlier may commit later)
            with clock.frozen(clock.now() + push.SETTLE), api(a_url, a) as a_api:
                first = a_api.post(f"{PEERS}/{a_peer}/sync").json()
                assert (first["outcome"], first["pushed"], first["withheld"]) == (
                    "complete", 2, 3), first
                assert sorted(ids_at(b, pushed_into)) == sorted(o["id"] for o in greens)
                # the ceiling raised to AMBER for Lithuania's node, and the push restarted:
                # AMBER goes (Lithuania is a member of Baltic); AMBER+STRICT and RED do not
                raised = a_api.patch(f"{PEERS}/{a_peer}", json={
                    "max_tlp": "amber", "organisation": "LT", "restart": True})
                assert raised.status_code == 200, raised.text
                second = a_api.post(f"{PEERS}/{a_peer}/sync").json()
                assert (second["outcome"], second["pushed"], second["withheld"]) == (
                    "complete", 3, 2), second
                refused = a_api.patch(f"{PEERS}/{a_peer}", json={"max_tlp": "amber+strict"})
                assert refused.status_code == 422
                assert "never leaves" in refused.text
        finally:
            to_a.stop()
            to_b.stop()
    assert sorted(ids_at(b, pushed_into)) == sorted(o["id"] for o in [*greens, amber])

    # nothing AMBER+STRICT or RED crossed the wire either way, nor is any at B
    wire = to_a.wire() + to_b.wire()
    assert not any(ref.encode() in wire for ref in STRICT_AND_RED)
    assert not any(stix_id.encode() in wire for stix_id in never)
    with b.session(read_only=True) as db:
        at_b = set(db.scalars(select(StixObject.stix_id)))
        assert at_b == {o["id"] for o in [*greens, amber]}
        assert not set(db.scalars(select(StixObject.tlp))) & {Tlp.AMBER_STRICT, Tlp.RED}
    # pushes went as TAXII envelopes, each answered by a status resource
    posts = [e for e in to_b.exchanges if e.method == "POST"]
    assert posts and all(e.status == 202 and b'"status":"complete"' in e.answered for e in posts)
    # a token is in no answer, sync log entry or audit event, nor in clear in its database
    assert "has_token" in shown and pull_token not in shown
    for node, token in ((a, push_token), (b, pull_token)):
        with node.session(read_only=True) as db:
            kept = [str(e.changes) for e in db.scalars(select(AuditEvent))]
            kept += [*db.scalars(select(SyncLog.error)), *db.scalars(select(Peer.token_sealed))]
        assert len(kept) > 5 and all(token not in text for text in kept)


def test_the_push_filter_holds_whatever_the_ceiling_says():
    """AMBER+STRICT and RED never leave, even for a ceiling no form accepts (a row altered by
    hand) or for the owner's own node; AMBER only for a node it is shared with."""
    members = frozenset({1, 2})
    for ceiling in Tlp:
        for peer_org in (None, 1, 2, 3):
            for marking in (Tlp.AMBER_STRICT, Tlp.RED):
                assert not peers.leaves(marking, ceiling=ceiling, owner_org=1,
                                        members=members, peer_org=peer_org)
    assert not peers.leaves(Tlp.GREEN, ceiling=Tlp.RED, owner_org=1, members=members,
                            peer_org=None)  # a ceiling out of bounds sends nothing at all
    assert peers.leaves(Tlp.GREEN, ceiling=Tlp.GREEN, owner_org=1, members=members,
                        peer_org=None)
    assert not peers.leaves(Tlp.AMBER, ceiling=Tlp.GREEN, owner_org=1, members=members,
                            peer_org=2)
    assert peers.leaves(Tlp.AMBER, ceiling=Tlp.AMBER, owner_org=1, members=members, peer_org=2)
    assert not peers.leaves(Tlp.AMBER, ceiling=Tlp.AMBER, owner_org=1, members=members,
                            peer_org=3)
    assert not peers.leaves(Tlp.AMBER, ceiling=Tlp.AMBER, owner_org=1, members=members,
                            peer_org=None)


# --- the push ----------------------------------------------------------------------------------

def _push_peer(a: Node, b: Node, url: str, local: uuid.UUID, into: uuid.UUID, **fields: Any
               ) -> uuid.UUID:
    return add_peer(a, name="node-b", api_root=f"{url}/taxii2/crrt/", collection=str(into),
                    local_collection=local, direction="push",
                    token=token_on(b, role=Role.NATIONAL_POC), **fields)


def _round(node: Node, peer_id: uuid.UUID, **kwargs: Any) -> Any:
    return sync.run_round(database=node.database, actor=SYSTEM, peer_id=peer_id,
                          settings=node.settings, **kwargs)


def test_an_object_without_a_tlp_marking_of_its_own_never_leaves(node_a, node_b):
    """Stored under A's default TLP (AMBER), it would leave unmarked, and a node whose
    default is lower would spread it."""
    a, b = node_a, node_b
    baltic = collection_on(a, "Baltic", ["EE", "LT"], "amber")
    green, unmarked = _indicator("198.51.100.21"), _indicator("198.51.100.22", tlp=None)
    share(a, baltic, [green, unmarked])
    into = collection_on(b, "Pushed by A", ["EE", "LT"], "amber")
    with serving(b.app) as b_url:
        relay = Relay(b_url)
        try:
            peer_id = _push_peer(a, b, relay.url, baltic, into, max_tlp="amber",
                                 organisation="LT")
            with clock.frozen(clock.now() + push.SETTLE):
                entry = _round(a, peer_id)
        finally:
            relay.stop()
    assert (entry.outcome, entry.pushed, entry.withheld) == (SyncOutcome.COMPLETE, 1, 1)
    assert ids_at(b, into) == [green["id"]]
    assert unmarked["id"].encode() not in relay.wire()


def test_a_push_never_passes_a_placement_that_commits_after_a_later_one(node_a, node_b):
    """Placements are stamped before their transaction commits: one stamped earlier may
    commit after a push has sent one stamped later."""
    a, b = node_a, node_b
    baltic = collection_on(a, "Baltic", ["EE", "LT"], "green")
    early, late = _indicator("198.51.100.31"), _indicator("198.51.100.32")
    into = collection_on(b, "Pushed by A", ["EE", "LT"], "green")
    start = clock.now()
    with serving(b.app) as b_url:
        peer_id = _push_peer(a, b, b_url, baltic, into)
        with clock.frozen(start + timedelta(seconds=1)):
            share(a, baltic, [late])
            first = _round(a, peer_id)
        with clock.frozen(start):  # stamped first, committed after the first push
            share(a, baltic, [early])
        with clock.frozen(start + push.SETTLE + timedelta(seconds=1)):
            second = _round(a, peer_id)
    assert (first.outcome, first.pushed) == (SyncOutcome.COMPLETE, 0)  # none settled yet
    assert (second.outcome, second.pushed) == (SyncOutcome.COMPLETE, 2)
    assert sorted(ids_at(b, into)) == sorted([early["id"], late["id"]])


def test_an_envelope_the_peer_refuses_goes_in_halves_and_one_refused_object_is_passed(
        node_a, node_b):
    a, b = node_a, node_b
    baltic = collection_on(a, "Baltic", ["EE", "LT"], "green")
    sent = [_indicator(f"203.0.113.{n}") for n in range(7)]
    bad = sent[3]
    share(a, baltic, sent)
    into = collection_on(b, "Pushed by A", ["EE", "LT"], "green")

    def refusing(status: int) -> Callable[[str, bytes], int | None]:
        return lambda method, body: status if method == "POST" else None

    def too_large(method: str, body: bytes) -> int | None:
        return 413 if method == "POST" and bad["id"].encode() in body else None

    with serving(b.app) as b_url:
        relay = Relay(b_url)
        try:
            peer_id = _push_peer(a, b, relay.url, baltic, into)
            with clock.frozen(clock.now() + push.SETTLE):
                rounds = {}
                for name, before in (("down", refusing(503)), ("signed out", refusing(401)),
                                     ("too large", too_large), ("again", None)):
                    posted = len(relay.exchanges)
                    relay.before = before
                    rounds[name] = (_round(a, peer_id), len(relay.exchanges) - posted)
        finally:
            relay.stop()
    # the peer down, or our token refused: nothing moves, one envelope tried, retried later
    for name, status in (("down", "HTTP 503"), ("signed out", "HTTP 401")):
        entry, posts = rounds[name]
        assert (entry.outcome, entry.pushed, entry.refused, posts) == (
            SyncOutcome.FAILED, 0, 0, 1), name
        assert entry.error.startswith(f"push: {status}")
    # the envelope refused whole: halves, down to the one object, which is passed
    entry, posts = rounds["too large"]
    assert (entry.outcome, entry.pushed, entry.refused) == (SyncOutcome.COMPLETE, 6, 1)
    assert posts == 7  # 7 → 4 + 3, 4 → 2 + 2, 2 → 1 + 1
    assert sorted(ids_at(b, into)) == sorted(o["id"] for o in sent if o is not bad)
    entry, posts = rounds["again"]
    assert (entry.outcome, entry.pushed, entry.refused, posts) == (
        SyncOutcome.COMPLETE, 0, 0, 0)


# --- an interrupted pull -----------------------------------------------------------------------

def _pull_peer(a: Node, b: Node, relay: Relay, baltic: uuid.UUID, into: uuid.UUID) -> uuid.UUID:
    return add_peer(b, name="node-a", api_root=f"{relay.url}/taxii2/crrt/",
                    collection=str(baltic), local_collection=into, direction="pull",
                    token=token_on(a, role=Role.NATIONAL_POC))


def _placements(b: Node, into: uuid.UUID) -> tuple[int, int]:
    """(placements in the collection, distinct objects among them)."""
    with b.session(read_only=True) as db:
        internal = service.get_collection(db=db, actor=SYSTEM, collection_id=into).id
        placed = select(CollectionObject.object_id).where(
            CollectionObject.collection_id == internal)
        return (db.scalar(select(func.count()).select_from(placed.subquery())) or 0,
                db.scalar(select(func.count(func.distinct(StixObject.stix_id))).where(
                    StixObject.id.in_(placed))) or 0)


def test_a_pull_cut_off_mid_page_resumes_without_duplicates(node_a, node_b):
    a, b = node_a, node_b
    baltic = collection_on(a, "Baltic", ["EE", "LT"], "green")
    sent = [_indicator(f"203.0.113.{n}") for n in range(23)]
    share(a, baltic, sent[:18])  # eighteen with one date added: only `next` tells them apart
    share(a, baltic, sent[18:])
    into = collection_on(b, "From A", ["EE", "LT"], "green")
    with serving(a.app) as a_url:
        relay = Relay(a_url, pages=2)
        try:
            peer_id = _pull_peer(a, b, relay, baltic, into)
            cut = sync.run_round(database=b.database, actor=SYSTEM, peer_id=peer_id,
                                 settings=b.settings, page_size=5)
            assert (cut.outcome, cut.pulled) == (SyncOutcome.FAILED, 10)
            assert cut.error.startswith("pull: ") and "RemoteProtocolError" in cut.error
            assert _placements(b, into) == (10, 10)  # the two pages committed, not the third
            with b.session(read_only=True) as db:
                cursor = db.scalars(select(Peer).where(Peer.public_id == peer_id)).one()
                assert cursor.pull_next and cursor.pull_seen and cursor.lease_holder is None
                token = cursor.pull_next
            stored_first = set(ids_at(b, into))
            before = len(relay.exchanges)

            relay.pages = None
            resumed = sync.run_round(database=b.database, actor=SYSTEM, peer_id=peer_id,
                                     settings=b.settings, page_size=5)
            assert (resumed.outcome, resumed.pulled, resumed.refused) == (
                SyncOutcome.COMPLETE, 13, 0)
            first_again = relay.exchanges[before]
            assert first_again.query["next"] == [token]  # resumed where it stopped
            again = [o["id"] for e in relay.exchanges[before:]
                     for o in json.loads(e.answered).get("objects", [])]
            assert not set(again) & stored_first  # nothing committed came twice
            assert _placements(b, into) == (23, 23)
            assert sorted(ids_at(b, into)) == sorted(o["id"] for o in sent)

            # another round walks again from a little before the last date added: nothing new
            again_round = sync.run_round(database=b.database, actor=SYSTEM, peer_id=peer_id,
                                         settings=b.settings, page_size=5)
            assert (again_round.outcome, again_round.pulled) == (SyncOutcome.COMPLETE, 0)
            assert _placements(b, into) == (23, 23)
        finally:
            relay.stop()
    with b.session(read_only=True) as db:
        log = list(db.scalars(select(SyncLog.outcome).order_by(SyncLog.id)))
    assert log == [SyncOutcome.FAILED, SyncOutcome.COMPLETE, SyncOutcome.COMPLETE]


def test_a_next_token_the_peer_forgot_restarts_from_the_last_date_committed(node_a, node_b):
    a, b = node_a, node_b
    baltic = collection_on(a, "Baltic", ["EE", "LT"], "green")
    sent = [_indicator(f"192.0.2.{n}") for n in range(12)]
    share(a, baltic, sent)
    into = collection_on(b, "From A", ["EE", "LT"], "green")
    with serving(a.app) as a_url:
        relay = Relay(a_url, pages=1)
        try:
            peer_id = _pull_peer(a, b, relay, baltic, into)
            sync.run_round(database=b.database, actor=SYSTEM, peer_id=peer_id,
                           settings=b.settings, page_size=5)
            with b.session() as db:  # as if A had been replaced and its tokens lost
                db.execute(update(Peer).where(Peer.public_id == peer_id)
                           .values(pull_next="bm9wZQ"))
            relay.pages = None
            entry = sync.run_round(database=b.database, actor=SYSTEM, peer_id=peer_id,
                                   settings=b.settings, page_size=5)
        finally:
            relay.stop()
    assert (entry.outcome, entry.pulled) == (SyncOutcome.COMPLETE, 7)
    assert [e.status for e in relay.exchanges if e.query.get("next") == ["bm9wZQ"]] == [400]
    assert _placements(b, into) == (12, 12)


def _feed_peer(node: Node, feed: Feed, into: uuid.UUID, name: str = "feed") -> uuid.UUID:
    return add_peer(node, name=name, api_root=feed.api_root, collection="objects",
                    local_collection=into, direction="pull")


def _dated(stamps: list[str]) -> list[tuple[str, dict[str, Any]]]:
    return [(f"2026-11-27T10:00:0{d}.000000Z", _indicator(f"192.0.2.{n}"))
            for n, d in enumerate(stamps)]


def test_a_page_past_the_envelope_limit_is_stored_whole(node_a):
    """A peer that ignores ``limit`` sends more than one envelope may hold: stored in
    batches, the page and its cursor in one transaction."""
    a = node_a
    into = collection_on(a, "From a feed", ["EE", "LT"], "green")
    objects = [_indicator(f"198.18.{n // 256}.{n % 256}") for n in range(stix.MAX_OBJECTS + 1)]
    with Feed([("2026-11-27T10:00:00.000000Z", o) for o in objects],
              honours_limit=False) as feed:
        entry = _round(a, _feed_peer(a, feed, into))
        assert len(feed.asked) == 1
    assert (entry.outcome, entry.pulled, entry.refused, entry.error) == (
        SyncOutcome.COMPLETE, stix.MAX_OBJECTS + 1, 0, "")
    assert _placements(a, into) == (stix.MAX_OBJECTS + 1, stix.MAX_OBJECTS + 1)


def test_a_server_without_next_tokens_loses_no_object_sharing_a_date_and_never_loops(node_a):
    a = node_a
    into = collection_on(a, "From a feed", ["EE", "LT"], "green")
    placed = _dated(["1", "2", "2", "2", "3"])  # the third of date 2 lies beyond page one
    with Feed(placed) as feed:
        entry = _round(a, _feed_peer(a, feed, into), page_size=3)
    assert (entry.outcome, entry.pulled) == (SyncOutcome.COMPLETE, 5)
    assert sorted(ids_at(a, into)) == sorted(o["id"] for _d, o in placed)
    # more objects of one date than a page holds: the server cannot show them all, and the
    # walk goes past that date instead of asking for it again and again
    crowded = collection_on(a, "From a crowded feed", ["EE", "LT"], "green")
    placed = _dated(["1", "2", "2", "2", "2", "3"])
    with Feed(placed) as feed:
        entry = _round(a, _feed_peer(a, feed, crowded, name="crowded"), page_size=3)
        assert len(feed.asked) == 4
    assert (entry.outcome, entry.pulled) == (SyncOutcome.COMPLETE, 5)
    assert placed[-1][1]["id"] in ids_at(a, crowded)


def _pushed_to_feed(a: Node, feed: Feed, local: uuid.UUID) -> Any:
    peer_id = add_peer(a, name="a store that decides later", api_root=feed.api_root,
                       collection="objects", local_collection=local, direction="push")
    with clock.frozen(clock.now() + push.SETTLE):
        first = _round(a, peer_id)
        again = _round(a, peer_id)
    assert (again.pushed, again.refused) == (0, 0)  # delivered: the cursor moved on
    return first


def test_a_peer_that_answers_pending_is_asked_again_and_only_what_it_took_counts(
        node_a, monkeypatch):
    a = node_a
    monkeypatch.setattr(push, "FIRST_ASK", 0.01)
    baltic = collection_on(a, "Baltic", ["EE", "LT"], "green")
    sent = [_indicator(f"203.0.113.{n}") for n in range(5)]
    share(a, baltic, sent)
    with Feed([], decides_after=2, refuse=frozenset({sent[1]["id"]})) as feed:
        entry = _pushed_to_feed(a, feed, baltic)
        assert feed.status_asked == 2
        assert sorted(o["id"] for o in feed.received) == sorted(o["id"] for o in sent)
    assert (entry.outcome, entry.pushed, entry.refused) == (SyncOutcome.COMPLETE, 4, 1)


def test_what_a_peer_still_holds_pending_after_the_wait_is_not_counted_taken(
        node_a, monkeypatch):
    a = node_a
    monkeypatch.setattr(push, "PENDING_WAIT", 0.2)
    monkeypatch.setattr(push, "FIRST_ASK", 0.01)
    baltic = collection_on(a, "Baltic", ["EE", "LT"], "green")
    share(a, baltic, [_indicator(f"203.0.113.{n}") for n in range(3)])
    with Feed([], decides_after=None) as feed:
        entry = _pushed_to_feed(a, feed, baltic)
        assert 2 <= feed.status_asked <= 5  # asked again, waiting longer each time
    assert (entry.outcome, entry.pushed, entry.refused) == (SyncOutcome.COMPLETE, 0, 0)
    with a.session(read_only=True) as db:
        event = db.scalars(select(AuditEvent).where(AuditEvent.action == "intel.objects_pushed")
                           ).one()
    assert (event.changes["sent"], event.changes["accepted"], event.changes["pending"]) == (
        3, 0, 3)


def test_a_round_takes_no_proxy_from_the_environment_and_no_repr_shows_the_token(
        node_a, monkeypatch):
    a = node_a
    into = collection_on(a, "From a feed", ["EE", "LT"], "green")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ALL_PROXY", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")
    with Feed(_dated(["1", "2"])) as feed:
        entry = _round(a, _feed_peer(a, feed, into))
    assert (entry.outcome, entry.pulled) == (SyncOutcome.COMPLETE, 2)
    target = sync.Target(
        id=1, public_id=uuid.uuid4(), name="node-lt", api_root="https://crrt.lt.example/",
        remote="c", collection_id=1, collection=uuid.uuid4(), members=frozenset(),
        direction=Direction.PULL, ceiling=Tlp.GREEN, organisation_id=None,
        auth=PeerAuth.BEARER, username="", token="s3cret-token", pull_after=None,
        pull_next=None, pull_seen=None, push_added=None, push_placement=0)
    with taxii_client.client() as http:
        remote = taxii_client.Remote(http, objects_url=target.objects_url, auth=target.auth,
                                     username="", token=target.token)
        assert "s3cret" not in repr(target) + repr(remote)


# --- the worker's job --------------------------------------------------------------------------

def test_the_job_runs_one_round_with_the_most_overdue_peer_and_nothing_stops_it(
        node_a, node_b, caplog):
    a, b = node_a, node_b
    baltic = collection_on(a, "Baltic", ["EE", "LT"], "green")
    share(a, baltic, [_indicator("198.51.100.77")])
    into = collection_on(b, "From A", ["EE", "LT"], "green")
    secret = token_on(a, role=Role.NATIONAL_POC)
    context = JobContext(database=b.database, settings=b.settings, payload={},
                         now=clock.now())
    with serving(a.app) as a_url:
        relay = Relay(a_url)
        try:
            dead = add_peer(b, name="gone", collection=str(baltic), local_collection=into,
                            api_root=f"http://127.0.0.1:{free_port()}/taxii2/crrt/",
                            token=secret)
            alive = add_peer(b, name="node-a", api_root=f"{a_url}/taxii2/crrt/",
                             collection=str(baltic), local_collection=into, token=secret)
            with b.session() as db:  # the dead one is the more overdue
                for peer_id, late in ((dead, 5), (alive, 1)):
                    db.execute(update(Peer).where(Peer.public_id == peer_id).values(
                        next_sync_at=clock.now() - timedelta(minutes=late)))
            ran = [jobs.sync_due(context)]
            with b.session(read_only=True) as db:
                after_one = dict(db.execute(select(Peer.public_id, SyncLog.outcome).join(
                    SyncLog, SyncLog.peer_id == Peer.id)).all())
                assert jobs.has_due(db, b.settings)  # the other is still due
            ran.append(jobs.sync_due(context))

            # a peer deleted while its round runs: logged, and the job goes on
            doomed = add_peer(b, name="doomed", api_root=f"{relay.url}/taxii2/crrt/",
                              collection=str(baltic), local_collection=into, token=secret)

            def deleting(_method: str, _body: bytes) -> None:
                with b.session() as db:
                    db.execute(delete(Peer).where(Peer.public_id == doomed))

            relay.before = deleting
            with caplog.at_level("INFO", logger="crrt.intel"):
                ran.append(jobs.sync_due(context))
        finally:
            relay.stop()
    assert ran == [1, 1, 0]
    assert after_one == {dead: SyncOutcome.FAILED}
    with b.session(read_only=True) as db:
        outcomes = dict(db.execute(select(Peer.public_id, SyncLog.outcome).join(
            SyncLog, SyncLog.peer_id == Peer.id)).all())
        failed = db.scalar(select(SyncLog.error).join(Peer, Peer.id == SyncLog.peer_id)
                           .where(Peer.public_id == dead))
        assert not jobs.has_due(db, b.settings)  # both wait for their next interval
        due = list(db.scalars(select(Peer.next_sync_at)))
    assert outcomes == {dead: SyncOutcome.FAILED, alive: SyncOutcome.COMPLETE}
    assert "ConnectError" in failed and secret not in failed
    assert all(d >= clock.now() + timedelta(minutes=14) for d in due)
    assert ids_at(b, into) != []
    assert f"peer {doomed} was deleted while a round with it ran" in caplog.text
    assert secret not in caplog.text
    with b.session() as db:  # the log keeps the newest rounds of each peer
        for _ in range(3):
            db.add(SyncLog(public_id=uuid.uuid4(), peer_id=db.scalars(select(Peer.id).where(
                Peer.public_id == alive)).one(), direction=Direction.PULL,
                outcome=SyncOutcome.COMPLETE))
    assert sync.prune(b.database, keep=2) == 2  # alive's two oldest of four; dead's one stays
    with b.session(read_only=True) as db:
        kept = dict(db.execute(select(Peer.public_id, func.count(SyncLog.id)).join(
            SyncLog, SyncLog.peer_id == Peer.id).group_by(Peer.public_id)).all())
    assert kept == {alive: 2, dead: 1}


# --- the API and the command -------------------------------------------------------------------

def test_the_coordination_cell_keeps_peers_and_their_token_is_never_shown(client, world,
                                                                          database):
    headers = world.headers(Role.COORDINATOR)
    local = client.post("/api/v1/intel/collections", headers=headers, json={
        "title": "Baltic", "members": ["EE", "LT"]}).json()["id"]
    body = {"name": "node-lt", "api_root": "https://crrt.lt.example/taxii2/crrt",
            "collection": str(uuid.uuid4()), "local_collection": local, "direction": "both",
            "token": "s3cret-token-of-lithuania"}
    made = client.post(PEERS, headers=headers, json=body)
    assert made.status_code == 201, made.text
    out = made.json()
    assert out["api_root"].endswith("/taxii2/crrt/") and out["has_token"] is True
    assert "s3cret" not in made.text
    peer = out["id"]
    assert client.post(PEERS, headers=headers, json=body).status_code == 409
    for wrong, why in ((body | {"name": "x", "max_tlp": "red"}, "never leaves"),
                       (body | {"name": "x", "max_tlp": "amber"}, "named organisation"),
                       (body | {"name": "x", "api_root": "http://crrt.lt.example/"}, "https"),
                       (body | {"name": "x", "token": "two words"}, "printable"),
                       (body | {"name": "x", "auth": "basic"}, "username")):
        refused = client.post(PEERS, headers=headers, json=wrong)
        assert refused.status_code == 422 and why in refused.text, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert client.get(PEERS, headers=world.headers(Role.NATIONAL_POC)).status_code == 403
    listed = client.get(PEERS, headers=headers).json()
    assert [p["name"] for p in listed["items"]] == ["node-lt"] and "s3cret" not in str(listed)
    changed = client.patch(f"{PEERS}/{peer}", headers=headers, json={"token": ""})
    assert changed.json()["has_token"] is False
    assert client.get(f"{PEERS}/{peer}/log", headers=headers).json() == {
        "items": [], "next_cursor": None}
    assert client.delete(f"{PEERS}/{peer}", headers=headers).status_code == 204
    assert client.get(f"{PEERS}/{peer}", headers=headers).status_code == 404
    with database.session(read_only=True) as db:
        actions = [(e.action, str(e.changes)) for e in db.scalars(
            select(AuditEvent).where(AuditEvent.action.like("intel.peer_%"))
            .order_by(AuditEvent.seq))]  # the chain's order: a table's own order is none
    assert [a for a, _ in actions] == ["intel.peer_created", "intel.peer_changed",
                                       "intel.peer_deleted"]
    assert all("s3cret" not in text for _a, text in actions)


def test_crrt_intel_sync_runs_a_round_with_a_progress_bar(node_a, node_b, monkeypatch, tmp_path):
    a, b = node_a, node_b
    baltic = collection_on(a, "Baltic", ["EE", "LT"], "green")
    share(a, baltic, [_indicator(f"198.51.100.{n}") for n in range(7)])
    into = collection_on(b, "From A", ["EE", "LT"], "green")
    cli = Cli(b.database.url, monkeypatch, str(tmp_path / "cli-data"))
    with serving(a.app) as a_url:
        monkeypatch.setenv("CRRT_PEER_TOKEN", token_on(a, role=Role.NATIONAL_POC))
        added = cli("intel", "peer-add", "node-a", "--api-root", f"{a_url}/taxii2/crrt/",
                    "--collection", str(baltic), "--local-collection", str(into))
        assert added.exit_code == 0, added.stderr
        assert "node-a" in cli("intel", "peers").stdout
        ran = cli("intel", "sync", "node-a", "--page-size", "3")
    assert ran.exit_code == 0, ran.stderr
    assert "complete: 7 pulled, 0 pushed" in ran.stdout
    assert "pulling" in ran.stderr  # the progress bar
    assert len(ids_at(b, into)) == 7
    failed = cli("intel", "sync", "node-a")  # node A is gone
    assert failed.exit_code == 1 and "ConnectError" in failed.stderr


# --- OASIS's reference server as the peer ------------------------------------------------------

@contextmanager
def medallion_server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """OASIS's TAXII 2.1 reference server, medallion (from PyPI, its memory backend), on
    loopback as its own process, with one empty collection; its API root and the
    collection's id. Basic auth: peer / peer-secret."""
    port, collection = free_port(), str(uuid.uuid4())
    root = f"http://127.0.0.1:{port}/shared/"
    data = {"/discovery": {"title": "medallion", "default": root, "api_roots": [root]},
            "shared": {"information": {"title": "shared", "versions": [TAXII],
                                       "max_content_length": 10_000_000},
                       "status": [], "collections": [{
                           "id": collection, "title": "Shared", "can_read": True,
                           "can_write": True, "media_types": [TAXII], "objects": [],
                           "manifest": []}]}}
    (tmp_path / "data.json").write_text(json.dumps(data))
    config = {"backend": {"module": "medallion.backends.memory_backend",
                          "module_class": "MemoryBackend",
                          "filename": str(tmp_path / "data.json")},
              "users": {"peer": "peer-secret"}, "taxii": {"max_page_size": 100}}
    (tmp_path / "medallion.json").write_text(json.dumps(config))
    process = subprocess.Popen(  # noqa: S603 - our own command line
        [str(Path(sys.executable).parent / "medallion"), "--host", "127.0.0.1", "--port",
         str(port), str(tmp_path / "medallion.json")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, "medallion did not start"
            try:
                if httpx.get(root, auth=("peer", "peer-secret"), headers={"Accept": TAXII},
                             timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "medallion did not answer"
            time.sleep(0.1)
        yield root, collection
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_node_pushes_to_and_pulls_from_oasis_s_reference_server(node_a, tmp_path):
    """Federation with a conformant server that is not crrt: what A pushes to medallion is
    there, and a pull from medallion into another collection brings every object once,
    through medallion's own pages (100 at most), and nothing more the next round."""
    a = node_a
    baltic = collection_on(a, "Baltic", ["EE", "LT"], "green")
    shared = [_indicator(f"192.0.2.{n}") for n in range(150)]
    share(a, baltic, shared)
    copy = collection_on(a, "From the reference server", ["EE", "LT"], "green")
    with medallion_server(tmp_path) as (root, remote):
        common = {"api_root": root, "collection": remote, "auth": "basic",
                  "username": "peer", "token": "peer-secret"}
        pusher = add_peer(a, name="medallion-push", local_collection=baltic,
                          direction="push", **common)
        with clock.frozen(clock.now() + push.SETTLE):
            pushed = _round(a, pusher)
        there: list[str] = []  # medallion's manifest, page by page, as any client reads it
        with httpx.Client(auth=("peer", "peer-secret"), headers={"Accept": TAXII},
                          timeout=30) as reader:
            following: str | None = None
            while True:
                page = reader.get(f"{root}collections/{remote}/manifest/",
                                  params={"limit": "100"} | (
                                      {"next": following} if following else {})).json()
                there += [entry["id"] for entry in page.get("objects", [])]
                following = page.get("next")
                if not page.get("more") or not following:
                    break
        puller = add_peer(a, name="medallion-pull", local_collection=copy, direction="pull",
                          **common)
        pulled, again = _round(a, puller), _round(a, puller)
    assert (pushed.outcome, pushed.pushed, pushed.refused) == (SyncOutcome.COMPLETE, 150, 0)
    assert sorted(there) == sorted(o["id"] for o in shared)
    assert (pulled.outcome, pulled.pulled, pulled.refused) == (SyncOutcome.COMPLETE, 150, 0)
    assert sorted(ids_at(a, copy)) == sorted(o["id"] for o in shared)
    assert (again.outcome, again.pulled) == (SyncOutcome.COMPLETE, 0)


def test_sync_now_answers_within_its_budget_and_leaves_the_rest_to_the_worker(node_a):
    """``POST …/sync`` starts pages only for its budget, so a large peer never holds a request
    (and the proxy in front) for minutes: what is left is the worker's, the peer due again at
    once, and the next round takes it from where this one stopped."""
    a = node_a
    into = collection_on(a, "From a feed", ["EE", "LT"], "green")
    client = TestClient(a.app)  # no lifespan: no embedded worker takes the peer meanwhile
    coordinator = {"Authorization": f"Bearer {a.world.tokens[Role.COORDINATOR]}"}
    with Feed(_dated(["1", "2", "3"])) as feed:
        peer = _feed_peer(a, feed, into)
        a.app.state.settings = a.settings.model_copy(update={"intel_sync_request_seconds": 1e-6})
        cut = client.post(f"{PEERS}/{peer}/sync", headers=coordinator)
        assert cut.status_code == 200, cut.text
        assert (cut.json()["outcome"], cut.json()["pulled"], feed.asked) == ("incomplete", 0, [])
        with a.session(read_only=True) as db:
            due = db.scalar(select(Peer.next_sync_at).where(Peer.public_id == peer))
        assert due is not None and due <= clock.now()
        a.app.state.settings = a.settings
        done = client.post(f"{PEERS}/{peer}/sync", headers=coordinator).json()
    assert (done["outcome"], done["pulled"]) == ("complete", 3)
    assert _placements(a, into) == (3, 3)
