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
import statistics
import sys
import tempfile
import threading
import time
import timeit
from pathlib import Path

from keyed import migrated_database
from sqlalchemy import Column, MetaData, Table, insert, select

from crrt import parts
from crrt.access.principal import Principal
from crrt.audit import service as audit
from crrt.audit.models import AuditEvent, AuditHead
from crrt.core import clock
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


def unchained(database: Database, count: int) -> tuple[float, float]:
    """Seconds per row inserting the same rows into a copy of the table without the chain:
    what the database costs on its own."""
    table = Table("bench_unchained_events", MetaData(),  # the same columns and indexes
                  *(Column(c.name, c.type, primary_key=c.primary_key, unique=c.unique,
                           index=c.index) for c in AuditEvent.__table__.columns))
    table.create(database.engine)
    rows = [{"seq": i, "at": clock.now(), "actor": BENCH.actor, "action": "expert.nominate",
             "object_type": "expert", "object_id": f"{i:032x}", "changes": CHANGES,
             "prev_hash": "0" * 64, "hash": f"{i:064x}"} for i in range(count)]
    try:
        started, cpu = time.perf_counter(), time.process_time()
        for first in range(0, count, 1000):
            with database.engine.begin() as connection:
                connection.execute(insert(table), rows[first:first + 1000])
        return (time.perf_counter() - started) / count, (time.process_time() - cpu) / count
    finally:
        table.drop(database.engine)


def side_by_side(database: Database, *, writers: int, work: float, seconds: float,
                 head_first: bool) -> float:
    """Transactions per second of ``writers`` threads each recording one event and doing
    ``work`` seconds of other work in the same transaction; ``head_first`` locks the head at
    the first event, as every append did before events were sealed at commit."""
    stop = time.perf_counter() + seconds
    done = [0] * writers

    def write(slot: int) -> None:
        while time.perf_counter() < stop:
            with database.session() as db:
                if head_first:
                    db.execute(select(AuditHead.id).with_for_update())
                audit.record(db=db, actor=BENCH, action="expert.update", object_type="expert",
                             object_id=f"{slot:032x}", changes=CHANGES)
                time.sleep(work)
            done[slot] += 1

    threads = [threading.Thread(target=write, args=(slot,)) for slot in range(writers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--database", default=None)
    parser.add_argument("--repeat", type=int, default=5, help="verifications to time")
    parser.add_argument("--writers", type=int, default=8, help="PostgreSQL: writers at once")
    parser.add_argument("--work-ms", type=int, default=10,
                        help="PostgreSQL: other work in each writer's transaction")
    args = parser.parse_args()
    url = args.database or f"sqlite:///{Path(tempfile.mkdtemp(prefix='crrt-bench-'))}/a.db"
    print(f"database: {url.split('@')[-1]}; {os.cpu_count()} cores; "
          f"python {sys.version.split()[0]}")
    parts.load()
    database = migrated_database(url)

    plain, plain_cpu = unchained(database, args.events)
    print(f"baseline, the same rows inserted unchained, 1,000 to a transaction: "
          f"{plain * 1e6:,.0f} us each ({plain_cpu * 1e6:,.0f} us CPU)")
    for size in (1000, 100):
        each, each_cpu = append(database, args.events, per_transaction=size)
        print(f"audit.record, {size:,} to a transaction: {each * 1e6:,.0f} us each "
              f"({each_cpu * 1e6:,.0f} us CPU): {1 / each:,.0f} events/s, "
              f"{each / plain:.1f}x the baseline")
    alone, alone_cpu = append(database, 300, per_transaction=1)
    print(f"audit.record, each in its own transaction, commit included: "
          f"{alone * 1e6:,.0f} us ({alone_cpu * 1e6:,.0f} us CPU)")
    if database.engine.dialect.name == "postgresql":  # SQLite runs one writer at a time
        for early in (True, False):
            rate = side_by_side(database, writers=args.writers, work=args.work_ms / 1000,
                                seconds=3.0, head_first=early)
            print(f"{args.writers} writers, {args.work_ms} ms of work in each transaction, "
                  f"head held {'from the first event (before)' if early else 'only at commit'}"
                  f": {rate:,.0f} transactions/s")

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
