"""Users administration in the browser (admins): the accounts, a new one, and one account with
its role, organisation, state, a new password and its API tokens.

The auth service decides who may do this and does it; a password typed here is never shown
again, and a new one is hashed with no transaction open (:func:`auth_service.reset_password`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from crrt.access import policy
from crrt.access.enums import Role
from crrt.access.policy import Permission
from crrt.access.principal import Principal
from crrt.auth import passwords
from crrt.auth import service as auth_service
from crrt.auth.identify import client_address
from crrt.auth.schemas import UserIn, UserPatch
from crrt.core.errors import Conflict, Invalid, TooManyRequests
from crrt.core.http import AppDatabase, Db, Id
from crrt.organisations import service as org_service
from crrt.web import forms
from crrt.web.i18n import N_, _, ngettext
from crrt.web.session import CheckedForm, SignedIn
from crrt.web.templating import render

router = APIRouter(prefix="/users", include_in_schema=False)

PAGE_SIZE = 50
FILTERS = ("role", "org", "active")
ACTIVE = {"yes": True, "no": False}
ROLES = list(Role)
NEW_FIELDS = ("email", "name", "role", "org", "password", "password_again", "my_password")
DETAIL_FIELDS = ("name", "role", "org")
PASSWORD_FIELDS = ("password", "password_again", "my_password")
EMPTY_NEW = {"email": "", "name": "", "role": "", "org": ""}
MISSING = {
    "email": N_("Enter the user's email address."),
    "name": N_("Enter the user's full name."),
    "role": N_("Choose a role."),
    "org": N_("Choose an organisation."),
}
CHOOSE = N_("Choose one of the listed options.")
TAKEN = N_("An account with this email address exists already.")
# The service's refusals in its own words, marked so the catalogues carry them.
LAST_ADMIN = N_("This is the last active admin: make another user admin first.")
SERVICE_MESSAGES = (N_("A national point of contact belongs to a nation."),
                    N_("Change your own password under My account, where your current one "
                       "is asked."))
# The confirmations the user's page shows after a change (?saved=...).
SAVED = {
    "created": N_("The account is created."),
    "details": N_("The changes are saved."),
    "deactivated": N_("The account is deactivated: its sessions have ended and its API tokens "
                      "are revoked."),
    "deactivated_kept": N_("The account is deactivated: its sessions have ended; its API "
                           "tokens are kept, but work only once it is active again."),
    "reactivated": N_("The account is active again."),
    "password": N_("The new password is set: the user's sessions have ended and their API "
                   "tokens are revoked."),
    "password_kept": N_("The new password is set: the user's sessions have ended; their API "
                        "tokens are kept."),
    "revoked": N_("The token is revoked."),
}


def _in_order(errors: dict[str, str], fields: tuple[str, ...]) -> dict[str, str]:
    """The messages in the order of the form's fields (the summary reads top to bottom)."""
    return {**{name: errors[name] for name in fields if name in errors}, **errors}


def _left_empty(values: dict[str, str], fields: tuple[str, ...]) -> dict[str, str]:
    return {name: _(MISSING[name]) for name in fields if not values[name]}


def _validation(exc: ValidationError, errors: dict[str, str]) -> dict[str, str]:
    """Pydantic's messages beside their fields, after the page's own (a role not listed is
    told as such)."""
    found = forms.messages(exc)
    if "role" in found:
        found["role"] = _(CHOOSE)
    return {**found, **errors}


def _password_errors(form: FormData, *, required: bool) -> dict[str, str]:
    """The new password, typed twice: both the same, of the length the service accepts."""
    password, again = form.get("password"), form.get("password_again")
    password = password if isinstance(password, str) else ""
    again = again if isinstance(again, str) else ""
    if not password:
        return {"password": _("Enter the new password.")} if required or again else {}
    if len(password) < passwords.MIN_LENGTH:
        return {"password": ngettext("Use at least %(num)s character.",
                                     "Use at least %(num)s characters.", passwords.MIN_LENGTH)}
    if len(password) > auth_service.MAX_PASSWORD:
        return {"password": ngettext("Use at most %(num)s character.",
                                     "Use at most %(num)s characters.",
                                     auth_service.MAX_PASSWORD)}
    if again != password:
        return {"password_again": _("The two passwords are not the same.")}
    return {}


