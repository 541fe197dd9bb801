"""TAXII 2.1 at /taxii2/ (OASIS, sections 4 and 5): discovery, one API root (``crrt``), its
collections (the sharing groups), their objects, manifests and versions, and the status of
each envelope added. Media type ``application/taxii+json;version=2.1`` both ways; errors as
TAXII error messages; HTTP Basic (an API token as the password) or a bearer token.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials

from crrt.access.enums import Tlp
from crrt.access.principal import Principal
from crrt.core.db import is_sqlite
from crrt.core.errors import DomainError, NotFound, Unauthenticated
from crrt.core.http import READING_METHODS, TAXII_JSON, Db, body_limit, public_base
from crrt.intel import reads, service, stix
from crrt.intel.api import ENVELOPE_SCHEMA, MAX_ENVELOPE
from crrt.intel.models import AddStatus, Collection

ROOT = "crrt"
STIX_JSON = "application/stix+json;version=2.1"
router = APIRouter(prefix="/taxii2", tags=["taxii"])


# --- the protocol's edges ----------------------------------------------------------------------

def taxii(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
          ) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=TAXII_JSON,
                    headers=headers)


def _accepts(request: Request) -> None:
    """406 unless the client takes TAXII 2.1 JSON (or anything)."""
    accept = request.headers.get("accept", "*/*").replace(" ", "").lower()
    if not any(kind in accept for kind in ("*/*", "application/*", "application/taxii+json")) \
            or ("version=" in accept and "version=2.1" not in accept and "*/*" not in accept):
        raise DomainError("Ask for application/taxii+json;version=2.1.", 406,
                          "not-acceptable", "Not acceptable")


def caller(request: Request, db: Db) -> Principal:
    """The client, by a bearer token or HTTP Basic whose password is an API token."""
    _accepts(request)
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            _user, _, secret = base64.b64decode(value.strip(), validate=True).decode().partition(
                ":")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise Unauthenticated("The Basic credentials are not base64 of user:password.") \
                from exc
    elif scheme.lower() == "bearer":
        secret = value.strip()
    else:
        raise Unauthenticated("Send an API token: 'Authorization: Bearer <token>', or HTTP "
                              "Basic with the token as the password.")
    credentials = HTTPAuthorizationCredentials(scheme="Bearer", credentials=secret)
    identify = request.app.state.identify
    # a TAXII write's route writes at once: on PostgreSQL, where beginning takes no lock, its
    # own session serves (a connection and two round trips fewer); on SQLite the write lock
    # waits for the route's first statement (see access.caller.optional_principal)
    if request.method in READING_METHODS or not is_sqlite(request.app.state.database.engine):
        principal = identify(request, db, credentials)
    else:
        with request.app.state.database.session(read_only=True) as reading:
            principal = identify(request, reading, credentials)
    if not isinstance(principal, Principal):
        raise Unauthenticated()
    return principal


Client = Annotated[Principal, Depends(caller)]
ApiRoot = Annotated[str, Path(max_length=64, description="The API root: crrt.")]
CollectionId = Annotated[uuid.UUID, Path(description="The collection's id.")]
ObjectId = Annotated[str, Path(max_length=stix.MAX_ID, description="A STIX id.")]
AddedAfter = Annotated[str | None, Query(max_length=40)]
PageSize = Annotated[int | None, Query(ge=1, le=reads.MAX_PAGE)]
Next = Annotated[str | None, Query(alias="next", max_length=200)]
MatchId = Annotated[str | None, Query(alias="match[id]", max_length=8000)]
MatchType = Annotated[str | None, Query(alias="match[type]", max_length=8000)]
MatchVersion = Annotated[str | None, Query(alias="match[version]", max_length=8000)]
MatchSpec = Annotated[str | None, Query(alias="match[spec_version]", max_length=100)]


async def collection_filters(added_after: AddedAfter = None, limit: PageSize = None,
                             next_token: Next = None, match_id: MatchId = None,
                             match_type: MatchType = None, match_version: MatchVersion = None,
                             match_spec_version: MatchSpec = None) -> reads.Filters:
    """A collection's filters (objects, manifest), checked: async, as it does no I/O, so it
    costs the request no hop to a worker thread."""
    return _filters(added_after, limit, next_token, match_id, match_type, match_version,
                    match_spec_version)


Filtered = Annotated[reads.Filters, Depends(collection_filters)]


def _root(api_root: str) -> None:
    if api_root != ROOT:
        raise NotFound(f"No API root '{api_root}' here: the one API root is '{ROOT}'.")


def _filters(added_after: str | None, limit: int | None, next_token: str | None,
             match_id: str | None = None, match_type: str | None = None,
             match_version: str | None = None,
             match_spec_version: str | None = None) -> reads.Filters:
    return reads.filters(added_after=added_after, limit=limit, next_token=next_token,
                         match_id=match_id, match_type=match_type,
                         match_version=match_version, match_spec_version=match_spec_version)


def _dates(page: reads.Page) -> dict[str, str]:
    if not page.rows:
        return {}
    assert page.first_added is not None and page.last_added is not None
    return {"X-TAXII-Date-Added-First": stix.stamp(page.first_added),
            "X-TAXII-Date-Added-Last": stix.stamp(page.last_added)}


def _objects(page: reads.Page) -> Response:
    """An envelope of the objects as stored (their JSON text), joined, not parsed again."""
    head = {"more": page.more} | ({"next": page.next} if page.next else {})
    body = orjson.dumps(head)
    if page.rows:
        body = body[:-1] + b',"objects":[' + ",".join(r.body for r in page.rows).encode() + b"]}"
    return Response(body, media_type=TAXII_JSON, headers=_dates(page))


def _envelope(page: reads.Page, key: str, items: list[Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"more": page.more}
    if page.next:
        body["next"] = page.next
    if items:
        body[key] = items
    return body


def _collection_out(actor: Principal, collection: Collection) -> dict[str, Any]:
    return {"id": str(collection.public_id), "title": collection.title,
            "description": collection.description,
            "can_read": service.may_read(actor, collection),
            "can_write": service.may_write(actor, collection), "media_types": [STIX_JSON]}


def _status_out(status: AddStatus) -> dict[str, Any]:
    return {"id": str(status.public_id), "status": "complete",
            "request_timestamp": stix.stamp(status.requested_at),
            "total_count": status.total_count,
            "success_count": len(status.successes), "successes": status.successes,
            "failure_count": len(status.failures), "failures": status.failures,
            "pending_count": 0, "pendings": []}


# --- discovery, the API root, status -----------------------------------------------------------

@router.get("/")
def discovery(request: Request, me: Client) -> Response:
    """Server discovery: crrt's one API root."""
    root = f"{public_base(request)}/taxii2/{ROOT}/"
    return taxii({"title": "crrt TAXII 2.1",
                  "description": "The CRRT project's intel: each collection is a sharing "
                                 "group, TLP 2.0 enforced.",
                  "default": root, "api_roots": [root]})


