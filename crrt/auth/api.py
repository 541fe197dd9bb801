"""Routes for the caller's own account and tokens, and for user management (admins)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from crrt.access.caller import Me
from crrt.auth import service
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
def create_my_token(body: TokenIn, db: Db, me: Me) -> TokenCreated:
    """Issue a token for yourself; the secret is in this answer and nowhere else."""
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
