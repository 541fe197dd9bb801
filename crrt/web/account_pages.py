"""My account: the name, language, time zone and password a person chooses for themself
(their API tokens in :mod:`crrt.web.token_pages`); and the language switch of the sign-in
page, for someone not yet signed in."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from crrt.auth import passwords
from crrt.auth import service as auth_service
from crrt.auth.identify import client_address
from crrt.auth.schemas import AccountPatch
from crrt.core.errors import Invalid, TooManyRequests
from crrt.core.http import Db
from crrt.web import forms, i18n, session
from crrt.web.i18n import _
from crrt.web.session import CheckedForm, SignedIn
from crrt.web.templating import render
from crrt.web.token_pages import router as token_router

router = APIRouter(include_in_schema=False)

ANCHORS = {"name": "name", "language": "language", "time_zone": "time_zone"}
YEAR = 365 * 24 * 3600


def _account_page(request: Request, values: dict[str, str], errors: dict[str, str], *,
                  saved: str | None = None, revoked: int = 0, status: int = 200) -> Response:
    return render(request, "account.html", {"values": values, "errors": errors,
                                            "anchors": ANCHORS, "saved": saved,
                                            "revoked": revoked, "zones": i18n.zones()},
                  status=status)


@router.get("/account")
def account(request: Request, db: Db, me: SignedIn, saved: str | None = None,
            revoked: int = 0) -> Response:
    """The choices; ``saved`` says what was just saved (``1``: the choices, ``password``)."""
    mine = auth_service.own_account(db=db, actor=me)
    values = {"name": mine.name, "language": mine.language or "",
              "time_zone": mine.time_zone or ""}
    return _account_page(request, values, {}, saved=saved if saved in ("1", "password") else None,
                         revoked=max(revoked, 0))


@router.post("/account")
def save_account(request: Request, db: Db, me: SignedIn, form: CheckedForm) -> Response:
    """Save the choices; an empty language or zone hands the choice back to the browser and
    the expert record."""
    values = {key: forms.text(form, key) for key in ("name", "language", "time_zone")}
    try:
        data = AccountPatch.model_validate({"name": values["name"],
                                            "language": values["language"] or None,
                                            "time_zone": values["time_zone"] or None})
    except ValidationError as exc:
        return _account_page(request, values, forms.messages(exc), status=422)
    auth_service.update_own_account(db=db, actor=me, data=data)
    return RedirectResponse("/account?saved=1", status_code=303)


PASSWORD_ANCHORS = {"current_password": "current_password", "new_password": "new_password",
                    "new_password_again": "new_password_again"}


def _password_page(request: Request, errors: dict[str, str], *, keep_tokens: bool = False,
                   status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """The form; a password is never shown again in it, only whether tokens are kept."""
    return render(request, "account_password.html", {
        "errors": errors, "anchors": PASSWORD_ANCHORS, "keep_tokens": keep_tokens,
        "min_length": passwords.MIN_LENGTH}, status=status, headers=headers)


@router.get("/account/password")
def password_page(request: Request, me: SignedIn) -> Response:
    return _password_page(request, {})


def _password_problems(current: str, new: str, again: str) -> dict[str, str]:
    """What the form itself can tell before any password is checked."""
    errors = {}
    if not current:
        errors["current_password"] = _("Enter your current password.")
    elif len(current) > auth_service.MAX_PASSWORD:  # never a password: no Argon2 for it
        errors["current_password"] = _("Your current password is not right.")
    if len(new) < passwords.MIN_LENGTH:
        errors["new_password"] = _("Choose a new password of at least %(count)s characters.",
                                   count=passwords.MIN_LENGTH)
    elif len(new) > auth_service.MAX_PASSWORD:
        errors["new_password"] = _("Choose a new password of at most %(count)s characters.",
                                   count=auth_service.MAX_PASSWORD)
    elif new != again:
        errors["new_password_again"] = _("The two new passwords are not the same.")
    return errors


@router.post("/account/password")
def change_password(request: Request, db: Db, me: SignedIn, form: CheckedForm) -> Response:
    """Change one's own password, the current one given again and checked like a sign-in.

    Every session of the account ends (a stolen cookie with it) and this browser is signed in
    again with a new one; the API tokens go too unless the person keeps them.
    """
    current, new, again = (value if isinstance(value := form.get(key), str) else ""
                           for key in ("current_password", "new_password",
                                       "new_password_again"))
    keep_tokens = form.get("keep_tokens") == "1"
    errors = _password_problems(current, new, again)
    if errors:
        return _password_page(request, errors, keep_tokens=keep_tokens, status=422)
    db.commit()  # identifying the caller only read: hold no lock while Argon2 runs
    settings = session.settings_of(request)
    try:
        secret, revoked = auth_service.change_own_password(
            database=request.app.state.database, actor=me, current=current, new=new,
            address=client_address(request), session_hours=settings.session_hours,
            keep_tokens=keep_tokens, max_failures=settings.login_max_failures,
            window=timedelta(minutes=settings.login_window_minutes))
    except TooManyRequests as exc:
        busy = _("Too many failed attempts. Wait a few minutes and try again.")
        return _password_page(request, {"current_password": busy}, keep_tokens=keep_tokens,
                              status=429, headers={"Retry-After": str(
                                  exc.extra.get("retry_after", 60))})
    except Invalid as exc:
        found = forms.messages(exc.errors)
        if "current_password" in found:
            found["current_password"] = _("Your current password is not right.")
        return _password_page(request, found, keep_tokens=keep_tokens, status=422)
    response = RedirectResponse(f"/account?saved=password&revoked={revoked}", status_code=303)
    session.set_session_cookie(request, response, secret)
    return response


@router.get("/language")
def choose_language(request: Request, lang: str = "", next: str | None = None) -> Response:
    """The sign-in page's language links: remember the choice in a cookie (an account's own
    choice, in My account, outranks it) and go back."""
    response = RedirectResponse(session.safe_next(next), status_code=303)
    chosen = i18n.supported(lang)
    if chosen is not None:
        response.set_cookie(i18n.LANGUAGE_COOKIE, chosen, max_age=YEAR, httponly=True,
                            samesite="lax", path="/",
                            secure=session.settings_of(request).secure_cookies)
    return response


router.include_router(token_router)
