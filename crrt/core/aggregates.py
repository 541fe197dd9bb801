"""JSON built by the database, the same on SQLite and PostgreSQL: a hot read fetches a record
with its lists (skills, languages, periods) in one row instead of one query per list.

SQLite has ``json_group_array``/``json_object``, PostgreSQL ``json_agg``/``json_build_object``;
the statements are built per dialect, and :func:`decoded` gives Python lists either way
(PostgreSQL's driver decodes JSON itself, SQLite hands back text).
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import ColumnElement, ColumnExpressionArgument, func, literal_column


def json_objects(dialect: str, *pairs: tuple[str, ColumnExpressionArgument[Any]]
                 ) -> ColumnElement[Any]:
    """An aggregate: one JSON object of ``pairs`` per row, as a JSON array (``[]`` for none)."""
    if dialect == "postgresql":
        built = func.json_build_object(*(part for key, value in pairs for part in (key, value)))
        return func.coalesce(func.json_agg(built), literal_column("'[]'::json"))
    built = func.json_object(*(part for key, value in pairs for part in (key, value)))
    return func.json_group_array(func.json(built))


def json_values(dialect: str, value: ColumnExpressionArgument[Any]) -> ColumnElement[Any]:
    """An aggregate: the rows' ``value``s as a JSON array (``[]`` for none)."""
    if dialect == "postgresql":
        return func.coalesce(func.json_agg(value), literal_column("'[]'::json"))
    return func.json_group_array(value)


def decoded(value: Any) -> list[Any]:
    """A JSON array as the database handed it back: decoded already, or text."""
    if value is None:
        return []
    if isinstance(value, str | bytes):
        found = orjson.loads(value)
        return found if isinstance(found, list) else []
    return list(value)
