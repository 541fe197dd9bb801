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



def paginate_sorted(db: Session, stmt: Select[Any], column: InstrumentedAttribute[str],
                    key: InstrumentedAttribute[Any], *, descending: bool, limit: int,
                    cursor: str | None) -> tuple[Sequence[Any], str | None]:
    """Like :func:`paginate`, ordered by a text ``column`` (ties broken by ``key``), either way.

    The cursor holds only the last row's key, never its text (a name in an address ends up in
    histories and logs): the text is read again from that row, so a page never repeats or
    skips one under inserts; a cursor whose row is gone or out of the list is refused (422),
    as a forged one is.
    """
    if cursor:
        after = decode_after(cursor)
        # read through the list's own statement: a row the caller may not list gives away
        # nothing of its text, and is refused like a forged cursor
        value = db.scalar(stmt.with_only_columns(column).where(key == after))
        if value is None:
            raise Invalid.field(["query", "cursor"], "The list changed under this cursor: "
                                                     "start from the first page.")
        later = (column < value) | ((column == value) & (key < after)) if descending else \
            (column > value) | ((column == value) & (key > after))
        stmt = stmt.where(later)
    order = (column.desc(), key.desc()) if descending else (column, key)
    rows = list(db.scalars(stmt.order_by(*order).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(getattr(rows[-1], key.key)) if more and rows else None
    return rows, next_cursor
