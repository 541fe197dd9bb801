"""My API tokens: the person's own bearer tokens, listed, created (with the password given
again, as the API asks of a browser session) and revoked.

A new token's secret is in the answer to the form that created it and nowhere else: not in
a URL, not stored, not logged; the page is sent ``Cache-Control: no-store``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from crrt.access.principal import Principal
from crrt.auth import service as auth_service
from crrt.auth.identify import client_address
from crrt.auth.schemas import TokenIn
from crrt.core import clock
from crrt.core.errors import Invalid, TooManyRequests, Unauthenticated
from crrt.core.http import Db, Id
from crrt.web import forms, session
from crrt.web.i18n import _
from crrt.web.session import CheckedForm, SignedIn
from crrt.web.templating import render

router = APIRouter(include_in_schema=False)

ANCHORS = {"name": "token-name", "days": "token-days", "password": "token-password"}
DEFAULT_DAYS = 90
MAX_DAYS = 366  # a token outlives its session: a year at most, then a new one


def _tokens_page(request: Request, db: Session, me: Principal, *,
                 values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                 created: tuple[Any, str] | None = None, revoked: int | None = None,
                 status: int = 200, headers: dict[str, str] | None = None) -> Response:
    mine = auth_service.own_account(db=db, actor=me)
    listed = auth_service.list_tokens(db=db, actor=me, user=mine)
    now = clock.now()
    return render(request, "account_tokens.html", {
        "tokens": [(token, token.revoked_at is None and token.expires_at is not None
                    and clock.as_utc(token.expires_at) <= now) for token in reversed(listed)],
        "values": values or {"name": "", "days": str(DEFAULT_DAYS)},
        "errors": errors or {}, "anchors": ANCHORS, "max_days": MAX_DAYS,
        "created": created,
        "revoked": next((t for t in listed if t.id == revoked), None)},
        status=status, headers=headers)


@router.get("/account/tokens")
def tokens_page(request: Request, db: Db, me: SignedIn, revoked: int | None = None) -> Response:
    return _tokens_page(request, db, me, revoked=revoked)


def _days(text: str) -> tuple[int | None, str | None]:
    """The expiry in whole days, or the message to show by the field."""
    # ASCII digits only: "²" and "٣" are digits to str.isdigit but not to int() or people
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_DAYS:
        return None, _("Enter a number of days from 1 to %(count)s.", count=MAX_DAYS)
    return int(text), None


@router.post("/account/tokens")
def create_token(request: Request, db: Db, me: SignedIn, form: CheckedForm) -> Response:
    """Create a token; the answer shows its secret once. The password is asked again, checked
    like a sign-in (throttled), with no transaction open while Argon2 runs."""
    values = {"name": forms.text(form, "name")[:200], "days": forms.text(form, "days")[:10]}
    password = form.get("password")
    password = password if isinstance(password, str) else ""
    errors: dict[str, str] = {}
    if not values["name"]:
        errors["name"] = _("Give the token a name, so you know it again.")
    days, problem = _days(values["days"])
    if problem:
        errors["days"] = problem
    if not password:
        errors["password"] = _("Enter your password.")
    data = None
    if not errors and days is not None:
        try:
            data = TokenIn.model_validate({"name": values["name"], "password": password,
                                           "expires_at": clock.now() + timedelta(days=days)})
        except ValidationError as exc:
            errors = {key: message for key, message in forms.messages(exc).items()
                      if key != "password"} or {"password": _("Enter your password.")}
    if data is None:
        return _tokens_page(request, db, me, values=values, errors=errors, status=422)
    db.commit()  # identifying the caller only read: hold no lock while Argon2 runs
    settings = session.settings_of(request)
    try:
        token, secret = auth_service.create_token_with_password(
            database=request.app.state.database, actor=me, data=data,
            address=client_address(request), max_failures=settings.login_max_failures,
            window=timedelta(minutes=settings.login_window_minutes))
    except TooManyRequests as exc:
        busy = _("Too many failed attempts. Wait a few minutes and try again.")
        return _tokens_page(request, db, me, values=values, errors={"password": busy},
                            status=429,
                            headers={"Retry-After": str(exc.extra.get("retry_after", 60))})
    except (Unauthenticated, Invalid):
        wrong = _("Your password is not right.")
        return _tokens_page(request, db, me, values=values, errors={"password": wrong},
                            status=422)
    return _tokens_page(request, db, me, created=(token, secret))


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(request: Request, db: Db, me: SignedIn, form: CheckedForm,
                 token_id: Id) -> Response:
    """Revoke one of one's own tokens (anyone else's, even for an admin, is not found here)."""
    auth_service.revoke_token(db=db, actor=me, token_id=token_id, own_only=True)
    return RedirectResponse(f"/account/tokens?revoked={token_id}", status_code=303)
