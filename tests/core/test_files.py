"""The content-addressed file store: real files under tmp_path, no mocks of the filesystem."""

from __future__ import annotations

import asyncio
import hashlib
import stat
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from crrt.core import clock
from crrt.core.config import Settings
from crrt.core.errors import DomainError, NotFound
from crrt.core.files import CHUNK, FileStore, MalformedDigest, Stored, TooLarge, store_for
from crrt.core.http import BodyLimit, body_limit, domain_problem

REPO = Path(__file__).resolve().parents[2]
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@pytest.fixture
def store(tmp_path: Path) -> FileStore:
    return FileStore(tmp_path / "files")


def files_under(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file()) if directory.exists() else []


async def chunked(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def save(store: FileStore, *parts: bytes, limit: int = 10 * CHUNK) -> Stored:
    return asyncio.run(store.save_stream(chunked(*parts), limit=limit))


def flip_byte(path: Path, at: int = 0) -> None:
    path.chmod(0o640)
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def test_bytes_round_trip_under_their_sha256(store):
    data = b"incident report\x00\xff" * 100
    stored = store.save_bytes(data, limit=len(data))
    assert stored == Stored(hashlib.sha256(data).hexdigest(), len(data), created=True)
    with store.open(stored.sha256) as file:
        assert file.read() == data
    assert store.exists(stored.sha256)
    sha = stored.sha256
    assert store.path_of(sha) == store.root / "sha256" / sha[:2] / sha[2:4] / sha


def test_a_stream_of_chunks_round_trips_whole(store):
    parts = [b"a" * 10, b"", b"b" * (CHUNK + 7), b"c" * 3 * CHUNK, b"tail"]
    data = b"".join(parts)
    stored = save(store, *parts)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.size == len(data)
    assert stored.created
    assert store.path_of(stored.sha256).read_bytes() == data
    assert files_under(store.tmp) == []


def test_stream_and_bytes_of_the_same_content_share_one_object(store):
    first = save(store, b"same ", b"content")
    second = store.save_bytes(b"same content", limit=100)
    third = save(store, b"same content")
    assert first.created
    assert not second.created and not third.created
    assert first.sha256 == second.sha256 == third.sha256
    assert files_under(store.objects) == [store.path_of(first.sha256)]
    assert files_under(store.tmp) == []


def test_stored_objects_are_read_only(store):
    stored = store.save_bytes(b"evidence", limit=100)
    assert stat.S_IMODE(store.path_of(stored.sha256).stat().st_mode) == 0o440


def test_an_empty_upload_is_stored_as_the_hash_of_nothing(store):
    stored = save(store)
    assert stored == Stored(EMPTY_SHA256, 0, created=True)
    assert store.path_of(EMPTY_SHA256).read_bytes() == b""
    assert not store.save_bytes(b"", limit=0).created


def test_a_stream_past_the_limit_stops_one_chunk_after_it(store):
    pulled = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal pulled
        while pulled < 1000:  # bounded, so a store that never stops fails instead of hanging
            pulled += 1
            yield b"x" * 1000

    with pytest.raises(TooLarge) as refused:
        asyncio.run(store.save_stream(endless(), limit=5000))
    assert refused.value.status == 413
    assert refused.value.slug == "too-large"
    assert pulled == 6  # five chunks fill the limit exactly; the sixth passes it
    assert files_under(store.root) == []


def test_a_large_stream_past_the_limit_leaves_no_temp_file(store):
    with pytest.raises(TooLarge):
        save(store, *([b"y" * CHUNK] * 3), limit=2 * CHUNK + 1)
    assert files_under(store.root) == []


def test_bytes_past_the_limit_are_refused_and_nothing_is_written(store):
    with pytest.raises(TooLarge):
        store.save_bytes(b"z" * 101, limit=100)
    assert files_under(store.root) == []
    assert store.save_bytes(b"z" * 100, limit=100).size == 100


def test_a_failing_stream_leaves_no_temp_file(store):
    async def broken() -> AsyncIterator[bytes]:
        yield b"q" * (2 * CHUNK)
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        asyncio.run(store.save_stream(broken(), limit=10 * CHUNK))
    assert files_under(store.root) == []


def test_verify_catches_a_flipped_byte(store):
    kept = store.save_bytes(b"untouched", limit=100)
    damaged = store.save_bytes(b"to be damaged", limit=100)
    assert store.verify(damaged.sha256)
    flip_byte(store.path_of(damaged.sha256), at=5)
    assert not store.verify(damaged.sha256)
    assert store.verify(kept.sha256)


def test_verify_of_a_missing_object_fails(store):
    assert not store.verify("0" * 64)


def test_verify_all_lists_exactly_the_damaged_objects(store):
    good = [store.save_bytes(f"good {n}".encode(), limit=100).sha256 for n in range(3)]
    flipped = store.save_bytes(b"flipped", limit=100).sha256
    truncated = save(store, b"t" * (CHUNK + 10)).sha256
    flip_byte(store.path_of(flipped))
    path = store.path_of(truncated)
    path.chmod(0o640)
    path.write_bytes(path.read_bytes()[:-1])
    stray = store.objects / "ab" / "cd" / "not-a-digest"
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"?")
    misplaced = hashlib.sha256(b"misplaced").hexdigest()
    (store.objects / misplaced).write_bytes(b"misplaced")

    assert store.verify_all() == sorted([flipped, truncated, "ab/cd/not-a-digest", misplaced])
    assert all(store.verify(sha) for sha in good)


def test_verify_all_of_an_empty_store_is_empty(store):
    assert store.verify_all() == []


