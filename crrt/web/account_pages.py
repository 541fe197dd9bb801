"""My account: the name, language and time zone a person chooses for themself; and the
language switch of the sign-in page, for someone not yet signed in."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from crrt.auth import service as auth_service
from crrt.auth.schemas import AccountPatch
from crrt.core.http import Db
from crrt.web import forms, i18n, session
from crrt.web.session import CheckedForm, SignedIn
from crrt.web.templating import render

router = APIRouter(include_in_schema=False)

ANCHORS = {"name": "name", "language": "language", "time_zone": "time_zone"}
YEAR = 365 * 24 * 3600


def _account_page(request: Request, values: dict[str, str], errors: dict[str, str], *,
                  saved: bool = False, status: int = 200) -> Response:
    return render(request, "account.html", {"values": values, "errors": errors,
                                            "anchors": ANCHORS, "saved": saved,
                                            "zones": i18n.zones()}, status=status)


@router.get("/account")
def account(request: Request, db: Db, me: SignedIn, saved: str | None = None) -> Response:
    mine = auth_service.own_account(db=db, actor=me)
    values = {"name": mine.name, "language": mine.language or "",
              "time_zone": mine.time_zone or ""}
    return _account_page(request, values, {}, saved=saved == "1")


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
