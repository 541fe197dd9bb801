"""Random secrets for API tokens and web sessions; only their SHA-256 is ever stored.

The secrets carry 256 bits of entropy, so a fast hash is enough (no dictionary to guess from)
and a bearer check costs one indexed lookup.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

TOKEN_PREFIX = "crrt_"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def csrf_token(secret_key: str, nonce: str) -> str:
    """The form token for a browser's CSRF nonce: an HMAC only this server can make."""
    return hmac.new(secret_key.encode(), f"csrf:{nonce}".encode(), hashlib.sha256).hexdigest()


def csrf_valid(secret_key: str, nonce: str | None, token: str | None) -> bool:
    if not nonce or not token or not token.isascii():
        return False
    return hmac.compare_digest(csrf_token(secret_key, nonce).encode(), token.encode())
