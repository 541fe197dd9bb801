"""The base of every request body: unknown fields refused, and cheaply when there are many."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

# Unknown fields named one by one; past this many, one error for them all.
MAX_UNKNOWN = 20


class Input(BaseModel):
    """A request body. An unknown field is an error naming it; a body with many (over
    :data:`MAX_UNKNOWN` besides the known ones) is refused in one error before any field is
    looked at, since a megabyte of unknown keys would otherwise cost a second of error
    objects, one each, before the permission check."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _not_too_many_fields(cls, data: Any) -> Any:
        if isinstance(data, dict) and len(data) > len(cls.model_fields) + MAX_UNKNOWN:
            raise ValueError(f"{len(data)} fields were sent; {len(cls.model_fields)} are known "
                             "here")
        return data
