"""Accounts, API tokens, web sessions and login throttling."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, delete, func, null, select, update
from sqlalchemy.orm import Session

from crrt.access import policy, teams
from crrt.access.enums import Role
from crrt.access.policy import Permission
from crrt.access.principal import Principal
from crrt.audit import service as audit
from crrt.auth import passwords, tokens
from crrt.auth.models import ApiToken, LoginAttempt, User, WebSession
from crrt.auth.schemas import AccountPatch, TokenIn, UserIn, UserOut, UserPatch
from crrt.core import clock
from crrt.core.db import Database, removed, serialise
from crrt.core.errors import Conflict, Invalid, NotFound, TooManyRequests, Unauthenticated
from crrt.core.pagination import paginate
from crrt.organisations import service as organisations
from crrt.organisations.enums import OrgKind

MAX_PASSWORD = 1024  # as UserIn and UserPatch bound it: Argon2 is not fed megabytes

# Resolving who is calling happens before there is a caller to ask on behalf of.
PLATFORM = Principal.system("auth")


def _org_code(db: Session, org_id: int) -> str:
    return organisations.by_id(db=db, actor=PLATFORM, org_id=org_id).code


def principal_of(db: Session, user: User) -> Principal:
    """The principal acting for ``user``: its role, organisation and teams."""
    return Principal(user_id=user.id, email=user.email, name=user.name, role=user.role,
                     org_id=user.organisation_id, org_code=_org_code(db, user.organisation_id),
                     teams=teams.of(db, user.id, user.email))


def user_out(db: Session, user: User) -> UserOut:
    return UserOut(id=user.id, email=user.email, name=user.name, role=user.role,
                   org=_org_code(db, user.organisation_id), is_active=user.is_active,
                   created_at=user.created_at, last_login_at=user.last_login_at)


def _user_fields(db: Session, user: User) -> dict[str, object]:
    return {"email": user.email, "name": user.name, "role": user.role.value,
            "org": _org_code(db, user.organisation_id), "is_active": user.is_active}


def _by_email(db: Session, email: str) -> User | None:
    return db.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def find_by_email(*, db: Session, actor: Principal, email: str) -> User | None:
    """The account with that email, any case (to link it to an expert, or for operators)."""
    policy.require(actor, Permission.USERS_FIND)
    return _by_email(db, email)


def own_account(*, db: Session, actor: Principal) -> User:
    """The caller's own account (the system principal has none)."""
    user = db.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None:
        raise NotFound("The system principal has no account.")
    return user


def page_preferences(db: Session, user_id: int) -> tuple[str | None, str | None]:
    """The language and time zone the person chose for the pages (None: not chosen)."""
    row = db.execute(select(User.language, User.time_zone).where(User.id == user_id)).first()
    return (row[0], row[1]) if row is not None else (None, None)


def update_own_account(*, db: Session, actor: Principal, data: AccountPatch) -> User:
    """The caller changes their own name, page language or time zone (null: let the browser
    and the linked expert's zone decide); audited, the name as personal data."""
    user = own_account(db=db, actor=actor)
    before = {"name": user.name, "language": user.language, "time_zone": user.time_zone}
    for key, value in data.model_dump(exclude_unset=True).items():
        if key != "name" or value is not None:
            setattr(user, key, value)
    after = {"name": user.name, "language": user.language, "time_zone": user.time_zone}
    diff = audit.diff(before, after, personal=("name",))
    if diff:
        audit.record(db=db, actor=actor, action="user.account", object_type="user",
                     object_id=user.id, changes=diff)
    return user


def _check_role_fits(role: Role, org_kind: OrgKind) -> None:
    if role is Role.NATIONAL_POC and org_kind is not OrgKind.NATION:
        raise Invalid.field("org", "A national point of contact belongs to a nation.")


