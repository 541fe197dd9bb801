"""Accounts, tokens, sign-in and its throttling, as the service layer keeps them."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from crrt.access.enums import Role
from crrt.auth import passwords, service, tokens
from crrt.auth.models import ApiToken, LoginAttempt, User
from crrt.auth.schemas import TokenIn, UserIn, UserPatch
from crrt.core import clock
from crrt.core.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    TooManyRequests,
    Unauthenticated,
)
from tests.conftest import SYSTEM

PASSWORD = "correct horse battery"


def _add_user(database, email="ana@test.example", role=Role.RESPONDER, org="EE",
              password=None):
    with database.session() as db:
        return service.create_user(db=db, actor=SYSTEM, data=UserIn(
            email=email, name="Ana Tamm", role=role, org=org, password=password)).id


def _login(database, email, password, address="192.0.2.1", max_failures=5):
    result = service.login(database=database, email=email, password=password, address=address,
                           session_hours=12, max_failures=max_failures)
    return None if result is None else result[1]


def test_a_password_is_stored_as_an_argon2id_hash_never_in_plain(database, world):
    user_id = _add_user(database, password=PASSWORD)
    with database.session() as db:
        user = db.get(User, user_id)
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash


def test_the_audit_log_keeps_no_password_or_personal_data_of_a_new_user(database, world):
    from crrt.audit.models import AuditEvent

    _add_user(database, password=PASSWORD)
    with database.session() as db:
        event = db.scalars(select(AuditEvent).where(AuditEvent.action == "user.create")
                           .order_by(AuditEvent.seq.desc())).first()
    text = repr(event.changes)
    assert PASSWORD not in text and "ana@test.example" not in text and "Ana Tamm" not in text
    assert event.changes["role"] == [None, "responder"]


def test_a_user_without_a_password_has_no_hash(database, world):
    with database.session() as db:
        assert db.get(User, _add_user(database)).password_hash is None


def test_email_is_unique_whatever_its_case(database, world):
    _add_user(database, email="dup@test.example")
    with pytest.raises(Conflict), database.session() as db:
        service.create_user(db=db, actor=SYSTEM, data=UserIn(
            email="DUP@test.example", name="Again", role=Role.OBSERVER, org="DE"))


def test_a_national_poc_must_belong_to_a_nation(database, world):
    with pytest.raises(Invalid) as caught, database.session() as db:
        service.create_user(db=db, actor=SYSTEM, data=UserIn(
            email="poc@cert-eu.example", name="P", role=Role.NATIONAL_POC, org="cert-eu"))
    assert caught.value.errors[0].loc == ["org"]


def test_an_unknown_organisation_is_an_invalid_field(database, world):
    with pytest.raises(Invalid) as caught, database.session() as db:
        service.create_user(db=db, actor=SYSTEM, data=UserIn(
            email="x@test.example", name="X", role=Role.OBSERVER, org="XX"))
    assert caught.value.errors[0].loc == ["org"]


def test_moving_a_poc_out_of_a_nation_is_refused(database, world):
    with pytest.raises(Invalid), database.session() as db:
        service.update_user(db=db, actor=SYSTEM, user_id=world.users[Role.NATIONAL_POC],
                            data=UserPatch(org="cert-eu"))


def test_only_an_admin_manages_users(database, world):
    for role in Role:
        if role is Role.ADMIN:
            continue
        with pytest.raises(Forbidden), database.session() as db:
            service.create_user(db=db, actor=world.principals[role], data=UserIn(
                email=f"new-{role.value}@test.example", name="N", role=Role.OBSERVER,
                org="DE"))


# --- tokens ------------------------------------------------------------------------------------

def _new_token(database, user_id, **data):
    with database.session() as db:
        user = db.get(User, user_id)
        token, secret = service.create_token(db=db, actor=SYSTEM, user=user, data=TokenIn(**data))
        return token.id, secret


def _authenticate(database, secret):
    with database.session() as db:
        return service.authenticate_token(db, secret)


def test_a_token_is_shown_once_and_stored_only_as_its_sha256(database, world):
    token_id, secret = _new_token(database, world.users[Role.RESPONDER], name="laptop")
    assert secret.startswith(tokens.TOKEN_PREFIX)
    with database.session() as db:
        row = db.get(ApiToken, token_id)
        assert row.token_hash == tokens.digest(secret)
        assert secret not in (row.token_hash, row.prefix, row.name)
        assert secret.startswith(row.prefix)
    assert _authenticate(database, secret).email == "responder@test.example"


def test_two_tokens_are_never_the_same(database, world):
    secrets = {_new_token(database, world.users[Role.OBSERVER])[1] for _ in range(5)}
    assert len(secrets) == 5


def test_a_revoked_token_stops_working_at_once(database, world):
    token_id, secret = _new_token(database, world.users[Role.OBSERVER])
    with database.session() as db:
        service.revoke_token(db=db, actor=world.principals[Role.OBSERVER], token_id=token_id)
    with pytest.raises(Unauthenticated):
        _authenticate(database, secret)


def test_revoking_twice_is_harmless_and_audited_once(database, world):
    from crrt.audit.models import AuditEvent

    token_id, _secret = _new_token(database, world.users[Role.OBSERVER])
    for _ in range(2):
        with database.session() as db:
            service.revoke_token(db=db, actor=world.principals[Role.OBSERVER], token_id=token_id)
    with database.session() as db:
        revokes = db.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "token.revoke", AuditEvent.object_id == str(token_id)))
    assert revokes == 1


def test_someone_elses_token_cannot_be_revoked_it_does_not_exist_for_them(database, world):
    token_id, secret = _new_token(database, world.users[Role.OBSERVER])
    with pytest.raises(NotFound), database.session() as db:
        service.revoke_token(db=db, actor=world.principals[Role.REQUESTER], token_id=token_id)
    assert _authenticate(database, secret).role is Role.OBSERVER


def test_an_admin_may_revoke_anyones_token(database, world):
    token_id, secret = _new_token(database, world.users[Role.OBSERVER])
    with database.session() as db:
        service.revoke_token(db=db, actor=world.principals[Role.ADMIN], token_id=token_id)
    with pytest.raises(Unauthenticated):
        _authenticate(database, secret)


def test_a_token_expires_at_its_expiry(database, world):
    start = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    with clock.frozen(start):
        _token_id, secret = _new_token(database, world.users[Role.OBSERVER],
                                       expires_at=start + timedelta(hours=1))
        assert _authenticate(database, secret).role is Role.OBSERVER
        clock.advance(timedelta(minutes=59, seconds=59))
        assert _authenticate(database, secret).role is Role.OBSERVER
        clock.advance(timedelta(seconds=1))
        with pytest.raises(Unauthenticated):
            _authenticate(database, secret)


@pytest.mark.parametrize("expires_at", [datetime(2029, 12, 31, tzinfo=UTC),
                                        datetime(2031, 1, 1)])
def test_a_token_expiry_must_be_future_and_zoned(database, world, expires_at):
    with clock.frozen(datetime(2030, 1, 1, tzinfo=UTC)), pytest.raises(Invalid) as caught:
        _new_token(database, world.users[Role.OBSERVER], expires_at=expires_at)
    assert caught.value.errors[0].loc == ["expires_at"]


def test_a_deactivated_users_tokens_stop_working(database, world):
    secret = world.tokens[Role.OBSERVER]
    with database.session() as db:
        service.update_user(db=db, actor=SYSTEM, user_id=world.users[Role.OBSERVER],
                            data=UserPatch(is_active=False))
    with pytest.raises(Unauthenticated):
        _authenticate(database, secret)


def _revocations(database, user_id):
    """The audited revocations of ``user_id``'s tokens: (token id, reason)."""
    from crrt.audit.models import AuditEvent

    with database.session() as db:
        events = db.scalars(select(AuditEvent).where(AuditEvent.action == "token.revoke")
                            .order_by(AuditEvent.seq)).all()
    return [(int(e.object_id), e.changes.get("reason")) for e in events
            if e.changes["user_id"] == user_id]


