"""Benchmark: the cost of one audit append and the speed of verifying the keyed chain.

Prints figures; asserts nothing. Run with
``.venv/bin/python bench/audit_chain.py [--events 5000] [--database URL]`` (from a checkout
whose crrt is not the installed one: ``PYTHONPATH=. python bench/audit_chain.py``). Without
``--database`` it builds a fresh SQLite file in a temporary folder; give an empty PostgreSQL
database otherwise. A throwaway audit key is used unless ``CRRT_AUDIT_KEY`` is set.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import statistics
import sys
import tempfile
import time
import timeit
from pathlib import Path

from crrt import parts
from crrt.access.principal import Principal
from crrt.audit import service as audit
from crrt.core import clock, migrations
from crrt.core.config import get_settings
from crrt.core.db import Database

BENCH = Principal.system("bench")
# What an expert's nomination records, personal fields hidden.
CHANGES = {"name": audit.PERSONAL, "email": audit.PERSONAL, "org": "EE",
           "skills": [None, ["incident_handling:2", "forensics:3"]],
           "clearance": [None, "SECRET UE"], "deployability": [None, ["remote", "on_site"]]}


def append(database: Database, count: int, per_transaction: int) -> tuple[float, float]:
    """Seconds per ``audit.record`` (elapsed, and this process's CPU), ``per_transaction``
    of them in each transaction."""
    started, cpu = time.perf_counter(), time.process_time()
    for first in range(0, count, per_transaction):
        with database.session() as db:
            for i in range(first, min(count, first + per_transaction)):
                audit.record(db=db, actor=BENCH, action="expert.nominate",
                             object_type="expert", object_id=f"{i:032x}", changes=CHANGES)
    return (time.perf_counter() - started) / count, (time.process_time() - cpu) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--database", default=None)
    parser.add_argument("--repeat", type=int, default=5, help="verifications to time")
    args = parser.parse_args()
    os.environ.setdefault("CRRT_AUDIT_KEY", secrets.token_urlsafe(48))
    url = args.database or f"sqlite:///{Path(tempfile.mkdtemp(prefix='crrt-bench-'))}/a.db"
    print(f"database: {url.split('@')[-1]}; {os.cpu_count()} cores; "
          f"python {sys.version.split()[0]}")
    parts.load()
    migrations.upgrade(url)
    database = audit.bind_key(Database(url), get_settings().resolved_audit_key())

    batched, batched_cpu = append(database, args.events, per_transaction=100)
    alone, alone_cpu = append(database, 300, per_transaction=1)
    print(f"audit.record, 100 to a transaction: {batched * 1e6:,.0f} us each "
          f"({batched_cpu * 1e6:,.0f} us CPU); each in its own transaction, commit included: "
          f"{alone * 1e6:,.0f} us ({alone_cpu * 1e6:,.0f} us CPU)")

    seal = audit.Seal(get_settings().resolved_audit_key())
    fields = {"seq": 1, "at": clock.now(), "actor": BENCH.actor, "action": "expert.nominate",
              "object_type": "expert", "object_id": "0" * 32, "changes": CHANGES,
              "prev_hash": "0" * 64}
    runs = 20000
    # CPU time, best of five: on a shared machine elapsed time measures the neighbours.
    clock_cpu = time.process_time

    def best(fn: object) -> float:
        timer = timeit.Timer(fn, timer=clock_cpu)  # type: ignore[arg-type]
        return min(timer.repeat(repeat=5, number=runs)) / runs

    keyed = best(lambda: seal.event(**fields))

    def unkeyed() -> str:  # the same work as before: the body, its JSON, SHA-256
        body = {**fields, "at": fields["at"].isoformat()}  # type: ignore[attr-defined]
        return hashlib.sha256(audit.canonical(body).encode()).hexdigest()

    plain = best(unkeyed)
    head = best(lambda: seal.head(1, "0" * 64))
    print(f"hashing one event: HMAC-SHA256 {keyed * 1e6:.1f} us, plain SHA-256 (before) "
          f"{plain * 1e6:.1f} us; the head's MAC {head * 1e6:.1f} us (twice per append)")

    timings, cpu, events = [], [], 0
    for _ in range(args.repeat):
        with database.session(read_only=True) as db:
            started, used = time.perf_counter(), time.process_time()
            result = audit.verify(db=db)
            timings.append(time.perf_counter() - started)
            cpu.append(time.process_time() - used)
        assert result.ok, result.reason
        events = result.events
    median = statistics.median(timings)
    print(f"audit verify: {events} events, median {median:.3f} s ({events / median:,.0f} "
          f"events/s); best CPU {min(cpu):.3f} s ({events / min(cpu):,.0f} events/s of CPU)")
    database.dispose()


if __name__ == "__main__":
    main()
