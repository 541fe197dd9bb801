"""Reading the store as the pages show it: a collection's objects searched and filtered, one
object's versions and relationships, and where its values were seen.

Every read goes through the rules the API uses: only collections :func:`service.may_read`
lets the viewer read, and in them only what :func:`service.readable` lets it see (TLP:AMBER+STRICT
stays with the organisation that shared it and the coordination cell). An object outside
them does not exist for the viewer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from crrt.access.enums import Tlp
from crrt.access.principal import Principal
from crrt.core.errors import NotFound
from crrt.core.pagination import decode_after, encode_cursor
from crrt.intel import correlate, imports, service, stix
from crrt.intel.models import (
    Collection,
    CollectionObject,
    IndexedValue,
    ObjectRef,
    StixObject,
)
from crrt.intel.schemas import CorrelateIn, Observed
from crrt.organisations import service as organisations

# The types a collection's list filters on: STIX 2.1's domain, relationship and the
# observable types crrt makes or reads most.
TYPES = ("attack-pattern", "campaign", "course-of-action", "grouping", "identity", "indicator",
         "infrastructure", "intrusion-set", "malware", "note", "observed-data", "report",
         "threat-actor", "tool", "vulnerability", "relationship", "sighting", "domain-name",
         "email-addr", "file", "ipv4-addr", "ipv6-addr", "url")
MAX_RELATIONSHIPS = 200
MAX_RAW = 200_000  # characters of an object's JSON a page shows


@dataclass(frozen=True)
class ObjectFilter:
    """What narrows a collection's list: a value, a name or an id (``q``), a type, a TLP, and
    the first moment of placement."""

    q: str = ""
    type: str = ""
    tlp: Tlp | None = None
    added_after: datetime | None = None


@dataclass
class Version:
    """One version of an object as the viewer may see it, and where it is held."""

    row_id: int
    version: str
    modified: str | None
    tlp: Tlp
    org: str | None
    collections: list[Collection] = field(default_factory=list)


@dataclass(frozen=True)
class Related:
    """A relationship or sighting that points to or from an object, and its other end."""

    stix_id: str
    type: str
    label: str  # the relationship's type, or "sighting-of"
    outgoing: bool  # the object is its source (or the sighting's sighter)
    other: str | None
    other_title: str | None


def title_of(body: dict[str, Any]) -> str:
    """What names an object in a list: its name, else its pattern, its value, its hashes, or
    what a relationship or sighting connects."""
    for key in ("name", "pattern", "value"):
        if isinstance(body.get(key), str) and body[key]:
            return str(body[key])
    if isinstance(body.get("hashes"), dict) and body["hashes"]:
        return " ".join(f"{k}:{v}" for k, v in body["hashes"].items())
    if body.get("type") == "relationship":
        return f"{body.get('source_ref')} {body.get('relationship_type')} {body.get('target_ref')}"
    if body.get("type") == "sighting":
        return str(body.get("sighting_of_ref", ""))
    return ""


class _Orgs:
    """Organisation codes by id, each looked up once."""

    def __init__(self, db: Session) -> None:
        self.db, self.codes = db, dict[int, str]()

    def code(self, org_id: int | None) -> str | None:
        if org_id is None:
            return None
        if org_id not in self.codes:
            self.codes[org_id] = organisations.by_id(db=self.db, actor=service.READER,
                                                     org_id=org_id).code
        return self.codes[org_id]


def readable_collections(*, db: Session, actor: Principal) -> dict[int, Collection]:
    """The collections the viewer reads, by row id, in title order."""
    return {c.id: c for c in service.list_collections(db=db, actor=actor)}


def counts(*, db: Session, actor: Principal, collections: list[Collection]) -> dict[int, int]:
    """How many objects (their latest versions) of each collection the viewer may see."""
    if not collections:
        return {}
    rows = db.execute(select(CollectionObject.collection_id, func.count())
                      .join(StixObject, StixObject.id == CollectionObject.object_id)
                      .where(CollectionObject.collection_id.in_([c.id for c in collections]),
                             CollectionObject.latest.is_(True), service.readable(actor))
                      .group_by(CollectionObject.collection_id)).all()
    return {collection_id: number for collection_id, number in rows}


def _search(q: str) -> Any:
    """An id exactly; else a name that contains ``q``, or a value indexed as ``q`` is."""
    if stix.ID.fullmatch(q):
        return StixObject.stix_id == q
    found = [StixObject.body["name"].as_string().icontains(q, autoescape=True)]
    entries = correlate.entries(imports.guess(q), q)
    if entries:
        found.append(StixObject.id.in_(select(IndexedValue.object_id).where(
            IndexedValue.kind == entries[0].kind, IndexedValue.value == entries[0].value)))
    return or_(*found)


def objects(*, db: Session, actor: Principal, collection: Collection, filters: ObjectFilter,
            limit: int, cursor: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the collection's objects (their latest versions), the newest placed first,
    narrowed by ``filters``, and the cursor of the next page."""
    if not service.may_read(actor, collection):
        raise NotFound("No such collection.")
    stmt = (select(CollectionObject.id, CollectionObject.date_added, StixObject.stix_id,
                   StixObject.type, StixObject.tlp, StixObject.organisation_id, StixObject.body)
            .join(StixObject, StixObject.id == CollectionObject.object_id)
            .where(CollectionObject.collection_id == collection.id,
                   CollectionObject.latest.is_(True), service.readable(actor))
            .order_by(CollectionObject.id.desc()))
    if filters.q:
        stmt = stmt.where(_search(filters.q))
    if filters.type:
        stmt = stmt.where(StixObject.type == filters.type)
    if filters.tlp is not None:
        stmt = stmt.where(StixObject.tlp == filters.tlp)
    if filters.added_after is not None:
        stmt = stmt.where(CollectionObject.date_added >= filters.added_after)
    if cursor:
        stmt = stmt.where(CollectionObject.id < decode_after(cursor))
    rows = db.execute(stmt.limit(limit + 1)).all()
    following = encode_cursor(rows[limit - 1][0]) if len(rows) > limit else None
    orgs = _Orgs(db)
    return [{"stix_id": stix_id, "type": kind, "title": title_of(body), "tlp": tlp,
             "org": orgs.code(org_id), "added": added}
            for _placement, added, stix_id, kind, tlp, org_id, body in rows[:limit]], following


