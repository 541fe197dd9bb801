"""Benchmark: hostile JSON bodies against a real ``crrt serve``, and health meanwhile.

An observer (any signed-in role will do) sends a ``PATCH`` of an expert whose body holds an
840 KB list of languages: validation runs before the permission check. Prints how long it
takes and how large the answer is, alone and from three clients sending it back to back,
and the health check's latency before and meanwhile. Asserts nothing.

Run with ``.venv/bin/python bench/hostile_input.py [--database URL] [--source DIR]``; without
``--database`` it builds a SQLite file in a temporary folder. ``--source`` serves the crrt of
another checkout (the same schema), to compare before and after a change.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from keyed import migrated_database

from crrt import parts
from crrt.access.principal import Principal
from crrt.auth import service as auth
from crrt.auth.schemas import TokenIn
from crrt.demo.load import load
from crrt.experts import service as experts
from crrt.experts.schemas import ExpertFilter

BENCH = Principal.system("bench")
ITEMS = 140_000  # '"xx", ' is 6 bytes: 840 KB, under the 1 MiB body limit
HEALTH = "/api/v1/health"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed(url: str) -> tuple[str, str]:
    """The demo data; returns an observer's token and an expert's id."""
    parts.load()
    database = migrated_database(url)
    try:
        with database.session() as db:
            load(db)
            observer = auth.find_by_email(db=db, actor=BENCH, email="observer@crrt.example")
            assert observer is not None
            _token, token = auth.create_token(db=db, actor=BENCH, user=observer,
                                              data=TokenIn(name="bench"))
            found, _next = experts.list_experts(db=db, actor=BENCH, filters=ExpertFilter(),
                                                limit=1, cursor=None)
            return token, str(found[0].public_id)
    finally:
        database.dispose()


def hostile(base: str, token: str, expert: str, body: bytes) -> tuple[float, int, int]:
    started = time.perf_counter()
    response = httpx.patch(f"{base}/api/v1/experts/{expert}", content=body, timeout=120,
                           headers={"Authorization": f"Bearer {token}",
                                    "Content-Type": "application/json"})
    return time.perf_counter() - started, response.status_code, len(response.content)


def health_latencies(base: str, stop: threading.Event, out: list[float]) -> None:
    with httpx.Client(base_url=base, timeout=120) as client:
        while not stop.is_set():
            started = time.perf_counter()
            client.get(HEALTH).raise_for_status()
            out.append(time.perf_counter() - started)
            time.sleep(0.05)


def describe(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    return (f"{len(ordered)} checks, p50 {statistics.median(ordered) * 1000:.1f} ms, "
            f"max {ordered[-1] * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", default=None)
    parser.add_argument("--source", default=str(Path(__file__).resolve().parents[1]))
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="crrt-hostile-"))
    url = args.database or f"sqlite:///{folder / 'bench.db'}"
    print(f"database: {url.split('@')[-1]}; {os.cpu_count()} cores; serving {args.source}")
    token, expert = seed(url)
    body = json.dumps({"languages": ["xx"] * ITEMS}).encode()
    print(f"body: {len(body):,} bytes, {ITEMS:,} languages")

    port = free_port()
    env = {**os.environ, "CRRT_DATABASE_URL": url, "CRRT_DATA_DIR": str(folder)}
    server = subprocess.Popen(  # noqa: S603 - our own command line
        [sys.executable, "-m", "crrt", "serve", "--port", str(port)], env=env,
        cwd=args.source, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}{HEALTH}", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        quiet: list[float] = []
        stop = threading.Event()
        probe = threading.Thread(target=health_latencies, args=(base, stop, quiet))
        probe.start()
        time.sleep(2)
        stop.set()
        probe.join()
        print(f"health, idle: {describe(quiet)}")

        seconds, status, size = hostile(base, token, expert, body)
        print(f"one hostile PATCH: {status} in {seconds:.2f} s, answer {size:,} bytes")
        keys = json.dumps({f"f{n}": 0 for n in range(70_000)}).encode()
        seconds, status, size = hostile(base, token, expert, keys)
        print(f"one PATCH of 70,000 unknown fields ({len(keys):,} bytes): {status} in "
              f"{seconds:.2f} s, answer {size:,} bytes")

        during: list[float] = []
        answers: list[tuple[float, int, int]] = []
        stop = threading.Event()

        def attacker() -> None:
            while not stop.is_set():
                answers.append(hostile(base, token, expert, body))

        threads = [threading.Thread(target=health_latencies, args=(base, stop, during)),
                   *(threading.Thread(target=attacker) for _ in range(3))]
        for thread in threads:
            thread.start()
        time.sleep(args.seconds)
        stop.set()
        for thread in threads:
            thread.join()
        times = sorted(t for t, _s, _n in answers)
        print(f"three clients sending it back to back for {args.seconds:.0f} s: "
              f"{len(answers)} answers, statuses {sorted({s for _t, s, _n in answers})}, "
              f"p50 {statistics.median(times):.2f} s, max {times[-1]:.2f} s, "
              f"largest answer {max(n for _t, _s, n in answers):,} bytes")
        print(f"health meanwhile: {describe(during)}")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