@router.get("/{api_root}/")
def api_root(api_root: ApiRoot, me: Client) -> Response:
    _root(api_root)
    return taxii({"title": "crrt", "description": "The sharing groups of the CRRT project.",
                  "versions": [TAXII_JSON], "max_content_length": MAX_ENVELOPE})


@router.get("/{api_root}/status/{status_id}/")
def status(api_root: ApiRoot, status_id: uuid.UUID, db: Db, me: Client) -> Response:
    _root(api_root)
    return taxii(_status_out(service.get_status(db=db, actor=me, status_id=status_id)))


# --- collections -------------------------------------------------------------------------------

@router.get("/{api_root}/collections/")
def collections(api_root: ApiRoot, db: Db, me: Client) -> Response:
    _root(api_root)
    found = service.list_collections(db=db, actor=me)
    return taxii({"collections": [_collection_out(me, c) for c in found]} if found else {})


@router.get("/{api_root}/collections/{collection_id}/")
def collection(api_root: ApiRoot, collection_id: CollectionId, db: Db, me: Client
               ) -> Response:
    _root(api_root)
    return taxii(_collection_out(me, service.get_collection(db=db, actor=me,
                                                            collection_id=collection_id)))


@router.get("/{api_root}/collections/{collection_id}/manifest/")
def manifest(api_root: ApiRoot, collection_id: CollectionId, db: Db, me: Client,
             wanted: Filtered) -> Response:
    """Which objects (and versions) the collection holds, without their content."""
    _root(api_root)
    found = service.get_collection(db=db, actor=me, collection_id=collection_id)
    page = reads.page(db, reads.entries(found, me, wanted), wanted.limit)
    items = [{"id": r.stix_id, "date_added": added, "version": r.version or added,
              "media_type": STIX_JSON}
             for r in page.rows for added in (stix.stamp(page.added(r)),)]
    return taxii(_envelope(page, "objects", items), headers=_dates(page))


