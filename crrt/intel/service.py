"""Sharing groups and the STIX store: who reads and writes a collection, what a collection
may carry (TLP), adding objects with each one's outcome, reading them under TLP.

An envelope is written in one transaction with one audit event (its counts and a digest of
what was added), never one event per object. Inserts skip what is there already (the same
object version, the same placement), so a retried or repeated envelope changes nothing.
"""

from __future__ import annotations

import hashlib
import uuid
from contextlib import nullcontext
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, event, false, or_, select, true, tuple_, update
from sqlalchemy.orm import Session, SessionTransaction, joinedload

from crrt.access import policy
from crrt.access.enums import Role, Tlp
from crrt.access.policy import Permission
from crrt.access.principal import Principal
from crrt.audit import service as audit
from crrt.core import clock
from crrt.core.db import fresh_rows, insert_rows, one_of
from crrt.core.errors import Conflict, Forbidden, Invalid, NotFound
from crrt.core.pagination import decode_cursor, encode_cursor
from crrt.intel import correlate, markings, misp, observables, stix
from crrt.intel.models import (
    AddStatus,
    Collection,
    CollectionMember,
    CollectionObject,
    ObjectRef,
    StixObject,
)
from crrt.intel.schemas import (
    AddOut,
    CollectionIn,
    CollectionOut,
    CollectionRef,
    CorrelateIn,
    CorrelateOut,
    CorrelationOut,
    Failure,
    Hit,
    IndicatorsIn,
    IndicatorsOut,
    MemberOut,
    Published,
    Success,
)
from crrt.organisations import service as organisations

KIND = "intel_collection"
MAX_HITS = 500  # objects a value's hits name
CENTRAL = (Role.ADMIN, Role.COORDINATOR)
READER = Principal.system("intel")
KNOWN = "crrt.intel.collections"  # the collections a transaction has read, by public id


# --- collections -------------------------------------------------------------------------------

def create_collection(*, db: Session, actor: Principal, data: CollectionIn) -> Collection:
    """A sharing group of organisations: ``members`` read and write, ``readers`` read."""
    policy.require(actor, Permission.INTEL_MANAGE)
    if db.scalar(select(Collection.id).where(Collection.title == data.title.strip())):
        raise Conflict(f"A collection is called '{data.title.strip()}' already.")
    rights: dict[int, tuple[bool, bool]] = {}
    codes: dict[int, str] = {}
    for code in data.readers:
        org = organisations.get(db=db, actor=actor, code=code, field="readers")
        rights[org.id], codes[org.id] = (True, False), org.code
    for code in data.members:
        org = organisations.get(db=db, actor=actor, code=code, field="members")
        rights[org.id], codes[org.id] = (True, True), org.code
    collection = Collection(title=data.title.strip(), description=data.description,
                            max_tlp=data.max_tlp, public_id=uuid.uuid4())
    collection.members = [CollectionMember(organisation_id=o, can_read=r, can_write=w)
                          for o, (r, w) in sorted(rights.items())]
    db.add(collection)
    db.flush()
    audit.record(db=db, actor=actor, action="intel.collection_created", object_type=KIND,
                 object_id=collection.public_id,
                 changes={"max_tlp": data.max_tlp.value,
                          "writers": sorted(codes[o] for o, (_r, w) in rights.items() if w),
                          "readers": sorted(codes[o] for o, (_r, w) in rights.items()
                                            if not w)})
    return collection


def _member(actor: Principal, collection: Collection) -> CollectionMember | None:
    return next((m for m in collection.members if m.organisation_id == actor.org_id), None)


def may_read(actor: Principal, collection: Collection) -> bool:
    if not policy.may(actor, Permission.INTEL_READ):
        return False
    member = _member(actor, collection)
    return actor.role in CENTRAL or (member is not None and member.can_read)


def may_write(actor: Principal, collection: Collection) -> bool:
    if not policy.may(actor, Permission.INTEL_WRITE):
        return False
    member = _member(actor, collection)
    return actor.role is Role.COORDINATOR or (member is not None and member.can_write)


def list_collections(*, db: Session, actor: Principal) -> list[Collection]:
    """The collections the caller reads, by title."""
    policy.require_some(actor, Permission.INTEL_READ)
    return [c for c in db.scalars(select(Collection).order_by(Collection.title))
            if may_read(actor, c)]