def _recheck(request: Request, db: Session, me: Principal, form: FormData) -> dict[str, str]:
    """The admin's own password again, before a password that outlives this session is set
    (a stolen cookie alone must not plant one); no lock is held while Argon2 runs."""
    db.commit()  # only read so far
    given = form.get("my_password")
    settings = request.app.state.settings
    try:
        auth_service.recheck_password(
            database=request.app.state.database, actor=me,
            password=given if isinstance(given, str) else "", address=client_address(request),
            max_failures=settings.login_max_failures,
            window=timedelta(minutes=settings.login_window_minutes))
    except TooManyRequests:
        return {"my_password": _("Too many failed sign-ins. Wait a few minutes and try again.")}
    except Invalid:
        return {"my_password": _("Your own password is not right.") if given
                else _("Give your own password to set a password.")}
    return {}


def _password(form: FormData) -> str | None:
    value = form.get("password")
    return value if isinstance(value, str) and value else None


def _organisations(db: Session, me: Principal) -> list[Any]:
    return org_service.all_organisations(db=db, actor=me)


def _unlisted_org(db: Session, me: Principal, code: str) -> dict[str, str]:
    """The select offers every organisation: any other code was not chosen from it."""
    listed = {org.code for org in _organisations(db, me)}
    return {"org": _(CHOOSE)} if code and code not in listed else {}


# --- the list -----------------------------------------------------------------------------------

@router.get("")
def users(request: Request, db: Db, me: SignedIn, cursor: str | None = None) -> Response:
    """One page of accounts narrowed by the GET form."""
    policy.require(me, Permission.USERS_MANAGE)  # before the form is read: 403, not 422
    values = {name: forms.text(request.query_params, name) for name in FILTERS}
    filters: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if values["role"]:
        if values["role"] in {role.value for role in ROLES}:
            filters["role"] = Role(values["role"])
        else:
            errors["role"] = _(CHOOSE)
    if values["org"]:
        filters["org"] = values["org"]
    if values["active"]:
        if values["active"] in ACTIVE:
            filters["active"] = ACTIVE[values["active"]]
        else:
            errors["active"] = _(CHOOSE)
    # loaded first, so each row's organisation comes from the session, not a query of its own
    organisations = _organisations(db, me)
    rows: list[Any] = []
    next_cursor = None
    if not errors:
        try:
            found, next_cursor = auth_service.list_users(
                db=db, actor=me, limit=PAGE_SIZE, cursor=cursor or None, **filters)
        except Invalid as exc:
            errors = forms.messages(exc.errors) or {"_form": _(exc.detail)}
            if "org" in errors:
                errors["org"] = _(CHOOSE)
        else:
            rows = [auth_service.user_out(db, user) for user in found]
    query = {k: v for k, v in values.items() if v}
    return render(request, "users.html", {
        "rows": rows, "values": values, "errors": _in_order(errors, FILTERS),
        "roles": ROLES, "organisations": organisations,
        "org_names": {org.code: org.name for org in organisations}, "filtered": bool(query),
        **forms.page_links("/users", query, cursor, next_cursor)},
        status=422 if errors else 200)


# --- a new account ------------------------------------------------------------------------------

def _new_form(request: Request, db: Session, me: Principal, values: dict[str, str],
              errors: dict[str, str], status: int = 200) -> Response:
    return render(request, "user_new.html", {
        "values": values, "errors": _in_order(errors, NEW_FIELDS), "roles": ROLES,
        "organisations": _organisations(db, me), "min_length": passwords.MIN_LENGTH},
        status=status)


@router.get("/new")
def new_user(request: Request, db: Db, me: SignedIn) -> Response:
    policy.require(me, Permission.USERS_MANAGE)
    return _new_form(request, db, me, EMPTY_NEW, {})


@router.post("/new")
def create_user(request: Request, db: Db, me: SignedIn, form: CheckedForm) -> Response:
    """Open the account; without a password it signs in only once one is set for it."""
    policy.require(me, Permission.USERS_MANAGE)
    values = {name: forms.text(form, name) for name in EMPTY_NEW}
    errors = {**_left_empty(values, ("email", "name", "role", "org")),
              **_unlisted_org(db, me, values["org"]), **_password_errors(form, required=False)}
    try:
        data = UserIn.model_validate({**{k: v for k, v in values.items() if v},
                                      "password": _password(form)})
    except ValidationError as exc:
        errors = _validation(exc, errors)
    if not errors and data.password:
        errors = _recheck(request, db, me, form)
    if not errors:
        try:
            user = auth_service.create_user(db=db, actor=me, data=data)
        except Invalid as exc:
            db.rollback()
            errors = forms.messages(exc.errors) or {"_form": _(exc.detail)}
        except Conflict:
            db.rollback()
            errors = {"email": _(TAKEN)}
        else:
            return RedirectResponse(f"/users/{user.id}?saved=created", status_code=303)
    return _new_form(request, db, me, values, errors, status=422)


