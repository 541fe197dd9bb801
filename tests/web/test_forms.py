"""Posted forms into service input, and validation errors into messages beside fields."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from starlette.datastructures import FormData

from crrt.core.errors import FieldError
from crrt.experts.schemas import ExpertIn
from crrt.web import forms


def posted(**fields: object) -> FormData:
    items: list[tuple[str, str]] = []
    for key, value in fields.items():
        for one in value if isinstance(value, list) else [value]:
            items.append((key.replace("__", "."), str(one)))
    return FormData(items)


def test_nomination_form_becomes_the_service_input():
    data, shown = forms.nomination(posted(
        org="EE", name=" Mari Saar ", email="mari@ee.example", phone="",
        skill__cloud="2", skill__team_lead="", languages="et, en;ru  de",
        deployability=["remote", "on_site"], clearance="SECRET UE", time_zone=""))
    expert = ExpertIn.model_validate(data)
    assert expert.name == "Mari Saar"
    assert [(s.skill.value, s.level) for s in expert.skills] == [("cloud", 2)]
    assert expert.languages == ["et", "en", "ru", "de"]
    assert expert.phone is None
    assert expert.time_zone == "UTC"
    assert shown["skills"] == {"cloud": "2"}
    assert shown["languages"] == "et, en;ru  de"


def messages_for(**fields: object) -> dict[str, str]:
    data, _ = forms.nomination(posted(**fields))
    with pytest.raises(ValidationError) as caught:
        ExpertIn.model_validate(data)
    return forms.messages(caught.value)


def test_an_empty_form_names_every_required_field_in_plain_words():
    found = messages_for()
    assert found == {
        "org": "Choose the nation that nominates the expert.",
        "name": "Enter the expert's full name.",
        "email": "Enter the expert's email address.",
        "skills": "Give at least one skill with its level.",
        "deployability": "Choose remote, on site, or both.",
    }


def test_bad_values_are_explained_once_per_field():
    found = messages_for(org="EE", name="A", email="nope", skill__cloud="7",
                         deployability="remote", languages="en, xx, yy",
                         institution_id="abc", time_zone="Nowhere/City")
    assert found["email"] == "Enter an email address such as name@example.org."
    assert found["skills"] == "Input should be less than or equal to 3."
    assert found["languages"].startswith("'xx' is not an ISO 639-1 language code")
    assert found["institution_id"] == "Choose one of the listed options."
    assert found["time_zone"].startswith("'Nowhere/City' is not an IANA time zone")


def test_service_field_errors_map_to_their_form_fields():
    found = forms.messages([FieldError(["institution_id"], "Estonia has no institution 9."),
                            FieldError(["query", "org"], "No organisation has the code 'XX'.")])
    assert found == {"institution_id": "Estonia has no institution 9.",
                     "org": "No organisation has the code 'XX'."}
