"""Argon2id password hashing (argon2-cffi's defaults follow RFC 9106's low-memory profile)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12


class _Hashing:
    """The hasher in use, and a hash to verify against when an account has no password, so a
    missing user costs the same time as a present one."""

    def __init__(self, hasher: PasswordHasher) -> None:
        self.hasher = hasher
        self.dummy = hasher.hash("crrt: no such user")


_current = _Hashing(PasswordHasher())


def configure(*, time_cost: int, memory_cost: int, parallelism: int) -> None:
    """Use other Argon2 parameters from now on (the test suite's cheap ones); hashes made
    with the production parameters still verify, and are flagged for rehashing."""
    global _current
    _current = _Hashing(PasswordHasher(time_cost=time_cost, memory_cost=memory_cost,
                                       parallelism=parallelism))


def restore_defaults() -> None:
    """Back to the production parameters (argon2-cffi's RFC 9106 defaults)."""
    global _current
    _current = _Hashing(PasswordHasher())


def hash_password(password: str) -> str:
    return _current.hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; constant work whether or not there is a hash."""
    try:
        return _current.hasher.verify(password_hash or _current.dummy, password) \
            and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _current.hasher.check_needs_rehash(password_hash)
