"""Who is looking at a page, and the cookies that carry it: the session and the CSRF nonce.

Pages read only the session cookie (never a bearer token), and every form POST carries a hidden
``csrf_token``, an HMAC bound to the browser's session once it is signed in (to its anonymous
nonce on the sign-in form), so another site cannot post a form in the user's name: it can
neither read the cookies nor compute the token without our key, and a token taken before
signing in, or from another browser, does not work with this session.
"""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import quote, urlencode, urlsplit

from fastapi import Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData
from starlette.routing import Match

from crrt.access.principal import Principal
from crrt.auth import service as auth_service
from crrt.auth import tokens
from crrt.auth.identify import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    cookie_name,
    csrf_nonce_cookie,
    csrf_ok,
    session_secret,
)
from crrt.core.config import Settings
from crrt.core.errors import Forbidden, Unauthenticated
from crrt.core.http import Db
from crrt.web import i18n, viewpoint
from crrt.web.i18n import N_

CSRF_FIELD = "csrf_token"
UPLOAD_FIELDS = 10  # an upload form's fields besides its file


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def csrf_nonce(request: Request) -> str:
    """The browser's CSRF nonce; a new one (set on the response by :func:`keep_csrf`) if none."""
    nonce = getattr(request.state, "csrf_nonce", None) or csrf_nonce_cookie(request)
    if not nonce:
        nonce = secrets.token_urlsafe(32)
    request.state.csrf_nonce = nonce
    return nonce


def csrf_token_for(request: Request) -> str:
    """The hidden form field (and ``<meta name="csrf-token">``) value for this browser: bound
    to its session when someone is signed in, to its anonymous nonce otherwise."""
    key = settings_of(request).resolved_secret_key()
    secret = session_secret(request)
    if getattr(request.state, "principal", None) is not None and secret:
        return tokens.csrf_token(key, tokens.session_binding(secret))
    return tokens.csrf_token(key, tokens.nonce_binding(csrf_nonce(request)))


def keep_csrf(request: Request, response: Response) -> None:
    """Hand the browser its nonce cookie if it came without one (or with another)."""
    nonce = getattr(request.state, "csrf_nonce", None)
    if nonce and csrf_nonce_cookie(request) != nonce:
        response.set_cookie(cookie_name(request, CSRF_COOKIE), nonce, httponly=True,
                            samesite="strict", path="/", secure=settings_of(request).secure_cookies)


def renew_csrf(request: Request, response: Response) -> None:
    """A new nonce at sign-in: whatever token the browser held before stops working."""
    request.state.csrf_nonce = secrets.token_urlsafe(32)
    keep_csrf(request, response)


def set_session_cookie(request: Request, response: Response, secret: str) -> None:
    settings = settings_of(request)
    response.set_cookie(cookie_name(request, SESSION_COOKIE), secret,
                        max_age=settings.session_hours * 3600, httponly=True, samesite="lax",
                        path="/", secure=settings.secure_cookies)


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(cookie_name(request, SESSION_COOKIE), path="/", httponly=True,
                           samesite="lax", secure=settings_of(request).secure_cookies)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site only, never another host.

    ``//host`` and ``/\\host`` are refused because browsers read both as another site.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return "/"
    return target


def _form_page(request: Request) -> str | None:
    """The page a posted form was on (this site's, from the Referer), if the browser said."""
    referer = urlsplit(request.headers.get("referer", "")[:2000])
    if referer.netloc != request.url.netloc or not referer.path:
        return None
    page = safe_next(referer.path + (f"?{referer.query}" if referer.query else ""))
    return page if page != "/" or referer.path == "/" else None


def _shows_a_page(request: Request, path: str) -> bool:
    """Whether ``path`` answers a GET (a form's address may take only its POST)."""
    scope = {"type": "http", "path": path, "method": "GET", "root_path": ""}
    return any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes)


