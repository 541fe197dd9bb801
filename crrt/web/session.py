"""Who is looking at a page, and the cookies that carry it: the session and the CSRF nonce.

Pages read only the session cookie (never a bearer token), and every form POST carries a hidden
``csrf_token`` that is an HMAC of the browser's CSRF nonce, so another site cannot post a form
in the user's name: it can neither read the nonce cookie nor compute the token without our key.
"""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from crrt.access.principal import Principal
from crrt.auth import service as auth_service
from crrt.auth import tokens
from crrt.auth.identify import CSRF_COOKIE, SESSION_COOKIE
from crrt.core.config import Settings
from crrt.core.errors import Forbidden, Unauthenticated
from crrt.core.http import Db

CSRF_FIELD = "csrf_token"


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def csrf_nonce(request: Request) -> str:
    """The browser's CSRF nonce; a new one (set on the response by :func:`keep_csrf`) if none."""
    nonce = getattr(request.state, "csrf_nonce", None) or request.cookies.get(CSRF_COOKIE)
    if not nonce:
        nonce = secrets.token_urlsafe(32)
    request.state.csrf_nonce = nonce
    return nonce


def csrf_token_for(request: Request) -> str:
    """The hidden form field (and ``<meta name="csrf-token">``) value for this browser."""
    return tokens.csrf_token(settings_of(request).resolved_secret_key(), csrf_nonce(request))


def keep_csrf(request: Request, response: Response) -> None:
    """Hand the browser its nonce cookie if it came without one."""
    nonce = getattr(request.state, "csrf_nonce", None)
    if nonce and request.cookies.get(CSRF_COOKIE) != nonce:
        response.set_cookie(CSRF_COOKIE, nonce, httponly=True, samesite="strict", path="/",
                            secure=settings_of(request).secure_cookies)


def set_session_cookie(request: Request, response: Response, secret: str) -> None:
    settings = settings_of(request)
    response.set_cookie(SESSION_COOKIE, secret, max_age=settings.session_hours * 3600,
                        httponly=True, samesite="lax", path="/",
                        secure=settings.secure_cookies)


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                           secure=settings_of(request).secure_cookies)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site only, never another host.

    ``//host`` and ``/\\host`` are refused because browsers read both as another site.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return "/"
    return target


def login_url(request: Request) -> str:
    """The sign-in page, remembering the page the visitor wanted."""
    here = request.url.path
    if request.url.query:
        here += "?" + request.url.query
    if here == "/":
        return "/login"
    return "/login?next=" + quote(here, safe="/")


def viewer(request: Request, db: Db) -> Principal | None:
    """The signed-in user behind the session cookie, or None; remembered for error pages."""
    secret = request.cookies.get(SESSION_COOKIE)
    principal = auth_service.session_principal(db, secret) if secret else None
    request.state.principal = principal
    return principal


def signed_in(principal: Annotated[Principal | None, Depends(viewer)]) -> Principal:
    """The signed-in user; anyone else is sent to sign in (the error page turns 401 into that)."""
    if principal is None:
        raise Unauthenticated("Sign in to see this page.")
    return principal


async def checked_form(request: Request) -> FormData:
    """The posted form, once its CSRF token matches this browser's nonce (else 403)."""
    form = await request.form()
    token = form.get(CSRF_FIELD)
    key = settings_of(request).resolved_secret_key()
    if not tokens.csrf_valid(key, request.cookies.get(CSRF_COOKIE),
                             token if isinstance(token, str) else None):
        raise Forbidden("This form has expired or did not come from this site. "
                        "Go back, reload the page and try again.")
    return form


Viewer = Annotated[Principal | None, Depends(viewer)]
SignedIn = Annotated[Principal, Depends(signed_in)]
CheckedForm = Annotated[FormData, Depends(checked_form)]