def versions(*, db: Session, actor: Principal, stix_id: str) -> list[Version]:
    """The versions of an object the viewer may see, the newest first, each with the
    collections it reads that hold it; none (NotFound) if it may see none."""
    held = readable_collections(db=db, actor=actor)
    rows = db.execute(select(StixObject.id, StixObject.version, StixObject.modified,
                             StixObject.tlp, StixObject.organisation_id,
                             CollectionObject.collection_id)
                      .join(CollectionObject, CollectionObject.object_id == StixObject.id)
                      .where(StixObject.stix_id == stix_id, service.readable(actor),
                             CollectionObject.collection_id.in_(list(held)))
                      .order_by(StixObject.version.desc(), CollectionObject.collection_id)
                      ).all() if held else []
    if not rows:
        raise NotFound("No such object.")
    orgs = _Orgs(db)
    found: dict[int, Version] = {}
    for row_id, version, modified, tlp, org_id, collection_id in rows:
        found.setdefault(row_id, Version(row_id, version, modified, tlp, orgs.code(org_id)))
        found[row_id].collections.append(held[collection_id])
    for item in found.values():
        item.collections.sort(key=lambda c: c.title)
    return list(found.values())


def body_of(*, db: Session, version: Version) -> dict[str, Any]:
    """The object as it came, of a version :func:`versions` gave."""
    body = db.scalar(select(StixObject.body).where(StixObject.id == version.row_id))
    return dict(body or {})


def raw(body: dict[str, Any]) -> tuple[str, bool]:
    """The object's JSON for reading (indented), and whether it was cut short."""
    text = json.dumps(body, indent=2, ensure_ascii=False, sort_keys=False)
    return (text, False) if len(text) <= MAX_RAW else (text[:MAX_RAW], True)


def _latest_visible(db: Session, actor: Principal, held: dict[int, Collection],
                    *conditions: Any) -> dict[str, dict[str, Any]]:
    """The newest version the viewer may see of each object matching ``conditions``."""
    rows = db.execute(select(StixObject.stix_id, StixObject.version, StixObject.body)
                      .join(CollectionObject, CollectionObject.object_id == StixObject.id)
                      .where(*conditions, service.readable(actor),
                             CollectionObject.collection_id.in_(list(held)))
                      .order_by(StixObject.stix_id, StixObject.version.desc())
                      .limit(MAX_RELATIONSHIPS * 4)).all()
    latest: dict[str, dict[str, Any]] = {}
    for stix_id, _version, body in rows:
        latest.setdefault(stix_id, dict(body))
    return latest


def relationships(*, db: Session, actor: Principal, stix_id: str,
                  body: dict[str, Any]) -> list[Related]:
    """The relationships and sightings the viewer may see that point to or from the object
    (found by the index of where references point), and the object's own ends if it is
    one; each other end named if the viewer may see it."""
    held = readable_collections(db=db, actor=actor)
    if not held:
        return []
    pointing = _latest_visible(db, actor, held, StixObject.id.in_(
        select(ObjectRef.object_id).where(ObjectRef.ref == stix_id)))
    found: list[Related] = []
    for other_id, other in list(pointing.items())[:MAX_RELATIONSHIPS]:
        if other.get("type") == "sighting":
            found.append(Related(other_id, "sighting", "sighting-of", False, None, None))
        else:
            source = other.get("source_ref") == stix_id
            end = other.get("target_ref") if source else other.get("source_ref")
            found.append(Related(other_id, "relationship", str(other.get("relationship_type")),
                                 source, end if isinstance(end, str) else None, None))
    if body.get("type") == "relationship":
        for ref in ("source_ref", "target_ref"):
            if isinstance(body.get(ref), str):
                found.append(Related(body[ref], "relationship", ref.removesuffix("_ref"),
                                     ref == "target_ref", body[ref], None))
    elif body.get("type") == "sighting" and isinstance(body.get("sighting_of_ref"), str):
        found.append(Related(body["sighting_of_ref"], "sighting", "sighting-of", True,
                             body["sighting_of_ref"], None))
    ends = {r.other for r in found if r.other}
    named = _latest_visible(db, actor, held, StixObject.stix_id.in_(sorted(ends))) if ends \
        else {}
    return [Related(r.stix_id, r.type, r.label, r.outgoing, r.other,
                    title_of(named[r.other]) if r.other in named else None) for r in found]


def hits(*, db: Session, actor: Principal, stix_id: str,
         body: dict[str, Any]) -> list[dict[str, Any]]:
    """Where else the values the object says were seen, as far as the viewer may know (the
    correlation of :func:`service.correlate_values`), the object itself left out."""
    said = list(dict.fromkeys(correlate.said_by(body)))[:100]
    if not said:
        return []
    out = service.correlate_values(db=db, actor=actor, data=CorrelateIn(
        observables=[Observed(type=kind, value=value) for kind, value in said]))
    return [{"value": result.value, "type": result.type, "hit": hit}
            for result in out.results for hit in result.hits if hit.id != stix_id]

