"""Web pages of federation, for the coordination cell: the peers this node syncs a collection
with (their last round's outcome), and one peer with its sync log, newest first.

Read only: the peers are kept through the API and the command line, and their rounds run in
the worker. What a page shows comes from :mod:`crrt.intel.peers`, which asks INTEL_MANAGE;
a peer's token is never shown, only whether it has one.
"""

from __future__ import annotations

import shlex
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from crrt.access import policy
from crrt.access.policy import Permission
from crrt.access.principal import Principal
from crrt.core.errors import Invalid
from crrt.core.http import Db, PublicIdParam
from crrt.intel import peers
from crrt.intel import service as intel
from crrt.intel.enums import Direction, SyncOutcome
from crrt.intel.peer_schemas import SyncLogOut
from crrt.web import forms, session
from crrt.web.i18n import N_, _
from crrt.web.session import SignedIn
from crrt.web.templating import render

router = APIRouter(prefix="/intel/peers", include_in_schema=False)

PAGE_SIZE = 50
LOG_PAGE_SIZE = 25
SYNC_COMMAND = ("crrt", "intel", "sync")  # a round by hand, the peer named after it
DIRECTIONS = {
    # Translators: a federation peer's direction: its objects are taken here
    Direction.PULL: N_("Pull"),
    # Translators: a federation peer's direction: our objects are sent to it
    Direction.PUSH: N_("Push"),
    # Translators: a federation peer's direction: pull and push
    Direction.BOTH: N_("Both ways"),
}
OUTCOMES = {
    # Translators: a sync round's outcome: it is going on now
    SyncOutcome.RUNNING: N_("Running"),
    # Translators: a sync round's outcome: it did all there was to do
    SyncOutcome.COMPLETE: N_("Complete"),
    # Translators: a sync round's outcome: its budget ran out, the next round goes on
    SyncOutcome.INCOMPLETE: N_("Incomplete"),
    # Translators: a sync round's outcome: an error ended it
    SyncOutcome.FAILED: N_("Failed"),
    # Translators: a sync round's outcome: its process died mid-round
    SyncOutcome.INTERRUPTED: N_("Interrupted"),
}


def _titles(db: Session, me: Principal) -> dict[uuid.UUID, str]:
    """The local collections' titles, by id (the cell reads every collection)."""
    return {c.public_id: c.title for c in intel.list_collections(db=db, actor=me)}


def _round(entry: SyncLogOut) -> dict[str, Any]:
    return {"entry": entry, "direction": _(DIRECTIONS[entry.direction]),
            "outcome": _(OUTCOMES[entry.outcome])}


def _common(request: Request) -> dict[str, Any]:
    return {"sync_minutes": session.settings_of(request).intel_sync_minutes,
            "sync_command": shlex.join(SYNC_COMMAND),
            "directions": {k: _(v) for k, v in DIRECTIONS.items()}}


@router.get("")
def peers_page(request: Request, db: Db, me: SignedIn, cursor: str | None = None) -> Response:
    """The peers, in the order they were added, each with its last round."""
    policy.require(me, Permission.INTEL_MANAGE)
    errors: dict[str, str] = {}
    try:
        found, next_cursor = peers.list_peers(db=db, actor=me, limit=PAGE_SIZE,
                                              cursor=cursor or None)
    except Invalid as exc:
        found, next_cursor, errors = [], None, {"_form": _(exc.detail)}
    titles = _titles(db, me)
    latest = peers.last_rounds(db=db, actor=me, listed=found)
    rows = []
    for peer in found:
        out = peers.peer_out(db, peer)
        last = latest.get(peer.id)
        rows.append({"peer": out, "collection": titles.get(out.local_collection),
                     "last": _round(last) if last else None})
    return render(request, "intel_peers.html", {
        "rows": rows, "errors": errors, **_common(request),
        **forms.page_links("/intel/peers", {}, cursor, next_cursor)},
        status=422 if errors else 200)


@router.get("/{peer_id}")
def peer_page(request: Request, db: Db, me: SignedIn, peer_id: PublicIdParam,
              cursor: str | None = None) -> Response:
    """A peer's settings (never its token) and its sync log, newest first."""
    peer = peers.get_peer(db=db, actor=me, peer_id=peer_id)
    out = peers.peer_out(db, peer)
    errors: dict[str, str] = {}
    rounds: list[dict[str, Any]] = []
    next_cursor = None
    try:
        log = peers.sync_log(db=db, actor=me, peer_id=peer_id, limit=LOG_PAGE_SIZE,
                             cursor=cursor or None)
    except Invalid as exc:
        errors = {"_form": _(exc.detail)}
    else:
        rounds, next_cursor = [_round(e) for e in log.items], log.next_cursor
    path = f"/intel/peers/{out.id}"
    return render(request, "intel_peer.html", {
        "peer": out, "peer_command": shlex.join([*SYNC_COMMAND, out.name]),
        "collection": _titles(db, me).get(out.local_collection),
        "rounds": rounds, "errors": errors, **_common(request),
        **forms.page_links(path, {}, cursor, next_cursor)},
        status=422 if errors else 200)