MALFORMED = ["../etc/passwd", "A" * 64, "ab" * 31 + "a", "a" * 65, "", "a" * 64 + "\n",
             "../" + "a" * 61, "g" * 64]


@pytest.mark.parametrize("digest", MALFORMED)
def test_a_malformed_digest_is_refused_before_it_becomes_a_path(store, digest):
    for use in (store.path_of, store.exists, store.open, store.verify):
        with pytest.raises(MalformedDigest) as refused:
            use(digest)
        assert refused.value.status == 422
        assert digest not in refused.value.detail or digest == ""


def test_an_upper_case_digest_of_a_stored_object_is_still_refused(store):
    stored = store.save_bytes(b"case", limit=100)
    with pytest.raises(MalformedDigest):
        store.open(stored.sha256.upper())


def test_opening_a_missing_object_is_not_found(store):
    with pytest.raises(NotFound):
        store.open("0" * 64)
    assert not store.exists("0" * 64)


CRASH = """
import asyncio, os, sys
from pathlib import Path
from crrt.core.files import CHUNK, FileStore

async def chunks():
    for _ in range(3):
        yield b"x" * CHUNK
    os._exit(17)

asyncio.run(FileStore(Path(sys.argv[1])).save_stream(chunks(), limit=10 * CHUNK))
"""


def test_a_crash_mid_upload_leaves_only_a_temp_file_that_clean_temp_removes(store):
    # A real crash: the child process dies (os._exit) with the upload half written.
    crash = subprocess.run(  # noqa: S603 - our own interpreter and script, no outside input
        [sys.executable, "-c", CRASH, str(store.root)], cwd=REPO,
        capture_output=True, check=False, timeout=60)
    assert crash.returncode == 17, crash.stderr.decode()
    temp_files = files_under(store.tmp)
    assert len(temp_files) == 1
    assert temp_files[0].stat().st_size == 3 * CHUNK
    assert files_under(store.objects) == []
    assert not store.exists(hashlib.sha256(b"x" * 3 * CHUNK).hexdigest())
    assert store.verify_all() == []

    assert store.clean_temp(timedelta(hours=1)) == 0  # may still be a running upload
    with clock.frozen(clock.now() + timedelta(hours=2)):
        assert store.clean_temp(timedelta(hours=1)) == 1
    assert files_under(store.root) == []


def test_clean_temp_of_a_fresh_store_does_nothing(store):
    assert store.clean_temp(timedelta(0)) == 0


def test_negative_limit_is_a_programming_error(store):
    with pytest.raises(ValueError, match="limit"):
        save(store, b"x", limit=-1)
    with pytest.raises(ValueError, match="limit"):
        store.save_bytes(b"x", limit=-1)
    assert files_under(store.root) == []


def test_store_for_uses_the_data_dir(tmp_path):
    assert store_for(Settings(data_dir=tmp_path)).root == tmp_path / "files"


def test_the_folders_a_store_creates_are_its_owners_alone(tmp_path, permissive_umask):
    data_dir = tmp_path / "var"
    store = store_for(Settings(data_dir=data_dir))
    stored = store.save_bytes(b"evidence", limit=100)
    folders = [data_dir, *(path for path in data_dir.rglob("*") if path.is_dir())]
    assert store.tmp in folders and store.path_of(stored.sha256).parent in folders
    assert {folder: stat.S_IMODE(folder.stat().st_mode) for folder in folders} == \
        dict.fromkeys(folders, 0o700)


# Through a real FastAPI app as crrt builds its routes: the route's own body limit
# (``@body_limit``, enforced by crrt's BodyLimit middleware) and the store's limit are two fences.

@pytest.fixture
def upload_client(store) -> Iterator[TestClient]:
    app = FastAPI()
    app.add_exception_handler(DomainError, domain_problem)
    app.add_middleware(BodyLimit, default=64)

    @app.post("/api/upload")
    @body_limit(1024)
    async def upload(request: Request) -> dict[str, str]:
        stored = await store.save_stream(request.stream(), limit=512)
        return {"sha256": stored.sha256}

    with TestClient(app) as client:
        yield client


def test_a_small_upload_through_a_route_is_stored(upload_client, store):
    body = b"p" * 300
    response = upload_client.post("/api/upload", content=body)
    assert response.status_code == 200, response.text
    sha = hashlib.sha256(body).hexdigest()
    assert response.json() == {"sha256": sha}
    assert store.path_of(sha).read_bytes() == body


def test_an_upload_over_the_store_limit_gets_the_stores_413(upload_client, store):
    response = upload_client.post("/api/upload", content=b"m" * 800)
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] == "/problems/too-large"
    assert response.json()["limit"] == 512
    assert files_under(store.root) == []


@pytest.mark.parametrize("chunked_body", [False, True], ids=["content-length", "chunked"])
def test_an_upload_over_the_route_limit_is_refused_at_the_door(upload_client, store,
                                                                chunked_body):
    body = b"L" * 2000
    content = iter([body]) if chunked_body else body
    response = upload_client.post("/api/upload", content=content)
    assert response.status_code == 413
    assert response.json()["type"] == "/problems/too-large"
    assert "1 KiB" in response.json()["detail"]  # the route's limit, not the default's
    assert files_under(store.root) == []


def test_uploading_the_same_bytes_again_repairs_a_corrupted_object(store):
    stored = store.save_bytes(b"evidence of the incident", limit=100)
    flip_byte(store.path_of(stored.sha256), at=3)
    assert not store.verify(stored.sha256)
    again = store.save_bytes(b"evidence of the incident", limit=100)
    assert again.created and store.verify(stored.sha256)
    assert store.verify_all() == []
