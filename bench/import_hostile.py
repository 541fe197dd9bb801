"""Benchmark: hostile spreadsheet imports against a live ``crrt serve``, and what other users feel.

For each hostile upload, one thread sends it (a national point of contact's token) while
another user signs in on the web, creates an API token and reads the expert list; the script
prints how long the upload took to be refused and how long the other user waited, beside the
same requests with no upload running. Prints figures; asserts nothing.

    .venv/bin/python bench/import_hostile.py [--database URL] [--payloads wide,long,bomb,liar]

Without ``--database`` it builds a fresh SQLite file in a temporary folder.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import httpx
import openpyxl
from keyed import migrated_database
from openpyxl.utils import get_column_letter

from crrt import parts
from crrt.access.enums import Role
from crrt.access.principal import Principal
from crrt.auth import service as auth
from crrt.auth.schemas import TokenIn, UserIn
from crrt.organisations import service as organisations
from crrt.organisations.enums import Membership, OrgKind
from crrt.organisations.schemas import OrganisationIn

BENCH = Principal.system("bench")
PASSWORD = "correct horse battery staple"  # a throwaway bench account
COLUMNS = ("name", "email", "phone", "institution", "skills", "languages", "clearance",
           "deployability", "time_zone", "notes")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the hostile uploads ---------------------------------------------------------------------

def wide() -> tuple[str, bytes]:
    """The review's header: 40,000 known column names over and over (344 KB)."""
    return "wide.csv", (",".join(COLUMNS[n % 10] for n in range(40_000)) + "\n").encode()


def long() -> tuple[str, bytes]:
    """5,000 rows of about 920 characters (4.6 MB), every name too long."""
    rows = "".join(f"{'N' * 450},e{n}@ee.example,cloud:1,{'x' * 450}\n" for n in range(5000))
    return "long.csv", ("name,email,skills,notes\n" + rows).encode()


def _workbook_with(name: str, write_part: Callable[[Callable[[bytes], object]], None]) -> bytes:
    book = openpyxl.Workbook(write_only=True)
    book.create_sheet().append(["name", "email", "skills"])
    plain = io.BytesIO()
    book.save(plain)
    out = io.BytesIO()
    with zipfile.ZipFile(plain) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for info in source.infolist():
            if info.filename == name:
                with target.open(name, "w") as part:
                    write_part(part.write)
            else:
                target.writestr(info.filename, source.read(info))
    return out.getvalue()


def _cells(write: Callable[[bytes], object]) -> None:
    chunk = b'<c t="inlineStr"><is><t>x</t></is></c>' * (1 << 16)
    for _ in range(120):  # 285 MB
        write(chunk)


def bomb() -> tuple[str, bytes]:
    """A sheet of one row of ~285 MB of cells, packed to ~0.9 MB."""
    def sheet(write: Callable[[bytes], object]) -> None:
        write(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
              b'<sheetData><row r="1">')
        _cells(write)
        write(b"</row></sheetData></worksheet>")

    return "bomb.xlsx", _workbook_with("xl/worksheets/sheet1.xml", sheet)


def liar() -> tuple[str, bytes]:
    """~285 MB in [Content_Types].xml, whose central directory entry claims 2 KB."""
    data = bytearray(_workbook_with("[Content_Types].xml", _cells))
    at = 0
    while (at := data.find(b"PK\x01\x02", at)) != -1:
        length = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46:at + 46 + length] == b"[Content_Types].xml":
            struct.pack_into("<I", data, at + 24, 2048)
        at += 4
    return "liar.xlsx", bytes(data)


def dense() -> tuple[str, bytes]:
    """310,000 empty cells past column 30 (3.7 MB unpacked, 0.7 MB packed)."""
    def sheet(write: Callable[[bytes], object]) -> None:
        write(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
              b'<sheetData>')
        for row in range(1, 1035):
            write(f'<row r="{row}">'.encode() + b"".join(
                f'<c r="{get_column_letter(col)}{row}"/>'.encode() for col in range(31, 331))
                  + b"</row>")
        write(b"</sheetData></worksheet>")

    return "dense.xlsx", _workbook_with("xl/worksheets/sheet1.xml", sheet)


def transfer() -> tuple[str, bytes]:
    """Not hostile: as many bytes as ``long``, refused by name (415), for what the upload
    itself costs (sending, multipart parsing) beside the import's own work."""
    return "long.ods", long()[1]


PAYLOADS = {"wide": wide, "long": long, "bomb": bomb, "liar": liar, "dense": dense,
            "transfer": transfer}


# --- the other user --------------------------------------------------------------------------

Timed = tuple[float, int]  # seconds, status


def sign_in(base: str) -> Timed:
    with httpx.Client(base_url=base, timeout=120) as browser:
        page = browser.get("/login").text
        match = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert match, "no csrf_token on /login"
        started = time.perf_counter()
        answer = browser.post("/login", data={"email": "coordinator@bench.example",
                                              "password": PASSWORD,
                                              "csrf_token": match.group(1)})
        return time.perf_counter() - started, answer.status_code  # 303 when signed in


