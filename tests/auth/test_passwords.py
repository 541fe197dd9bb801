"""Passwords are Argon2id hashes, checked with the same work whether or not an account exists."""

from crrt.auth import passwords

HASH = passwords.hash_password("correct horse battery")


def test_a_hash_is_argon2id_and_salted():
    assert HASH.startswith("$argon2id$")
    assert passwords.hash_password("correct horse battery") != HASH


def test_the_right_password_verifies_and_a_wrong_one_does_not():
    assert passwords.verify_password(HASH, "correct horse battery") is True
    assert passwords.verify_password(HASH, "correct horse batterY") is False


def test_no_hash_never_verifies_even_against_the_dummy():
    assert passwords.verify_password(None, "crrt: no such user") is False
    assert passwords.verify_password(None, "anything at all") is False


def test_a_malformed_hash_is_a_failed_check_not_an_error():
    assert passwords.verify_password("not-a-hash", "correct horse battery") is False


def test_a_current_hash_needs_no_rehash():
    assert passwords.needs_rehash(HASH) is False
    weak = "$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHQ$Yo5tTvPoNkDtwrZBrBpYXw"
    assert passwords.needs_rehash(weak) is True
