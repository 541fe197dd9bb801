"""Routes for the caller's own account and tokens, and for user management (admins)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response

from crrt.access.caller import Me
from crrt.auth import service
from crrt.auth.identify import by_session, client_address
from crrt.auth.schemas import Me as MeOut
from crrt.auth.schemas import TokenCreated, TokenIn, TokenOut, UserIn, UserOut, UserPatch
from crrt.core.http import Cursor, Db, Id, Limit
from crrt.core.pagination import Page

router = APIRouter(tags=["users"])


def _token_out(token: object) -> TokenOut:
    return TokenOut.model_validate(token, from_attributes=True)


@router.get("/me")
def whoami(me: Me) -> MeOut:
    """The caller: who the platform takes you for."""
    return MeOut(id=me.user_id, email=me.email, name=me.name, role=me.role, org=me.org_code)


@router.get("/me/tokens")
def my_tokens(db: Db, me: Me) -> list[TokenOut]:
    """Your API tokens (never the secrets)."""
    mine = service.own_account(db=db, actor=me)
    return [_token_out(t) for t in service.list_tokens(db=db, actor=me, user=mine)]


@router.post("/me/tokens", status_code=201)
def create_my_token(request: Request, body: TokenIn, db: Db, me: Me) -> TokenCreated:
    """Issue a token for yourself; the secret is in this answer and nowhere else.

    A browser session must give its password again (``password``): a token outlives the
    session, so the cookie alone may not mint one. A bearer token needs no password.
    """
    if by_session(request):
        db.commit()  # identifying the caller only read: hold no lock while Argon2 runs
        settings = request.app.state.settings
        token, secret = service.create_token_with_password(
            database=request.app.state.database, actor=me, data=body,
            address=client_address(request), max_failures=settings.login_max_failures,
            window=timedelta(minutes=settings.login_window_minutes))
    else:
        mine = service.own_account(db=db, actor=me)
        token, secret = service.create_token(db=db, actor=me, user=mine, data=body)
    return TokenCreated(**_token_out(token).model_dump(), token=secret)


@router.delete("/me/tokens/{token_id}", status_code=204)
def revoke_my_token(token_id: Id, db: Db, me: Me) -> Response:
    service.revoke_token(db=db, actor=me, token_id=token_id, own_only=True)
    return Response(status_code=204)


@router.get("/users")
def list_users(db: Db, me: Me, limit: Limit = None,
               cursor: Cursor = None) -> Page[UserOut]:
    users, next_cursor = service.list_users(db=db, actor=me, limit=limit, cursor=cursor)
    return Page(items=[service.user_out(db, u) for u in users], next_cursor=next_cursor)


@router.post("/users", status_code=201)
def create_user(body: UserIn, db: Db, me: Me) -> UserOut:
    return service.user_out(db, service.create_user(db=db, actor=me, data=body))


@router.get("/users/{user_id}")
def get_user(user_id: Id, db: Db, me: Me) -> UserOut:
    return service.user_out(db, service.get_user(db=db, actor=me, user_id=user_id))


@router.patch("/users/{user_id}")
def update_user(user_id: Id, body: UserPatch, db: Db, me: Me) -> UserOut:
    return service.user_out(db, service.update_user(db=db, actor=me, user_id=user_id, data=body))


@router.get("/users/{user_id}/tokens")
def list_user_tokens(user_id: Id, db: Db, me: Me) -> list[TokenOut]:
    """A user's API tokens (never the secrets)."""
    return [_token_out(t) for t in service.list_user_tokens(db=db, actor=me, user_id=user_id)]


@router.delete("/users/{user_id}/tokens/{token_id}", status_code=204)
def revoke_user_token(user_id: Id, token_id: Id, db: Db, me: Me) -> Response:
    service.revoke_user_token(db=db, actor=me, user_id=user_id, token_id=token_id)
    return Response(status_code=204)
