from datetime import date

import pytest
from pydantic import ValidationError

from crrt.experts.enums import Deployability
from crrt.experts.schemas import ExpertFilter, ExpertIn, ExpertPatch, UnavailabilityIn


def _fields(exc: pytest.ExceptionInfo[ValidationError]) -> set[str]:
    return {str(e["loc"][0]) for e in exc.value.errors()}


def test_a_minimal_nomination_gets_the_documented_defaults(expert_body):
    expert = ExpertIn.model_validate({"org": "EE", "name": " Mart Kask ",
                                      "email": "mart@mil.ee.example",
                                      "skills": [{"skill": "ot_ics", "level": 2}]})
    assert expert.name == "Mart Kask"
    assert expert.deployability == [Deployability.REMOTE]
    assert (expert.clearance.value, expert.time_zone, expert.languages) == ("none", "UTC", [])


@pytest.mark.parametrize(("field", "value"), [
    ("phone", "call me"), ("phone", "12345"), ("phone", "+" * 41),
    ("time_zone", "Europe/Atlantis"), ("time_zone", "../etc/passwd"), ("time_zone", "Europe"),
    ("languages", ["xx"]), ("languages", ["english"]), ("languages", ["en", "EN"]),
    ("skills", []), ("skills", [{"skill": "hacking", "level": 1}]),
    ("skills", [{"skill": "cloud", "level": 0}]),
    ("skills", [{"skill": "cloud", "level": 1}, {"skill": "cloud", "level": 2}]),
    ("deployability", []), ("deployability", ["remote", "remote"]),
    ("deployability", ["teleport"]), ("clearance", "TOP SECRET"), ("name", "   "),
    ("name", "A\x00B"), ("notes", "x" * 2001), ("org", "E E"), ("institution_id", 2**31),
    ("email", "not-an-address"), ("colour", "blue"),
])
def test_each_rule_of_a_nomination_names_its_field(expert_body, field, value):
    with pytest.raises(ValidationError) as exc:
        ExpertIn.model_validate(expert_body(**{field: value}))
    assert field in _fields(exc)


def test_languages_are_taken_in_any_case_and_stored_lowercase(expert_body):
    assert ExpertIn.model_validate(expert_body(languages=["ET", " lt "])).languages == ["et", "lt"]


def test_a_patch_may_clear_the_phone_but_not_the_name():
    assert ExpertPatch.model_validate({"phone": None}).model_fields_set == {"phone"}
    with pytest.raises(ValidationError, match="name cannot be cleared"):
        ExpertPatch.model_validate({"name": None})


def test_an_unavailability_period_ends_on_or_after_its_start():
    UnavailabilityIn(starts_on=date(2027, 1, 1), ends_on=date(2027, 1, 1))
    with pytest.raises(ValidationError, match="ends_on"):
        UnavailabilityIn(starts_on=date(2027, 1, 2), ends_on=date(2027, 1, 1))


def test_a_filter_rejects_a_language_that_is_not_iso_639_1():
    assert ExpertFilter(language="ET").language == "et"
    with pytest.raises(ValidationError):
        ExpertFilter(language="zz")
