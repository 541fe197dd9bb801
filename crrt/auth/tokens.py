"""Random secrets for API tokens and web sessions (only their SHA-256 is ever stored), and CSRF
tokens.

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


def nonce_binding(nonce: str) -> str:
    """What an anonymous browser's CSRF token is bound to: its nonce cookie (sign-in form)."""
    return f"nonce:{nonce}"


def session_binding(session_secret: str) -> str:
    """What a signed-in browser's CSRF token is bound to: its session's id hash, so a token
    taken from another browser, or before signing in, does not work with this session."""
    return f"session:{digest(session_secret)}"


def csrf_token(secret_key: str, binding: str) -> str:
    """The form token for a binding (:func:`nonce_binding`, :func:`session_binding`): an HMAC
    only this server can make."""
    return hmac.new(secret_key.encode(), f"csrf:{binding}".encode(), hashlib.sha256).hexdigest()


def csrf_valid(secret_key: str, binding: str | None, token: str | None) -> bool:
    if not binding or not token or not token.isascii():
        return False
    return hmac.compare_digest(csrf_token(secret_key, binding).encode(), token.encode())