def create_user(*, db: Session, actor: Principal, data: UserIn) -> User:
    """Open an account; the password, when given, is stored as an Argon2id hash."""
    policy.require(actor, Permission.USERS_MANAGE)
    email = data.email.strip().lower()
    if _by_email(db, email) is not None:
        raise Conflict(f"A user with the email {email} exists already.")
    org = organisations.get(db=db, actor=actor, code=data.org, field="org")
    _check_role_fits(data.role, org.kind)
    user = User(email=email, name=data.name.strip(), role=data.role, organisation_id=org.id,
                password_hash=passwords.hash_password(data.password) if data.password else None)
    db.add(user)
    db.flush()
    audit.record(db=db, actor=actor, action="user.create", object_type="user", object_id=user.id,
                 changes=audit.diff({}, _user_fields(db, user), personal=("email", "name")))
    return user


def list_users(*, db: Session, actor: Principal, limit: int | None, cursor: str | None,
               role: Role | None = None, org: str | None = None,
               active: bool | None = None) -> tuple[list[User], str | None]:
    """One page of accounts, narrowed by role, organisation (its code) and active state."""
    policy.require(actor, Permission.USERS_MANAGE)
    stmt = select(User)
    if role is not None:
        stmt = stmt.where(User.role == role)
    if org is not None:
        stmt = stmt.where(User.organisation_id == organisations.get(
            db=db, actor=actor, code=org, field="org").id)
    if active is not None:
        stmt = stmt.where(User.is_active.is_(active))
    items, next_cursor = paginate(db, stmt, User.id, limit=limit, cursor=cursor)
    return list(items), next_cursor


def get_user(*, db: Session, actor: Principal, user_id: int) -> User:
    policy.require(actor, Permission.USERS_MANAGE)
    user = db.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


def update_user(*, db: Session, actor: Principal, user_id: int, data: UserPatch) -> User:
    """Change an account; a new password or a deactivation ends its sessions and revokes its
    tokens (unless ``keep_tokens``), so a reactivation brings none of them back."""
    user = get_user(db=db, actor=actor, user_id=user_id)
    before = _user_fields(db, user)
    changes = data.model_dump(exclude_unset=True, exclude={"keep_tokens"})
    org = organisations.by_id(db=db, actor=actor, org_id=user.organisation_id)
    if "org" in changes and changes["org"] is not None:
        org = organisations.get(db=db, actor=actor, code=changes["org"], field="org")
        user.organisation_id = org.id
    for key in ("name", "role", "is_active"):
        if changes.get(key) is not None:
            setattr(user, key, changes[key])
    _check_role_fits(user.role, org.kind)
    if before["role"] == Role.ADMIN.value and before["is_active"] and \
            (user.role is not Role.ADMIN or not user.is_active):
        _keep_an_admin(db, user.id)
    password_changed = bool(changes.get("password"))
    if password_changed:
        user.password_hash = passwords.hash_password(changes["password"])
    deactivated = changes.get("is_active") is False
    if deactivated or password_changed:
        _end_sessions(db, user.id)
    db.flush()
    diff = audit.diff(before, _user_fields(db, user), personal=("email", "name"))
    if password_changed:
        diff["password"] = "changed"
    if (deactivated or password_changed) and data.keep_tokens:
        diff["tokens"] = "kept"
    audit.record(db=db, actor=actor, action="user.update", object_type="user", object_id=user.id,
                 changes=diff)
    if (deactivated or password_changed) and not data.keep_tokens:
        _revoke_all_tokens(db, actor, user.id, reason="password" if password_changed
                           else "deactivated")
    return user


def _keep_an_admin(db: Session, leaving_id: int) -> None:
    """The platform keeps at least one active admin, or nobody could manage accounts."""
    others = db.scalar(select(func.count()).select_from(User).where(
        User.role == Role.ADMIN, User.is_active.is_(True), User.id != leaving_id))
    if not others:
        raise Conflict("This is the last active admin: make another user admin first.")


