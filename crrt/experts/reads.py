"""Hot reads of the pool: column selects and lists aggregated by the database, no ORM graph.

The pool's list is read far more often than it is written. Loading it through the ORM built a
few hundred objects per page, then Pydantic models from them, then validated those again; here
one statement per page selects the columns the answer shows, with each expert's skills,
languages and periods as JSON arrays and its nation and institution joined through the
organisations part's selectables, and rows become JSON-ready dicts serialised once. The
statement's columns are built once per engine; a request adds only its filters. A test keeps
the answer identical, byte for byte, to :func:`crrt.experts.service.expert_out`'s.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from functools import cache, lru_cache
from typing import Any

import orjson
from sqlalchemy import Integer, Select, bindparam, select
from sqlalchemy.orm import Session

from crrt.access import policy
from crrt.access.policy import Permission
from crrt.access.principal import Principal
from crrt.core import clock
from crrt.core.aggregates import decoded, json_objects, json_values
from crrt.core.errors import Invalid, NotFound
from crrt.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_after, encode_cursor
from crrt.experts import service
from crrt.experts.models import Expert, ExpertLanguage, ExpertSkill, Unavailability
from crrt.experts.schemas import ExpertFilter
from crrt.organisations import service as organisations

JSON_OPTIONS = orjson.OPT_UTC_Z


@cache
def _statement(dialect: str) -> Select[Any]:
    """The page's columns on one engine, built once."""
    orgs, insts = organisations.names(), organisations.institution_names()
    skills = (select(json_objects(dialect, ("skill", ExpertSkill.skill),
                                  ("level", ExpertSkill.level)))
              .where(ExpertSkill.expert_id == Expert.id).scalar_subquery())
    languages = (select(json_values(dialect, ExpertLanguage.code))
                 .where(ExpertLanguage.expert_id == Expert.id).scalar_subquery())
    periods = (select(json_objects(dialect, ("id", Unavailability.public_id),
                                   ("starts_on", Unavailability.starts_on),
                                   ("ends_on", Unavailability.ends_on),
                                   ("reason", Unavailability.reason)))
               .where(Unavailability.expert_id == Expert.id).scalar_subquery())
    return (
        select(Expert.id, Expert.public_id, orgs.c.code, orgs.c.name, insts.c.public_id,
               insts.c.name, Expert.name, Expert.email, Expert.phone, skills, languages,
               Expert.clearance, Expert.remote, Expert.on_site, Expert.time_zone, Expert.notes,
               Expert.messenger, Expert.pgp_fingerprint, Expert.clearance_expires_on,
               periods, Expert.verified_at, Expert.created_at, Expert.updated_at,
               Expert.erased_at)
        .join(orgs, orgs.c.id == Expert.organisation_id)
        .outerjoin(insts, insts.c.id == Expert.institution_id))


def _uuid(value: Any) -> str:
    """A UUID as the API writes it (SQLite's JSON holds its 32 hex digits, PostgreSQL's the
    dashed form)."""
    return str(value) if isinstance(value, uuid.UUID) else str(uuid.UUID(str(value)))


def _item(row: Any, now: datetime) -> dict[str, Any]:
    (_id, public_id, org, org_name, inst_id, inst_name, name, email, phone, skills, languages,
     clearance, remote, on_site, time_zone, notes, messenger, fingerprint, clearance_expires_on,
     periods, verified_at, created_at, updated_at, erased_at) = row
    today = now.date()
    periods = sorted(({"id": _uuid(p["id"]), "starts_on": p["starts_on"],
                       "ends_on": p["ends_on"], "reason": p["reason"]}
                      for p in decoded(periods)), key=lambda p: p["starts_on"])
    today_text = today.isoformat()
    return {
        "id": str(public_id), "org": org, "org_name": org_name,
        "institution_id": str(inst_id) if inst_id is not None else None,
        "institution": inst_name, "name": name, "email": email, "phone": phone,
        "skills": sorted(decoded(skills), key=lambda s: s["skill"]),
        "languages": sorted(decoded(languages)), "clearance": clearance.value,
        "deployability": [d for d, on in (("remote", remote), ("on_site", on_site)) if on],
        "time_zone": time_zone, "notes": notes, "messenger": messenger,
        "pgp_fingerprint": fingerprint, "clearance_expires_on": clearance_expires_on,
        "unavailability": periods,
        "available_today": not any(p["starts_on"] <= today_text <= p["ends_on"]
                                   for p in periods),
        "verified_at": verified_at, "stale": service.is_stale(verified_at, now),
        "created_at": created_at, "updated_at": updated_at, "erased": erased_at is not None,
    }


