"""The federation's job: a sync round with each active peer that is due, then the log pruned.

One peer's failure is its round's outcome in the sync log; the job goes on to the next.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.orm import Session

from crrt.access.principal import Principal
from crrt.core import clock
from crrt.core.config import Settings
from crrt.core.errors import Conflict
from crrt.intel import sync
from crrt.intel.models import Peer
from crrt.jobs.registry import JobContext, periodic

log = logging.getLogger("crrt.intel.sync")
SYSTEM = Principal.system("intel.sync")
# Rounds are started for this long at most; a round itself is bounded by sync.ROUND_SECONDS
# and one request's deadline, so the job ends well within its hour's lease.
BUDGET_SECONDS = 30 * 60


def _due() -> tuple[ColumnElement[bool], ...]:
    now = clock.now()
    return (Peer.active.is_(True),
            or_(Peer.next_sync_at.is_(None), Peer.next_sync_at <= now),
            or_(Peer.lease_until.is_(None), Peer.lease_until < now))


def has_due(db: Session, _settings: Settings) -> bool:
    """Whether an active peer is due and no round holds it."""
    return bool(db.scalar(select(exists().where(*_due()))))


@periodic("intel.sync", every=timedelta(minutes=1), lease=timedelta(hours=1), pending=has_due)
def sync_due(ctx: JobContext) -> int:
    """A round with each due peer, oldest due first; returns how many rounds ran."""
    with ctx.database.session(read_only=True) as db:
        due = db.scalars(select(Peer.public_id).where(*_due())
                         .order_by(Peer.next_sync_at, Peer.id)).all()
    started, ran = time.monotonic(), 0
    for peer_id in due:
        if time.monotonic() - started > BUDGET_SECONDS:
            break
        try:
            entry = sync.run_round(database=ctx.database, actor=SYSTEM, peer_id=peer_id,
                                   settings=ctx.settings)
        except Conflict:  # another round holds it, or it was deactivated meanwhile
            continue
        ran += 1
        if entry.error:
            log.warning("sync with peer %s: %s (%s)", peer_id, entry.outcome, entry.error)
    sync.prune(ctx.database)
    return ran