def set_password(*, db: Session, actor: Principal, email: str, password: str,
                 keep_tokens: bool = False) -> tuple[User, int]:
    """Set a user's password (CLI and admins): a reset locks out whoever held the old one, so
    the user's sessions end and its tokens are revoked unless ``keep_tokens``. Returns the
    user and how many tokens were revoked."""
    policy.require(actor, Permission.USERS_MANAGE)
    if len(password) < passwords.MIN_LENGTH:
        raise Invalid.field("password", f"At least {passwords.MIN_LENGTH} characters.")
    user = _by_email(db, email)
    if user is None:
        raise NotFound(f"No user with the email {email}.")
    return user, _store_password(db, actor, user, passwords.hash_password(password),
                                 keep_tokens=keep_tokens)


OWN_PASSWORD_ELSEWHERE = ("Change your own password under My account, where your current one "
                          "is asked.")


def reset_password(*, database: Database, actor: Principal, user_id: int, password: str,
                   keep_tokens: bool = False) -> int:
    """An admin sets a user's password, as :func:`set_password` does, with Argon2 run between
    a reading session and a short writing one (on SQLite a writing transaction would make
    every writer wait for it). Returns how many tokens were revoked."""
    with database.session(read_only=True) as db:
        get_user(db=db, actor=actor, user_id=user_id)
    if user_id == actor.user_id:  # one's own goes where the current one is asked
        raise Invalid.field("password", OWN_PASSWORD_ELSEWHERE)
    if len(password) < passwords.MIN_LENGTH:
        raise Invalid.field("password", f"At least {passwords.MIN_LENGTH} characters.")
    if len(password) > MAX_PASSWORD:
        raise Invalid.field("password", f"At most {MAX_PASSWORD} characters.")
    hashed = passwords.hash_password(password)
    with database.session() as db:
        user = get_user(db=db, actor=actor, user_id=user_id)
        return _store_password(db, actor, user, hashed, keep_tokens=keep_tokens)


def _store_password(db: Session, actor: Principal, user: User, hashed: str, *,
                    keep_tokens: bool) -> int:
    """A reset locks out whoever held the old password: the user's sessions end and its
    tokens are revoked unless ``keep_tokens``; returns how many were."""
    user.password_hash = hashed
    _end_sessions(db, user.id)
    changes = {"password": "changed"} | ({"tokens": "kept"} if keep_tokens else {})
    audit.record(db=db, actor=actor, action="user.password", object_type="user", object_id=user.id,
                 changes=changes)
    return 0 if keep_tokens else _revoke_all_tokens(db, actor, user.id, reason="password")


def change_own_password(*, database: Database, actor: Principal, current: str, new: str,
                        address: str, session_hours: int, keep_tokens: bool = False,
                        max_failures: int = 5, window: timedelta = timedelta(minutes=15),
                        ) -> tuple[str, int]:
    """The caller changes their own password, giving the current one again.

    The current password is checked as a sign-in checks it (throttled, the attempt recorded,
    Argon2 with no transaction open, hence the :class:`Database`); a wrong one is an
    :class:`Invalid` on ``current_password``. As with a reset, every session of the account
    ends and its tokens are revoked unless ``keep_tokens``; the browser that made the change
    is signed in again with a new session (a new id after a change of credentials), whose
    secret is returned with how many tokens were revoked.
    """
    if len(new) < passwords.MIN_LENGTH:
        raise Invalid.field("new_password", f"At least {passwords.MIN_LENGTH} characters.")
    if len(new) > MAX_PASSWORD:
        raise Invalid.field("new_password", f"At most {MAX_PASSWORD} characters.")
    with database.session(read_only=True) as db:
        email = own_account(db=db, actor=actor).email
    checked = _check_password(database, email=email, password=current, address=address,
                              max_failures=max_failures, window=window)
    hashed = passwords.hash_password(new) if checked.ok else None
    with database.session() as db:
        user = _settle_attempt(db, checked, max_failures=max_failures, window=window)
        if user is not None and user.id == actor.user_id and hashed is not None:
            revoked = _store_password(db, actor, user, hashed, keep_tokens=keep_tokens)
            secret = tokens.new_session_id()
            db.add(WebSession(user_id=user.id, session_hash=tokens.digest(secret),
                              expires_at=clock.now() + timedelta(hours=session_hours)))
            return secret, revoked
    raise Invalid.field("current_password", "The password is not right.")


