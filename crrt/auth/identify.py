"""Who is calling: a bearer token, or a browser's session cookie (with CSRF on writes).

The application installs :func:`identify` as ``app.state.identify``; every part's routes reach
it through :data:`crrt.access.caller.Me`.
"""

from __future__ import annotations

import logging

from fastapi import Request
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from crrt.access.principal import Principal
from crrt.auth import service, tokens
from crrt.core.errors import Forbidden, Unauthenticated

log = logging.getLogger("crrt.auth")

SESSION_COOKIE = "crrt_session"
CSRF_COOKIE = "crrt_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
HOST_PREFIX = "__Host-"


def cookie_name(request: Request, name: str) -> str:
    """``name`` as this server sets and reads it: with the ``__Host-`` prefix when cookies are
    secure. Browsers keep such a cookie only if it is Secure, for ``Path=/`` and without a
    ``Domain``, so a sibling subdomain or a plain-HTTP page can neither plant nor shadow it."""
    return HOST_PREFIX + name if request.app.state.settings.secure_cookies else name


def session_secret(request: Request) -> str | None:
    """The browser's session cookie, if it sent one."""
    return request.cookies.get(cookie_name(request, SESSION_COOKIE)) or None


def csrf_nonce_cookie(request: Request) -> str | None:
    """The browser's anonymous CSRF nonce, if it sent one."""
    return request.cookies.get(cookie_name(request, CSRF_COOKIE)) or None


def csrf_binding(request: Request, *, sign_in: bool = False) -> str | None:
    """What this browser's CSRF token must be bound to: its session once it holds a session
    cookie, its anonymous nonce before. Only the sign-in form (``sign_in``) takes the nonce's
    token from a browser with a session cookie, so a token taken anonymously (or from another
    browser) cannot write with someone's session."""
    secret = session_secret(request)
    if secret and not sign_in:
        return tokens.session_binding(secret)
    nonce = csrf_nonce_cookie(request)
    return tokens.nonce_binding(nonce) if nonce else None


def csrf_ok(request: Request, token: str | None, *, sign_in: bool = False) -> bool:
    key = request.app.state.settings.resolved_secret_key()
    return tokens.csrf_valid(key, csrf_binding(request, sign_in=sign_in), token)


def by_session(request: Request) -> bool:
    """Whether the caller is (or claims to be) a browser session rather than a bearer token:
    :func:`identify` reads the cookie only when no ``Authorization`` header is sent."""
    return not request.headers.get("authorization")


def client_address(request: Request) -> str:
    """The network address that sign-in throttling counts (as uvicorn reports it)."""
    return request.client.host if request.client else "unknown"


def identify(request: Request, db: Session,
             credentials: HTTPAuthorizationCredentials | None) -> Principal | None:
    """The caller if it identified itself; a bad token is a 401, not anonymity.

    ``db`` only reads (see :func:`crrt.access.caller.optional_principal`), so a token's use is
    remembered on the side, in a short writing transaction of its own.
    """
    if not by_session(request):
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise Unauthenticated("Send the token as 'Authorization: Bearer <token>'.")
        principal, due = service.check_token(db, credentials.credentials)
        if due is not None:
            try:
                with request.app.state.database.session() as writing:
                    service.remember_token_use(writing, due)
            except OperationalError:  # SQLite busy with a long write: note the use next time
                log.info("token use not recorded this time: the database is busy")
        return principal
    secret = session_secret(request)
    if not secret:
        return None
    from_session = service.session_principal(db, secret)
    if from_session is not None and request.method not in SAFE_METHODS and \
            not csrf_ok(request, request.headers.get(CSRF_HEADER)):
        raise Forbidden(f"A browser session must send the {CSRF_HEADER} header on writes.")
    return from_session
