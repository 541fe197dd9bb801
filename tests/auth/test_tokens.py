"""Random secrets and the CSRF token only this server can make."""

import hashlib

from crrt.auth import tokens


def test_api_tokens_are_prefixed_long_and_unique():
    made = {tokens.new_token() for _ in range(100)}
    assert len(made) == 100
    assert all(t.startswith("crrt_") and len(t) >= 40 for t in made)


def test_digest_is_the_sha256_hex_of_the_secret():
    assert tokens.digest("abc") == hashlib.sha256(b"abc").hexdigest()


def test_csrf_token_is_stable_for_a_key_and_nonce():
    assert tokens.csrf_token("key", "nonce") == tokens.csrf_token("key", "nonce")
    assert tokens.csrf_valid("key", "nonce", tokens.csrf_token("key", "nonce"))


def test_csrf_token_from_another_key_or_nonce_is_refused():
    good = tokens.csrf_token("key", "nonce")
    assert not tokens.csrf_valid("other-key", "nonce", good)
    assert not tokens.csrf_valid("key", "other-nonce", good)
    assert not tokens.csrf_valid("key", "nonce", good[:-1] + ("0" if good[-1] != "0" else "1"))


def test_missing_csrf_parts_are_refused():
    good = tokens.csrf_token("key", "nonce")
    assert not tokens.csrf_valid("key", None, good)
    assert not tokens.csrf_valid("key", "nonce", None)
    assert not tokens.csrf_valid("key", "", "")


def test_a_non_ascii_csrf_token_is_refused_not_an_error():
    assert not tokens.csrf_valid("key", "nonce", "é")
    assert not tokens.csrf_valid("key", "nonce", "é" * 64)
    assert not tokens.csrf_valid("key", "nonce", tokens.csrf_token("key", "nonce")[:-1] + "é")


def test_a_session_token_and_a_nonce_token_never_match_each_other():
    secret = tokens.new_session_id()
    session = tokens.csrf_token("key", tokens.session_binding(secret))
    assert tokens.session_binding(secret) == f"session:{tokens.digest(secret)}"
    # not even a nonce made to look like the session's binding
    for nonce in (secret, tokens.digest(secret), tokens.session_binding(secret)):
        assert not tokens.csrf_valid("key", tokens.nonce_binding(nonce), session)
    assert tokens.csrf_valid("key", tokens.session_binding(secret), session)
    assert not tokens.csrf_valid("key", tokens.session_binding(tokens.new_session_id()),
                                 session)