# --- API tokens -------------------------------------------------------------------------------

def create_token(*, db: Session, actor: Principal, user: User,
                 data: TokenIn) -> tuple[ApiToken, str]:
    """Issue a bearer token for ``user`` (oneself, or anyone for an admin); return it once."""
    policy.require(actor, Permission.TOKENS_MANAGE, user)
    if data.expires_at is not None:
        if data.expires_at.tzinfo is None:
            raise Invalid.field("expires_at", "Give the time with its zone (e.g. ...Z).")
        if data.expires_at <= clock.now():
            raise Invalid.field("expires_at", "The expiry must lie in the future.")
    secret = tokens.new_token()
    token = ApiToken(user_id=user.id, name=data.name, prefix=secret[:12],
                     token_hash=tokens.digest(secret), expires_at=data.expires_at)
    db.add(token)
    db.flush()
    audit.record(db=db, actor=actor, action="token.create", object_type="api_token",
                 object_id=token.id, changes={"user_id": user.id, "name": data.name,
                                              "expires_at": data.expires_at})
    return token, secret


def recheck_password(*, database: Database, actor: Principal, password: str, address: str,
                     max_failures: int = 5,
                     window: timedelta = timedelta(minutes=15)) -> None:
    """The caller of a browser session gives their own password again before an act that
    outlives the session (another account's password, a new account that can sign in): a
    stolen cookie alone must not plant a lasting credential. Throttled and recorded like a
    sign-in; a wrong password is Invalid on ``my_password``."""
    if not password:
        raise Invalid.field("my_password", "Give your own password again to do this.")
    if len(password) > MAX_PASSWORD:
        raise Invalid.field("my_password", "Your password is not right.")
    with database.session(read_only=True) as db:
        email = own_account(db=db, actor=actor).email
    checked = _check_password(database, email=email, password=password, address=address,
                              max_failures=max_failures, window=window)
    with database.session() as db:
        user = _settle_attempt(db, checked, max_failures=max_failures, window=window)
    if user is None or user.id != actor.user_id:
        raise Invalid.field("my_password", "Your password is not right.")


def create_token_with_password(*, database: Database, actor: Principal, data: TokenIn,
                               address: str, max_failures: int = 5,
                               window: timedelta = timedelta(minutes=15),
                               ) -> tuple[ApiToken, str]:
    """Issue a token for the caller of a browser session, once it gives its password again.

    A session cookie alone must not mint a credential that outlives the session. The attempt
    is throttled and recorded like a sign-in, and Argon2 runs with no transaction open, so
    this takes the :class:`Database`, not a session. A wrong password is a 401.
    """
    if not data.password:
        raise Invalid.field("password", "Give your password again to create a token from a "
                                        "browser session.")
    with database.session(read_only=True) as db:
        email = own_account(db=db, actor=actor).email
    checked = _check_password(database, email=email, password=data.password, address=address,
                              max_failures=max_failures, window=window)
    with database.session() as db:
        user = _settle_attempt(db, checked, max_failures=max_failures, window=window)
        if user is not None and user.id == actor.user_id:
            return create_token(db=db, actor=actor, user=user, data=data)
    raise Unauthenticated("The password is not right.")


def list_tokens(*, db: Session, actor: Principal, user: User) -> list[ApiToken]:
    policy.require(actor, Permission.TOKENS_MANAGE, user)
    return list(db.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                           .order_by(ApiToken.id)))


