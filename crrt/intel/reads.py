"""Reading a collection as TAXII 2.1 asks: filters on the date added, ids, types, versions
(first, last, all, or given timestamps) and spec versions; pages in the order objects were
added, then by placement, so that equal dates never lose or repeat one; each page's first
and last date added (the headers a client resumes from with ``added_after``).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from typing import cast as typed

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Text,
    cast,
    func,
    or_,
    select,
    tuple_,
    type_coerce,
)
from sqlalchemy.orm import Session, aliased

from crrt.access.principal import Principal
from crrt.core import clock
from crrt.core.errors import DomainError
from crrt.intel import stix
from crrt.intel.models import Collection, CollectionObject, StixObject
from crrt.intel.service import readable

MAX_PAGE = 1000
DEFAULT_PAGE = 100
MAX_MATCHES = 100  # values of one match[...] filter
SPECIAL = ("first", "last", "all")


@dataclass
class Filters:
    """A request's filters, checked; ``version`` holds first, last, all and timestamps."""

    added_after: datetime | None = None
    ids: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    versions: list[str] = field(default_factory=lambda: ["last"])
    spec_versions: list[str] = field(default_factory=list)
    limit: int = DEFAULT_PAGE
    after: tuple[datetime, int] | None = None


def bad(detail: str) -> DomainError:
    """A request TAXII answers with 400 (a filter or a token it cannot read)."""
    return DomainError(detail, 400, "bad-request", "Bad request")


def _values(name: str, text: str | None) -> list[str]:
    items = [v.strip() for v in (text or "").split(",") if v.strip()]
    if len(items) > MAX_MATCHES:
        raise bad(f"{name}: at most {MAX_MATCHES} values.")
    return items


def filters(*, added_after: str | None, limit: int | None, next_token: str | None,
            match_id: str | None, match_type: str | None, match_version: str | None,
            match_spec_version: str | None) -> Filters:
    """The filters of a request's query, each checked (400 with the reason otherwise)."""
    out = Filters(ids=_values("match[id]", match_id), types=_values("match[type]", match_type),
                  spec_versions=_values("match[spec_version]", match_spec_version),
                  limit=min(limit or DEFAULT_PAGE, MAX_PAGE))
    if added_after:
        out.added_after = _moment("added_after", added_after)
    versions = _values("match[version]", match_version)
    if versions:
        out.versions = [v if v in SPECIAL else _stamp("match[version]", v) for v in versions]
    if next_token:
        out.after = decode_next(next_token)
    return out


def _moment(name: str, text: str) -> datetime:
    return datetime.fromisoformat(_stamp(name, text).replace("Z", "+00:00"))


def _stamp(name: str, text: str) -> str:
    try:
        return stix.parse_stamp(text)
    except stix.Refused as exc:
        raise bad(f"{name}: {exc}") from exc


def encode_next(added: datetime, placement: int) -> str:
    raw = json.dumps([clock.iso(added), placement]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_next(token: str) -> tuple[datetime, int]:
    """Where a ``next`` token points after; one this server did not give is a 400."""
    try:
        added, placement = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(placement, int) or isinstance(placement, bool) or \
                not 0 <= placement < 2**63:
            raise ValueError(placement)
        return clock.as_utc(datetime.fromisoformat(str(added).replace("Z", "+00:00"))), \
            placement
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise bad("next: this token is not one this server gave.") from exc


def _version_filter(collection: Collection, versions: list[str]) -> ColumnElement[bool] | None:
    """first and last are the earliest and latest versions of each object in the
    collection; timestamps name versions; all, every one."""
    if "all" in versions:
        return None
    other = aliased(StixObject)
    placed = aliased(CollectionObject)

    def extreme(fn: Any) -> Any:
        return (select(fn(other.version)).join(placed, placed.object_id == other.id)
                .where(placed.collection_id == collection.id,
                       other.stix_id == StixObject.stix_id).scalar_subquery())

    ways: list[ColumnElement[bool]] = []
    if "first" in versions:
        ways.append(StixObject.version == extreme(func.min))
    if "last" in versions:
        ways.append(CollectionObject.latest.is_(True))
    stamps = [v for v in versions if v not in SPECIAL]
    if stamps:
        ways.append(StixObject.version.in_(stamps))
    return or_(*ways)


def entries(collection: Collection, actor: Principal, wanted: Filters, *,
            stix_id: str | None = None, bodies_only: bool = False) -> Select[Any]:
    """The collection's placements the filters keep, in TAXII's order, with their objects
    (``bodies_only``: the placement, its date added and the object's JSON text, what a page
    of objects shows, a seventh less to read; else its id and versions too)."""
    stmt = typed(Select[Any], select(
        # the date added as the driver gives it: only a page's first and last are converted
        CollectionObject.id, type_coerce(CollectionObject.date_added, String).label("added"),
        cast(StixObject.body, Text).label("body"),
        *(() if bodies_only else (StixObject.stix_id, StixObject.version,
                                  StixObject.spec_version))))
    stmt = (stmt
            .join(StixObject, StixObject.id == CollectionObject.object_id)
            .where(CollectionObject.collection_id == collection.id,
                   readable(actor, leaving=True)))
    if stix_id is not None:
        stmt = stmt.where(StixObject.stix_id == stix_id)
    if wanted.ids:
        stmt = stmt.where(StixObject.stix_id.in_(wanted.ids))
    if wanted.types:
        stmt = stmt.where(StixObject.type.in_(wanted.types))
    if wanted.spec_versions:
        stmt = stmt.where(StixObject.spec_version.in_(wanted.spec_versions))
    if wanted.added_after is not None:
        stmt = stmt.where(CollectionObject.date_added > wanted.added_after)
    version = _version_filter(collection, wanted.versions)
    if version is not None:
        stmt = stmt.where(version)
    if wanted.after is not None:
        added, placement = wanted.after
        # a row comparison: one range of the (collection, date added, id) index
        stmt = stmt.where(tuple_(CollectionObject.date_added, CollectionObject.id)
                          > tuple_(added, placement))
    return stmt.order_by(CollectionObject.date_added, CollectionObject.id)


@dataclass
class Page:
    """A page of :func:`entries`' rows; a row's ``added`` is as the driver gave it, and
    :meth:`added` makes it an instant (converting a thousand dates that a page of objects
    never shows costs as much as reading their rows)."""

    rows: list[Any]
    more: bool
    next: str | None
    convert: Any = None  # the column's own result processing, for this database

    def added(self, row: Any) -> datetime:
        return typed(datetime, self.convert(row.added) if self.convert else row.added)

    @property
    def first_added(self) -> datetime | None:
        return self.added(self.rows[0]) if self.rows else None

    @property
    def last_added(self) -> datetime | None:
        return self.added(self.rows[-1]) if self.rows else None


def page(db: Session, stmt: Select[Any], limit: int) -> Page:
    # plain rows through the connection: the ORM's loading would cost more than the query
    connection = db.connection()
    rows = list(connection.execute(stmt.limit(limit + 1)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    dialect = connection.dialect
    out = Page(rows, more, None, CollectionObject.__table__.c.date_added.type
               .dialect_impl(dialect).result_processor(dialect, None))
    if more:
        out.next = encode_next(out.added(rows[-1]), rows[-1].id)
    return out
