"""How a person or a team is reached: a phone number, a secure messenger handle and a PGP key
fingerprint, checked alike wherever they are kept (an expert's record, an organisation's
contact card), so one rule decides what a fingerprint is.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

from crrt.core.text import Label

PHONE = re.compile(r"^[0-9 +\-()]{6,40}$")


def _phone(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not PHONE.match(value) or not any(ch.isdigit() for ch in value):
        raise ValueError("a phone number holds digits, spaces, +, - and brackets (6-40 characters)")
    return value


def _fingerprint(value: str | None) -> str | None:
    """A PGP key fingerprint as people write it (groups of four, any case) kept as its 40 (v4)
    or 64 (v5/v6) hexadecimal digits, upper case."""
    if value is None:
        return None
    digits = "".join(value.split()).upper().removeprefix("0X")
    if len(digits) not in (40, 64) or any(ch not in "0123456789ABCDEF" for ch in digits):
        raise ValueError("a PGP fingerprint is 40 or 64 hexadecimal digits "
                         "(spaces between groups are fine)")
    return digits


def _messenger(value: str | None) -> str | None:
    return None if value is None else (value.strip() or None)


Phone = Annotated[str | None, Field(default=None, max_length=40), AfterValidator(_phone)]
Fingerprint = Annotated[str | None, Field(default=None, max_length=100),
                        AfterValidator(_fingerprint)]
Messenger = Annotated[Label | None, Field(default=None, max_length=200,
                                          description="A secure messenger handle "
                                                      "(Signal: +370…, Matrix: @name:server)."),
                      AfterValidator(_messenger)]