def _tokens_owner(db: Session, actor: Principal, user_id: int) -> User:
    """The account whose tokens ``actor`` manages; 404 when it is out of reach."""
    user = db.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    policy.require_visible(actor, Permission.TOKENS_MANAGE, user, missing="No such user.")
    return user


def list_user_tokens(*, db: Session, actor: Principal, user_id: int) -> list[ApiToken]:
    """A user's tokens (never the secrets), for whoever manages that user's tokens."""
    return list_tokens(db=db, actor=actor, user=_tokens_owner(db, actor, user_id))


def revoke_user_token(*, db: Session, actor: Principal, user_id: int,
                      token_id: int) -> ApiToken:
    """Revoke one of ``user_id``'s tokens; a token of anyone else is a 404 here."""
    user = _tokens_owner(db, actor, user_id)
    token = db.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound("No such token.")
    return revoke_token(db=db, actor=actor, token_id=token_id)


def revoke_token(*, db: Session, actor: Principal, token_id: int,
                 own_only: bool = False) -> ApiToken:
    """Revoke a token; it stops working at once. Revoking twice is harmless.

    Admins may revoke anyone's token, except through ``own_only`` paths (``/me/tokens``).
    """
    token = db.get(ApiToken, token_id)
    if token is None:
        raise NotFound("No such token.")
    policy.require_visible(actor, Permission.TOKENS_OWN if own_only else Permission.TOKENS_MANAGE,
                           token, missing="No such token.")
    if token.revoked_at is None:
        _revoke(db, actor, token)
    return token


@cache
def _caller_statement(credential: type[ApiToken] | type[WebSession]) -> Select[Any]:
    """A caller's credential, account and organisation code in one row of columns (no ORM
    object): the statement every request runs, built once (a request binds only the digest)."""
    orgs = organisations.names()
    own: tuple[Any, ...]  # the columns of a token or of a web session
    if credential is ApiToken:
        own = (ApiToken.id.label("credential_id"), ApiToken.revoked_at.label("ended_at"),
               ApiToken.expires_at, ApiToken.last_used_at)
        digest = ApiToken.token_hash
    else:
        own = (WebSession.id.label("credential_id"), WebSession.ended_at,
               WebSession.expires_at, null().label("last_used_at"))
        digest = WebSession.session_hash
    return (select(User.id, User.email, User.name, User.role, User.is_active,
                   User.organisation_id, orgs.c.code, *own)
            .join(User, User.id == credential.user_id)
            .join(orgs, orgs.c.id == User.organisation_id)
            .where(digest == bindparam("digest")))


def _caller(db: Session, credential: type[ApiToken] | type[WebSession], secret: str) -> Any:
    """The row of :func:`_caller_statement` for a secret, or None."""
    return db.connection().execute(_caller_statement(credential),
                                   {"digest": tokens.digest(secret)}).first()


def _principal(db: Session, row: Any) -> Principal:
    user_id, email, name, role, _active, org_id, org_code = row[:7]
    return Principal(user_id=user_id, email=email, name=name, role=role, org_id=org_id,
                     org_code=org_code, teams=teams.of(db, user_id, email))


def _revoke(db: Session, actor: Principal, token: ApiToken, reason: str | None = None) -> None:
    token.revoked_at = clock.now()
    audit.record(db=db, actor=actor, action="token.revoke", object_type="api_token",
                 object_id=token.id, changes={"user_id": token.user_id}
                 | ({"reason": reason} if reason else {}))


def _revoke_all_tokens(db: Session, actor: Principal, user_id: int, *, reason: str) -> int:
    """Revoke every token of the user still standing, each audited; returns how many."""
    standing = db.scalars(select(ApiToken).where(ApiToken.user_id == user_id,
                                                 ApiToken.revoked_at.is_(None))
                          .order_by(ApiToken.id)).all()
    for token in standing:
        _revoke(db, actor, token, reason)
    return len(standing)


