"""Federation peers: other TAXII 2.1 servers this node syncs one collection with, kept by the
coordination cell; what may leave for each (:func:`leaves`); the log of their rounds.

A peer's token is sealed with a key derived from the server's secret key and the peer's
public id (:mod:`crrt.core.secretbox`): it is needed in clear to sign in, so it cannot be a
hash, and it never appears in an answer, the audit log or the sync log.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crrt.access import policy, tlp
from crrt.access.enums import Audience, Tlp
from crrt.access.policy import Permission
from crrt.access.principal import Principal
from crrt.access.resource import Resource
from crrt.audit import service as audit
from crrt.core import clock, secretbox, urls
from crrt.core.errors import Conflict, Invalid, NotFound
from crrt.core.pagination import Page, decode_after, encode_cursor
from crrt.intel import service
from crrt.intel.enums import PeerAuth
from crrt.intel.models import Collection, Peer, SyncLog
from crrt.intel.peer_schemas import PeerIn, PeerOut, PeerPatch, SyncLogOut
from crrt.organisations import service as organisations

KIND = "intel_peer"
# TLP that may leave by federation at all: AMBER+STRICT stays in its organisation, RED with
# its named people, whatever a peer's settings say
FEDERATED = (Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER)
NEVER = (Tlp.AMBER_STRICT, Tlp.RED)
MAX_LOG_PAGE = 200


# --- what may leave ----------------------------------------------------------------------------

def leaves(marking: Tlp, *, ceiling: Tlp, owner_org: int | None, members: frozenset[int],
           peer_org: int | None) -> bool:
    """Whether an object marked ``marking`` may go to a peer: never AMBER+STRICT or RED,
    whatever the peer's ceiling says (a row altered by hand included); then no higher than
    the ceiling; then :func:`crrt.access.tlp.may_leave`, the collection's members being the
    organisations its AMBER is shared with, and the peer the node of ``peer_org`` (else the
    community)."""
    if marking in NEVER or ceiling not in FEDERATED or not tlp.at_most(marking, ceiling):
        return False
    audience = Audience.ORGANISATION if peer_org is not None else Audience.COMMUNITY
    return tlp.may_leave(Resource(kind="stix_object", owner_org_id=owner_org, marking=marking,
                                  recipient_org_ids=members), audience, peer_org)


# --- the token -------------------------------------------------------------------------------

def _purpose(peer: Peer) -> str:
    return f"intel-peer:{peer.public_id}"


def _seal(peer: Peer, token: str, secret_key: str) -> None:
    if not token.isascii() or not token.isprintable() or any(c.isspace() for c in token):
        raise Invalid.field("token", "A token is printable ASCII without spaces.")
    peer.token_sealed = secretbox.seal(secret_key, _purpose(peer), token)


def token_of(peer: Peer, secret_key: str) -> str | None:
    """The peer's token in clear, to send it; :class:`secretbox.Unreadable` if the secret key
    changed since it was set."""
    if peer.token_sealed is None:
        return None
    return secretbox.unseal(secret_key, _purpose(peer), peer.token_sealed)


# --- peers -------------------------------------------------------------------------------------

def _api_root(url: str) -> str:
    """An API root: a URL crrt may call (:func:`crrt.core.urls.check`, as for webhooks),
    ending with a slash as TAXII's URLs do."""
    checked = urls.check(url, field="api_root")
    if "?" in checked or "#" in checked:
        raise Invalid.field("api_root", "An API root has no query or fragment.")
    return checked if checked.endswith("/") else checked + "/"


def _local(db: Session, actor: Principal, collection_id: uuid.UUID) -> Collection:
    try:
        return service.get_collection(db=db, actor=actor, collection_id=collection_id)
    except NotFound:
        raise Invalid.field("local_collection", "No such collection here.") from None


def _organisation(db: Session, actor: Principal, code: str | None) -> int | None:
    if not code:
        return None
    return organisations.get(db=db, actor=actor, code=code, field="organisation").id


def _check(peer: Peer) -> None:
    """The rules a peer's fields keep together, checked on the peer as it would be saved, so
    a change is held to them as much as a new peer."""
    if peer.max_tlp not in FEDERATED:
        raise Invalid.field("max_tlp", f"{peer.max_tlp.label} never leaves this node: a "
                                       "peer's ceiling is TLP:CLEAR, TLP:GREEN or TLP:AMBER.")
    if peer.max_tlp is Tlp.AMBER and peer.organisation_id is None:
        raise Invalid.field("max_tlp", "TLP:AMBER leaves only for a named organisation's "
                                       "node: name the organisation whose node the peer is.")
    if peer.auth is PeerAuth.BASIC and not peer.username:
        raise Invalid.field("username", "HTTP Basic needs a username.")