def get_collection(*, db: Session, actor: Principal, collection_id: uuid.UUID) -> Collection:
    """One collection; one the caller may not read does not exist for it (404)."""
    policy.require_some(actor, Permission.INTEL_READ)
    # an envelope's request asks for its collection more than once (to add, to keep the
    # status): the transaction's own copy serves the later asks, with the same checks
    known: dict[uuid.UUID, Collection] = db.info.setdefault(KNOWN, {})
    collection = known.get(collection_id)
    if collection is None:
        collection = db.scalars(  # its members in the same query: one round trip, not two
            select(Collection).options(joinedload(Collection.members))
            .where(Collection.public_id == collection_id)).unique().one_or_none()
        if collection is not None:
            known[collection_id] = collection
    if collection is None or not may_read(actor, collection):
        raise NotFound("No such collection.")
    return collection


def collection_out(db: Session, actor: Principal, collection: Collection) -> CollectionOut:
    return CollectionOut(
        id=collection.public_id, title=collection.title, description=collection.description,
        max_tlp=collection.max_tlp,
        members=[MemberOut(org=organisations.by_id(db=db, actor=READER,
                                                   org_id=m.organisation_id).code,
                           can_read=m.can_read, can_write=m.can_write)
                 for m in collection.members],
        can_read=may_read(actor, collection), can_write=may_write(actor, collection),
        created_at=collection.created_at)


@event.listens_for(Session, "after_transaction_end")
def _forget_collections(db: Session, transaction: SessionTransaction) -> None:
    """The collections a transaction read are its own: a session used again reads them
    again (one rolled back may have made one that is no more)."""
    if transaction.parent is None and KNOWN in db.info:
        db.info[KNOWN].clear()


# --- what a collection carries -----------------------------------------------------------------

def refusal(collection: Collection, tlp: Tlp, publisher_org: int | None) -> str | None:
    """Why an object marked ``tlp`` may not go to ``collection``, or None if it may."""
    if tlp is Tlp.RED:
        return "TLP:RED never goes to a collection: it is for named people, not for systems."
    if tlp.rank > collection.max_tlp.rank:
        return f"{tlp.label} is above what this collection carries ({collection.max_tlp.label})."
    if tlp is Tlp.AMBER_STRICT and any(m.organisation_id != publisher_org
                                       for m in collection.members):
        return ("TLP:AMBER+STRICT stays in its own organisation: this collection has other "
                "members.")
    return None


def add_objects(*, db: Session, actor: Principal, collection_id: uuid.UUID, envelope: object,
                default_tlp: Tlp = Tlp.AMBER, expect_new: bool = True) -> AddOut:
    """Validate and add a bundle's or an envelope's objects to a collection; each object
    succeeds or fails on its own (the reason given), and what is refused is not written.
    ``expect_new``: False when the caller knows some are stored already (then they are not
    first tried as new, which costs a refused bulk insert)."""
    collection = get_collection(db=db, actor=actor, collection_id=collection_id)
    if not may_write(actor, collection):
        raise Forbidden("Your organisation reads this collection but does not add to it.")
    try:
        raws = stix.objects_of(envelope)
    except stix.Refused as exc:
        raise Invalid.field("objects", str(exc)) from exc
    failures: list[Failure] = []
    accepted: dict[tuple[str, str], stix.Parsed] = {}
    stored_at = clock.now()
    # new objects go into the store as they are checked (on PostgreSQL the database stores
    # the first while the last are checked); the same version twice: the first one counts
    with fresh_rows(db, StixObject, STIX_COLUMNS, expected=len(raws)) if expect_new \
            else nullcontext() as fresh:
        for raw in raws:
            try:
                parsed = stix.parse(raw, default_tlp=default_tlp)
            except stix.Refused as exc:
                found = raw.get("id") if isinstance(raw, dict) else None
                failures.append(Failure(id=found if isinstance(found, str) else None,
                                        message=str(exc)[:1000]))
                continue
            why = refusal(collection, parsed.tlp, actor.org_id)
            if why is not None:
                failures.append(Failure(id=parsed.stix_id, message=why))
                continue
            if (parsed.stix_id, parsed.version) in accepted:
                continue
            accepted[(parsed.stix_id, parsed.version)] = parsed
            if fresh is not None:
                fresh.add(_stix_row(parsed, actor.org_id, stored_at))
    ids, fresh_ids, new = _store(db, list(accepted.values()), actor.org_id, stored_at,
                                 fresh.ids if fresh is not None else None)
    now = clock.now()
    newest = _mark_latest(db, collection, list(accepted), ids, fresh_ids)
    placements = [{"collection_id": collection.id, "object_id": ids[key], "date_added": now,
                   "latest": newest[key[0]] == key[1]}
                  for key in accepted]  # in the envelope's order: pages list them so
    # objects this envelope stored are placed nowhere yet: nothing to skip
    insert_rows(db, CollectionObject, placements,
                skip_existing=not {p["object_id"] for p in placements} <= fresh_ids)
    correlate.index(db, new)  # written at the commit
    successes = [Success(id=k[0], version=k[1]) for k in accepted]
    digest = hashlib.sha256("\n".join(sorted(f"{i} {v}" for i, v in accepted)).encode())
    audit.record(db=db, actor=actor, action="intel.objects_added", object_type=KIND,
                 object_id=collection.public_id,
                 changes={"total": len(raws), "added": len(successes),
                          "refused": len(failures), "digest": digest.hexdigest()})
    return AddOut(total_count=len(raws), success_count=len(successes),
                  failure_count=len(failures), successes=successes, failures=failures)