# --- one account --------------------------------------------------------------------------------

def _user_page(request: Request, db: Session, me: Principal, user_id: int, *,
               values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
               saved: str | None = None, status: int = 200) -> Response:
    """The account, its forms (one of them with what was typed and its errors) and its tokens."""
    user = auth_service.get_user(db=db, actor=me, user_id=user_id)
    out = auth_service.user_out(db, user)
    organisations = _organisations(db, me)
    message = SAVED.get(saved or "")
    return render(request, "user.html", {
        "user": out, "org_name": next((o.name for o in organisations if o.code == out.org),
                                      out.org),
        "values": values or {"name": out.name, "role": out.role.value, "org": out.org},
        "errors": errors or {}, "roles": ROLES, "organisations": organisations,
        "tokens": auth_service.list_user_tokens(db=db, actor=me, user_id=user.id),
        "saved": _(message) if message else None, "min_length": passwords.MIN_LENGTH},
        status=status)


@router.get("/{user_id}")
def user_page(request: Request, db: Db, me: SignedIn, user_id: Id,
              saved: str | None = None) -> Response:
    return _user_page(request, db, me, user_id, saved=saved)


@router.post("/{user_id}")
def change_user(request: Request, db: Db, database: AppDatabase, me: SignedIn, user_id: Id,
                form: CheckedForm) -> Response:
    """One of the page's forms (``action``): the details, the account's state, a password."""
    auth_service.get_user(db=db, actor=me, user_id=user_id)  # who may: 403 before the form
    action = forms.text(form, "action")
    keep = form.get("keep_tokens") == "1"
    if action == "details":
        return _change_details(request, db, me, user_id, form)
    if action in ("deactivate", "reactivate"):
        active = action == "reactivate"
        try:
            auth_service.update_user(db=db, actor=me, user_id=user_id, data=UserPatch(
                is_active=active, keep_tokens=keep))
        except Conflict:
            db.rollback()
            return _user_page(request, db, me, user_id, errors={"status": _(LAST_ADMIN)},
                              status=422)
        done = "reactivated" if active else "deactivated_kept" if keep else "deactivated"
        return RedirectResponse(f"/users/{user_id}?saved={done}", status_code=303)
    if action == "password":
        errors = _password_errors(form, required=True)
        if not errors:
            errors = _recheck(request, db, me, form)
        if not errors:
            try:
                auth_service.reset_password(database=database, actor=me, user_id=user_id,
                                            password=_password(form) or "", keep_tokens=keep)
            except Invalid as exc:
                errors = forms.messages(exc.errors) or {"password": _(exc.detail)}
            else:
                done = "password_kept" if keep else "password"
                return RedirectResponse(f"/users/{user_id}?saved={done}", status_code=303)
        return _user_page(request, db, me, user_id, errors=_in_order(errors, PASSWORD_FIELDS),
                          status=422)
    raise Invalid.field("action", _(CHOOSE))


def _change_details(request: Request, db: Session, me: Principal, user_id: int,
                    form: FormData) -> Response:
    values = {name: forms.text(form, name) for name in DETAIL_FIELDS}
    errors = {**_left_empty(values, DETAIL_FIELDS), **_unlisted_org(db, me, values["org"])}
    try:
        data = UserPatch.model_validate({k: v for k, v in values.items() if v})
    except ValidationError as exc:
        errors = _validation(exc, errors)
    if not errors:
        try:
            auth_service.update_user(db=db, actor=me, user_id=user_id, data=data)
        except Invalid as exc:
            db.rollback()
            errors = forms.messages(exc.errors) or {"_form": _(exc.detail)}
        except Conflict:
            db.rollback()
            errors = {"role": _(LAST_ADMIN)}
        else:
            return RedirectResponse(f"/users/{user_id}?saved=details", status_code=303)
    return _user_page(request, db, me, user_id, values=values,
                      errors=_in_order(errors, DETAIL_FIELDS), status=422)


@router.post("/{user_id}/tokens/{token_id}/revoke")
def revoke_token(db: Db, me: SignedIn, user_id: Id, token_id: Id,
                 form: CheckedForm) -> Response:
    """Revoke one of the user's API tokens; it stops working at once."""
    auth_service.get_user(db=db, actor=me, user_id=user_id)  # users administration: admins
    auth_service.revoke_user_token(db=db, actor=me, user_id=user_id, token_id=token_id)
    return RedirectResponse(f"/users/{user_id}?saved=revoked#tokens", status_code=303)
