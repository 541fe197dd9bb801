"""Text fields every part shares: no NUL (PostgreSQL cannot store it), names never blank."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field


def no_nul(value: str) -> str:
    """Refuse NUL at the edge on every backend, so SQLite and PostgreSQL agree."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def not_blank(value: str) -> str:
    """A name is stored stripped: one of only spaces would be stored empty, so it is refused."""
    if not no_nul(value).strip():
        raise ValueError("must not be blank")
    return value


Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(not_blank)]
Label = Annotated[str, Field(max_length=100), AfterValidator(no_nul)]
Note = Annotated[str, Field(max_length=2000), AfterValidator(no_nul)]
