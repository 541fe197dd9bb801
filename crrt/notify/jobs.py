"""The outbox's job: every worker delivers the due messages on each pass, when there are any."""

from __future__ import annotations

import logging
from datetime import timedelta

from crrt.jobs.registry import JobContext, periodic
from crrt.notify import service

log = logging.getLogger("crrt.notify")


# Shared: every worker delivers on each of its passes, as the messages are claimed one by one
# (SKIP LOCKED, a lease each): a worker killed mid-delivery holds up only what it had claimed,
# until those leases run out (CRRT_OUTBOX_LEASE_SECONDS).
@periodic("outbox.deliver", every=timedelta(seconds=5), lease=timedelta(minutes=15),
          pending=service.has_work, shared=True)
def deliver(ctx: JobContext) -> int:
    """Send what is due; returns how many messages went."""
    sent = service.deliver_due(ctx.database, settings=ctx.settings)
    if sent:
        log.info("delivered %d message(s)", sent)
    return sent