def _named(db: Session, name: str, but: int | None = None) -> None:
    found = db.scalar(select(Peer.id).where(Peer.name == name))
    if found is not None and found != but:
        raise Conflict(f"A peer is called '{name}' already.")


def create_peer(*, db: Session, actor: Principal, data: PeerIn, secret_key: str) -> Peer:
    """A peer; its token sealed, its cursors at the beginning, its first round due now."""
    policy.require(actor, Permission.INTEL_MANAGE)
    name = data.name.strip()
    _named(db, name)
    peer = Peer(public_id=uuid.uuid4(), name=name, api_root=_api_root(data.api_root),
                remote_collection=data.collection,
                collection_id=_local(db, actor, data.local_collection).id,
                direction=data.direction, max_tlp=data.max_tlp,
                organisation_id=_organisation(db, actor, data.organisation), auth=data.auth,
                username=data.username, active=data.active, push_placement=0,
                next_sync_at=clock.now())
    _check(peer)
    if data.token is not None and data.token.get_secret_value():
        _seal(peer, data.token.get_secret_value(), secret_key)
    db.add(peer)
    db.flush()
    audit.record(db=db, actor=actor, action="intel.peer_created", object_type=KIND,
                 object_id=peer.public_id, changes=_described(db, peer))
    return peer


def _described(db: Session, peer: Peer) -> dict[str, Any]:
    """What the audit log keeps of a peer: everything but its token, of which only whether
    it has one (and the API root without its path, which may hold a secret)."""
    parts = urlsplit(peer.api_root)
    return {"name": peer.name, "api_root": f"{parts.scheme}://{parts.netloc}",
            "collection": peer.remote_collection,
            "local_collection": str(_collection(db, peer).public_id),
            "direction": peer.direction.value, "max_tlp": peer.max_tlp.value,
            "organisation": _code(db, peer.organisation_id), "auth": peer.auth.value,
            "token": peer.token_sealed is not None, "active": peer.active}


def _collection(db: Session, peer: Peer) -> Collection:
    found = db.get(Collection, peer.collection_id)
    assert found is not None  # a foreign key
    return found


def _code(db: Session, org_id: int | None) -> str | None:
    if org_id is None:
        return None
    return organisations.by_id(db=db, actor=service.READER, org_id=org_id).code


def list_peers(*, db: Session, actor: Principal, limit: int | None = None,
               cursor: str | None = None) -> tuple[list[Peer], str | None]:
    """The peers, in the order they were added."""
    policy.require(actor, Permission.INTEL_MANAGE)
    stmt = select(Peer).order_by(Peer.id).limit((limit or 50) + 1)
    if cursor:
        stmt = stmt.where(Peer.id > decode_after(cursor))
    rows = list(db.scalars(stmt))
    more = len(rows) > (limit or 50)
    rows = rows[:limit or 50]
    return rows, encode_cursor(rows[-1].id) if more and rows else None


def get_peer(*, db: Session, actor: Principal, peer_id: uuid.UUID) -> Peer:
    policy.require(actor, Permission.INTEL_MANAGE)
    peer = db.scalar(select(Peer).where(Peer.public_id == peer_id))
    if peer is None:
        raise NotFound("No such peer.")
    return peer


def find_peer(*, db: Session, actor: Principal, name_or_id: str) -> Peer:
    """A peer by its name or its id (the command line names it either way)."""
    try:
        return get_peer(db=db, actor=actor, peer_id=uuid.UUID(name_or_id))
    except ValueError:
        pass
    peer = db.scalar(select(Peer).where(Peer.name == name_or_id.strip()))
    if peer is None:
        raise NotFound(f"No peer is called '{name_or_id}'.")
    return peer


