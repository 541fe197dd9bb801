"""Text fields every part shares: bounded, printable, names never blank or invisible.

Every string a client sends is bounded (``max_length``), so Pydantic refuses an oversized value
before any validator of ours runs. Control and format characters (NUL, which PostgreSQL cannot
store; bidi overrides and isolates, which make a name read backwards; zero-width spaces and
joiners, which make two names look the same or one look empty) are refused in every free text;
a note may hold ordinary line breaks and tabs.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, EmailStr, Field

# Cc control, Cf format (bidi marks and overrides, zero-width characters, the BOM, the soft
# hyphen), Cs lone surrogates (a JSON "\ud800"), Zl and Zp (line and paragraph separators).
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
NOTE_WHITESPACE = frozenset("\t\n\r")
# Letters and symbols that draw nothing: a name of these alone is as empty as one of spaces.
BLANK_GLYPHS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
VISIBLE_CATEGORIES = ("L", "N", "P", "S")

NAME_LENGTH = 200
LABEL_LENGTH = 100
NOTE_LENGTH = 2000
SHORT_NOTE_LENGTH = 200
SEARCH_LENGTH = 200
EMAIL_LENGTH = 254  # RFC 5321's longest address (a path of 256 with its angle brackets)


def hidden_character(value: str, *, allowed: frozenset[str] = frozenset()) -> str | None:
    """The first control or format character in ``value`` (``allowed`` aside), or None."""
    for char in value:
        if char not in allowed and unicodedata.category(char) in REFUSED_CATEGORIES:
            return char
    return None


def _refuse_hidden(value: str, allowed: frozenset[str]) -> str:
    char = hidden_character(value, allowed=allowed)
    if char is None:
        return value
    if char == "\x00":
        raise ValueError("must not contain NUL characters")
    raise ValueError(f"must not contain control or invisible characters (U+{ord(char):04X})")


def one_line(value: str) -> str:
    """Refuse control and format characters (line breaks and tabs among them)."""
    return _refuse_hidden(value, frozenset())


def note_text(value: str) -> str:
    """Refuse control and format characters other than line breaks and tabs."""
    return _refuse_hidden(value, NOTE_WHITESPACE)


def is_visible(char: str) -> bool:
    """Whether ``char`` draws something: a letter, digit, punctuation or symbol."""
    return unicodedata.category(char).startswith(VISIBLE_CATEGORIES) \
        and char not in BLANK_GLYPHS


def visible_name(value: str) -> str:
    """A name: one line, and at least one character that can be seen (one of only spaces, or
    of only fillers, would look empty in every list)."""
    one_line(value)
    if not any(is_visible(char) for char in value):
        raise ValueError("must not be blank" if not value.strip()
                         else "must hold at least one visible character")
    return value


Name = Annotated[str, Field(min_length=1, max_length=NAME_LENGTH), AfterValidator(visible_name)]
Label = Annotated[str, Field(max_length=LABEL_LENGTH), AfterValidator(one_line)]
Note = Annotated[str, Field(max_length=NOTE_LENGTH), AfterValidator(note_text)]
ShortNote = Annotated[str, Field(max_length=SHORT_NOTE_LENGTH), AfterValidator(note_text)]
Search = Annotated[str, Field(max_length=SEARCH_LENGTH), AfterValidator(one_line)]
Email = Annotated[EmailStr, Field(max_length=EMAIL_LENGTH)]