def _token_ids(database, user_id):
    with database.session() as db:
        return sorted(db.scalars(select(ApiToken.id).where(ApiToken.user_id == user_id)))


def test_reactivating_a_user_does_not_revive_its_tokens(database, world):
    observer = world.users[Role.OBSERVER]
    _second, second_secret = _new_token(database, observer, name="second")
    for active in (False, True):
        with database.session() as db:
            service.update_user(db=db, actor=SYSTEM, user_id=observer,
                                data=UserPatch(is_active=active))
    for secret in (world.tokens[Role.OBSERVER], second_secret):
        with pytest.raises(Unauthenticated):
            _authenticate(database, secret)
    assert sorted(_revocations(database, observer)) == [
        (token_id, "deactivated") for token_id in _token_ids(database, observer)]


def test_a_password_reset_revokes_every_token_of_the_user_each_audited(database, world):
    observer = world.users[Role.OBSERVER]
    _second, second_secret = _new_token(database, observer, name="second")
    with database.session() as db:
        service.set_password(db=db, actor=SYSTEM, email="observer@test.example",
                             password="a brand new passphrase")
    for secret in (world.tokens[Role.OBSERVER], second_secret):
        with pytest.raises(Unauthenticated):
            _authenticate(database, secret)
    assert sorted(_revocations(database, observer)) == [
        (token_id, "password") for token_id in _token_ids(database, observer)]
    assert _authenticate(database, world.tokens[Role.REQUESTER]).role is Role.REQUESTER


