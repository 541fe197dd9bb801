"""What the accounts part holds about a person, for the data-subject rights: the linked
account, its API tokens and sessions (their dates, never their secrets), and its sign-ins.

Only accounts linked to the person count (never an address typed into another record, which
anyone nominating an expert could choose), only those who manage accounts receive them, and
sign-in attempts are security records: they are not erased (the worker forgets them after a
week) and a failed attempt's network address, most often someone else's, is not given out.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crrt.access import policy
from crrt.access.policy import Permission
from crrt.access.principal import Principal
from crrt.auth.models import ApiToken, LoginAttempt, User, WebSession
from crrt.core import clock
from crrt.privacy import service as privacy


def _account(db: Session, user: User) -> dict[str, Any]:
    tokens = db.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                        .order_by(ApiToken.id))
    sessions = db.scalars(select(WebSession).where(WebSession.user_id == user.id)
                          .order_by(WebSession.id))
    attempts = db.scalars(select(LoginAttempt).where(LoginAttempt.email == user.email)
                          .order_by(LoginAttempt.at))
    return {
        "email": user.email, "name": user.name, "role": user.role.value,
        "active": user.is_active, "created_at": clock.iso(user.created_at),
        "last_login_at": clock.iso(user.last_login_at) if user.last_login_at else None,
        "api_tokens": [{"name": t.name, "created_at": clock.iso(t.created_at),
                        "last_used_at": clock.iso(t.last_used_at) if t.last_used_at else None,
                        "revoked": t.revoked_at is not None} for t in tokens],
        "sessions": [{"created_at": clock.iso(s.created_at),
                      "ended_at": clock.iso(s.ended_at) if s.ended_at else None}
                     for s in sessions],
        "sign_ins": [{"at": clock.iso(a.at), "succeeded": a.succeeded,
                      **({"address": a.address} if a.succeeded else {})} for a in attempts],
    }


def export(db: Session, actor: Principal, person: privacy.Person) -> list[dict[str, Any]] | None:
    """The person's linked accounts, for those who manage accounts."""
    if not person.user_ids or not policy.may(actor, Permission.USERS_MANAGE):
        return None
    users = db.scalars(select(User).where(User.id.in_(sorted(person.user_ids)))
                       .order_by(User.id))
    return [_account(db, user) for user in users] or None


def erase(db: Session, actor: Principal, person: privacy.Person) -> list[str]:
    """Nothing: accounts are closed by administrators, and sign-in records are kept a week."""
    return []


HOLDER = privacy.holder("accounts", export=export, erase=erase)
