"""The shared text types, and every free-text field of every schema that takes input."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from crrt.auth.schemas import TokenIn, UserIn, UserPatch
from crrt.core.text import Label, Name, Note, Search, ShortNote
from crrt.experts.schemas import ExpertFilter, ExpertIn, ExpertPatch, UnavailabilityIn
from crrt.organisations.schemas import (
    InstitutionIn,
    InstitutionPatch,
    OrganisationIn,
    OrganisationPatch,
)

# Characters that change how text reads or hide in it: bidi embeddings, overrides and isolates,
# bidi marks, zero-width space, joiners, word joiner, BOM, soft hyphen, a line separator, and
# C0 controls (NUL, bell, escape).
HIDDEN = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068",
          "\u2069", "\u200e", "\u200f", "\u061c", "\u200b", "\u200c", "\u200d", "\u2060",
          "\ufeff", "\u00ad", "\u2028", "\x00", "\x07", "\x1b", "\x7f", "\x85"]
TYPES = {"Name": Name, "Label": Label, "Note": Note, "ShortNote": ShortNote, "Search": Search}


def _check(kind: Any, value: str) -> str:
    return TypeAdapter(kind).validate_python(value)


@pytest.mark.parametrize("char", HIDDEN, ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize("kind", TYPES, ids=str)
def test_every_text_type_refuses_control_and_invisible_characters(kind, char):
    with pytest.raises(ValidationError) as exc:
        _check(TYPES[kind], f"Kadri{char}Saar")
    assert f"U+{ord(char):04X}" in str(exc.value) or "NUL" in str(exc.value)


def test_a_bidi_override_cannot_make_a_name_read_backwards():
    # "Kadri " then RIGHT-TO-LEFT OVERRIDE: a screen shows "Kadri Saar", the data says otherwise
    with pytest.raises(ValidationError, match="U\\+202E"):
        _check(Name, "Kadri \u202eraaS")


@pytest.mark.parametrize("name", ["\u200b", "\u200b\u200c\u200d\u2060\ufeff", " \u3164 ",
                                  "\u2800\u2800", "\u115f\u1160", "\u00a0\u2003", "   ",
                                  "\u0301"], ids=repr)
def test_a_name_needs_a_visible_character(name):
    with pytest.raises(ValidationError):
        _check(Name, name)


@pytest.mark.parametrize("name", ["Žydrūnė Šimkutė", "Ελένη Παπαδοπούλου", "Åsa O'Brien-Ødegård",
                                  "Łukasz Wąsowski", "李雷", "Zoë\u00a0Martin", "CERT-EU",
                                  "Agence nationale de la sécurité des systèmes d'information"])
def test_real_names_in_any_script_are_kept_as_written(name):
    assert _check(Name, name) == name


def test_a_note_keeps_line_breaks_and_tabs_a_name_does_not():
    note = "Prefers night shifts.\r\n\tOn call in March."
    assert _check(Note, note) == note
    assert _check(ShortNote, "parental leave\nback in May") == "parental leave\nback in May"
    for one_line in (Name, Label, Search):
        with pytest.raises(ValidationError):
            _check(one_line, "Kadri\nSaar")


def test_each_text_type_is_bounded():
    for kind, longest in ((Name, 200), (Label, 100), (Note, 2000), (ShortNote, 200),
                          (Search, 200)):
        _check(kind, "x" * longest)
        with pytest.raises(ValidationError, match="at most"):
            _check(kind, "x" * (longest + 1))


EXPERT = {"org": "EE", "name": "Kadri Saar", "email": "kadri@ria.ee.example",
          "skills": [{"skill": "incident_handling", "level": 2}]}
PERIOD = {"starts_on": "2027-01-04", "ends_on": "2027-01-08"}

# Every free-text field of every schema that takes input, with a valid input to vary.
FREE_TEXT: list[tuple[type[BaseModel], str, dict[str, Any]]] = [
    (UserIn, "name", {"email": "x@test.example", "role": "observer", "org": "DE"}),
    (UserPatch, "name", {}),
    (TokenIn, "name", {}),
    (OrganisationIn, "name", {"code": "cert-eu", "kind": "eu_institution"}),
    (OrganisationPatch, "name", {}),
    (OrganisationPatch, "note", {"membership": "participant"}),
    (InstitutionIn, "name", {"kind": "csirt"}),
    (InstitutionPatch, "name", {}),
    (ExpertIn, "name", EXPERT),
    (ExpertIn, "notes", EXPERT),
    (ExpertPatch, "name", {}),
    (ExpertPatch, "notes", {}),
    (UnavailabilityIn, "reason", PERIOD),
    (ExpertFilter, "q", {}),
]


@pytest.mark.parametrize(("model", "field", "rest"), FREE_TEXT,
                         ids=[f"{m.__name__}.{f}" for m, f, _ in FREE_TEXT])
@pytest.mark.parametrize("spoof", ["Kadri \u202eraaS", "Kadri\u200bSaar", "Kadri\u2066Saar",
                                   "Kadri\x00Saar", "Kadri\x1b[31mSaar"], ids=repr)
def test_every_free_text_field_refuses_spoofing_characters(model, field, rest, spoof):
    model.model_validate({**rest, field: "Kadri Saar"})  # the same field, plainly written
    with pytest.raises(ValidationError) as exc:
        model.model_validate({**rest, field: spoof})
    assert [error["loc"] for error in exc.value.errors()] == [(field,)]


NAMES = [(model, rest) for model, field, rest in FREE_TEXT
         if field == "name" and model is not TokenIn]


@pytest.mark.parametrize(("model", "rest"), NAMES, ids=[m.__name__ for m, _ in NAMES])
def test_every_name_field_refuses_a_name_of_zero_width_characters(model, rest):
    with pytest.raises(ValidationError, match="invisible characters"):
        model.model_validate({**rest, "name": "\u200b\u200d\u2060"})
