"""What the accounts part holds about a person, for the data-subject rights: the account,
its API tokens and sessions (their dates, never their secrets), and sign-in attempts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from crrt.access.principal import Principal
from crrt.auth.models import ApiToken, LoginAttempt, User, WebSession
from crrt.core import clock
from crrt.core.db import removed
from crrt.privacy import service as privacy


def export(db: Session, person: privacy.Person) -> dict[str, Any] | None:
    accounts = list(db.scalars(select(User).where(User.id.in_(sorted(person.user_ids)))
                               .order_by(User.id))) if person.user_ids else []
    emails = {e.lower() for e in person.emails} | {u.email for u in accounts}
    attempts = list(db.scalars(select(LoginAttempt).where(LoginAttempt.email.in_(sorted(emails)))
                               .order_by(LoginAttempt.at))) if emails else []
    if not accounts and not attempts:
        return None
    out: dict[str, Any] = {"accounts": [], "sign_in_attempts": [
        {"email": a.email, "address": a.address, "at": clock.iso(a.at),
         "succeeded": a.succeeded} for a in attempts]}
    for user in accounts:
        tokens = db.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                            .order_by(ApiToken.id))
        sessions = db.scalars(select(WebSession).where(WebSession.user_id == user.id)
                              .order_by(WebSession.id))
        out["accounts"].append({
            "email": user.email, "name": user.name, "role": user.role.value,
            "active": user.is_active, "created_at": clock.iso(user.created_at),
            "last_login_at": clock.iso(user.last_login_at) if user.last_login_at else None,
            "api_tokens": [{"name": t.name, "created_at": clock.iso(t.created_at),
                            "last_used_at": clock.iso(t.last_used_at) if t.last_used_at
                            else None, "revoked": t.revoked_at is not None} for t in tokens],
            "sessions": [{"created_at": clock.iso(s.created_at),
                          "ended_at": clock.iso(s.ended_at) if s.ended_at else None}
                         for s in sessions]})
    return out


def erase(db: Session, actor: Principal, person: privacy.Person) -> list[str]:
    """Forget the sign-in attempts made with the person's email addresses (they hold the
    address and the network address). Accounts are closed by administrators, not erased here."""
    emails = {e.lower() for e in person.emails}
    if not emails:
        return []
    gone = db.execute(delete(LoginAttempt).where(LoginAttempt.email.in_(sorted(emails))))
    return ["sign_in_attempts"] if removed(gone) else []


HOLDER = privacy.holder("accounts", export=export, erase=erase)