def _mark_latest(db: Session, collection: Collection, keys: list[tuple[str, str]],
                 ids: dict[tuple[str, str], int], fresh: set[int]) -> dict[str, str]:
    """The latest version of each object once ``keys`` join the collection; placements
    already there that stop being the latest are marked so. ``ids``: every stored version
    of these objects, so the placements are found by (object id, collection), the unique
    index, whatever the planner's statistics say after a bulk load; ``fresh``: the versions
    this transaction stored itself."""
    newest: dict[str, str] = {}
    for stix_id, version in keys:
        newest[stix_id] = max(version, newest.get(stix_id, version))
    version_of = {object_id: key for key, object_id in ids.items() if key[0] in newest}
    if version_of.keys() <= fresh:
        # every stored version of these objects was stored by this transaction: no
        # placement of any of them can exist yet, in any collection
        return newest
    objects = sorted(version_of)
    older: list[int] = []
    for start in range(0, len(objects), 500):
        for placement, object_id in db.connection().execute(
                select(CollectionObject.id, CollectionObject.object_id)
                .where(CollectionObject.collection_id == collection.id,
                       one_of(db, CollectionObject.object_id, objects[start:start + 500]),
                       CollectionObject.latest.is_(True))):
            stix_id, version = version_of[object_id]
            if version >= newest[stix_id]:
                newest[stix_id] = version
            else:
                older.append(placement)
    for start in range(0, len(older), 500):
        db.execute(update(CollectionObject).where(
            CollectionObject.id.in_(older[start:start + 500])).values(latest=False))
    return newest


STIX_COLUMNS = ("stix_id", "type", "spec_version", "created", "modified", "version",
                "created_by_ref", "marking_refs", "tlp", "organisation_id", "body", "stored_at")


def _stix_row(parsed: stix.Parsed, org_id: int | None, stored_at: datetime
              ) -> dict[str, Any]:
    """An object's row in the store, its values in the order of :data:`STIX_COLUMNS`."""
    return dict(zip(STIX_COLUMNS, (
        parsed.stix_id, parsed.type, parsed.spec_version, parsed.created, parsed.modified,
        parsed.version, parsed.created_by_ref, list(parsed.marking_refs), parsed.tlp.value,
        org_id, parsed.body, stored_at), strict=True))


def _store(db: Session, objects: list[stix.Parsed], org_id: int | None, stored_at: datetime,
           given: list[int] | None
           ) -> tuple[dict[tuple[str, str], int], set[int], list[tuple[int, dict[str, Any]]]]:
    """Each object version stored once, with its references. Returns the ids of every
    stored version of these objects (theirs included, new or already there); those this
    transaction stored itself (none, when another stored some of them meanwhile: then which
    are ours is not known); and the row id and body of each version new here, for the
    correlation index. ``given``: the ids :func:`fresh_rows` gave ``objects`` as it stored
    them, all new; None if it did not."""
    if not objects:
        return {}, set(), []

    def stored() -> dict[tuple[str, str], int]:
        found: dict[tuple[str, str], int] = {}
        for start in range(0, len(objects), 500):
            ids = sorted({p.stix_id for p in objects[start:start + 500]})
            for row in db.connection().execute(  # plain rows: no ORM loading of thousands
                    select(StixObject.stix_id, StixObject.version, StixObject.id)
                    .where(one_of(db, StixObject.stix_id, ids))):
                found[(row[0], row[1])] = row[2]
        return found

    if given is not None:  # and the other versions of these objects, stored before
        found = stored() | {(p.stix_id, p.version): row_id
                            for p, row_id in zip(objects, given, strict=True)}
        new = [(row_id, p.body) for p, row_id in zip(objects, given, strict=True)]
        ours = True
    else:
        before = stored()
        rows = [_stix_row(p, org_id, stored_at) for p in objects
                if (p.stix_id, p.version) not in before]
        inserted = insert_rows(db, StixObject, rows, skip_existing=True,
                               returning=("stix_id", "version", "id"))
        ours = inserted.count == len(rows)
        if not rows:
            found = before
        elif ours and inserted.rows is not None:  # PostgreSQL said which ids it gave
            found = before | {(stix_id, version): row_id
                              for stix_id, version, row_id in inserted.rows}
        else:  # SQLite, or another transaction stored some of them meanwhile
            found = stored()
        new = [(found[(p.stix_id, p.version)], p.body) for p in objects
               if (p.stix_id, p.version) not in before and (p.stix_id, p.version) in found]
    insert_rows(db, ObjectRef, [{"object_id": object_id, "ref": ref} for object_id, body in new
                                for ref in stix.refs_of(body)])
    return found, {object_id for object_id, _body in new} if ours else set(), new