def test_a_password_reset_keeps_the_tokens_when_the_admin_says_so(database, world):
    with database.session() as db:
        service.set_password(db=db, actor=SYSTEM, email="observer@test.example",
                             password="a brand new passphrase", keep_tokens=True)
        service.update_user(db=db, actor=SYSTEM, user_id=world.users[Role.OBSERVER],
                            data=UserPatch(password="another new passphrase",
                                           keep_tokens=True))
    assert _authenticate(database, world.tokens[Role.OBSERVER]).role is Role.OBSERVER
    assert _revocations(database, world.users[Role.OBSERVER]) == []


def test_an_admin_lists_and_revokes_tokens_only_under_their_user(database, world):
    admin = world.principals[Role.ADMIN]
    observer = world.users[Role.OBSERVER]
    with database.session() as db:
        [token] = service.list_user_tokens(db=db, actor=admin, user_id=observer)
    with pytest.raises(NotFound), database.session() as db:
        service.revoke_user_token(db=db, actor=admin, user_id=world.users[Role.REQUESTER],
                                  token_id=token.id)
    with pytest.raises(NotFound), database.session() as db:
        service.list_user_tokens(db=db, actor=world.principals[Role.COORDINATOR],
                                 user_id=observer)
    with database.session() as db:
        service.revoke_user_token(db=db, actor=admin, user_id=observer, token_id=token.id)
    with pytest.raises(Unauthenticated):
        _authenticate(database, world.tokens[Role.OBSERVER])


def test_an_unknown_token_is_unauthenticated(database, world):
    with pytest.raises(Unauthenticated):
        _authenticate(database, tokens.new_token())


def test_a_user_may_not_issue_tokens_for_someone_else(database, world):
    with pytest.raises(Forbidden), database.session() as db:
        other = db.get(User, world.users[Role.OBSERVER])
        service.create_token(db=db, actor=world.principals[Role.REQUESTER], user=other,
                             data=TokenIn())


def test_token_use_is_remembered_at_most_every_five_minutes(database, world):
    start = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    with clock.frozen(start):
        token_id, secret = _new_token(database, world.users[Role.OBSERVER])
        _authenticate(database, secret)
        clock.advance(timedelta(minutes=4))
        _authenticate(database, secret)
        with database.session() as db:
            assert db.get(ApiToken, token_id).last_used_at == start
        clock.advance(timedelta(minutes=2))
        _authenticate(database, secret)
        with database.session() as db:
            assert db.get(ApiToken, token_id).last_used_at == start + timedelta(minutes=6)


# --- sign-in, sessions, throttling ---------------------------------------------------------------

@functools.cache
def _password_hash() -> str:
    return passwords.hash_password(PASSWORD)


@pytest.fixture
def ana(database, world):
    """A user with a password (hashed once per run: Argon2 is slow on purpose)."""
    user_id = _add_user(database)
    with database.session() as db:
        db.get(User, user_id).password_hash = _password_hash()
    return user_id


def _session(database, secret):
    with database.session() as db:
        return service.session_principal(db, secret)


