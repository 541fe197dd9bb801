"""Keyset pagination: ``limit`` and an opaque cursor, stable under inserts."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from crrt.core.errors import Invalid

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list; ``next_cursor`` is null on the last page."""

    items: list[T]
    next_cursor: str | None = None


def encode_cursor(key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": key}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> Any:
    """The key a cursor points after; a cursor that is not ours is a 422, not a 500."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode()))["after"]
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise Invalid.field(["query", "cursor"], "The cursor is not one this server gave.") from exc


def decode_after(cursor: str) -> int:
    """The integer key a cursor points after; anything else (a bool, a huge number) is not
    one of our cursors (422)."""
    after = decode_cursor(cursor)
    if not isinstance(after, int) or isinstance(after, bool) or not -2**63 <= after < 2**63:
        raise Invalid.field(["query", "cursor"], "The cursor is not one this server gave.")
    return after


def paginate(db: Session, stmt: Select[Any], key: InstrumentedAttribute[Any], *,
             limit: int | None, cursor: str | None,
             convert: Callable[[Any], Any] = lambda row: row) -> tuple[Sequence[Any], str | None]:
    """Run ``stmt`` ordered by the unique, integer ``key`` and return a page and the next cursor."""
    size = DEFAULT_LIMIT if limit is None else limit
    if not 1 <= size <= MAX_LIMIT:
        raise Invalid.field(["query", "limit"], f"limit must be between 1 and {MAX_LIMIT}.")
    if cursor:
        stmt = stmt.where(key > decode_after(cursor))
    rows = list(db.scalars(stmt.order_by(key).limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    next_cursor = encode_cursor(getattr(rows[-1], key.key)) if more and rows else None
    return [convert(row) for row in rows], next_cursor


def decode_after_pair(cursor: str) -> tuple[str, int]:
    """A sorted list's cursor: the text it sorts by and the key that breaks ties."""
    after = decode_cursor(cursor)
    if (not isinstance(after, list) or len(after) != 2 or not isinstance(after[0], str)
            or len(after[0]) > 1000 or not isinstance(after[1], int)
            or isinstance(after[1], bool) or not -2**63 <= after[1] < 2**63):
        raise Invalid.field(["query", "cursor"], "The cursor is not one this server gave.")
    return after[0], after[1]


def paginate_sorted(db: Session, stmt: Select[Any], column: InstrumentedAttribute[str],
                    key: InstrumentedAttribute[Any], *, descending: bool, limit: int,
                    cursor: str | None) -> tuple[Sequence[Any], str | None]:
    """Like :func:`paginate`, ordered by a text ``column`` (ties broken by ``key``), either way;
    the cursor holds both, so a page never repeats or skips a row under inserts."""
    if cursor:
        value, after = decode_after_pair(cursor)
        later = (column < value) | ((column == value) & (key < after)) if descending else \
            (column > value) | ((column == value) & (key > after))
        stmt = stmt.where(later)
    order = (column.desc(), key.desc()) if descending else (column, key)
    rows = list(db.scalars(stmt.order_by(*order).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if more and rows else None
    next_cursor = encode_cursor([getattr(last, column.key), getattr(last, key.key)]) \
        if last is not None else None
    return rows, next_cursor
