"""Domain errors carry what the problem answer needs."""

from crrt.core.errors import Conflict, Invalid, NotFound, TooManyRequests


def test_invalid_field_lists_the_one_offending_field():
    error = Invalid.field("org", "No organisation has the code 'XX'.")
    assert error.status == 422
    assert [e.as_dict() for e in error.errors] == [
        {"loc": ["org"], "msg": "No organisation has the code 'XX'.", "type": "value_error"}]


def test_invalid_field_keeps_a_nested_location():
    error = Invalid.field(["query", "cursor"], "bad")
    assert error.errors[0].loc == ["query", "cursor"]


def test_conflict_and_throttle_carry_their_extras():
    assert Conflict("taken", lead="LT").extra == {"lead": "LT"}
    assert TooManyRequests("slow down", retry_after=900).extra == {"retry_after": 900}
    assert NotFound().status == 404