@router.get("/{api_root}/collections/{collection_id}/objects/")
def get_objects(api_root: ApiRoot, collection_id: CollectionId, db: Db, me: Client,
                wanted: Filtered) -> Response:
    """The collection's objects the caller may see, a page at a time, in the order added."""
    _root(api_root)
    found = service.get_collection(db=db, actor=me, collection_id=collection_id)
    return _objects(reads.page(db, reads.entries(found, me, wanted, bodies_only=True),
                               wanted.limit))


async def taxii_envelope(request: Request) -> Any:
    """The envelope sent, in TAXII's media type (415 otherwise), as JSON (400 otherwise)."""
    kind = request.headers.get("content-type", "").replace(" ", "").lower()
    if not kind.startswith("application/taxii+json") or \
            ("version=" in kind and "version=2.1" not in kind):
        raise DomainError("Send the envelope as application/taxii+json;version=2.1.", 415,
                          "unsupported-media-type", "Unsupported media type")
    try:
        return orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise reads.bad(f"The envelope is not JSON: {exc}") from exc


@router.post("/{api_root}/collections/{collection_id}/objects/", status_code=202,
             openapi_extra={"requestBody": {"required": True, "content": {TAXII_JSON: {
                 "schema": ENVELOPE_SCHEMA}}}})
@body_limit(MAX_ENVELOPE)
def add_objects(api_root: ApiRoot, collection_id: CollectionId, request: Request, db: Db,
                me: Client, envelope: Annotated[Any, Depends(taxii_envelope)]) -> Response:
    """Add an envelope's objects; the answer is its status resource, complete."""
    _root(api_root)
    outcome = service.add_objects(
        db=db, actor=me, collection_id=collection_id, envelope=envelope,
        default_tlp=Tlp(request.app.state.settings.intel_default_tlp))
    recorded = service.record_status(db=db, actor=me, collection_id=collection_id,
                                     outcome=outcome)
    return taxii(_status_out(recorded), status=202)


@router.get("/{api_root}/collections/{collection_id}/objects/{object_id}/")
def get_object(api_root: ApiRoot, collection_id: CollectionId, object_id: ObjectId, db: Db,
               me: Client, added_after: AddedAfter = None, limit: PageSize = None,
               next_token: Next = None, match_version: MatchVersion = None,
               match_spec_version: MatchSpec = None) -> Response:
    """One object's versions the filters keep (its latest by default)."""
    _root(api_root)
    found = service.get_collection(db=db, actor=me, collection_id=collection_id)
    wanted = _filters(added_after, limit, next_token, match_version=match_version,
                      match_spec_version=match_spec_version)
    page = reads.page(db, reads.entries(found, me, wanted, stix_id=object_id,
                                        bodies_only=True), wanted.limit)
    if not page.rows and wanted.after is None:
        raise NotFound(f"No object {object_id} here (or none the filters keep).")
    return _objects(page)


@router.delete("/{api_root}/collections/{collection_id}/objects/{object_id}/")
def delete_object(api_root: ApiRoot, collection_id: CollectionId, object_id: ObjectId,
                  db: Db, me: Client, match_version: MatchVersion = None) -> Response:
    """Take an object (all its versions, or those named) out of the collection."""
    _root(api_root)
    wanted = _filters(None, None, None, match_version=match_version or "all")
    named = [v for v in wanted.versions if v not in reads.SPECIAL]
    service.delete_object(db=db, actor=me, collection_id=collection_id, stix_id=object_id,
                          versions=named or None)
    return Response(status_code=200, media_type=TAXII_JSON)


@router.get("/{api_root}/collections/{collection_id}/objects/{object_id}/versions/")
def versions(api_root: ApiRoot, collection_id: CollectionId, object_id: ObjectId, db: Db,
             me: Client, added_after: AddedAfter = None, limit: PageSize = None,
             next_token: Next = None, match_spec_version: MatchSpec = None) -> Response:
    """Every version of one object the caller may see, oldest first."""
    _root(api_root)
    found = service.get_collection(db=db, actor=me, collection_id=collection_id)
    wanted = _filters(added_after, limit, next_token, match_version="all",
                      match_spec_version=match_spec_version)
    stmt = reads.entries(found, me, wanted, stix_id=object_id)
    page = reads.page(db, stmt, wanted.limit)
    if not page.rows and wanted.after is None:
        raise NotFound(f"No object {object_id} here.")
    items = sorted(r.version or stix.stamp(page.added(r)) for r in page.rows)
    return taxii(_envelope(page, "versions", items), headers=_dates(page))
