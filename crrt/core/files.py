"""Content-addressed file storage under the data directory, for evidence and reports.

An object is named by the SHA-256 of its bytes (``root/sha256/ab/cd/<hex>``), so the same content
is stored once and a name always says what the bytes must hash to. Uploads are streamed into
``root/tmp`` while being hashed and counted, then renamed into place: a crash leaves at most a
temporary file, never a partial object. The size limit is the caller's (the route that takes the
upload), never derived from a URL.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import AsyncIterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

from anyio import to_thread

from crrt.core import clock
from crrt.core.config import Settings, make_private_dir
from crrt.core.errors import DomainError, FieldError, Invalid, NotFound

CHUNK = 1024 * 1024
"""The most bytes hashed, written or read at a time, so memory stays bounded at any size."""

OBJECT_MODE = 0o440
_DIGEST = re.compile(r"[0-9a-f]{64}")


class TooLarge(DomainError):
    """An upload past the limit its route allows (413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"The file is larger than the {limit} bytes allowed here.", 413,
                         "too-large", "Too large", {"limit": limit})


class MalformedDigest(Invalid):
    """A file name that is not a SHA-256 digest: refused before it can become a path."""

    def __init__(self) -> None:
        msg = "A file digest is 64 lowercase hexadecimal characters (SHA-256)."
        super().__init__(msg, [FieldError(["sha256"], msg)])


@dataclass(frozen=True, slots=True)
class Stored:
    """What a save stored: the object's name, its size, and whether this save created it."""

    sha256: str
    size: int
    created: bool


def check_digest(sha256: str) -> str:
    """``sha256`` if it is a well-formed digest; anything else (``..``, ``/``, upper case,
    a trailing newline) raises :class:`MalformedDigest`, so it never reaches the filesystem."""
    if not isinstance(sha256, str) or not _DIGEST.fullmatch(sha256):
        raise MalformedDigest()
    return sha256


def store_for(settings: Settings) -> FileStore:
    """The process's store, at ``<data_dir>/files``."""
    return FileStore(settings.data_dir / "files")


def staging_for(settings: Settings, area: str) -> FileStore:
    """A store of files held only between two steps (a checked upload awaiting its
    confirmation), at ``<data_dir>/staging/<area>``: apart from the kept files, so removing
    one never removes what another part stored with the same bytes."""
    if not area.isidentifier():
        raise ValueError(f"not a staging area: {area!r}")
    return FileStore(settings.data_dir / "staging" / area)