# --- reading -----------------------------------------------------------------------------------

def readable(actor: Principal, *, leaving: bool = False) -> ColumnElement[bool]:
    """The objects of a collection the caller reads that its TLP lets it see: AMBER+STRICT
    only in the organisation that shared it and, on the pages and the API, by coordinators
    (as ``access.tlp`` has it: an administrator runs the platform, and reads no more).
    ``leaving``: a machine channel (TAXII), by which objects may leave this node for
    another; there AMBER+STRICT goes to its own organisation only, whatever the reader's
    role, so a peer node given a central account still never pulls it."""
    if actor.role is Role.COORDINATOR and not leaving:
        return true()
    own = StixObject.organisation_id == actor.org_id if actor.org_id is not None else false()
    return or_(StixObject.tlp.in_([Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER]),
               and_(StixObject.tlp == Tlp.AMBER_STRICT, own))


def objects_page(*, db: Session, actor: Principal, collection_id: uuid.UUID,
                 limit: int = 100, cursor: str | None = None
                 ) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the collection's objects in the order they were added (then by placement,
    so equal dates never lose or repeat one), and the cursor of the next page."""
    collection = get_collection(db=db, actor=actor, collection_id=collection_id)
    stmt = (select(CollectionObject.id, StixObject.body)
            .join(StixObject, StixObject.id == CollectionObject.object_id)
            .where(CollectionObject.collection_id == collection.id, readable(actor))
            .order_by(CollectionObject.date_added, CollectionObject.id))
    if cursor:
        moment, after = _position(cursor)
        stmt = stmt.where(tuple_(CollectionObject.date_added, CollectionObject.id)
                          > tuple_(moment, after))  # one range of the index
    rows = db.execute(stmt.add_columns(CollectionObject.date_added).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    following = encode_cursor([clock.iso(rows[-1][2]), rows[-1][0]]) if more else None
    return [dict(r[1]) for r in rows], following


def _position(cursor: str) -> tuple[datetime, int]:
    """Where a cursor points after: a placement's date added and id."""
    try:
        added, after = decode_cursor(cursor)
        if not isinstance(after, int) or isinstance(after, bool) or not 0 <= after < 2**63:
            raise ValueError(after)
        return clock.as_utc(datetime.fromisoformat(str(added).replace("Z", "+00:00"))), after
    except (ValueError, TypeError) as exc:
        raise Invalid.field(["query", "cursor"],
                            "The cursor is not one this server gave.") from exc


# --- TAXII's status resources and deletion -----------------------------------------------------

def record_status(*, db: Session, actor: Principal, collection_id: uuid.UUID,
                  outcome: AddOut) -> AddStatus:
    """Keep an envelope's outcome as its TAXII status resource (complete: nothing pends)."""
    collection = get_collection(db=db, actor=actor, collection_id=collection_id)
    status = AddStatus(collection_id=collection.id, user_id=actor.user_id,
                       total_count=outcome.total_count, public_id=uuid.uuid4(),
                       successes=[{"id": s.id, "version": s.version} for s in outcome.successes],
                       failures=[{"id": f.id, "message": f.message} for f in outcome.failures])
    db.add(status)
    db.flush()
    return status


