"""The outbox's job: deliver due messages every few seconds, when there are any."""

from __future__ import annotations

import logging
from datetime import timedelta

from crrt.jobs.registry import JobContext, periodic
from crrt.notify import service

log = logging.getLogger("crrt.notify")


# The lease covers a batch of 20 messages at up to 30 s each (SMTP's timeout), with room.
@periodic("outbox.deliver", every=timedelta(seconds=5), lease=timedelta(minutes=15),
          pending=service.has_work)
def deliver(ctx: JobContext) -> int:
    """Send what is due; returns how many messages went."""
    sent = service.deliver_due(ctx.database, settings=ctx.settings)
    if sent:
        log.info("delivered %d message(s)", sent)
    return sent
