"""Benchmark: correlation lookups against a store of a million indicators.

Prints figures; asserts nothing. ``.venv/bin/python bench/correlate.py [--count 1000000]
[--lookups 100000] [--backend sqlite|postgresql]``.

It fills a fresh database with ``--count`` indicator objects (60 % IPv4 addresses, 5 % IPv4
/24 networks, 25 % domains, 10 % SHA-256 hashes) and their index rows, written in bulk (this
measures correlation, not ingest: ingest validates each object and is the TAXII benchmark's
business), then times ``--lookups`` observables through crrt's correlation (the in-memory
index the API asks: an address in the store or inside a stored network, a subdomain of a
stored domain, a hash, and misses). Baselines in the same run: the same lookups' SQL form
(``correlate.matches``, one round trip or three a value, its index of ranges built for it:
the product's table has only the index of values) on a sample, and a bare Python dict
probe per value (the floor of any lookup in this language).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

from keyed import create_postgres, drop_postgres, migrated_database
from sqlalchemy import create_engine, insert

from crrt import parts
from crrt.access.enums import Tlp
from crrt.intel import correlate
from crrt.intel.models import IndexedValue, StixObject
from crrt.intel.observables import Kind

CREATED = "2026-11-27T10:00:00.000000Z"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def values(count: int, rng: random.Random) -> list[tuple[Kind, str]]:
    out: list[tuple[Kind, str]] = []
    for n in range(count):
        roll = n % 20
        if roll < 12:
            out.append((Kind.IPV4, f"{rng.randrange(1, 224)}.{rng.randrange(256)}."
                                   f"{rng.randrange(256)}.{rng.randrange(1, 255)}"))
        elif roll == 12:
            out.append((Kind.IPV4, f"{rng.randrange(1, 224)}.{rng.randrange(256)}."
                                   f"{rng.randrange(256)}.0/24"))
        elif roll < 18:
            out.append((Kind.DOMAIN, f"h{n}.{rng.choice(['evil', 'bad', 'c2', 'x'])}"
                                     f"{rng.randrange(50_000)}.example"))
        else:
            out.append((Kind.SHA256, hashlib.sha256(str(n).encode()).hexdigest()))
    return out


def fill(url: str, stored: list[tuple[Kind, str]]) -> tuple[float, int]:
    """The objects and their index rows, in bulk; (seconds, index rows)."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    started, indexed = time.perf_counter(), 0
    with engine.begin() as connection:
        for start in range(0, len(stored), 20_000):
            chunk = stored[start:start + 20_000]
            objects, rows = [], []
            for n, (kind, value) in enumerate(chunk, start=start + 1):
                stix_id = f"indicator--{n:08d}-0000-4000-8000-000000000000"
                objects.append({"id": n, "stix_id": stix_id, "type": "indicator",
                                "spec_version": "2.1", "created": CREATED,
                                "modified": CREATED, "version": CREATED,
                                "marking_refs": [], "tlp": Tlp.GREEN.value,
                                "body": {"id": stix_id}, "stored_at": None})
                rows += [{"object_id": n, "kind": e.kind, "value": e.value, "key": e.key}
                         for e in correlate.entries(kind, value)]
            for row in objects:
                del row["stored_at"]
            connection.execute(insert(StixObject), objects)
            connection.execute(insert(IndexedValue), rows)
            indexed += len(rows)
    engine.dispose()
    return time.perf_counter() - started, indexed


def sql_indexes(url: str) -> float:
    """The index of ranges the SQL form of the lookups needs (the product asks the in-memory
    index, so its table keeps only the index of values), built for the baseline only, after
    the load, and the table analysed; seconds."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE INDEX bench_values_key ON intel_values (kind, key)")
        connection.exec_driver_sql("ANALYZE intel_values")
    engine.dispose()
    return time.perf_counter() - started


def probes(stored: list[tuple[Kind, str]], count: int, rng: random.Random
           ) -> list[tuple[Kind, str]]:
    out: list[tuple[Kind, str]] = []
    for n in range(count):
        kind, value = stored[rng.randrange(len(stored))]
        roll = n % 10
        if roll < 4:
            out.append((kind, value))  # the same value
        elif roll < 6 and kind is Kind.IPV4 and value.endswith("/24"):
            out.append((Kind.IPV4, value[:-4] + f"{rng.randrange(1, 255)}"))  # inside
        elif roll < 8 and kind is Kind.DOMAIN:
            out.append((Kind.DOMAIN, f"login.{value}"))  # below a stored domain
        else:
            out.append((Kind.IPV4, f"{rng.randrange(224, 240)}.{rng.randrange(256)}."
                                   f"{rng.randrange(256)}.{rng.randrange(256)}"))  # a miss
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=100_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--sql-sample", type=int, default=2_000)
    args = parser.parse_args()
    parts.load()
    rng = random.Random(2026)
    folder = Path(tempfile.mkdtemp(prefix="crrt-correlate-"))
    name = f"crrt_bench_correlate_{os.getpid()}"
    url = f"sqlite:///{folder / 'bench.db'}" if args.backend == "sqlite" \
        else create_postgres(args.postgres, name)
    try:
        database = migrated_database(url)
        stored = values(args.count, rng)
        seconds, indexed = fill(url, stored)
        print(f"== {args.backend}; {os.cpu_count()} cores; python {sys.version.split()[0]}")
        print(f"stored {args.count:,} indicators and {indexed:,} index rows in {seconds:.1f} s "
              "(bulk, no validation)")
        asked = probes(stored, args.lookups, rng)
        print(f"(the SQL form's index of ranges, (kind, key), built for its baseline in "
              f"{sql_indexes(url):.1f} s)")
        with database.session(read_only=True) as db:
            started = time.perf_counter()
            memory = correlate.memory_of(db)
            print(f"in-memory index loaded from the table in {time.perf_counter() - started:.1f} s")
            latencies, hits = [], 0
            started = time.perf_counter()
            for kind, value in asked:
                at = time.perf_counter()
                hits += bool(memory.lookup(kind, value))
                latencies.append(time.perf_counter() - at)
            total = time.perf_counter() - started
            print(f"{args.lookups:,} lookups in {total:.2f} s ({args.lookups / total:,.0f}/s), "
                  f"p50 {percentile(latencies, 0.5) * 1e6:.0f} µs, "
                  f"p99 {percentile(latencies, 0.99) * 1e6:.0f} µs; {hits:,} with a hit "
                  f"(target: under 5 s)")
            sample = asked[:args.sql_sample]
            started = time.perf_counter()
            sql_hits = sum(bool(correlate.matches(db, kind, value)) for kind, value in sample)
            sql = time.perf_counter() - started
            same = sum(bool(memory.lookup(k, v)) for k, v in sample) == sql_hits
            print(f"baseline, the SQL form on {len(sample):,} of them: {sql:.2f} s "
                  f"({len(sample) / sql:,.0f}/s; {args.lookups / (len(sample) / sql):.0f} s "
                  f"for all), the same hits: {same}")
        plain = {value for _kind, value in stored}
        started = time.perf_counter()
        found = sum(1 for _kind, value in asked if value in plain)
        floor = time.perf_counter() - started
        print(f"ceiling, a bare dict probe a value (exact matches only, {found:,} found): "
              f"{floor:.3f} s")
        database.dispose()
    finally:
        if args.backend == "postgresql":
            drop_postgres(args.postgres, name)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