def login_url(request: Request) -> str:
    """The sign-in page, remembering the page the visitor wanted; a form posted after the
    session ended leads back to the page it was on, and the sign-in page says why (the
    browser puts back what was typed, see ``static/forms.js``)."""
    here = request.url.path
    if request.url.query:
        here += "?" + request.url.query
    if request.method == "POST":
        page = _form_page(request) or (here if _shows_a_page(request, request.url.path)
                                       else "/")
        return "/login?" + urlencode({"next": page, "ended": "1"})
    if here == "/":
        return "/login"
    return "/login?next=" + quote(here, safe="/")


def _viewer(request: Request, db: Db) -> Principal | None:
    secret = session_secret(request)
    principal = auth_service.session_principal(db, secret) if secret else None
    request.state.principal = principal
    viewpoint.for_account(request, db, principal)
    return principal


async def viewer(request: Request,
                 principal: Annotated[Principal | None, Depends(_viewer)]) -> Principal | None:
    """The signed-in user behind the session cookie, or None; remembered for error pages.

    The page's language and zone are chosen with it, and set here, on the event loop, so
    the route's thread (which copies this context) renders and words its messages in them.
    """
    i18n.use(viewpoint.of(request))
    return principal


async def page_language(request: Request) -> None:
    """For pages read without a session (signing in): the browser's language, set before the
    route runs, as :func:`viewer` does for the others."""
    i18n.use(viewpoint.of(request))


async def signed_in(principal: Annotated[Principal | None, Depends(viewer)]) -> Principal:
    """The signed-in user; anyone else is sent to sign in (the error page turns 401 into that)."""
    if principal is None:
        raise Unauthenticated(N_("Sign in to see this page."))
    return principal


async def _form(request: Request, *, sign_in: bool, max_files: int = 1000,
                max_fields: int = 1000, open_to_all: bool = False) -> FormData:
    form = await request.form(max_files=max_files, max_fields=max_fields)
    token = form.get(CSRF_FIELD)
    given = token if isinstance(token, str) else None
    if not csrf_ok(request, given, sign_in=sign_in) and not (
            open_to_all and csrf_ok(request, given, sign_in=True)):
        if not sign_in and not open_to_all and session_secret(request) is None:
            # no session at all (it ended and the cookie went with it): nothing is done, and
            # the visitor is sent to sign in, as a signed-out page sends them
            raise Unauthenticated(N_("Sign in to see this page."))
        # translated where the error page shows it (crrt/web/errors.py)
        raise Forbidden(N_("This form has expired or did not come from this site. "
                           "Go back, reload the page and try again."))
    return form


async def checked_form(request: Request) -> FormData:
    """The posted form, once its CSRF token matches this browser's session (else 403): the
    token of its anonymous nonce only while it holds no session cookie."""
    return await _form(request, sign_in=False)


async def checked_upload(request: Request) -> FormData:
    """A posted multipart form of one file and a few fields (the route bounds the body with
    ``@body_limit``), once its CSRF token matches as for :func:`checked_form`. Declared
    before the viewer, it is read before the viewer's session holds any database lock."""
    return await _form(request, sign_in=False, max_files=1, max_fields=UPLOAD_FIELDS)


async def sign_in_form(request: Request) -> FormData:
    """The posted sign-in form, once its CSRF token matches the browser's anonymous nonce."""
    return await _form(request, sign_in=True)


async def open_form(request: Request) -> FormData:
    """A posted form anyone may send, signed in or not (a call-out answered through its signed
    link), once its CSRF token matches this browser's session or its anonymous nonce: what
    such a form does is authorised by what it carries, never by the session."""
    return await _form(request, sign_in=False, open_to_all=True)


Viewer = Annotated[Principal | None, Depends(viewer)]
SignedIn = Annotated[Principal, Depends(signed_in)]
CheckedForm = Annotated[FormData, Depends(checked_form)]
CheckedUpload = Annotated[FormData, Depends(checked_upload)]
SignInForm = Annotated[FormData, Depends(sign_in_form)]
OpenForm = Annotated[FormData, Depends(open_form)]
PageLanguage = Annotated[None, Depends(page_language)]
