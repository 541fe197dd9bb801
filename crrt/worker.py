"""The worker: pass after pass, runs the jobs that are due; several may run side by side.

``crrt worker`` runs it in its own process; ``crrt serve`` runs one on a thread of its own
process too (:class:`EmbeddedWorker`), by default on SQLite only, so ``make run`` alone
delivers mail and fires timers.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from types import FrameType

from crrt import parts
from crrt.core import logs
from crrt.core.config import Settings
from crrt.core.db import Database
from crrt.jobs.service import RunReport, run_due

log = logging.getLogger("crrt.worker")

EMBEDDED_INTERVAL = 1.0


def worker_id(role: str = "worker") -> str:
    """Who holds a lease: host, process and role, shown by ``crrt jobs list``."""
    return f"{socket.gethostname()}:{os.getpid()}:{role}"


def tick(database: Database, settings: Settings) -> RunReport:
    """One pass: run what is due (see :func:`crrt.jobs.service.run_due`)."""
    return run_due(database, settings, worker_id=worker_id())


def loop(database: Database, settings: Settings, *, interval: float, once: bool,
         stopping: Callable[[], bool], who: str) -> None:
    """Pass, wait ``interval`` seconds after a pass that ran nothing (none after one that
    ran something), pass again, until ``stopping()``; nothing stops it else.

    Any exception of a pass is logged and the loop goes on after the wait.
    """
    while True:
        busy = False
        try:
            busy = bool(run_due(database, settings, worker_id=who).ran)
        except Exception:
            log.exception("the worker's pass failed; it goes on after %.1f s", interval)
        if once or stopping():
            return
        if busy:  # it ran something, so more may be due already: pass again at once
            continue
        deadline = time.monotonic() + interval
        while not stopping() and time.monotonic() < deadline:
            time.sleep(min(0.2, interval))


def run(database: Database, settings: Settings, *, once: bool, interval: float) -> None:
    """Pass until stopped (SIGTERM or SIGINT finish the current pass, then exit)."""
    parts.load()
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True  # a flag, not an Event: Event.set() may deadlock in a signal handler

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    logs.configure()
    loop(database, settings, interval=interval, once=once, stopping=lambda: stopping,
         who=worker_id())


class EmbeddedWorker:
    """A worker on a daemon thread of the serving process, started and stopped with the app."""

    def __init__(self, database: Database, settings: Settings, *,
                 interval: float = EMBEDDED_INTERVAL) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=loop, name="crrt-embedded-worker", daemon=True,
            args=(database, settings),
            kwargs={"interval": interval, "once": False, "stopping": self._stop.is_set,
                    "who": worker_id("embedded")})

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> None:
        parts.load()
        self._thread.start()
        log.info("embedded worker started (set CRRT_EMBEDDED_WORKER=false when dedicated "
                 "workers run)")

    def stop(self, timeout: float = 30.0) -> None:
        """Let the pass in progress finish, then end the thread (leases cover a late one)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("embedded worker still busy after %.0f s; leaving it", timeout)