def get_status(*, db: Session, actor: Principal, status_id: uuid.UUID) -> AddStatus:
    """A status resource, for whoever sent its envelope (and the coordination cell)."""
    policy.require_some(actor, Permission.INTEL_READ)
    status = db.scalar(select(AddStatus).where(AddStatus.public_id == status_id))
    if status is None or (actor.role not in CENTRAL and status.user_id != actor.user_id):
        raise NotFound("No such status.")
    return status


def delete_object(*, db: Session, actor: Principal, collection_id: uuid.UUID, stix_id: str,
                  versions: list[str] | None) -> int:
    """Take an object (the versions named, or all) out of a collection: the coordination
    cell, or a writer whose organisation shared it. Returns how many versions went."""
    collection = get_collection(db=db, actor=actor, collection_id=collection_id)
    if not may_write(actor, collection):
        raise Forbidden("Your organisation does not write to this collection.")
    stmt = (select(CollectionObject, StixObject.organisation_id, StixObject.version)
            .join(StixObject, StixObject.id == CollectionObject.object_id)
            .where(CollectionObject.collection_id == collection.id,
                   StixObject.stix_id == stix_id, readable(actor)))
    if versions:
        stmt = stmt.where(StixObject.version.in_(versions))
    found = db.execute(stmt).all()
    if not found:
        raise NotFound("No such object in this collection.")
    if actor.role is not Role.COORDINATOR and any(org != actor.org_id for _p, org, _v in found):
        raise Forbidden("Only the organisation that shared an object, or the coordination "
                        "cell, takes it out of a collection.")
    for placement, _org, _version in found:
        db.delete(placement)
    db.flush()
    left = db.execute(select(CollectionObject.id).join(
        StixObject, StixObject.id == CollectionObject.object_id).where(
        CollectionObject.collection_id == collection.id, StixObject.stix_id == stix_id)
        .order_by(StixObject.version.desc()).limit(1)).scalar()
    if left is not None:  # the newest version left is the latest again
        db.execute(update(CollectionObject).where(CollectionObject.id == left)
                   .values(latest=True))
    audit.record(db=db, actor=actor, action="intel.object_removed", object_type=KIND,
                 object_id=collection.public_id,
                 changes={"object": stix_id, "versions": sorted(v for _p, _o, v in found)})
    return len(found)


# --- observables shared as indicators ----------------------------------------------------------

def share_observables(*, db: Session, actor: Principal, data: IndicatorsIn) -> IndicatorsOut:
    """Observables made indicators (with their sightings) by the caller's organisation and
    added to each collection named, each addition with its own outcome."""
    policy.require(actor, Permission.INTEL_WRITE)
    if actor.org_id is None:
        raise Forbidden("Only a person of an organisation shares intel.")
    for n, item in enumerate(data.observables):
        try:
            observables.normalise(item.type, item.value)
        except observables.NotAnObservable as exc:
            raise Invalid.field(["body", "observables", n, "value"], str(exc)) from exc
    org = organisations.by_id(db=db, actor=READER, org_id=actor.org_id)
    made = observables.intel_of(
        [observables.Sighted(o.type, o.value, o.description) for o in data.observables],
        code=org.code, name=org.name, tlp=data.tlp, now=clock.now(),
        indicator_types=data.indicator_types, valid_until=data.valid_until,
        sighted=data.sightings)
    published = [Published(collection_id=c, outcome=add_objects(  # new only the first time
        db=db, actor=actor, collection_id=c, envelope={"objects": made}, expect_new=n == 0))
        for n, c in enumerate(dict.fromkeys(data.collections))]
    return IndicatorsOut(identity=made[0]["id"],
                         indicators=[o["id"] for o in made if o["type"] == "indicator"],
                         objects=len(made), published=published)


# --- MISP ---------------------------------------------------------------------------------------

MAX_EXPORT = 50_000


def import_misp(*, db: Session, actor: Principal, collection_id: uuid.UUID, document: object,
                default_tlp: Tlp = Tlp.AMBER) -> AddOut:
    """A MISP event (its attributes, objects, tags and distribution) into a collection."""
    try:
        made = misp.to_stix(document, default_tlp=default_tlp)
    except misp.NotAnEvent as exc:
        raise Invalid.field(["body"], str(exc)) from exc
    return add_objects(db=db, actor=actor, collection_id=collection_id,
                       envelope={"objects": made}, default_tlp=default_tlp)


