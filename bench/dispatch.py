"""Benchmark: dispatch on loopback, from requests for assistance to call-outs in a mailbox.

Prints figures; asserts nothing. ``.venv/bin/python bench/dispatch.py [--requests 100]
[--team 8] [--backend sqlite|postgresql|both] [--workers N] [--worker-interval S] [--rate R]
[--server-workers N]``; ``--help`` lists the rest. About two minutes a backend.

For each backend it seeds a fresh database in-process through the services (a lead nation and
four participants, each with a POC and an API token, a coordinator, CERT-EU with a requester,
and enough experts for every seat twice over with spares: a team lead and incident handlers or
network forensics experts, deployable remotely), then starts a real ``crrt serve`` and
``--workers`` ``crrt worker --interval S`` processes (on SQLite one, on PostgreSQL two, by
default; ``--workers 0`` runs the server's embedded worker instead) with ``CRRT_SMTP_URL``
pointing at an SMTP sink (aiosmtpd) in this process that notes every message it accepts: its
Message-ID, recipients and the time. ``CRRT_CALLOUT_MINUTES=1``.

The load: ``--requests`` flows at once (``--rate`` spreads their starts), each through the
API with httpx: the requester submits (incident response, remote), the coordinator triages
and activates a team of ``--team``, reads the deployment, and each member's nation's POC
confirms its expert, which sends the call-out by e-mail through the outbox. Nobody answers,
so every call-out escalates a minute later (the worker's timer), proposing the next candidate.

Figures: the time from each request's submission to its last call-out accepted by the sink;
the same from the last call-out's writing (``deployment_members.sent_at``, in the consent's
transaction), which is dispatch alone; how late each escalation ran (``escalated_at`` minus
``due_at``); the API's latencies under the load; lost mail (outbox rows the sink never
received) and duplicates (a Message-ID received twice by a recipient); experts active on two
open deployments at once; the CPU each side used (the server, the workers, PostgreSQL's
backends of the database, this process). Baselines in the same run: crrt's own ``mail.send``
to the same sink without the database, and one request alone through the whole pipeline once
the load's mail has gone (its escalation comes after the load's).

``--source DIR`` serves and works with another checkout's crrt (the same schema; run this
script with that checkout first on ``PYTHONPATH`` so the seed is its own too), to compare
before and after a change. ``--profile PY_SPY --keep`` samples the server and the workers
during the load. A PostgreSQL run creates ``crrt_bench_dispatch_<pid>`` on ``--postgres`` and
drops it at the end; the SQLite file and the logs live in a temporary folder, removed unless
``--keep``.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
from keyed import audit_key, create_postgres, drop_postgres, free_port, migrated_database
from sqlalchemy import func, select

from crrt import parts
from crrt.access.enums import Role
from crrt.access.principal import Principal
from crrt.assistance import team as teams
from crrt.assistance.models import Deployment, DeploymentMember
from crrt.auth import service as auth
from crrt.auth.schemas import TokenIn, UserIn
from crrt.core.config import Settings
from crrt.core.db import Database
from crrt.experts import importer
from crrt.experts.enums import Skill
from crrt.experts.models import Expert
from crrt.notify import mail
from crrt.notify.models import OutboxMessage
from crrt.organisations import service as organisations
from crrt.organisations.enums import Membership, OrgKind
from crrt.organisations.schemas import OrganisationIn

BENCH = Principal.system("bench")
API = "/api/v1"
PUBLIC_URL = "https://crrt.bench.example"
NATIONS = [("LT", "Lithuania", Membership.LEAD), ("EE", "Estonia", Membership.PARTICIPANT),
           ("ES", "Spain", Membership.PARTICIPANT), ("PL", "Poland", Membership.PARTICIPANT),
           ("FI", "Finland", Membership.PARTICIPANT)]
ASK = {"contact_name": "Jana Novak", "contact_email": "jana.novak@cert.example",
       "affected_entity": "National grid operator", "sector": "energy",
       "essential_entity": True, "description": "Ransomware on the SCADA jump hosts.",
       "severity": 3, "services": ["incident_response"], "mode": "remote"}
LINK = re.compile(r"/callouts/([0-9a-f-]{36})/([0-9a-f-]{36})\?token=[0-9a-f]{64}")
OUTBOX_ID = re.compile(r"<outbox-(\d+)@crrt>")
SKILLS = {Skill.TEAM_LEAD: "team_lead:3; incident_handling:1",
          Skill.INCIDENT_HANDLING: "incident_handling:3; network_forensics:1",
          Skill.NETWORK_FORENSICS: "network_forensics:3; incident_handling:1"}


# --- the SMTP sink -----------------------------------------------------------------------------

@dataclass
class Received:
    at: float
    message_id: str
    recipients: tuple[str, ...]
    subject: str
    callout: tuple[str, str] | None  # (deployment, expert) of a call-out's link


class Sink:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that notes what it accepts, and when."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        at = time.time()
        message = message_from_bytes(envelope.content, policy=policy.default)
        subject = str(message["Subject"] or "")
        found = None
        if subject.startswith("crrt call-out"):
            match = LINK.search(message.get_content())  # type: ignore[attr-defined]
            found = (match.group(1), match.group(2)) if match else ("?", "?")
        with self._lock:
            self.received.append(Received(at, str(message["Message-ID"] or ""),
                                          tuple(envelope.rcpt_tos), subject, found))
        return "250 Message accepted for delivery"

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def start(self) -> Sink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


# --- figures -----------------------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def spread(values: list[float], unit: str = "s") -> str:
    if not values:
        return "none"
    scale = 1000 if unit == "ms" else 1
    return (f"p50 {percentile(values, 0.5) * scale:.2f} {unit}, "
            f"p99 {percentile(values, 0.99) * scale:.2f} {unit}, "
            f"max {max(values) * scale:.2f} {unit} (n={len(values)})")


# --- the database and its seed -----------------------------------------------------------------

@dataclass
class Tokens:
    requester: str = ""
    coordinator: str = ""
    poc: dict[str, str] = field(default_factory=dict)


def pool_csv(nation: str, counts: dict[Skill, int]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["name", "email", "skills", "languages", "clearance", "deployability",
                     "time_zone"])
    n = 0
    for skill, count in counts.items():
        for _ in range(count):
            n += 1
            writer.writerow([f"{skill.value.replace('_', ' ').title()} {nation} {n}",
                             f"{skill.value}.{n}@{nation.lower()}.bench.example",
                             SKILLS[skill], "en", "none", "remote", "Europe/Vilnius"])
    return out.getvalue().encode()


def seed(url: str, requests: int, team: int) -> tuple[Tokens, int]:
    """Organisations, accounts with tokens and the expert pool; returns the tokens and the
    number of experts. Every seat of every team can be filled twice (the team, then the
    candidates its silence brings), with a quarter more to spare."""
    parts.load()
    database = migrated_database(url)
    tokens = Tokens()
    seats = Counter(teams.seats(ASK["services"], team))  # type: ignore[arg-type]
    per_nation = {skill: -(-int(count * requests * 2.5) // len(NATIONS)) + 2
                  for skill, count in seats.items()}
    try:
        with database.session() as db:
            for code, name, membership in NATIONS:
                organisations.create(db=db, actor=BENCH, data=OrganisationIn(
                    code=code, name=name, kind=OrgKind.NATION, membership=membership))
            organisations.create(db=db, actor=BENCH, data=OrganisationIn(
                code="cert-eu", name="CERT-EU", kind=OrgKind.EU_INSTITUTION))
            people = [("coordinator@lt.bench.example", Role.COORDINATOR, "LT"),
                      ("requester@cert-eu.bench.example", Role.REQUESTER, "cert-eu"),
                      *((f"poc@{code.lower()}.bench.example", Role.NATIONAL_POC, code)
                        for code, _name, _m in NATIONS)]
            for email, role, org in people:
                user = auth.create_user(db=db, actor=BENCH, data=UserIn(
                    email=email, name=email.split("@")[0].title(), role=role, org=org))
                _token, secret = auth.create_token(db=db, actor=BENCH, user=user,
                                                   data=TokenIn(name="bench"))
                if role is Role.NATIONAL_POC:
                    tokens.poc[org] = secret
                elif role is Role.COORDINATOR:
                    tokens.coordinator = secret
                else:
                    tokens.requester = secret
        for code, _name, _m in NATIONS:
            report = importer.import_experts(database=database, actor=BENCH, org=code,
                                             filename="pool.csv",
                                             content=pool_csv(code, per_nation), dry_run=False)
            assert report.applied, report.rejected[:3]
        with database.session() as db:
            experts = db.scalar(select(func.count()).select_from(Expert)) or 0
    finally:
        database.dispose()
    return tokens, experts


# --- processes ---------------------------------------------------------------------------------

class Processes:
    """The crrt processes of a run, each logging to a file in the run's folder."""

    def __init__(self, source: str, env: dict[str, str], folder: Path) -> None:
        self.source, self.env, self.folder = source, env, folder
        self.running: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.folder / f"{name}.log").open("wb")
        process = subprocess.Popen(  # noqa: S603 - our own command line
            [sys.executable, "-m", "crrt", *args], env=self.env, cwd=self.source,
            stdout=log, stderr=subprocess.STDOUT)
        self.running.append((name, process))
        return process

    def stop(self) -> None:
        for _name, process in self.running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for _name, process in self.running:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.running = []


TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the name (the state first), or none if it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def cpu_of(pid: int) -> float:
    """User and system CPU seconds of a process (all its threads) and its live children (the
    processes of ``crrt serve --workers N``) so far."""
    fields = _stat(pid)
    own = (int(fields[11]) + int(fields[12])) / TICK if fields else 0.0
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return own + sum(cpu_of(int(child)) for child in children)


def backends_of(name: str) -> list[int]:
    """The PostgreSQL server processes serving database ``name`` (their title names it)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if title.startswith("postgres: ") and f" {name} " in title:
                pids.append(int(entry.name))
    return pids


@dataclass
class Cpu:
    """CPU seconds so far of each side: the server, the workers, the database's server
    processes (PostgreSQL's backends of this database), and this process (client and sink)."""

    wall: float
    server: float
    workers: float
    database: float
    bench: float

    def since(self, before: Cpu) -> str:
        wall = self.wall - before.wall
        used = {"crrt serve": self.server - before.server,
                "workers": self.workers - before.workers,
                "PostgreSQL": self.database - before.database,
                "this bench (client, sink)": self.bench - before.bench}
        cores = os.cpu_count() or 1
        idle = cores * wall - sum(used.values())
        return (f"{wall:.1f} s on {cores} cores: "
                + ", ".join(f"{k} {v:.1f} s" for k, v in used.items() if v or k != "PostgreSQL")
                + f"; left to others or idle {max(idle, 0.0):.1f} s; load average "
                  f"{os.getloadavg()[0]:.1f}")


def cpu_now(runner: Processes, database: str | None) -> Cpu:
    times = os.times()
    return Cpu(wall=time.monotonic(),
               server=sum(cpu_of(p.pid) for n, p in runner.running if n == "serve"),
               workers=sum(cpu_of(p.pid) for n, p in runner.running if n.startswith("worker")),
               database=sum(cpu_of(pid) for pid in backends_of(database)) if database else 0.0,
               bench=times.user + times.system)


def profile(py_spy: str, runner: Processes, folder: Path) -> list[subprocess.Popen[bytes]]:
    """Sample the server and each worker with py-spy (collapsed stacks of the threads holding
    the GIL, so where the CPU goes)
    until told to stop."""
    return [subprocess.Popen(  # noqa: S603 - our own command line
        [py_spy, "record", "--pid", str(process.pid), "--rate", "100", "--gil", "--format", "raw",
         "--output", str(folder / f"{name}.stacks")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for name, process in runner.running]


def settled(pids: list[int], timeout: float = 60.0) -> None:
    """Wait until the processes have started (importing crrt costs a worker seconds of CPU):
    each used under a tenth of a core over the last half second."""
    deadline = time.monotonic() + timeout
    last = [cpu_of(pid) for pid in pids]
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = [cpu_of(pid) for pid in pids]
        if all(b - a < 0.05 for a, b in zip(last, now, strict=True)):
            return
        last = now


def wait_healthy(base: str, server: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(300):
        if server.poll() is not None:
            break
        try:
            if httpx.get(f"{base}{API}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"crrt serve did not start; see {log}")


# --- the load ----------------------------------------------------------------------------------

@dataclass
class Flow:
    submitted: float = 0.0
    consented: float = 0.0  # the last consent's answer came back
    deployment: str = ""
    callouts: int = 0  # consents given, so call-outs expected
    error: str = ""


@dataclass
class Calls:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    retries: Counter[str] = field(default_factory=Counter)  # why, how often
    failures: list[str] = field(default_factory=list)


async def call(client: httpx.AsyncClient, calls: Calls, name: str, method: str, path: str,
               token: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """One API call, retried (up to three times) on a 503 or a lost connection."""
    for attempt in range(4):
        started = time.perf_counter()
        try:
            response = await client.request(method, path, json=body,
                                            headers={"Authorization": f"Bearer {token}"})
        except httpx.TransportError as exc:
            problem = f"{name}: {type(exc).__name__}"
        else:
            calls.latencies[name].append(time.perf_counter() - started)
            if response.status_code < 300:
                return dict(response.json())
            problem = f"{name}: {response.status_code} {response.text[:200]}"
            if response.status_code != 503:
                break
        if attempt < 3:
            calls.retries[problem.split(" {")[0]] += 1
            await asyncio.sleep(0.5 * (attempt + 1))
    calls.failures.append(problem)
    raise RuntimeError(problem)


async def one_flow(base: str, calls: Calls, tokens: Tokens, team: int, delay: float) -> Flow:
    """Submit, triage, activate, read the team, confirm every member: one request's way, on
    connections of its own (one client pool for all would cost this process more CPU than
    the server: httpcore matches requests to connections in time quadratic in the pool)."""
    await asyncio.sleep(delay)
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        return await _flow(client, calls, tokens, team)


async def _flow(client: httpx.AsyncClient, calls: Calls, tokens: Tokens, team: int) -> Flow:
    flow = Flow(submitted=time.time())
    try:
        asked = await call(client, calls, "submit", "POST", f"{API}/requests",
                           tokens.requester, ASK)
        where = f"{API}/requests/{asked['id']}"
        await call(client, calls, "triage", "POST", f"{where}/triage", tokens.coordinator, {})
        decided = await call(client, calls, "decision", "POST", f"{where}/decision",
                             tokens.coordinator, {"outcome": "activate", "team_size": team})
        flow.deployment = str(decided["deployment_id"])
        deployment = await call(client, calls, "deployment", "GET",
                                f"{API}/deployments/{flow.deployment}", tokens.coordinator)
        members = [m for m in deployment["members"]
                   if m["active"] and m["consent"] == "pending"]
        await asyncio.gather(*(
            call(client, calls, "consent", "POST", f"{API}/deployments/{flow.deployment}/consents",
                 tokens.poc[m["org"]], {"expert_id": m["expert_id"], "consent": True})
            for m in members))
        flow.callouts = len(members)
    except (RuntimeError, KeyError) as exc:
        flow.error = str(exc)
    flow.consented = time.time()
    return flow


async def run_flows(base: str, tokens: Tokens, count: int, team: int, rate: float
                    ) -> tuple[list[Flow], Calls, float]:
    calls = Calls()
    started = time.perf_counter()
    flows = await asyncio.gather(*(one_flow(base, calls, tokens, team, i / rate if rate else 0.0)
                                   for i in range(count)))
    return list(flows), calls, time.perf_counter() - started


# --- waiting and reading the outcome -----------------------------------------------------------

def wait_for(label: str, done: Any, timeout: float, every: float = 0.25) -> float:
    """Poll ``done()`` until true; returns the seconds waited, or prints that it timed out."""
    started = time.monotonic()
    while not done():
        if time.monotonic() - started > timeout:
            print(f"  (gave up waiting for {label} after {timeout:.0f} s)")
            break
        time.sleep(every)
    return time.monotonic() - started


def callout_arrivals(sink: Sink) -> dict[tuple[str, str], float]:
    """Each call-out's first acceptance by the sink, by (deployment, expert)."""
    first: dict[tuple[str, str], float] = {}
    for r in sink.snapshot():
        if r.callout is not None:
            first[r.callout] = min(r.at, first.get(r.callout, r.at))
    return first


def members_of(database: Database, deployments: list[str]) -> list[Any]:
    with database.session(read_only=True) as db:
        return list(db.execute(
            select(Deployment.public_id, Expert.public_id, DeploymentMember.sent_at,
                   DeploymentMember.due_at, DeploymentMember.escalated_at,
                   DeploymentMember.callout)
            .join(Deployment, Deployment.id == DeploymentMember.deployment_id)
            .join(Expert, Expert.id == DeploymentMember.expert_id)
            .where(DeploymentMember.sent_at.is_not(None),
                   Deployment.public_id.in_([uuid.UUID(d) for d in deployments]))).all())


def open_callouts(database: Database) -> int:
    with database.session(read_only=True) as db:
        return db.scalar(select(func.count()).select_from(DeploymentMember).where(
            DeploymentMember.callout == "sent", DeploymentMember.active.is_(True))) or 0


def undelivered(database: Database) -> int:
    with database.session(read_only=True) as db:
        return db.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.delivered_at.is_(None), OutboxMessage.failed_at.is_(None))) or 0


def double_booked(database: Database) -> int:
    """Experts active in more than one open deployment at once (the same expert proposed to
    two teams by decisions taken side by side)."""
    with database.session(read_only=True) as db:
        return len(db.execute(
            select(DeploymentMember.expert_id)
            .join(Deployment, Deployment.id == DeploymentMember.deployment_id)
            .where(DeploymentMember.active.is_(True), Deployment.state.in_(teams.OPEN))
            .group_by(DeploymentMember.expert_id).having(func.count() > 1)).all())


@dataclass
class Dispatched:
    from_submission: list[float]
    from_last_callout: list[float]
    each: list[float]
    missing: int


def dispatched(flows: list[Flow], rows: list[Any], arrivals: dict[tuple[str, str], float]
               ) -> Dispatched:
    by_deployment: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        by_deployment[str(row[0])].append(row)
    out = Dispatched([], [], [], 0)
    for flow in flows:
        members = by_deployment.get(flow.deployment, [])
        got = [arrivals.get((flow.deployment, str(m[1]))) for m in members]
        for m, at in zip(members, got, strict=True):
            if at is not None:
                out.each.append(at - m[2].timestamp())
        if not members or None in got:
            out.missing += 1
            continue
        last = max(at for at in got if at is not None)
        out.from_submission.append(last - flow.submitted)
        out.from_last_callout.append(last - max(m[2].timestamp() for m in members))
    return out


def lateness(rows: list[Any]) -> tuple[list[float], int]:
    late = [(r[4] - r[3]).total_seconds() for r in rows if r[4] is not None]
    return late, sum(1 for r in rows if r[4] is None)


def mail_accounting(database: Database, sink: Sink) -> tuple[int, int, int, int, int]:
    """(rows, never received, marked delivered but never received, duplicate receptions,
    Message-IDs received more than once by the same recipient) over every e-mail row of the
    outbox, each received as ``<outbox-ID@crrt>``."""
    with database.session(read_only=True) as db:
        rows = db.execute(select(OutboxMessage.id, OutboxMessage.delivered_at)
                          .where(OutboxMessage.channel == "email")).all()
    seen: Counter[int] = Counter()
    pairs: Counter[tuple[str, str]] = Counter()
    for r in sink.snapshot():
        match = OUTBOX_ID.fullmatch(r.message_id)
        if match:
            seen[int(match.group(1))] += 1
            pairs.update((r.message_id, to) for to in r.recipients)
    never = [row for row in rows if seen[row[0]] == 0]
    lost = sum(1 for row in never if row[1] is not None)
    twice = [n for n in pairs.values() if n > 1]
    return len(rows), len(never), lost, sum(n - 1 for n in twice), len(twice)


@dataclass
class Targets:
    """The issue's targets against this run's figures. A call-out's submission is its writing
    to the outbox (in the transaction of the consent that causes it); from the request's
    submission, the way also holds the acts of people the load scripts (triage, the decision,
    the consents), so it measures the API's throughput under the burst, shown beside them."""

    each: list[float]
    per_request: list[float]
    end_to_end: list[float]
    late: list[float] | None = None
    lost: int | None = None
    duplicates: int | None = None

    def show(self) -> None:
        def check(label: str, value: float | None, limit: float, unit: str = " s") -> None:
            if value is None:
                print(f"  {label}: not measured (--no-escalation)")
            else:
                print(f"  {label}: {value:.2f}{unit}, "
                      f"{'met' if value <= limit else 'MISSED'} (<= {limit:g}{unit})")

        def p99(values: list[float] | None) -> float | None:
            return None if values is None or not values else percentile(values, 0.99)

        print("\ntargets:")
        check("call-outs p99, each from its submission to the outbox to accepted by SMTP",
              p99(self.each), 2.0)
        check("call-outs p99, a request's last from its submission to accepted",
              p99(self.per_request), 2.0)
        check("escalation p99 late", p99(self.late), 5.0)
        if self.lost is None or self.duplicates is None:
            print("  lost and duplicate deliveries: not measured (--no-escalation)")
        else:
            print(f"  lost {self.lost}, duplicate {self.duplicates}: "
                  f"{'met' if self.lost == self.duplicates == 0 else 'MISSED'} (zero)")
        print(f"  beside them, from the request's submission through the scripted acts of "
              f"people to its last call-out accepted: p99 {p99(self.end_to_end) or 0:.2f} s")


# --- the baseline: crrt's own sends without the database ---------------------------------------

def raw_sends(sink: Sink, count: int) -> tuple[list[float], float]:
    """``count`` messages sent one after another by crrt's ``mail.send`` (a connection each,
    as the worker does), no database: the floor of one delivery."""
    settings = Settings(smtp_url=sink.url)
    latencies = []
    started = time.perf_counter()
    for n in range(count):
        message = EmailMessage()
        message["From"], message["To"] = "crrt@localhost", "baseline@bench.example"
        message["Subject"], message["Message-ID"] = "baseline", f"<baseline-{n}@bench>"
        message.set_content("You are called out for RFA-2027-00001: remote, as incident "
                            f"handling.\n\nAnswer by then: {PUBLIC_URL}/callouts/x")
        at = time.perf_counter()
        mail.send(message, settings=settings)
        latencies.append(time.perf_counter() - at)
    return latencies, count / (time.perf_counter() - started)


# --- one backend -------------------------------------------------------------------------------

def run_backend(backend: str, args: argparse.Namespace) -> None:
    workers = args.workers if args.workers is not None else (1 if backend == "sqlite" else 2)
    folder = Path(tempfile.mkdtemp(prefix="crrt-dispatch-"))
    pg_name = f"crrt_bench_dispatch_{os.getpid()}"
    url = f"sqlite:///{folder / 'bench.db'}" if backend == "sqlite" \
        else create_postgres(args.postgres, pg_name)
    runner: Processes | None = None
    sink = Sink().start()
    began = time.perf_counter()
    try:
        started = time.perf_counter()
        tokens, experts = seed(url, args.requests + 1, args.team)
        print(f"\n== {backend}: {url.split('@')[-1]}; {os.cpu_count()} cores; python "
              f"{sys.version.split()[0]}; serving {args.source}")
        print(f"seeded {len(NATIONS)} nations with a POC each, a coordinator, CERT-EU's "
              f"requester and {experts} experts in {time.perf_counter() - started:.1f} s")
        database = Database(url)

        latencies, rate = raw_sends(sink, args.raw_sends)
        print(f"baseline, crrt's mail.send to the sink, no database ({args.raw_sends} one "
              f"after another): {spread(latencies, 'ms')}; {rate:,.0f} messages/s")

        env = {**os.environ, "CRRT_DATABASE_URL": url, "CRRT_DATA_DIR": str(folder),
               "CRRT_SECRET_KEY": secrets.token_urlsafe(32), "CRRT_AUDIT_KEY": audit_key(),
               "CRRT_SMTP_URL": sink.url, "CRRT_PUBLIC_URL": PUBLIC_URL,
               "CRRT_CALLOUT_MINUTES": "1",
               "CRRT_EMBEDDED_WORKER": "true" if workers == 0 else "false",
               "PYTHONPATH": args.source}
        runner = Processes(args.source, env, folder)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = runner.start("serve", "serve", "--port", str(port),
                              "--workers", str(args.server_workers))
        wait_healthy(base, server, folder / "serve.log")
        for n in range(workers):
            runner.start(f"worker{n + 1}", "worker", "--interval", str(args.worker_interval))
        settled([p.pid for _n, p in runner.running])
        who = f"{workers} crrt worker --interval {args.worker_interval}" if workers \
            else "the embedded worker of crrt serve"
        print(f"crrt serve --workers {args.server_workers} and {who}; CRRT_CALLOUT_MINUTES=1")

        # The load.
        pg = pg_name if backend == "postgresql" else None
        spies = profile(args.profile, runner, folder) if args.profile else []
        before = cpu_now(runner, pg)
        flows, calls, elapsed = asyncio.run(run_flows(base, tokens, args.requests, args.team,
                                                      args.rate))
        failed = [f for f in flows if f.error]
        made = sum(len(v) for v in calls.latencies.values())
        why = f" ({', '.join(f'{k}: {n}' for k, n in calls.retries.items())})" \
            if calls.retries else ""
        pace = "at once" if not args.rate else f"at {args.rate}/s"
        print(f"\nload: {args.requests} requests {pace}, {args.team} a team: "
              f"{made} API calls in {elapsed:.1f} s "
              f"({made / elapsed:,.0f}/s), {sum(calls.retries.values())} retried{why}, "
              f"{len(failed)} flows failed"
              + (f" (first: {failed[0].error})" if failed else ""))
        for name, values in calls.latencies.items():
            print(f"  {name}: {spread(values)}")
        chain = [f.consented - f.submitted for f in flows if not f.error]
        print(f"  a flow's API calls, submission to its last consent answered: {spread(chain)}")
        good = [f for f in flows if not f.error and f.deployment]
        wanted = {f.deployment for f in good}
        expected = sum(f.callouts for f in good)

        def callouts_in() -> bool:
            return sum(1 for d, _e in callout_arrivals(sink) if d in wanted) >= expected

        waited = wait_for("the load's call-outs", callouts_in, args.timeout)
        loaded = cpu_now(runner, pg)
        for spy in spies:
            spy.send_signal(signal.SIGINT)  # py-spy writes its profile and ends
            spy.wait(timeout=60)
        if spies:
            print(f"  py-spy profiles of the load (collapsed stacks): {folder}/*.stacks")
        rows = members_of(database, list(wanted))
        booked = double_booked(database)
        figures = dispatched(good, rows, callout_arrivals(sink))
        print(f"\ncall-outs: {expected} expected, the last in the sink {waited:.1f} s after "
              f"the load's last answer; {figures.missing} requests missing one")
        print(f"  submission to the last of its call-outs accepted: "
              f"{spread(figures.from_submission)}")
        print(f"  the last call-out written (sent_at) to accepted, dispatch alone: "
              f"{spread(figures.from_last_callout)}")
        print(f"  each call-out, written to accepted: {spread(figures.each)}")
        print(f"  experts active on two open deployments at once: {booked}")
        targets = Targets(each=figures.each, per_request=figures.from_last_callout,
                          end_to_end=figures.from_submission)
        print(f"  CPU from the first submission to the last call-out: {loaded.since(before)}")
        print(f"  the server's CPU per API call: "
              f"{(loaded.server - before.server) / max(made, 1) * 1000:.1f} ms")

        # One request alone, the load's mail gone and its timers not yet due.
        alone, _calls, _elapsed = asyncio.run(run_flows(base, tokens, 1, args.team, 0))
        single = alone[0]
        if single.error:
            print(f"baseline request failed: {single.error}")
        else:
            wanted_alone = {single.deployment}

            def alone_in() -> bool:
                return sum(1 for d, _e in callout_arrivals(sink)
                           if d in wanted_alone) >= single.callouts

            wait_for("the lone request's call-outs", alone_in, 60)
            rows_alone = members_of(database, [single.deployment])
            lone = dispatched([single], rows_alone, callout_arrivals(sink))
            print(f"baseline, one request alone after the load's mail: submission to its last "
                  f"call-out {spread(lone.from_submission)}; dispatch alone "
                  f"{spread(lone.from_last_callout)}; its API calls "
                  f"{single.consented - single.submitted:.2f} s")

        if args.no_escalation:
            database.dispose()
            targets.show()
            return

        # Escalation: every call-out goes unanswered.
        def all_escalated() -> bool:
            return open_callouts(database) == 0

        quiet = cpu_now(runner, pg)
        wait_for("the escalations", all_escalated, args.timeout + 75, every=1.0)
        wait_for("the outbox to empty", lambda: undelivered(database) == 0, args.timeout)
        escalated = cpu_now(runner, pg)
        time.sleep(1.0)  # the last messages' acceptance noted
        late, pending = lateness(members_of(database, list(wanted)))
        print(f"\nescalation (CRRT_CALLOUT_MINUTES=1), escalated_at minus due_at: "
              f"{spread(late)}; {pending} not escalated")
        if not single.error:
            late_alone, _ = lateness(members_of(database, [single.deployment]))
            print(f"  baseline, the lone request's call-outs (due after the load's): "
                  f"{spread(late_alone)}")
        print(f"  CPU from the lone request's call-outs to the last escalation's mail: "
              f"{escalated.since(quiet)}")
        rows_total, never, lost, extra, twice = mail_accounting(database, sink)
        print(f"mail: {rows_total} outbox e-mails; never received {never} (of which marked "
              f"delivered: {lost}); duplicates {extra} extra receptions of {twice} "
              f"(Message-ID, recipient)")
        print(f"experts active on two open deployments at the end: {double_booked(database)}")
        targets.late, targets.lost, targets.duplicates = late, never, extra
        database.dispose()
        targets.show()
    finally:
        if runner is not None:
            runner.stop()
        sink.stop()
        if backend == "postgresql":
            drop_postgres(args.postgres, pg_name)
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
        print(f"({backend}: {time.perf_counter() - began:.0f} s in all)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--team", type=int, default=8)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--workers", type=int, default=None,
                        help="crrt worker processes (default: 1 on SQLite, 2 on PostgreSQL; "
                             "0: the embedded worker of crrt serve)")
    parser.add_argument("--worker-interval", type=float, default=1.0)
    parser.add_argument("--server-workers", type=int, default=1,
                        help="processes of crrt serve (its --workers)")
    parser.add_argument("--rate", type=float, default=0.0,
                        help="requests started per second (default: all at once)")
    parser.add_argument("--timeout", type=float, default=240.0,
                        help="seconds to wait for the call-outs and for the outbox to empty")
    parser.add_argument("--raw-sends", type=int, default=200)
    parser.add_argument("--no-escalation", action="store_true",
                        help="end once the call-outs are in, without waiting a minute for "
                             "the escalations (to compare the API's cost quickly)")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--source", default=str(Path(__file__).resolve().parents[1]),
                        help="the checkout whose crrt serves and works")
    parser.add_argument("--keep", action="store_true", help="keep the run's folder and logs")
    parser.add_argument("--profile", metavar="PY_SPY", default=None,
                        help="the py-spy to sample the server and the workers with during the "
                             "load (their stacks are kept in the run's folder; with --keep)")
    args = parser.parse_args()
    for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
        run_backend(backend, args)


if __name__ == "__main__":
    main()