def test_login_with_the_right_password_opens_a_session(database, ana):
    secret = _login(database, " ANA@test.example ", PASSWORD)
    assert secret is not None
    principal = _session(database, secret)
    assert principal is not None and principal.user_id == ana
    with database.session() as db:
        assert db.get(User, ana).last_login_at is not None


def test_login_with_a_wrong_password_or_unknown_email_returns_none(database, ana):
    assert _login(database, "ana@test.example", "wrong password!") is None
    assert _login(database, "nobody@test.example", PASSWORD) is None
    with database.session() as db:
        attempts = db.scalars(select(LoginAttempt).order_by(LoginAttempt.id)).all()
    assert [(a.email, a.succeeded) for a in attempts] == [
        ("ana@test.example", False), ("nobody@test.example", False)]


def test_login_of_a_deactivated_user_fails(database, ana):
    with database.session() as db:
        service.update_user(db=db, actor=SYSTEM, user_id=ana, data=UserPatch(is_active=False))
    assert _login(database, "ana@test.example", PASSWORD) is None


def test_failures_per_email_throttle_even_the_right_password(database, ana):
    with clock.frozen(datetime(2030, 1, 1, tzinfo=UTC)):
        for n in range(2):  # from two addresses, so only the per-account count can trip
            assert _login(database, "ana@test.example", "wrong", address=f"192.0.2.{n}",
                          max_failures=2) is None
        with pytest.raises(TooManyRequests) as caught:
            _login(database, "ana@test.example", PASSWORD, address="198.51.100.7",
                   max_failures=2)
        assert caught.value.extra["retry_after"] == 15 * 60
        clock.advance(timedelta(minutes=15, seconds=1))  # the window passes
        assert _login(database, "ana@test.example", PASSWORD, max_failures=2) is not None


def test_failures_per_address_throttle_whichever_email_is_tried(database, ana):
    # an address gets four times the per-account allowance; the failures are seeded as the
    # rows a failed login writes (see above), so the test does not pay Argon2 for each
    now = datetime(2030, 1, 1, tzinfo=UTC)
    with database.session() as db:
        db.add_all(LoginAttempt(email=f"guess{n}@test.example", address="203.0.113.9",
                                at=now - timedelta(minutes=n), succeeded=False)
                   for n in range(4))
    with clock.frozen(now):
        with pytest.raises(TooManyRequests):
            _login(database, "ana@test.example", PASSWORD, address="203.0.113.9",
                   max_failures=1)
        assert _login(database, "ana@test.example", PASSWORD, address="203.0.113.10",
                      max_failures=1) is not None


def test_successful_logins_do_not_count_towards_the_throttle(database, ana):
    now = datetime(2030, 1, 1, tzinfo=UTC)
    with database.session() as db:
        db.add_all(LoginAttempt(email="ana@test.example", address="192.0.2.1", at=now,
                                succeeded=True) for _ in range(3))
    with clock.frozen(now):
        assert _login(database, "ana@test.example", PASSWORD, max_failures=1) is not None


def test_logout_ends_the_session(database, ana):
    secret = _login(database, "ana@test.example", PASSWORD)
    with database.session() as db:
        service.logout(db=db, secret=secret)
    assert _session(database, secret) is None


def test_a_session_expires(database, ana):
    start = datetime(2030, 1, 1, tzinfo=UTC)
    with clock.frozen(start):
        secret = _login(database, "ana@test.example", PASSWORD)
        clock.advance(timedelta(hours=11, minutes=59))
        assert _session(database, secret) is not None
        clock.advance(timedelta(minutes=1))
        assert _session(database, secret) is None


def test_a_password_change_ends_every_session(database, ana):
    secret = _login(database, "ana@test.example", PASSWORD)
    with database.session() as db:
        service.update_user(db=db, actor=SYSTEM, user_id=ana,
                            data=UserPatch(password="another long password"))
    assert _session(database, secret) is None
    assert _login(database, "ana@test.example", PASSWORD) is None


def test_set_password_ends_sessions_and_refuses_a_short_one(database, ana):
    secret = _login(database, "ana@test.example", PASSWORD)
    with pytest.raises(Invalid), database.session() as db:
        service.set_password(db=db, actor=SYSTEM, email="ana@test.example", password="short")
    assert _session(database, secret) is not None
    with database.session() as db:
        service.set_password(db=db, actor=SYSTEM, email="ana@test.example",
                             password="a brand new passphrase")
    assert _session(database, secret) is None