class FileStore:
    """Objects under ``root/sha256``, temporary files under ``root/tmp``.

    Both live under one root, so on one filesystem: the final rename is atomic. Nothing is
    created on disk until the first save.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.objects = root / "sha256"
        self.tmp = root / "tmp"

    # Writing

    async def save_stream(self, chunks: AsyncIterable[bytes], *, limit: int) -> Stored:
        """Store a streamed upload (such as ``request.stream()``) of at most ``limit`` bytes.

        Each chunk is counted as it arrives, and the first one past the limit ends the upload
        with :class:`TooLarge`, its temporary file removed. Disk work and hashing run in a
        worker thread, so a large upload or a slow ``fsync`` does not stall the event loop.
        """
        upload = _Upload(self, limit)
        try:
            pending = bytearray()
            async for chunk in chunks:
                upload.admit(len(chunk))
                pending += chunk
                if len(pending) >= CHUNK:
                    full, pending = pending, bytearray()
                    await to_thread.run_sync(upload.write, full)
            if pending:
                await to_thread.run_sync(upload.write, pending)
            return await to_thread.run_sync(upload.commit)
        except BaseException:
            upload.discard()
            raise

    def save_bytes(self, data: bytes, *, limit: int) -> Stored:
        """Store bytes already in memory (a generated report); blocking, so keep it off the
        event loop."""
        _check_limit(limit)
        if len(data) > limit:
            raise TooLarge(limit)
        upload = _Upload(self, limit)
        try:
            upload.admit(len(data))
            upload.write(data)
            return upload.commit()
        except BaseException:
            upload.discard()
            raise

    # Reading

    def path_of(self, sha256: str) -> Path:
        """Where the object named ``sha256`` is (or would be) stored."""
        check_digest(sha256)
        return self.objects / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path_of(sha256).is_file()

    def open(self, sha256: str) -> BinaryIO:
        """The object for reading; :class:`NotFound` if it is not stored."""
        path = self.path_of(sha256)
        try:
            return path.open("rb")
        except FileNotFoundError:
            raise NotFound("No file with this digest is stored.") from None

    # Integrity

    def verify(self, sha256: str) -> bool:
        """Whether the object's bytes still hash to its name; False when it is missing."""
        path = self.path_of(sha256)
        try:
            return _hash_file(path) == sha256
        except FileNotFoundError:
            return False

    def verify_all(self) -> list[str]:
        """Everything under ``root/sha256`` that fails a check, sorted: the digest of each
        object whose bytes no longer match, and the relative path of each file that is not
        a digest in its right place (so :meth:`path_of` could never reach it)."""
        bad: list[str] = []
        if not self.objects.is_dir():
            return bad
        for dirpath, _dirnames, filenames in os.walk(self.objects):
            for name in filenames:
                path = Path(dirpath) / name
                if _DIGEST.fullmatch(name) and path == self.path_of(name):
                    if _hash_file(path) != name:
                        bad.append(name)
                else:
                    bad.append(path.relative_to(self.objects).as_posix())
        return sorted(bad)

    # Removing (staging stores only: a kept object may be shared by content)

    def remove(self, sha256: str) -> None:
        """Delete the object named ``sha256``, if it is there."""
        self.path_of(sha256).unlink(missing_ok=True)

    def _stored_before(self, older_than: timedelta) -> Iterator[Path]:
        if not self.objects.is_dir():
            return
        cutoff = clock.now().timestamp() - older_than.total_seconds()
        for path in self.objects.glob("*/*/*"):
            if path.is_file() and path.stat().st_mtime < cutoff:
                yield path

    def holds_older(self, older_than: timedelta) -> bool:
        """Whether any object was stored longer ago than ``older_than``."""
        return next(self._stored_before(older_than), None) is not None

    def prune(self, older_than: timedelta) -> int:
        """Delete the objects stored longer ago than ``older_than``; returns how many."""
        removed = 0
        for path in self._stored_before(older_than):
            path.unlink(missing_ok=True)
            removed += 1
        return removed

    def clean_temp(self, older_than: timedelta) -> int:
        """Remove temporary files left by crashed uploads; returns how many.

        ``older_than`` must exceed the longest upload, or one still running loses its file.
        """
        if not self.tmp.is_dir():
            return 0
        cutoff = clock.now().timestamp() - older_than.total_seconds()
        removed = 0
        for entry in os.scandir(self.tmp):
            if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                Path(entry.path).unlink(missing_ok=True)
                removed += 1
        return removed


class _Upload:
    """One object being written: its temporary file, running hash and byte count."""

    def __init__(self, store: FileStore, limit: int) -> None:
        _check_limit(limit)
        self.store = store
        self.limit = limit
        self.size = 0
        self.hash = hashlib.sha256()
        _make_dirs(store.tmp)
        fd, name = tempfile.mkstemp(prefix="upload-", suffix=".part", dir=store.tmp)
        self.path = Path(name)
        try:
            self.file = os.fdopen(fd, "wb")
        except BaseException:
            os.close(fd)
            self.path.unlink(missing_ok=True)
            raise

    def admit(self, length: int) -> None:
        """Count ``length`` more bytes, refusing them as soon as the total passes the limit."""
        self.size += length
        if self.size > self.limit:
            raise TooLarge(self.limit)

    def write(self, data: bytes | bytearray) -> None:
        view = memoryview(data)
        for start in range(0, len(view), CHUNK):
            piece = view[start:start + CHUNK]
            self.hash.update(piece)
            self.file.write(piece)

    def commit(self) -> Stored:
        """Make the bytes durable, then rename them into place, or drop them when the same
        content is already stored."""
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        digest = self.hash.hexdigest()
        target = self.store.path_of(digest)
        if target.is_file() and self.store.verify(digest):
            self.path.unlink()
            os.utime(target)  # stored again now: a staging store keeps it from now on
            return Stored(digest, self.size, created=False)
        self.path.chmod(OBJECT_MODE)
        _make_dirs(target.parent)
        os.replace(self.path, target)  # a corrupted object of these bytes is repaired here
        _fsync_dir(target.parent)
        return Stored(digest, self.size, created=True)

    def discard(self) -> None:
        self.file.close()
        self.path.unlink(missing_ok=True)


def _check_limit(limit: int) -> None:
    if limit < 0:
        raise ValueError("limit must not be negative")


def _make_dirs(directory: Path) -> None:
    """Create ``directory`` and its missing parents (private, as the data directory), each new
    one made durable in its parent."""
    for created in make_private_dir(directory):
        _fsync_dir(created.parent)


def _hash_file(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def _fsync_dir(directory: Path) -> None:
    """Persist a directory's entries (a rename or a new name in it) across a power loss."""
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
