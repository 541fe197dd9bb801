"""Benchmark: API reads, spreadsheet import and audit verification on a realistic pool.

Prints figures; asserts nothing. Run with ``make bench`` or
``.venv/bin/python bench/api_reads.py [--experts 5000] [--requests 2000] [--database URL]``.
Without ``--database`` it builds a fresh SQLite file in a temporary folder.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from crrt import parts
from crrt.access.principal import Principal
from crrt.audit import service as audit
from crrt.auth import service as auth
from crrt.auth.schemas import TokenIn
from crrt.core import migrations
from crrt.core.config import get_settings
from crrt.core.db import Database
from crrt.demo.load import load
from crrt.experts import importer
from crrt.experts.enums import Skill

BENCH = Principal.system("bench")
FIRST = ["Ana", "Jonas", "Marta", "Pieter", "Ioana", "Mikko", "Luka", "Zofia", "Claire", "Tiit"]
LAST = ["Kask", "Novak", "Garcia", "de Vries", "Popescu", "Virtanen", "Kowalska", "Martin"]
NATIONS = ["LT", "EE", "ES", "HR", "PL", "NL", "FR", "RO", "FI"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pool_csv(count: int, start: int, rng: random.Random) -> bytes:
    """``count`` experts of one nation as an import spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["name", "email", "skills", "languages", "clearance", "deployability",
                     "time_zone"])
    skills = list(Skill)
    for n in range(start, start + count):
        chosen = rng.sample(skills, rng.randint(1, 4))
        writer.writerow([f"{rng.choice(FIRST)} {rng.choice(LAST)}", f"bench{n}@pool.example",
                         "; ".join(f"{s.value}:{rng.randint(1, 3)}" for s in chosen), "en",
                         rng.choice(["none", "RESTREINT UE", "CONFIDENTIEL UE", "SECRET UE"]),
                         rng.choice(["remote", "remote; on_site"]), "Europe/Vilnius"])
    return out.getvalue().encode()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def hammer(base: str, token: str, paths: list[str], requests: int, threads: int) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    local = threading.local()

    def one(i: int) -> float:
        if not hasattr(local, "client"):  # one keep-alive connection per client thread
            local.client = httpx.Client(base_url=base, headers=headers, timeout=30)
        started = time.perf_counter()
        response = local.client.get(paths[i % len(paths)])
        response.raise_for_status()
        return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        latencies = list(pool.map(one, range(requests)))
    elapsed = time.perf_counter() - started
    print(f"  {requests} GETs, {threads} client threads: {requests / elapsed:,.0f} req/s, "
          f"p50 {statistics.median(latencies) * 1000:.1f} ms, "
          f"p95 {percentile(latencies, 0.95) * 1000:.1f} ms, "
          f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--experts", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--database", default=None)
    args = parser.parse_args()
    rng = random.Random(7)

    folder = Path(tempfile.mkdtemp(prefix="crrt-bench-"))
    # A throwaway audit key for a throwaway database, shared with the server started below.
    os.environ.setdefault("CRRT_AUDIT_KEY", secrets.token_urlsafe(48))
    url = args.database or f"sqlite:///{folder / 'bench.db'}"
    print(f"database: {url.split('@')[-1]}; {os.cpu_count()} cores; "
          f"python {sys.version.split()[0]}")
    parts.load()
    migrations.upgrade(url)
    database = audit.bind_key(Database(url), get_settings().resolved_audit_key())
    with database.session() as db:
        load(db)

    per_nation = max(1, args.experts // len(NATIONS))
    started = time.perf_counter()
    for i, nation in enumerate(NATIONS):
        with database.session() as db:
            report = importer.import_experts(db=db, actor=BENCH, org=nation,
                                             filename="pool.csv",
                                             content=pool_csv(per_nation, i * per_nation, rng),
                                             dry_run=False)
            assert report.applied, report.rejected[:3]
    elapsed = time.perf_counter() - started
    total = per_nation * len(NATIONS)
    print(f"import: {total} experts in {len(NATIONS)} spreadsheets, {elapsed:.1f} s "
          f"({total / elapsed:,.0f} rows/s)")

    with database.session() as db:
        started = time.perf_counter()
        result = audit.verify(db=db)
        elapsed = time.perf_counter() - started
        print(f"audit verify: {result.events} events in {elapsed:.2f} s "
              f"({result.events / elapsed:,.0f} events/s), ok={result.ok}")
        user = auth.find_by_email(db=db, actor=BENCH, email="coordinator@crrt.example")
        assert user is not None
        _token, token = auth.create_token(db=db, actor=BENCH, user=user, data=TokenIn(name="bench"))
    database.dispose()

    port = free_port()
    env = {**os.environ, "CRRT_DATABASE_URL": url, "CRRT_DATA_DIR": str(folder)}
    server = subprocess.Popen(  # noqa: S603 - our own command line
        [sys.executable, "-m", "crrt", "serve", "--port", str(port),
         "--workers", str(args.workers)], env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        print(f"server: crrt serve --workers {args.workers}")
        scenarios = {
            "health": ["/api/v1/health"],
            "expert list, 50 a page": ["/api/v1/experts?limit=50"],
            "expert search (skill, level, language, availability)": [
                f"/api/v1/experts?skill={s.value}&min_level=2&language=en"
                f"&available_on=2027-01-15&limit=50" for s in Skill],
            "one expert": [f"/api/v1/experts/{n}" for n in range(1, 60)],
            "organisations": ["/api/v1/organisations"],
        }
        for name, paths in scenarios.items():
            print(f"{name}:")
            hammer(base, token, paths, args.requests, args.threads)
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