def latest_objects(*, db: Session, actor: Principal, collection_id: uuid.UUID
                   ) -> tuple[Collection, list[dict[str, Any]]]:
    """The latest version of each object of the collection the caller may see, in the
    order they were added (for the exports: a bundle, a MISP event, CSV)."""
    collection = get_collection(db=db, actor=actor, collection_id=collection_id)
    rows = db.execute(select(StixObject.body)
                      .join(CollectionObject, CollectionObject.object_id == StixObject.id)
                      .where(CollectionObject.collection_id == collection.id,
                             CollectionObject.latest.is_(True), readable(actor))
                      .order_by(CollectionObject.date_added, CollectionObject.id)
                      .limit(MAX_EXPORT + 1)).scalars().all()
    if len(rows) > MAX_EXPORT:
        raise Conflict(f"The collection holds more than {MAX_EXPORT:,} objects: export it over "
                       "TAXII, a page at a time.")
    return collection, [dict(body) for body in rows]


def export_misp(*, db: Session, actor: Principal, collection_id: uuid.UUID) -> dict[str, Any]:
    """The collection as one MISP event that MISP (and PyMISP) loads."""
    collection, objects = latest_objects(db=db, actor=actor, collection_id=collection_id)
    return misp.to_misp(objects, title=collection.title, event_id=str(collection.public_id))


def export_bundle(*, db: Session, actor: Principal, collection_id: uuid.UUID
                  ) -> dict[str, Any]:
    """The collection as a STIX 2.1 bundle, with the TLP marking definitions it refers to."""
    _collection, objects = latest_objects(db=db, actor=actor, collection_id=collection_id)
    used = {ref for o in objects for ref in o.get("object_marking_refs", [])}
    held = {o["id"] for o in objects}
    definitions = [markings.definition(t) for t, ref in markings.TLP2_IDS.items()
                   if ref in used and ref not in held]
    return {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": definitions + objects}


CSV_COLUMNS = ("type", "value", "tlp", "stix_id", "description")


def export_rows(*, db: Session, actor: Principal, collection_id: uuid.UUID
                ) -> list[tuple[str, str, str, str, str]]:
    """The values the collection's indicators and observables say, a row each (CSV)."""
    _collection, objects = latest_objects(db=db, actor=actor, collection_id=collection_id)
    rows = []
    for obj in objects:
        tlp = markings.tlp_of(obj.get("object_marking_refs", []))
        for kind, value in correlate.said_by(obj):
            rows.append((kind.value, value, tlp.value, str(obj["id"]),
                         str(obj.get("description", ""))))
    return rows


# --- correlation --------------------------------------------------------------------------------

def correlate_values(*, db: Session, actor: Principal, data: CorrelateIn) -> CorrelateOut:
    """Where else each value was seen, as far as the caller may know: the objects it may read
    that say the value (or a network holding it, a domain above or below it), the
    collections it reads them in, and the organisations that shared them."""
    policy.require_some(actor, Permission.INTEL_READ)
    readable_collections = {c.id: c for c in list_collections(db=db, actor=actor)}
    memory = correlate.memory_of(db)
    codes: dict[int, str] = {}  # organisations named by the hits, each looked up once
    results = []
    for item in data.observables:
        try:
            normal = observables.normalise(item.type, item.value)
        except observables.NotAnObservable as exc:
            results.append(CorrelationOut(type=item.type, value=item.value, error=str(exc)))
            continue
        found = memory.lookup(item.type, item.value)
        by_object: dict[int, list[correlate.Match]] = {}
        for match in found:
            by_object.setdefault(match.object_id, []).append(match)
        hits: dict[int, Hit] = {}
        if by_object and readable_collections:
            rows = db.execute(
                select(StixObject.id, StixObject.stix_id, StixObject.type,
                       StixObject.organisation_id, CollectionObject.collection_id)
                .join(CollectionObject, CollectionObject.object_id == StixObject.id)
                .where(StixObject.id.in_(list(by_object)[:MAX_HITS]),
                       CollectionObject.collection_id.in_(list(readable_collections)),
                       readable(actor))).all()
            for object_id, stix_id, kind, org_id, collection_id in rows:
                match = by_object[object_id][0]
                if org_id is not None and org_id not in codes:
                    codes[org_id] = organisations.by_id(db=db, actor=READER, org_id=org_id).code
                hit = hits.setdefault(object_id, Hit(
                    id=stix_id, type=kind, matched=match.value, how=match.how,
                    organisations=[codes[org_id]] if org_id is not None else []))
                collection = readable_collections[collection_id]
                hit.collections.append(CollectionRef(id=collection.public_id,
                                                     title=collection.title))
        results.append(CorrelationOut(type=item.type, value=item.value, normalised=normal,
                                      hits=list(hits.values())))
    return CorrelateOut(results=results)
