"""Passwords are Argon2id hashes, checked with the same work whether or not an account exists.

The suite hashes with cheap parameters (tests/conftest.py); the production parameters are
checked here, in one test, as the platform uses them.
"""

import pytest

from crrt.auth import passwords
from tests.conftest import TEST_ARGON2

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


@pytest.fixture
def production_parameters():
    passwords.restore_defaults()
    yield
    passwords.configure(**TEST_ARGON2)


def test_the_production_parameters_are_rfc_9106_low_memory(production_parameters):
    made = passwords.hash_password("correct horse battery")
    assert made.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert passwords.verify_password(made, "correct horse battery")
    assert not passwords.needs_rehash(made)
    assert passwords.needs_rehash(HASH)  # a cheap test hash would be upgraded at sign-in
