"""The federation's job: a round with the most overdue active peer, then the log pruned.

The worker runs its leased jobs one after another, so this one runs one round a time, bounded
(:data:`ROUND_SECONDS`, then one request at most), and comes back soon (:data:`EVERY`): mail
and call-out escalation wait at most one round, and peers that are due are served in turn, the
most overdue first (a round whose budget ran out is due again at once, behind them). Whatever
goes wrong with a peer is its round's entry in the sync log, or a log line without secrets
when the peer is gone; it never stops the job.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.orm import Session

from crrt.access.principal import Principal
from crrt.core import clock
from crrt.core.config import Settings
from crrt.core.errors import Conflict, NotFound
from crrt.intel import sync
from crrt.intel.models import Peer
from crrt.jobs.registry import JobContext, periodic

log = logging.getLogger("crrt.intel.jobs")
SYSTEM = Principal.system("intel.sync")
EVERY = timedelta(seconds=20)
ROUND_SECONDS = 60.0  # pages started in a round the job runs; an unfinished one goes on next
# a round: its pages started for ROUND_SECONDS, one more request (60 s), the store; with room
LEASE = timedelta(minutes=10)


def _due() -> tuple[ColumnElement[bool], ...]:
    now = clock.now()
    return (Peer.active.is_(True),
            or_(Peer.next_sync_at.is_(None), Peer.next_sync_at <= now),
            or_(Peer.lease_until.is_(None), Peer.lease_until < now))


def has_due(db: Session, _settings: Settings) -> bool:
    """Whether an active peer is due and no round holds it."""
    return bool(db.scalar(select(exists().where(*_due()))))


@periodic("intel.sync", every=EVERY, lease=LEASE, pending=has_due)
def sync_due(ctx: JobContext) -> int:
    """A round with the most overdue peer, then the log pruned; how many rounds ran (0, 1)."""
    with ctx.database.session(read_only=True) as db:
        peer_id = db.scalar(select(Peer.public_id).where(*_due())
                            .order_by(Peer.next_sync_at.asc().nulls_first(), Peer.id)
                            .limit(1))
    ran = 0 if peer_id is None else _round(ctx, peer_id)
    try:
        sync.prune(ctx.database)
    except Exception:
        log.exception("pruning the sync log failed")
    return ran


def _round(ctx: JobContext, peer_id: uuid.UUID) -> int:
    try:
        entry = sync.run_round(database=ctx.database, actor=SYSTEM, peer_id=peer_id,
                               settings=ctx.settings, seconds=ROUND_SECONDS)
    except Conflict:  # another round holds it, or it was deactivated meanwhile
        return 0
    except NotFound:  # deleted meanwhile (run_round logged it if a round had begun)
        log.info("peer %s is gone", peer_id)
        return 0
    except Exception:  # ours (the database), before or after the round itself; no token here
        log.exception("a sync round with peer %s failed", peer_id)
        return 0
    if entry.error:
        log.warning("sync with peer %s: %s (%s)", peer_id, entry.outcome, entry.error)
    return 1