def filtered_statement(db: Session, actor: Principal, filters: ExpertFilter) -> Select[Any]:
    """The page's statement for ``actor`` and ``filters``, before the cursor and the limit."""
    return service.filtered(db, actor, _statement(db.get_bind().dialect.name).where(
        policy.scope(actor, Permission.EXPERTS_READ, Expert)), filters)


@lru_cache(maxsize=512)
def _page_statement(dialect: str, actor: Principal, shape: frozenset[str],
                    after: bool) -> Select[Any]:
    """The whole statement of a page for one caller and one set of criteria, built once: a
    request binds its values, the cursor and the limit. Reused, the statement also keeps its
    cache key, which SQLAlchemy would otherwise compute again on every execution."""
    stmt = service.narrowed(_statement(dialect).where(
        policy.scope(actor, Permission.EXPERTS_READ, Expert)), dict.fromkeys(shape),
        placeholders=True)
    if after:
        stmt = stmt.where(Expert.id > bindparam("after", type_=Integer))
    return stmt.order_by(Expert.id).limit(bindparam("limit", type_=Integer))


@lru_cache(maxsize=512)
def _one_statement(dialect: str, actor: Principal) -> Select[Any]:
    """One expert's row, if the caller sees it, built once per caller."""
    wanted = Expert.public_id == bindparam("id", type_=Expert.public_id.type)
    return _statement(dialect).where(policy.scope(actor, Permission.EXPERTS_READ, Expert), wanted)


def one(*, db: Session, actor: Principal, expert_id: uuid.UUID) -> bytes:
    """One expert as the JSON of ``ExpertOut``; outside the actor's scope it does not exist
    (404), as :func:`crrt.experts.service.get` says."""
    policy.require_some(actor, Permission.EXPERTS_READ)
    row = db.connection().execute(_one_statement(db.get_bind().dialect.name, actor),
                                  {"id": expert_id}).first()
    if row is None:
        raise NotFound("No such expert.")
    return orjson.dumps(_item(row, clock.now()), option=JSON_OPTIONS)


def encode_page(rows: Sequence[Any], *, size: int, now: datetime) -> bytes:
    """Up to ``size`` rows (one more says another page follows) as the JSON of a page."""
    more = len(rows) > size
    rows = rows[:size]
    return orjson.dumps({"items": [_item(row, now) for row in rows],
                         "next_cursor": encode_cursor(rows[-1][0]) if more and rows else None},
                        option=JSON_OPTIONS)


def page(*, db: Session, actor: Principal, filters: ExpertFilter, limit: int | None,
         cursor: str | None) -> bytes:
    """One page of the experts the actor may see, as the JSON of ``Page[ExpertOut]``."""
    policy.require_some(actor, Permission.EXPERTS_READ)
    size = DEFAULT_LIMIT if limit is None else limit
    if not 1 <= size <= MAX_LIMIT:
        raise Invalid.field(["query", "limit"], f"limit must be between 1 and {MAX_LIMIT}.")
    values = service.filter_values(db, actor, filters)
    if cursor:
        values["after"] = decode_after(cursor)
    stmt = _page_statement(db.get_bind().dialect.name, actor, frozenset(values) - {"after"},
                           bool(cursor))
    # Core, not the ORM's execute: plain rows of columns, no ORM loading step.
    bound = {name: value for name, value in values.items() if value is not None}
    rows = db.connection().execute(stmt, bound | {"limit": size + 1}).all()
    return encode_page(rows, size=size, now=clock.now())
