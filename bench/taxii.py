"""Benchmark: crrt's TAXII 2.1 server beside OASIS's reference server, medallion.

Prints figures; asserts nothing. ``.venv/bin/python bench/taxii.py [--objects 20000]
[--envelope 500] [--page 1000] [--backend sqlite|postgresql|both]``.

Both servers run on loopback as their own processes: ``crrt serve`` on a fresh database, and
medallion (from PyPI) with its memory backend. One client (httpx, a connection kept, its
JSON by orjson: the client's own work is not what is measured) does the same on each: it
adds ``--objects`` indicators (TLP:GREEN, valid patterns) in envelopes of ``--envelope``,
reads them all back a page of ``--page`` at a time, then reads with
``match[type]=indicator`` and ``added_after`` the middle of the ingest. It prints objects a
second for each phase and each server, and crrt's ratio to medallion. Medallion's memory
backend compares every new object with every stored one and copies the collection for each
page, so each of its phases stops after ``--medallion-budget`` seconds (120): its rate is then
what it did in that time, an upper bound (it only slows as it fills). The ceiling, in the same
run: the same objects inserted and read back by plain SQL on the same database (one table of
JSON text, no HTTP, no validation), and crrt's fraction of it; and that read once more with
each object parsed, as the HTTP client holds them, for comparison. And the HTTP floor
(bench/taxii_floor.py): the same pages, built beforehand, from a bare ASGI app under uvicorn,
read by the same client; with the ceiling's own read added, it bounds what any server of
these pages over HTTP could reach, and crrt's fraction of that bound is printed too. Each read
of crrt, the ceiling and the floor is the best of ``--rounds`` (3): noise only slows a run.
Before each measured part the client freezes what it holds out of its garbage collector.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from keyed import audit_key, create_postgres, drop_postgres, free_port, migrated_database
from sqlalchemy import create_engine, text

from crrt import parts
from crrt.access.enums import Role
from crrt.access.principal import Principal
from crrt.auth import service as auth
from crrt.auth.schemas import TokenIn, UserIn
from crrt.intel import service as intel
from crrt.intel.schemas import CollectionIn
from crrt.organisations import service as organisations
from crrt.organisations.enums import Membership, OrgKind
from crrt.organisations.schemas import OrganisationIn

TAXII = "application/taxii+json;version=2.1"
GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
BENCH = Principal.system("bench")


def indicators(count: int) -> list[dict[str, Any]]:
    return [{"type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}",
             "created": "2026-11-27T10:00:00.000Z", "modified": "2026-11-27T10:00:00.000Z",
             "name": f"Scanner {n}", "indicator_types": ["malicious-activity"],
             "pattern": f"[ipv4-addr:value = '10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}']",
             "pattern_type": "stix", "valid_from": "2026-11-27T10:00:00Z",
             "object_marking_refs": [GREEN]} for n in range(count)]


def quiet_collector() -> None:
    """Take everything this client holds (the objects it sends, the modules it loaded) out of
    its garbage collector's full passes: each walked them all, 100 ms every few dozen
    requests, and the pause counted against whichever server was being read."""
    gc.collect()
    gc.freeze()


def wait_up(url: str, process: subprocess.Popen[bytes], headers: dict[str, str]) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise SystemExit(f"the server at {url} did not start")
        try:
            if httpx.get(url, headers=headers, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"the server at {url} did not answer")


def run_phases(client: httpx.Client, objects_url: str, sent: list[dict[str, Any]],
               envelope: int, page: int, budget: float | None = None, rounds: int = 1
               ) -> dict[str, float]:
    """Ingest, read everything, read filtered: objects a second for each. With a ``budget``
    (seconds), a phase stops when it is spent, and its rate is what was done by then (an
    upper bound for a server that slows as it fills)."""
    out: dict[str, float] = {}
    started, middle, added = time.perf_counter(), "", 0
    for start in range(0, len(sent), envelope):
        if budget and time.perf_counter() - started > budget:
            out["ingest: cut"] = 1
            break
        if not middle and start >= len(sent) // 2:  # the filter's added_after: this moment
            middle = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        chunk = sent[start:start + envelope]
        answer = client.post(objects_url, content=orjson.dumps({"objects": chunk}),
                             headers={"Content-Type": TAXII, "Accept": TAXII})
        answer.raise_for_status()
        if orjson.loads(answer.content).get("success_count") != len(chunk):
            raise SystemExit(f"not all added: {answer.text[:300]}")
        added += len(chunk)
    out["ingest"] = added / (time.perf_counter() - started)
    out["ingest: objects"] = added

    for name, params in (("read all", {}), ("filtered", {
            "match[type]": "indicator", "added_after": middle or "2000-01-01T00:00:00Z"})):
        out |= best(rounds, lambda p=params, n=name: read_all(client, objects_url, p, n, page,
                                                              budget), name)
    return out


def best(rounds: int, run: Any, name: str) -> dict[str, float]:
    """The fastest of ``rounds`` runs: the machine's noise only ever slows one."""
    return max((run() for _ in range(rounds)), key=lambda out: out[name])