def test_deactivation_ends_every_session(database, ana):
    secret = _login(database, "ana@test.example", PASSWORD)
    with database.session() as db:
        service.update_user(db=db, actor=SYSTEM, user_id=ana, data=UserPatch(is_active=False))
    assert _session(database, secret) is None


def test_an_unknown_session_is_none(database, world):
    assert _session(database, tokens.new_session_id()) is None


def test_old_login_attempts_are_pruned(database, world):
    now = datetime(2030, 1, 10, tzinfo=UTC)
    with database.session() as db:
        db.add(LoginAttempt(email="a@x.example", address="1", at=now - timedelta(days=8),
                            succeeded=False))
        db.add(LoginAttempt(email="b@x.example", address="1", at=now - timedelta(days=1),
                            succeeded=False))
    with database.session() as db:
        assert service.prune_login_attempts(db=db, older_than=now - timedelta(days=7)) == 1
    with database.session() as db:
        assert db.scalars(select(LoginAttempt.email)).all() == ["b@x.example"]


def test_parallel_wrong_passwords_cannot_all_pass_the_throttle(database, request):
    """Twenty guesses at the same moment, from twenty addresses: the per-account count holds.

    All twenty pass the first count (read before Argon2, with no lock); the count taken again
    in the writing transaction, one attempt at a time, answers at most five of them.
    """
    import threading

    from crrt.core.db import Database

    request.getfixturevalue("ana")
    guesses = 20
    parallel = Database(database.url, pool_size=guesses, max_overflow=0)
    barrier = threading.Barrier(guesses)
    outcomes: list[object] = []

    def guess(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes.append(service.login(database=parallel, email="ana@test.example",
                                          password="wrong", address=f"10.0.0.{i}",
                                          session_hours=1, max_failures=5))
        except BaseException as exc:  # counted below
            outcomes.append(exc)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(guesses)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        parallel.dispose()
    failed = [o for o in outcomes if o is None]
    throttled = [o for o in outcomes if isinstance(o, TooManyRequests)]
    assert len(outcomes) == guesses
    assert len(failed) + len(throttled) == guesses, [o for o in outcomes
                                                     if o is not None
                                                     and not isinstance(o, TooManyRequests)]
    assert 1 <= len(failed) <= 5, f"{len(failed)} guesses were answered (the limit is five)"
    with database.session() as db:
        recorded = db.scalar(select(func.count()).select_from(LoginAttempt)
                             .where(LoginAttempt.email == "ana@test.example"))
    assert recorded == len(failed)


def test_logout_writes_a_user_logout_audit_event(database, ana):
    from crrt.audit.models import AuditEvent
    from tests.support import open_web_session

    secret = open_web_session(database, ana)
    for _ in range(2):  # signing out twice ends one session, so it is audited once
        with database.session() as db:
            service.logout(db=db, secret=secret)
    with database.session() as db:
        events = db.scalars(select(AuditEvent).where(AuditEvent.action == "user.logout")).all()
    assert [(e.actor, e.object_type, e.object_id, e.changes) for e in events] == [
        (f"user:{ana}", "user", str(ana), {})]
    assert _session(database, secret) is None


def test_a_password_reset_while_a_sign_in_checks_the_old_one_fails_that_sign_in(database, ana):
    """The password is checked outside any transaction; a reset that lands meanwhile must win,
    or the old password would open a session after the reset ended them all."""
    import threading

    from argon2 import PasswordHasher

    with database.session() as db:  # a hash that takes a second or more to verify
        db.get(User, ana).password_hash = PasswordHasher(time_cost=12).hash(PASSWORD)
    outcome: list[object] = []
    signing_in = threading.Thread(target=lambda: outcome.append(
        _login(database, "ana@test.example", PASSWORD)))
    signing_in.start()
    with database.session() as db:
        service.set_password(db=db, actor=SYSTEM, email="ana@test.example",
                             password="the administrator's new one")
    assert signing_in.is_alive(), "the sign-in ended before the reset: nothing was tested"
    signing_in.join()
    assert outcome == [None]
    with database.session() as db:
        attempts = db.scalars(select(LoginAttempt.succeeded)).all()
    assert attempts == [False]
