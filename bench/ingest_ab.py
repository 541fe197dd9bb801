"""Benchmark: the store's ingest without HTTP, this tree against an earlier commit, in turns.

Prints figures; asserts nothing. ``.venv/bin/python bench/ingest_ab.py --base REV
[--backend postgresql|sqlite] [--envelopes 40]``.

Two worker processes, each on a fresh database of its own: one runs the code of ``--base``
(checked out into a temporary worktree), the other this tree's. They add the same kind of
envelopes of 500 TLP:GREEN indicators through ``intel.service.add_objects`` and
``record_status``, one envelope each in turn (the order swapped every envelope), so a machine
whose speed drifts by tens of per cent over minutes (a shared VM's does) slows both alike. It
prints each side's wall time and CPU time an envelope, and the median of the envelope-by-
envelope ratios (the baseline is ``--base``, measured in the same run). The first two
envelopes of each side are left out (caches warming).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _use(source: Path) -> None:
    """Import crrt from ``source`` rather than from the editable install (which may be
    another checkout's)."""
    sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f)
                        and "editable" not in type(f).__module__]
    sys.path.insert(0, str(source))


def worker(backend: str, envelopes: int, postgres: str) -> None:
    """Set up a database, say ``ready``, then add an envelope per line read; answer with the
    wall and CPU seconds it took."""
    sys.path.insert(1, str(HERE))
    from keyed import create_postgres, drop_postgres, migrated_database
    from taxii import indicators, quiet_collector, seed

    from crrt.auth import service as auth
    from crrt.intel import service as intel

    folder = Path(tempfile.mkdtemp(prefix="crrt-ab-"))
    name = f"crrt_bench_ab_{os.getpid()}"
    url = f"sqlite:///{folder / 'bench.db'}" if backend == "sqlite" \
        else create_postgres(postgres, name)
    database: Any = None
    try:
        secret, collection = seed(url)
        database = migrated_database(url)
        with database.session() as db:
            me, _due = auth.check_token(db, secret)
        sent = indicators(envelopes * 500)
        quiet_collector()
        print("ready", flush=True)
        at = 0
        for line in sys.stdin:
            if line.strip() != "go":
                break
            chunk, at = sent[at:at + 500], at + 500
            wall, cpu = time.perf_counter(), time.process_time()
            with database.session() as db:
                outcome = intel.add_objects(db=db, actor=me, collection_id=collection,
                                            envelope={"objects": chunk})
                intel.record_status(db=db, actor=me, collection_id=collection, outcome=outcome)
            print(f"{time.perf_counter() - wall} {time.process_time() - cpu}", flush=True)
    finally:
        if database is not None:
            database.dispose()
        if backend == "postgresql":
            drop_postgres(postgres, name)
        shutil.rmtree(folder, ignore_errors=True)


def compare(args: argparse.Namespace, tree: Path) -> dict[str, list[tuple[float, float]]]:
    """Run the two workers, an envelope each in turn; each side's (wall, CPU) seconds."""
    sides: dict[str, subprocess.Popen[str]] = {}
    times: dict[str, list[tuple[float, float]]] = {"base": [], "this tree": []}
    try:
        for label, source in (("base", tree), ("this tree", ROOT)):
            sides[label] = subprocess.Popen(  # noqa: S603 - our own command line
                [sys.executable, __file__, "--base", args.base, "--backend", args.backend,
                 "--envelopes", str(args.envelopes), "--postgres", args.postgres,
                 "--worker", str(source)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                text=True)
        for label, process in sides.items():
            assert process.stdout is not None
            if process.stdout.readline().strip() != "ready":
                raise SystemExit(f"the {label} worker did not start")
        for n in range(args.envelopes):
            for label in (("base", "this tree") if n % 2 == 0 else ("this tree", "base")):
                process = sides[label]
                assert process.stdin is not None and process.stdout is not None
                process.stdin.write("go\n")
                process.stdin.flush()
                answer = process.stdout.readline().split()
                if len(answer) != 2:
                    raise SystemExit(f"the {label} worker stopped")
                times[label].append((float(answer[0]), float(answer[1])))
    finally:
        for process in sides.values():
            with contextlib.suppress(OSError):  # a worker that died closed its end
                assert process.stdin is not None
                process.stdin.write("stop\n")
                process.stdin.close()
            try:
                process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                process.kill()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the commit to compare against")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--envelopes", type=int, default=40)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.envelopes < 3:
        parser.error("--envelopes: at least 3 (the first two of each side are left out)")
    if args.worker:
        _use(args.worker)
        worker(args.backend, args.envelopes, args.postgres)
        return
    tree = Path(tempfile.mkdtemp(prefix="crrt-base-"))
    try:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q",  # noqa: S603, S607
                        str(tree), args.base], check=True)
    except subprocess.CalledProcessError:
        tree.rmdir()
        raise SystemExit(f"no commit {args.base!r} to compare with") from None
    try:
        times = compare(args, tree)
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],  # noqa: S603, S607
                       check=False)
    print(f"== {args.backend}; {os.cpu_count()} cores; {args.envelopes} envelopes of 500 "
          f"indicators each way, in turns; base {args.base}")
    for label, measured in times.items():
        walls = [w * 1000 for w, _c in measured[2:]]
        cpus = [c * 1000 for _w, c in measured[2:]]
        print(f"{label:9}: an envelope {statistics.median(walls):5.1f} ms (median; mean "
              f"{statistics.mean(walls):5.1f}), Python's CPU {statistics.median(cpus):5.1f} ms")
    ratios = [b[0] / t[0] for b, t in zip(times["base"][2:], times["this tree"][2:],
                                          strict=True)]
    print(f"base ÷ this tree, envelope by envelope (median): {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
