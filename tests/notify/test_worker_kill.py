"""A worker killed with SIGKILL in the middle of a delivery, then started again: every message
reaches its recipient exactly once, on both databases, through a real SMTP server.

The server stalls on one message before it accepts it (no 250 yet); the worker is killed
there. A message the server never accepted is the worker's to send again, once the dead
worker's claim runs out (CRRT_OUTBOX_LEASE_SECONDS); the messages it had delivered are
settled and not sent again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from crrt.notify import service as notify
from crrt.notify.models import OutboxMessage
from tests.support import MailServer

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = 12
STALL_AT = 4  # the server holds the fourth message without accepting it


class StallingMailServer(MailServer):
    """Holds the ``STALL_AT``-th message unanswered until released, then refuses it (its
    client is gone by then): as a real server does when the connection drops mid-DATA."""

    def __init__(self) -> None:
        super().__init__()
        self.seen = 0
        self.stalled = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope) -> str:
        self.seen += 1
        if self.seen == STALL_AT:
            self.stalled.set()
            while not self.release.is_set():
                await asyncio.sleep(0.02)
            return "451 the connection was lost"
        return await super().handle_DATA(server, session, envelope)


def _worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "crrt", "worker", "--interval", "0.2"], env=env, cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_a_killed_worker_loses_nothing_and_sends_nothing_twice(database, tmp_path):
    with database.session() as db:
        for n in range(MESSAGES):
            notify.enqueue_email(db=db, to=f"expert{n}@ee.example", subject=f"Call-out {n}",
                                 body="You are called out.")
    mail = StallingMailServer().start()
    env = {**os.environ, "CRRT_DATABASE_URL": database.url, "CRRT_SMTP_URL": mail.url,
           "CRRT_DATA_DIR": str(tmp_path / "data"), "CRRT_SECRET_KEY": "test-secret-key",
           "CRRT_EMBEDDED_WORKER": "false", "CRRT_OUTBOX_LEASE_SECONDS": "2"}
    first = _worker(env)
    second = None
    try:
        assert mail.stalled.wait(60), "the worker never reached the stalling message"
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        mail.release.set()
        assert len(mail.messages) == STALL_AT - 1
        killed_at = time.monotonic()
        second = _worker(env)
        assert mail.wait_for(MESSAGES, timeout=60), f"{len(mail.messages)} arrived"
        took = time.monotonic() - killed_at
        time.sleep(1.0)  # a duplicate would arrive on the worker's next passes
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(10)
        mail.stop()
    received = Counter(m["To"] for m in mail.messages)
    assert received == Counter({f"expert{n}@ee.example": 1 for n in range(MESSAGES)})
    assert len({m["Message-ID"] for m in mail.messages}) == MESSAGES
    with database.session(read_only=True) as db:
        rows = list(db.scalars(select(OutboxMessage)))
    assert all(r.delivered_at is not None and r.failed_at is None for r in rows)
    stalled = next(r for r in rows if r.recipient == f"expert{STALL_AT - 1}@ee.example")
    assert stalled.attempts == 2  # the killed worker's attempt, and the one that delivered
    assert took < 30