def update_peer(*, db: Session, actor: Principal, peer_id: uuid.UUID, data: PeerPatch,
                secret_key: str) -> Peer:
    """Change a peer. A new source (API root or collection) pulls again from the start, a new
    local collection pushes again from its start; what is stored already is skipped."""
    peer = get_peer(db=db, actor=actor, peer_id=peer_id)
    before = _described(db, peer)
    given = data.model_fields_set
    if "name" in given and data.name is not None:
        _named(db, data.name.strip(), but=peer.id)
        peer.name = data.name.strip()
    source = (peer.api_root, peer.remote_collection)
    if "api_root" in given and data.api_root is not None:
        peer.api_root = _api_root(data.api_root)
    if "collection" in given and data.collection is not None:
        peer.remote_collection = data.collection
    if (peer.api_root, peer.remote_collection) != source:
        peer.pull_after = peer.pull_next = peer.pull_seen = None
    if "local_collection" in given and data.local_collection is not None:
        local = _local(db, actor, data.local_collection)
        if local.id != peer.collection_id:
            peer.collection_id = local.id
            peer.push_added, peer.push_placement = None, 0
    for name in ("direction", "max_tlp", "auth", "username", "active"):
        if name in given and getattr(data, name) is not None:
            setattr(peer, name, getattr(data, name))
    if "organisation" in given:
        peer.organisation_id = _organisation(db, actor, data.organisation)
    _check(peer)
    changed_token = "token" in given and data.token is not None
    if changed_token and data.token is not None:
        if data.token.get_secret_value():
            _seal(peer, data.token.get_secret_value(), secret_key)
        else:
            peer.token_sealed = None
    if data.restart:
        peer.pull_after = peer.pull_next = peer.pull_seen = None
        peer.push_added, peer.push_placement = None, 0
    after = _described(db, peer)
    changes = audit.diff(before, after)
    if changed_token:
        changes["token"] = "set" if peer.token_sealed else "removed"
    if data.restart:
        changes["restarted"] = True
    if changes:
        audit.record(db=db, actor=actor, action="intel.peer_changed", object_type=KIND,
                     object_id=peer.public_id, changes=changes)
    return peer


def delete_peer(*, db: Session, actor: Principal, peer_id: uuid.UUID) -> None:
    """Forget a peer and its log (not a round running now: 409)."""
    peer = get_peer(db=db, actor=actor, peer_id=peer_id)
    if peer.lease_until is not None and peer.lease_until > clock.now():
        raise Conflict("A sync round with this peer is running: delete it when it ends.")
    described = _described(db, peer)
    db.delete(peer)
    db.flush()
    audit.record(db=db, actor=actor, action="intel.peer_deleted", object_type=KIND,
                 object_id=peer_id, changes=described)


def peer_out(db: Session, peer: Peer) -> PeerOut:
    return PeerOut(
        id=peer.public_id, name=peer.name, api_root=peer.api_root,
        collection=peer.remote_collection, local_collection=_collection(db, peer).public_id,
        direction=peer.direction, max_tlp=peer.max_tlp,
        organisation=_code(db, peer.organisation_id), auth=peer.auth, username=peer.username,
        has_token=peer.token_sealed is not None, active=peer.active,
        created_at=peer.created_at, pulled_through=peer.pull_seen,
        pushed_through=peer.push_added, next_sync_at=peer.next_sync_at,
        syncing=peer.lease_until is not None and peer.lease_until > clock.now())


# --- the log -----------------------------------------------------------------------------------

def log_out(entry: SyncLog, peer: Peer) -> SyncLogOut:
    return SyncLogOut(id=entry.public_id, peer=peer.public_id, direction=entry.direction,
                      started_at=entry.started_at, finished_at=entry.finished_at,
                      pulled=entry.pulled, pushed=entry.pushed, withheld=entry.withheld,
                      refused=entry.refused, outcome=entry.outcome, error=entry.error)


def last_rounds(*, db: Session, actor: Principal, listed: list[Peer]) -> dict[int, SyncLogOut]:
    """The latest round of each of ``listed`` (by peer row id), in one query, for a list of
    peers (not a query a peer)."""
    policy.require(actor, Permission.INTEL_MANAGE)
    by_id = {peer.id: peer for peer in listed}
    if not by_id:
        return {}
    newest = (select(func.max(SyncLog.id)).where(SyncLog.peer_id.in_(list(by_id)))
              .group_by(SyncLog.peer_id))
    return {entry.peer_id: log_out(entry, by_id[entry.peer_id])
            for entry in db.scalars(select(SyncLog).where(SyncLog.id.in_(newest)))}


def sync_log(*, db: Session, actor: Principal, peer_id: uuid.UUID, limit: int | None = None,
             cursor: str | None = None) -> Page[SyncLogOut]:
    """A peer's rounds, newest first."""
    peer = get_peer(db=db, actor=actor, peer_id=peer_id)
    size = min(limit or 50, MAX_LOG_PAGE)
    stmt = select(SyncLog).where(SyncLog.peer_id == peer.id).order_by(SyncLog.id.desc())
    if cursor:
        stmt = stmt.where(SyncLog.id < decode_after(cursor))
    rows = list(db.scalars(stmt.limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    return Page[SyncLogOut](items=[log_out(r, peer) for r in rows],
                            next_cursor=encode_cursor(rows[-1].id) if more and rows else None)