def read_all(client: httpx.Client, objects_url: str, params: dict[str, str], name: str,
             page: int, budget: float | None = None) -> dict[str, float]:
    """Every page, following ``next`` while ``more``: objects a second, and how many."""
    out: dict[str, float] = {}
    seen, more, following = 0, True, None
    began = time.perf_counter()
    while more:
        if budget and time.perf_counter() - began > budget:
            out[f"{name}: cut"] = 1
            break
        try:
            answer = client.get(objects_url, params=params | {"limit": str(page)} | (
                {"next": following} if following else {}), headers={"Accept": TAXII})
        except httpx.TimeoutException:  # a page longer than the whole budget
            out[f"{name}: cut"] = 1
            break
        answer.raise_for_status()
        body = orjson.loads(answer.content)
        seen += len(body.get("objects", []))
        more, following = body.get("more", False), body.get("next")
    out[name] = seen / (time.perf_counter() - began)
    out[f"{name}: objects"] = seen
    return out


def floor(folder: Path, sent: list[dict[str, Any]], page: int, rounds: int) -> float:
    """The HTTP floor (bench/taxii_floor.py): the same pages from a bare ASGI app under
    uvicorn, read by the same client: objects a second."""
    source = folder / "floor.json"
    source.write_text(json.dumps(sent))
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - our own command line
        [sys.executable, str(Path(__file__).with_name("taxii_floor.py")), str(port),
         str(source), str(page)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        wait_up(f"http://127.0.0.1:{port}/", process, {})
        with httpx.Client(timeout=60) as client:
            return best(rounds, lambda: read_all(client, f"http://127.0.0.1:{port}/", {},
                                                 "floor", page), "floor")["floor"]
    finally:
        stop(process)


def medallion(folder: Path, objects: int, page: int) -> tuple[subprocess.Popen[bytes], str,
                                                                   tuple[str, str]]:
    port = free_port()
    collection = str(uuid.uuid4())
    data = {"/discovery": {"title": "medallion", "default": f"http://127.0.0.1:{port}/bench/",
                           "api_roots": [f"http://127.0.0.1:{port}/bench/"]},
            "bench": {"information": {"title": "bench", "versions": [TAXII],
                                      "max_content_length": 100_000_000},
                      "status": [], "collections": [{
                          "id": collection, "title": "Bench", "can_read": True,
                          "can_write": True, "media_types": [TAXII], "objects": [],
                          "manifest": []}]}}
    (folder / "data.json").write_text(json.dumps(data))
    config = {"backend": {"module": "medallion.backends.memory_backend",
                          "module_class": "MemoryBackend",
                          "filename": str(folder / "data.json")},
              "users": {"bench": "bench"}, "taxii": {"max_page_size": max(page, 100)}}
    (folder / "medallion.json").write_text(json.dumps(config))
    log = (folder / "medallion.log").open("wb")
    process = subprocess.Popen(  # noqa: S603 - our own command line
        [str(Path(sys.executable).parent / "medallion"), "--port", str(port),
         str(folder / "medallion.json")], stdout=log, stderr=subprocess.STDOUT)
    return process, f"http://127.0.0.1:{port}/bench/collections/{collection}/objects/", (
        "bench", "bench")


def seed(url: str) -> tuple[str, uuid.UUID]:
    """The database at ``url`` migrated, with Estonia, its POC's API token (the secret) and
    a collection Estonia writes to, TLP:GREEN (its id)."""
    parts.load()
    database = migrated_database(url)
    with database.session() as db:
        organisations.create(db=db, actor=BENCH, data=OrganisationIn(
            code="EE", name="Estonia", kind=OrgKind.NATION, membership=Membership.PARTICIPANT))
        user = auth.create_user(db=db, actor=BENCH, data=UserIn(
            email="poc@ee.bench.example", name="Poc", role=Role.NATIONAL_POC, org="EE"))
        _token, secret = auth.create_token(db=db, actor=BENCH, user=user,
                                           data=TokenIn(name="bench"))
    with database.session() as db:
        coordinator = Principal(user_id=None, email="bench@crrt", name="bench",
                                role=Role.COORDINATOR, org_id=None, org_code=None)
        collection = intel.create_collection(db=db, actor=coordinator, data=CollectionIn(
            title="Bench", members=["EE"], max_tlp="green")).public_id
    database.dispose()
    return secret, collection


def crrt_server(url: str, folder: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    secret, collection = seed(url)
    port = free_port()
    env = {**os.environ, "CRRT_DATABASE_URL": url, "CRRT_DATA_DIR": str(folder),
           "CRRT_SECRET_KEY": secrets.token_urlsafe(32), "CRRT_AUDIT_KEY": audit_key(),
           "CRRT_EMBEDDED_WORKER": "false"}
    log = (folder / "serve.log").open("wb")
    process = subprocess.Popen(  # noqa: S603 - our own command line
        [sys.executable, "-m", "crrt", "serve", "--port", str(port)], env=env, stdout=log,
        stderr=subprocess.STDOUT)
    return process, f"http://127.0.0.1:{port}/taxii2/crrt/collections/{collection}/objects/", \
        secret


def ceiling(url: str, sent: list[dict[str, Any]], page: int, rounds: int) -> dict[str, float]:
    """The same objects by plain SQL on the same database: a table of JSON text."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    rows = [{"body": json.dumps(o)} for o in sent]
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE bench_ceiling (id INTEGER PRIMARY KEY, "
                                "body TEXT NOT NULL)") if url.startswith("sqlite") else
                           text("CREATE TABLE bench_ceiling (id SERIAL PRIMARY KEY, "
                                "body TEXT NOT NULL)"))
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO bench_ceiling (body) VALUES (:body)"), rows)
    ingest = len(sent) / (time.perf_counter() - started)

    def read(name: str = "read all", parse: bool = False) -> dict[str, float]:
        started, after, seen = time.perf_counter(), 0, 0
        with engine.connect() as connection:
            while True:
                got = connection.execute(text("SELECT id, body FROM bench_ceiling "
                                              "WHERE id > :after ORDER BY id LIMIT :page"),
                                         {"after": after, "page": page}).all()
                if not got:
                    break
                if parse:  # the objects themselves, as the HTTP client ends up holding them
                    seen += len([orjson.loads(r[1]) for r in got])
                else:
                    seen += sum(1 for r in got if r[1])
                after = got[-1][0]
        return {name: seen / (time.perf_counter() - started)}

    out = {"ingest": ingest} | best(rounds, read, "read all") | best(
        rounds, lambda: read("parsed", parse=True), "parsed")
    engine.dispose()
    return out


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def run_backend(backend: str, args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="crrt-taxii-"))
    keep = args.keep
    name = f"crrt_bench_taxii_{os.getpid()}"
    url = f"sqlite:///{folder / 'bench.db'}" if backend == "sqlite" \
        else create_postgres(args.postgres, name)
    running: list[subprocess.Popen[bytes]] = []
    try:
        sent = indicators(args.objects)
        crrt_process, crrt_objects, token = crrt_server(url, folder)
        running.append(crrt_process)
        med_process, med_objects, med_auth = medallion(folder, args.objects, args.page)
        running.append(med_process)
        wait_up(crrt_objects, crrt_process, {"Authorization": f"Bearer {token}",
                                             "Accept": TAXII})
        wait_up(med_objects.split("/collections/")[0] + "/", med_process, {"Accept": TAXII})
        print(f"\n== {backend}; {os.cpu_count()} cores; python {sys.version.split()[0]}; "
              f"{args.objects:,} indicators in envelopes of {args.envelope}, pages of "
              f"{args.page}")
        quiet_collector()
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=600) as c:
            ours = run_phases(c, crrt_objects, sent, args.envelope, args.page,
                              rounds=args.rounds)
        theirs_sent = indicators(args.objects)
        quiet_collector()
        with httpx.Client(auth=med_auth, timeout=args.medallion_budget) as c:
            theirs = run_phases(c, med_objects, theirs_sent, args.envelope,
                                args.page, budget=args.medallion_budget)
        stop(med_process)  # it may still be working on a page cut short: the rest needs quiet
        quiet_collector()
        top = ceiling(url, sent, args.page, args.rounds)
        for phase in ("ingest", "read all", "filtered"):
            if theirs[phase] > 0:
                versus = (f"medallion {theirs[phase]:9,.0f}/s   crrt/medallion "
                          f"{ours[phase] / theirs[phase]:6.1f}x")
            else:  # not one page within the budget: at most a page in that time
                bound = args.page / args.medallion_budget
                versus = (f"medallion: no page of {args.page} in {args.medallion_budget:.0f} s "
                          f"(under {bound:,.0f}/s)   crrt/medallion over "
                          f"{ours[phase] / bound:,.0f}x")
            print(f"{phase:9}: crrt {ours[phase]:9,.0f}/s   {versus}"
                  + (f"   plain SQL {top[phase]:9,.0f}/s, crrt at "
                     f"{ours[phase] / top[phase]:.0%} of it" if phase in top else ""))
        quiet_collector()
        least = floor(folder, sent, args.page, args.rounds)
        bound = 1 / (1 / least + 1 / top["read all"])
        print(f"plain SQL's read with each object parsed (orjson), as the HTTP client holds them: "
              f"{top['parsed']:,.0f}/s; crrt's read all is at "
              f"{ours['read all'] / top['parsed']:.0%} of it")
        print(f"HTTP floor: the same pages from a bare ASGI app under uvicorn (no database, no "
              f"framework, no authentication), the same client: {least:,.0f}/s, "
              f"{least / top['read all']:.0%} of plain SQL.\n  A server that must also run "
              f"plain SQL's own read before it answers reaches at most {bound:,.0f}/s, "
              f"{bound / top['read all']:.0%} of plain SQL; crrt's read all is at "
              f"{ours['read all'] / bound:.0%} of that bound.")
        cut = [k.split(":")[0] for k in theirs if k.endswith(": cut")]
        print(f"(objects: crrt added {ours['ingest: objects']:,.0f}, read "
              f"{ours['read all: objects']:,.0f}, {ours['filtered: objects']:,.0f} filtered; "
              f"medallion added {theirs['ingest: objects']:,.0f}, read "
              f"{theirs['read all: objects']:,.0f}, {theirs['filtered: objects']:,.0f} filtered"
              + (f"; medallion's {', '.join(cut)} stopped at the budget of "
                 f"{args.medallion_budget:.0f} s: its rate there is an upper bound" if cut
                 else "") + ")")
    finally:
        for process in running:
            stop(process)
        if backend == "postgresql":
            drop_postgres(args.postgres, name)
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=20_000)
    parser.add_argument("--envelope", type=int, default=500)
    parser.add_argument("--page", type=int, default=1000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--rounds", type=int, default=3,
                        help="reads of crrt, plain SQL and the floor: the best of this many")
    parser.add_argument("--keep", action="store_true", help="keep the run's folder and logs")
    parser.add_argument("--medallion-budget", type=float, default=120.0,
                        help="seconds each of medallion's phases may take (its memory backend "
                             "slows as it fills: a phase cut short gives an upper bound)")
    args = parser.parse_args()
    for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
        run_backend(backend, args)


if __name__ == "__main__":
    main()
