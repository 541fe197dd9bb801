"""Secrets crrt must send again later (a peer's API token), kept encrypted under a key
derived from the server's secret key, never in clear in the database or a backup of it.

AES-256-GCM from ``cryptography`` (PyCA), under a key derived by HKDF-SHA256 from the secret
key and a ``purpose`` (a record's public id), so a sealed value copied onto another record
does not open. Changing ``CRRT_SECRET_KEY`` makes every sealed value unreadable: they are set
again.
"""

from __future__ import annotations

import base64
import binascii
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = b"v1"
NONCE = 12  # GCM's own size: random, never reused under one key in practice (2^96)
TAG = 16


class Unreadable(ValueError):
    """A sealed value that does not open: altered, for another purpose, or under another key."""


def _key(secret_key: str, purpose: str) -> AESGCM:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"crrt secretbox " + VERSION + b" " + purpose.encode())
    return AESGCM(derived.derive(secret_key.encode()))


def seal(secret_key: str, purpose: str, plain: str) -> str:
    """``plain`` encrypted and authenticated for ``purpose``: ASCII, safe in a text column."""
    nonce = secrets.token_bytes(NONCE)
    cipher = _key(secret_key, purpose).encrypt(nonce, plain.encode(), VERSION)
    return VERSION.decode() + "." + base64.urlsafe_b64encode(nonce + cipher).decode()


def unseal(secret_key: str, purpose: str, sealed: str) -> str:
    """The value :func:`seal` sealed for ``purpose``; :class:`Unreadable` otherwise."""
    version, _, text = sealed.partition(".")
    try:
        raw = base64.urlsafe_b64decode(text.encode())
    except (binascii.Error, ValueError) as exc:
        raise Unreadable("not a sealed value") from exc
    if version.encode() != VERSION or len(raw) < NONCE + TAG:
        raise Unreadable("not a sealed value")
    try:
        plain = _key(secret_key, purpose).decrypt(raw[:NONCE], raw[NONCE:], VERSION)
    except InvalidTag as exc:
        raise Unreadable("the sealed value does not verify under this key and purpose") from exc
    try:
        return plain.decode()
    except UnicodeDecodeError as exc:  # cannot happen once the tag verified; kept total
        raise Unreadable("the sealed value is not text") from exc