def create_token(base: str, token: str) -> Timed:
    started = time.perf_counter()
    answer = httpx.post(f"{base}/api/v1/me/tokens", json={"name": "bench"}, timeout=120,
                        headers={"Authorization": f"Bearer {token}"})
    return time.perf_counter() - started, answer.status_code


def read_list(base: str, token: str) -> Timed:
    started = time.perf_counter()
    answer = httpx.get(f"{base}/api/v1/experts?limit=50", timeout=120,
                       headers={"Authorization": f"Bearer {token}"})
    return time.perf_counter() - started, answer.status_code


def other_user(base: str, token: str, rounds: int) -> dict[str, list[Timed]]:
    times: dict[str, list[Timed]] = {"sign-in": [], "token creation": [], "bearer GET": []}
    for _ in range(rounds):
        times["sign-in"].append(sign_in(base))
        times["token creation"].append(create_token(base, token))
        times["bearer GET"].append(read_list(base, token))
    return times


def summary(timed: list[Timed]) -> str:
    times = [t for t, _ in timed]
    statuses = ", ".join(f"{status} x{sum(1 for _, s in timed if s == status)}"
                         for status in sorted({s for _, s in timed}))
    return (f"median {statistics.median(times) * 1000:7,.0f} ms, max "
            f"{max(times) * 1000:7,.0f} ms; answers {statuses}")


# --- the run ---------------------------------------------------------------------------------

def prepare(url: str) -> tuple[str, str]:
    """Two nations and two users; returns the point of contact's and the coordinator's tokens."""
    parts.load()
    database = migrated_database(url)
    with database.session() as db:
        organisations.create(db=db, actor=BENCH, data=OrganisationIn(
            code="LT", name="Lithuania", kind=OrgKind.NATION, membership=Membership.LEAD))
        organisations.create(db=db, actor=BENCH, data=OrganisationIn(
            code="EE", name="Estonia", kind=OrgKind.NATION, membership=Membership.PARTICIPANT))
        tokens = []
        for email, role, org in (("poc@bench.example", Role.NATIONAL_POC, "EE"),
                                 ("coordinator@bench.example", Role.COORDINATOR, "LT")):
            user = auth.create_user(db=db, actor=BENCH, data=UserIn(
                email=email, name=role.value, role=role, org=org, password=PASSWORD))
            _token, secret = auth.create_token(db=db, actor=BENCH, user=user,
                                               data=TokenIn(name="bench"))
            tokens.append(secret)
    database.dispose()
    return tokens[0], tokens[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", default=None)
    parser.add_argument("--payloads", default=",".join(PAYLOADS))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="crrt-hostile-"))
    url = args.database or f"sqlite:///{folder / 'bench.db'}"
    print(f"database: {url.split('@')[-1]}; {os.cpu_count()} cores; "
          f"load average {os.getloadavg()[0]:.1f}; python {sys.version.split()[0]}")
    poc, coordinator = prepare(url)
    port = free_port()
    env = {**os.environ, "CRRT_DATABASE_URL": url, "CRRT_DATA_DIR": str(folder),
           "CRRT_EMBEDDED_WORKER": "false"}
    server = subprocess.Popen(  # noqa: S603 - our own command line
        [sys.executable, "-m", "crrt", "serve", "--port", str(port)], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        quiet = other_user(base, coordinator, args.rounds)
        print("another user, nothing else running:")
        for name, times in quiet.items():
            print(f"  {name:15} {summary(times)}")
        for key in args.payloads.split(","):
            filename, content = PAYLOADS[key]()
            outcome: list[str] = []

            def upload(filename: str = filename, content: bytes = content,
                       outcome: list[str] = outcome) -> None:
                started = time.perf_counter()
                answer = httpx.post(f"{base}/api/v1/experts/import", timeout=600,
                                    headers={"Authorization": f"Bearer {poc}"},
                                    data={"org": "EE"}, files={"file": (filename, content)})
                took = (time.perf_counter() - started) * 1000
                outcome.append(f"answered in {took:,.0f} ms: {answer.status_code} "
                               f"{answer.json().get('detail', '')}")

            hostile = threading.Thread(target=upload)
            hostile.start()
            time.sleep(0.05)  # the upload is on its way when the other user starts
            during: dict[str, list[Timed]] = {}
            while not during or hostile.is_alive():  # one round at least, then while it runs
                for name, times in other_user(base, coordinator, 1).items():
                    during.setdefault(name, []).extend(times)
            hostile.join()
            print(f"{key} ({filename}, {len(content) / 1024:,.0f} KB): {outcome[0]}")
            for name, times in during.items():
                print(f"  meanwhile {name:15} {summary(times)}")
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:  # still busy with an upload: stop it anyway
            server.kill()
            server.wait()


if __name__ == "__main__":
    main()