def check_token(db: Session, secret: str) -> tuple[Principal, int | None]:
    """The principal behind a bearer token (401 if unknown, revoked or expired), and the
    token's id when its use is due to be remembered (at most every five minutes)."""
    row = _caller(db, ApiToken, secret)
    now = clock.now()
    if row is None or row.ended_at is not None or \
            (row.expires_at is not None and row.expires_at <= now) or not row.is_active:
        raise Unauthenticated("The bearer token is unknown, revoked or expired.")
    due = row.last_used_at is None or now - row.last_used_at > timedelta(minutes=5)
    return _principal(db, row), row.credential_id if due else None


def remember_token_use(db: Session, token_id: int) -> None:
    db.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=clock.now()))


def authenticate_token(db: Session, secret: str) -> Principal:
    """:func:`check_token` and remember the use, in one (writing) session."""
    principal, due = check_token(db, secret)
    if due is not None:
        remember_token_use(db, due)
    return principal


# --- web sessions and login -------------------------------------------------------------------

def _throttle(db: Session, *, email: str, address: str, max_failures: int,
              window: timedelta) -> None:
    """429 once the account or the address has failed too often within the window."""
    since = clock.now() - window
    for column, value in ((LoginAttempt.email, email), (LoginAttempt.address, address)):
        failures = db.scalar(select(func.count()).select_from(LoginAttempt).where(
            column == value, LoginAttempt.at >= since, LoginAttempt.succeeded.is_(False)))
        limit = max_failures if column is LoginAttempt.email else max_failures * 4
        if (failures or 0) >= limit:
            raise TooManyRequests("Too many failed sign-ins. Wait a few minutes and try again.",
                                  retry_after=int(window.total_seconds()))


@dataclass(frozen=True)
class _Checked:
    """A password checked against the hash read before: what the writing step settles."""

    email: str
    address: str
    user_id: int | None
    password_hash: str | None
    ok: bool
    rehashed: str | None


def _check_password(database: Database, *, email: str, password: str, address: str,
                    max_failures: int, window: timedelta) -> _Checked:
    """Count the failures and read the hash in a reading session, then run Argon2 with no
    session open: on SQLite a writing transaction would make every writer wait for it."""
    with database.session(read_only=True) as db:
        _throttle(db, email=email, address=address, max_failures=max_failures, window=window)
        user = _by_email(db, email)
        user_id, stored = (user.id, user.password_hash) if user else (None, None)
    ok = passwords.verify_password(stored, password)
    rehashed = passwords.hash_password(password) \
        if ok and stored and passwords.needs_rehash(stored) else None
    return _Checked(email, address, user_id, stored, ok, rehashed)


def _settle_attempt(db: Session, checked: _Checked, *, max_failures: int,
                    window: timedelta) -> User | None:
    """Record the attempt in the (short) writing transaction; the user if it succeeded.

    Attempts on one account queue on the advisory lock and count again here, so parallel
    guesses that all passed the first count cannot all be answered. The account must still
    be active and hold the hash the password was checked against (not reset meanwhile).
    """
    serialise(db, f"login:{checked.email}")
    _throttle(db, email=checked.email, address=checked.address, max_failures=max_failures,
              window=window)
    user = db.get(User, checked.user_id) if checked.user_id is not None else None
    succeeded = checked.ok and user is not None and user.is_active \
        and user.password_hash == checked.password_hash
    db.add(LoginAttempt(email=checked.email, address=checked.address, succeeded=succeeded))
    if not succeeded or user is None:
        return None
    if checked.rehashed:
        user.password_hash = checked.rehashed
    return user


