"""Benchmark: API reads, spreadsheet import and audit verification on a realistic pool.

Prints figures; asserts nothing. Run with ``make bench`` or
``.venv/bin/python bench/api_reads.py [--experts 5000] [--requests 2000] [--database URL]``.
Without ``--database`` it builds a fresh SQLite file in a temporary folder.

The expert list is measured against a baseline in the same run: a bare Starlette route that
serves the byte-identical page from one SQL query with orjson (``bench/baseline.py``). Both
run under uvicorn alike, and the figure is the server's CPU per request, one request at a time.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
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
from keyed import migrated_database

from crrt import parts
from crrt.access.principal import Principal
from crrt.audit import service as audit
from crrt.auth import service as auth
from crrt.auth.schemas import TokenIn
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


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process and its children so far (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for one in pids:
        fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def per_request(base: str, headers: dict[str, str], path: str, pid: int,
                requests: int) -> tuple[float, float]:
    """Server CPU milliseconds per request, and requests per second, one request at a time
    (so the server's CPU is all its own work for these requests)."""
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        for _ in range(20):  # warm up: statements compiled, pools filled
            client.get(path).raise_for_status()
        before, started = cpu_seconds(pid), time.perf_counter()
        for _ in range(requests):
            client.get(path).raise_for_status()
        elapsed, used = time.perf_counter() - started, cpu_seconds(pid) - before
    return used / requests * 1000, requests / elapsed


def hammer(base: str, token: str, paths: list[str], requests: int, threads: int) -> str:
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
    return (f"{requests / elapsed:,.0f} req/s with {threads} client threads, "
            f"p50 {statistics.median(latencies) * 1000:.1f} ms, "
            f"p95 {percentile(latencies, 0.95) * 1000:.1f} ms, "
            f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms")


def start(command: list[str], env: dict[str, str], ready: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,  # noqa: S603
                               stderr=subprocess.DEVNULL)
    for _ in range(150):
        try:
            if httpx.get(ready, timeout=1).status_code < 500:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit(f"the server behind {ready} did not start")


def analyse(url: str) -> None:
    """Fresh planner statistics (autovacuum may be off, and SQLite keeps none until asked)."""
    database = Database(url)
    with database.engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
        connection.commit()
    database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--experts", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--database", default=None)
    args = parser.parse_args()
    rng = random.Random(7)

    folder = Path(tempfile.mkdtemp(prefix="crrt-bench-"))
    url = args.database or f"sqlite:///{folder / 'bench.db'}"
    print(f"database: {url.split('@')[-1]}; {os.cpu_count()} cores; "
          f"python {sys.version.split()[0]}")
    parts.load()
    database = migrated_database(url)
    with database.session() as db:
        load(db)

    per_nation = max(1, args.experts // len(NATIONS))
    started = time.perf_counter()
    for i, nation in enumerate(NATIONS):
        report = importer.import_experts(database=database, actor=BENCH, org=nation,
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
    analyse(url)

    env = {**os.environ, "CRRT_DATABASE_URL": url, "CRRT_DATA_DIR": str(folder),
           "CRRT_EMBEDDED_WORKER": "false"}
    port, bare_port = free_port(), free_port()
    base, bare = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{bare_port}"
    # Both servers run under uvicorn alike: one process, no access log.
    server = start([sys.executable, "-m", "uvicorn", "crrt.api:create_app", "--factory",
                    "--port", str(port), "--workers", str(args.workers), "--no-access-log",
                    "--log-level", "warning"], env, f"{base}/api/v1/health")
    baseline = start([sys.executable, str(Path(__file__).with_name("baseline.py")),
                      "--database", url, "--port", str(bare_port)], env, f"{bare}/experts")
    headers = {"Authorization": f"Bearer {token}"}
    try:
        ours = httpx.get(f"{base}/api/v1/experts?limit=50", headers=headers).content
        theirs = httpx.get(f"{bare}/experts").content
        print(f"the expert list, crrt and the bare baseline: "
              f"{'byte-identical' if ours == theirs else 'DIFFERENT'} ({len(ours):,} bytes)")
        items = httpx.get(f"{base}/api/v1/experts?limit=60", headers=headers).json()["items"]
        measured = args.requests // 4
        print(f"\nserver CPU per request ({args.rounds} rounds of {measured} requests each, "
              "one at a time, crrt and the baseline taking turns; medians):")
        # Turns, not one long run each: a machine whose speed drifts (other tenants, clock
        # scaling) then slows both sides alike, and the ratio stays the code's.
        ours_ms, bare_ms, ratios = [], [], []
        for _ in range(args.rounds):
            crrt_ms, _rate = per_request(base, headers, "/api/v1/experts?limit=50",
                                         server.pid, measured)
            plain_ms, _rate = per_request(bare, {}, "/experts", baseline.pid, measured)
            ours_ms.append(crrt_ms)
            bare_ms.append(plain_ms)
            ratios.append(crrt_ms / plain_ms)
        print(f"  expert list, 50 a page: crrt {statistics.median(ours_ms):.2f} ms "
              f"({1000 / statistics.median(ours_ms):,.0f} req/s of CPU); bare baseline "
              f"{statistics.median(bare_ms):.2f} ms "
              f"({1000 / statistics.median(bare_ms):,.0f} req/s of CPU); "
              f"ratio {statistics.median(ratios):.2f} "
              f"(rounds {min(ratios):.2f} to {max(ratios):.2f})")
        for name, path in (("health", "/api/v1/health"),
                           ("one expert", f"/api/v1/experts/{items[0]['id']}"),
                           ("organisations", "/api/v1/organisations")):
            ms, rate = per_request(base, headers, path, server.pid, measured)
            print(f"  {name}: crrt {ms:.2f} ms ({rate:,.0f} req/s)")
        print(f"\nunder load (crrt --workers {args.workers}):")
        scenarios = {
            "health": ["/api/v1/health"],
            "expert list, 50 a page": ["/api/v1/experts?limit=50"],
            "expert search (skill, level, language, availability)": [
                f"/api/v1/experts?skill={s.value}&min_level=2&language=en"
                f"&available_on=2027-01-15&limit=50" for s in Skill],
            "one expert": [f"/api/v1/experts/{e['id']}" for e in items],
            "organisations": ["/api/v1/organisations"],
        }
        for name, paths in scenarios.items():
            print(f"  {name}: {hammer(base, token, paths, args.requests, args.threads)}")
    finally:
        for process in (server, baseline):
            process.terminate()
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
