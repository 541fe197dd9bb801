"""Benchmark: how long a SQLite writer waits while people sign in.

Prints figures; asserts nothing. Run from the checkout it should measure, with that checkout
first on the path (a script's own folder comes first otherwise, and an editable install of
another checkout would be measured): ``PYTHONPATH=. .venv/bin/python bench/signin_stall.py
[--sign-ins 10]``. The first line names the crrt it measured.

A separate process writes one row at a time (``BEGIN IMMEDIATE``, insert, commit, a 2 ms
pause), as any other request would, while this process signs in ``--sign-ins`` times through
``POST /login`` with the production Argon2 parameters. The writer reports how long it waited
for the write lock; if sign-in held the lock while Argon2 ran, its longest wait is about one
Argon2 verification (0.2-0.4 s), and it waits through most of the run.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from keyed import audit_key, migrated_database

import crrt
from crrt import parts
from crrt.access.enums import Role
from crrt.access.principal import Principal
from crrt.api import create_app
from crrt.auth import service as auth
from crrt.auth.schemas import UserIn
from crrt.core.config import Settings
from crrt.organisations import service as organisations
from crrt.organisations.enums import OrgKind
from crrt.organisations.schemas import OrganisationIn

BENCH = Principal.system("bench")
EMAIL = "bench@crrt.example"
PASSWORD = "a bench password long enough"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def writer(path: str, stop: Any, ready: Any, results: Any) -> None:
    """Write one row at a time until told to stop; send (start, seconds waited for the lock)
    of each write. It asks for the lock without SQLite's busy handler and retries every
    millisecond, so a wait is counted only when the lock was really taken (not when this
    process merely lost the CPU on a busy machine)."""
    connection = sqlite3.connect(path, isolation_level=None, timeout=0)
    connection.execute("CREATE TABLE IF NOT EXISTS bench_writes (id INTEGER PRIMARY KEY, at REAL)")
    timings = []
    ready.set()
    while not stop.is_set():
        started, busy = time.perf_counter(), False
        while True:
            try:
                connection.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError:
                busy = True
                time.sleep(0.001)
        waited = time.perf_counter() - started if busy else 0.0
        connection.execute("INSERT INTO bench_writes (at) VALUES (?)", (started,))
        connection.execute("COMMIT")
        timings.append((started, waited))
        time.sleep(0.002)
    connection.close()
    results.put(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sign-ins", type=int, default=10)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="crrt-signin-"))
    path = folder / "bench.db"
    url = f"sqlite:///{path}"
    parts.load()
    database = migrated_database(url)
    with database.session() as db:
        organisations.create(db=db, actor=BENCH, data=OrganisationIn(
            code="LT", name="Lithuania", kind=OrgKind.NATION))
        auth.create_user(db=db, actor=BENCH, data=UserIn(
            email=EMAIL, name="Bench", role=Role.COORDINATOR, org="LT", password=PASSWORD))
    settings = Settings(database_url=url, data_dir=folder / "data", embedded_worker=False,
                        secret_key="bench-secret-key", login_max_failures=1000,
                        audit_key=audit_key())
    app = create_app(settings, database=database)

    context = mp.get_context("spawn")
    stop, ready, results = context.Event(), context.Event(), context.Queue()
    process = context.Process(target=writer, args=(str(path), stop, ready, results))
    process.start()
    ready.wait(30)
    time.sleep(0.5)  # the writer's own warm-up

    sign_ins = []
    with TestClient(app) as client:
        started = time.perf_counter()
        for _ in range(args.sign_ins):
            client.cookies.clear()
            token = CSRF.search(client.get("/login").text)
            assert token is not None
            began = time.perf_counter()
            response = client.post("/login", follow_redirects=False, data={
                "csrf_token": token.group(1), "email": EMAIL, "password": PASSWORD})
            sign_ins.append(time.perf_counter() - began)
            assert response.status_code == 303, response.status_code
        ended = time.perf_counter()
    stop.set()
    timings = results.get(timeout=30)
    process.join(30)
    database.dispose()

    during = [waited for at, waited in timings if started <= at <= ended]
    blocked = [waited for waited in during if waited > 0]
    print(f"crrt from {Path(crrt.__file__).parent}")
    print(f"python {sys.version.split()[0]}; SQLite {sqlite3.sqlite_version}; "
          f"{args.sign_ins} sign-ins in {ended - started:.2f} s "
          f"(each {statistics.median(sign_ins) * 1000:.0f} ms median)")
    print(f"writer: {len(during)} writes during the sign-ins, {len(blocked)} found the lock "
          f"taken; longest wait {max(blocked, default=0) * 1000:.1f} ms, "
          f"{sum(blocked):.2f} s waited in all")


if __name__ == "__main__":
    main()