def login(*, database: Database, email: str, password: str, address: str,
          session_hours: int, max_failures: int = 5,
          window: timedelta = timedelta(minutes=15),
          replaces: str | None = None) -> tuple[User, str] | None:
    """Check a password and open a web session; return the user and the cookie's secret.

    Takes the :class:`Database`: the password is checked with no transaction open, and the
    attempt, the session and the end of the browser's earlier session (``replaces``) are
    written in one short transaction. A failure is recorded (committed) and returns None:
    failures throttle both the account and the address, whichever one an attacker varies.
    """
    email = email.strip().lower()
    checked = _check_password(database, email=email, password=password, address=address,
                              max_failures=max_failures, window=window)
    with database.session() as db:
        user = _settle_attempt(db, checked, max_failures=max_failures, window=window)
        if user is None:
            return None
        if replaces:
            logout(db=db, secret=replaces)
        secret = tokens.new_session_id()
        now = clock.now()
        db.add(WebSession(user_id=user.id, session_hash=tokens.digest(secret),
                          expires_at=now + timedelta(hours=session_hours)))
        user.last_login_at = now
        audit.record(db=db, actor=principal_of(db, user), action="user.login",
                     object_type="user", object_id=user.id, changes={})
        return user, secret


def session_principal(db: Session, secret: str) -> Principal | None:
    """The principal behind a session cookie, or None if it is unknown, ended or expired."""
    row = _caller(db, WebSession, secret)
    if row is None or row.ended_at is not None or row.expires_at <= clock.now() \
            or not row.is_active:
        return None
    return _principal(db, row)


def logout(*, db: Session, secret: str) -> None:
    session = db.scalar(select(WebSession).where(WebSession.session_hash == tokens.digest(secret)))
    if session is not None and session.ended_at is None:
        session.ended_at = clock.now()
        audit.record(db=db, actor=principal_of(db, session.user), action="user.logout",
                     object_type="user", object_id=session.user_id, changes={})


def _end_sessions(db: Session, user_id: int) -> None:
    db.execute(update(WebSession).where(WebSession.user_id == user_id,
                                        WebSession.ended_at.is_(None))
               .values(ended_at=clock.now()))


def prune_login_attempts(*, db: Session, older_than: datetime) -> int:
    """Forget old attempts (the worker calls this); returns how many were removed."""
    result = db.execute(delete(LoginAttempt).where(LoginAttempt.at < older_than))
    return removed(result)


def poc_addresses(*, db: Session, org_ids: Collection[int]) -> dict[int, list[str]]:
    """The active national POCs' addresses by nation: whom a nation's notices go to."""
    found: dict[int, list[str]] = {}
    if not org_ids:
        return found
    rows = db.execute(select(User.organisation_id, User.email).where(
        User.role == Role.NATIONAL_POC, User.is_active.is_(True),
        User.organisation_id.in_(list(org_ids))).order_by(User.email))
    for org_id, email in rows:
        found.setdefault(org_id, []).append(email)
    return found


def poc_user_ids(*, db: Session, org_ids: Collection[int]) -> list[int]:
    """The active national POCs' accounts of these nations (named on what they decide on)."""
    if not org_ids:
        return []
    return list(db.scalars(select(User.id).where(
        User.role == Role.NATIONAL_POC, User.is_active.is_(True),
        User.organisation_id.in_(list(org_ids))).order_by(User.id)))


def user_ids_of_role(*, db: Session, role: Role) -> list[int]:
    """The active accounts holding ``role`` (the coordination cell, to be told or named)."""
    return list(db.scalars(select(User.id).where(User.role == role, User.is_active.is_(True))
                           .order_by(User.id)))


def addresses_of_role(*, db: Session, role: Role,
                      org_ids: Collection[int] | None = None) -> list[str]:
    """The active accounts' addresses holding ``role`` (of these organisations, if named)."""
    stmt = select(User.email).where(User.role == role, User.is_active.is_(True))
    if org_ids is not None:
        stmt = stmt.where(User.organisation_id.in_(list(org_ids)))
    return list(db.scalars(stmt.order_by(User.email)))
