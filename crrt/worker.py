"""Background jobs: deliver the outbox and tidy up; several workers may run side by side."""

from __future__ import annotations

import logging
import signal
import time
from datetime import timedelta
from types import FrameType

from crrt.auth import service as auth_service
from crrt.core import clock
from crrt.core.config import Settings
from crrt.core.db import Database
from crrt.notify import service as notify

log = logging.getLogger("crrt.worker")


def tick(database: Database, settings: Settings) -> int:
    """One pass: send what is due, forget old login attempts. Returns the messages sent."""
    sent = notify.deliver_due(database, smtp_url=settings.smtp_url, sender=settings.mail_from)
    with database.session() as db:
        auth_service.prune_login_attempts(db=db, older_than=clock.now() - timedelta(days=7))
    return sent


def run(database: Database, settings: Settings, *, once: bool, interval: float) -> None:
    """Tick until stopped (SIGTERM or SIGINT finish the current pass, then exit)."""
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    while True:
        sent = tick(database, settings)
        if sent:
            log.info("delivered %d message(s)", sent)
        if once or stopping:
            return
        deadline = time.monotonic() + interval
        while not stopping and time.monotonic() < deadline:
            time.sleep(min(0.2, interval))
