"""/api/v1/intel/peers: federation with other TAXII 2.1 servers, for the coordination cell."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from crrt.access.caller import Me
from crrt.core.http import AppDatabase, Cursor, Db, Limit, PublicIdParam
from crrt.core.pagination import Page
from crrt.intel import peers, sync
from crrt.intel.peer_schemas import PeerIn, PeerOut, PeerPatch, SyncLogOut

router = APIRouter(prefix="/intel/peers", tags=["intel"])


def _secret_key(request: Request) -> str:
    key: str = request.app.state.settings.resolved_secret_key()
    return key


@router.get("")
def list_peers(db: Db, me: Me, limit: Limit = None, cursor: Cursor = None) -> Page[PeerOut]:
    """The peers, in the order they were added; never their tokens."""
    found, following = peers.list_peers(db=db, actor=me, limit=limit, cursor=cursor)
    return Page[PeerOut](items=[peers.peer_out(db, p) for p in found], next_cursor=following)


@router.post("", status_code=201)
def create_peer(body: PeerIn, request: Request, db: Db, me: Me) -> PeerOut:
    """A peer: another TAXII 2.1 server's API root and collection, the local collection it
    syncs with, which way, the highest TLP that may go to it (never AMBER+STRICT or RED),
    and the token to sign in with (kept sealed, never shown again)."""
    return peers.peer_out(db, peers.create_peer(db=db, actor=me, data=body,
                                                secret_key=_secret_key(request)))


@router.get("/{peer_id}")
def get_peer(peer_id: PublicIdParam, db: Db, me: Me) -> PeerOut:
    return peers.peer_out(db, peers.get_peer(db=db, actor=me, peer_id=peer_id))


@router.patch("/{peer_id}")
def update_peer(peer_id: PublicIdParam, body: PeerPatch, request: Request, db: Db,
                me: Me) -> PeerOut:
    """Change a peer; a new source pulls again from its start (what is here is skipped)."""
    return peers.peer_out(db, peers.update_peer(db=db, actor=me, peer_id=peer_id, data=body,
                                                secret_key=_secret_key(request)))


@router.delete("/{peer_id}", status_code=204)
def delete_peer(peer_id: PublicIdParam, db: Db, me: Me) -> Response:
    peers.delete_peer(db=db, actor=me, peer_id=peer_id)
    return Response(status_code=204)


@router.post("/{peer_id}/sync")
def sync_now(peer_id: PublicIdParam, request: Request, database: AppDatabase,
             me: Me) -> SyncLogOut:
    """One round now, its sessions its own (none held over the peer's answers); the round's
    log entry. Its pages are started for ``CRRT_INTEL_SYNC_REQUEST_SECONDS`` (20): a round
    with more to do answers ``incomplete`` and the worker goes on at once. A peer's failure
    is the entry's outcome; a round running already is a 409."""
    settings = request.app.state.settings
    return sync.run_round(database=database, actor=me, peer_id=peer_id, settings=settings,
                          seconds=settings.intel_sync_request_seconds)


@router.get("/{peer_id}/log")
def sync_log(peer_id: PublicIdParam, db: Db, me: Me, limit: Limit = None,
             cursor: Cursor = None) -> Page[SyncLogOut]:
    """The peer's rounds, newest first."""
    return peers.sync_log(db=db, actor=me, peer_id=peer_id, limit=limit, cursor=cursor)
