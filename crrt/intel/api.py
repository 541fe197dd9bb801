"""/api/v1/intel: sharing groups (TAXII collections) and the objects shared in them."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response

from crrt.access.caller import Me
from crrt.access.enums import Tlp
from crrt.core.errors import Invalid
from crrt.core.http import Db, PublicIdParam, body_limit
from crrt.intel import service, stix
from crrt.intel.schemas import (
    AddOut,
    CollectionIn,
    CollectionOut,
    CorrelateIn,
    CorrelateOut,
    IndicatorsIn,
    IndicatorsOut,
)

router = APIRouter(prefix="/intel", tags=["intel"])
MAX_ENVELOPE = 16 * 1024 * 1024

ENVELOPE_SCHEMA: dict[str, Any] = {
    "type": "object", "description": "A STIX 2.1 bundle, or a TAXII envelope.",
    "properties": {"type": {"type": "string", "enum": ["bundle"]},
                   "id": {"type": "string", "maxLength": 120},
                   "objects": {"type": "array", "maxItems": stix.MAX_OBJECTS,
                               "items": {"type": "object", "maxProperties": 200}}}}
ENVELOPE = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": ENVELOPE_SCHEMA}}}}


async def envelope_of(request: Request) -> Any:
    """The JSON body as sent: a STIX object is open-ended, so the store validates it, not
    the API's schema (the body's size is bounded)."""
    try:
        return orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise Invalid.field(["body"], f"The body is not JSON: {exc}") from exc


@router.get("/collections")
def list_collections(db: Db, me: Me) -> list[CollectionOut]:
    """The sharing groups the caller's organisation reads (the coordination cell: all)."""
    return [service.collection_out(db, me, c)
            for c in service.list_collections(db=db, actor=me)]


@router.post("/collections", status_code=201)
def create_collection(body: CollectionIn, db: Db, me: Me) -> CollectionOut:
    """A sharing group: its member organisations (read and write), readers, the highest TLP
    it carries. Its `id` is its TAXII collection id."""
    return service.collection_out(db, me, service.create_collection(db=db, actor=me,
                                                                    data=body))


@router.get("/collections/{collection_id}")
def get_collection(collection_id: PublicIdParam, db: Db, me: Me) -> CollectionOut:
    return service.collection_out(db, me, service.get_collection(db=db, actor=me,
                                                                 collection_id=collection_id))


@router.post("/collections/{collection_id}/objects", openapi_extra=ENVELOPE)
@body_limit(MAX_ENVELOPE)
def add_objects(collection_id: PublicIdParam, request: Request,
                envelope: Annotated[Any, Depends(envelope_of)], db: Db, me: Me) -> AddOut:
    """Add a bundle's objects: each is validated (STIX 2.1) and checked against what the
    collection may carry (its TLP, its members); each succeeds or fails on its own."""
    return service.add_objects(db=db, actor=me, collection_id=collection_id, envelope=envelope,
                               default_tlp=Tlp(request.app.state.settings.intel_default_tlp))


@router.get("/collections/{collection_id}/objects")
def list_objects(collection_id: PublicIdParam, db: Db, me: Me,
                 limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                 cursor: Annotated[str | None, Query(max_length=300)] = None
                 ) -> dict[str, Any]:
    """The objects the caller may see, in the order they were added, a page at a time."""
    objects, following = service.objects_page(db=db, actor=me, collection_id=collection_id,
                                               limit=limit, cursor=cursor)
    return {"objects": objects, "next_cursor": following}


@router.post("/indicators", status_code=201)
def share_indicators(body: IndicatorsIn, db: Db, me: Me) -> IndicatorsOut:
    """Observables (IPs, domains, URLs, e-mail addresses, file hashes), normalised and made
    STIX Indicators with their sightings by the caller's organisation, marked with `tlp`, and
    added to each collection named (each with its outcome, as a TAXII status counts it)."""
    return service.share_observables(db=db, actor=me, data=body)


@router.post("/collections/{collection_id}/misp", openapi_extra={"requestBody": {
    "required": True, "content": {"application/json": {"schema": {
        "type": "object", "description": "A MISP event, as MISP exports it."}}}}})
@body_limit(MAX_ENVELOPE)
def import_misp(collection_id: PublicIdParam, request: Request,
                document: Annotated[Any, Depends(envelope_of)], db: Db, me: Me) -> AddOut:
    """Import a MISP event: a report, and an indicator (or a note) for each attribute, with
    the event's tags, distribution and TLP kept."""
    return service.import_misp(db=db, actor=me, collection_id=collection_id, document=document,
                               default_tlp=Tlp(request.app.state.settings.intel_default_tlp))


@router.get("/collections/{collection_id}/misp")
def export_misp(collection_id: PublicIdParam, db: Db, me: Me) -> dict[str, Any]:
    """The collection as one MISP event (what the caller may see of it)."""
    return service.export_misp(db=db, actor=me, collection_id=collection_id)


@router.post("/correlate")
def correlate(body: CorrelateIn, db: Db, me: Me) -> CorrelateOut:
    """Where else each value was seen: the same value, a network holding an address (or
    values inside a network), a domain above or below, a URL's host; as far as the caller
    may know (the collections it reads, under TLP)."""
    return service.correlate_values(db=db, actor=me, data=body)


@router.get("/collections/{collection_id}/bundle")
def export_bundle(collection_id: PublicIdParam, db: Db, me: Me) -> dict[str, Any]:
    """The collection as a STIX 2.1 bundle (the latest version of each object the caller may
    see), with the TLP marking definitions it refers to."""
    return service.export_bundle(db=db, actor=me, collection_id=collection_id)


@router.get("/collections/{collection_id}/values.csv",
            responses={200: {"content": {"text/csv": {}}}})
def export_csv(collection_id: PublicIdParam, db: Db, me: Me) -> Response:
    """The values the collection's indicators and observables say, as CSV (type, value,
    tlp, stix_id, description)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(service.CSV_COLUMNS)
    writer.writerows(service.export_rows(db=db, actor=me, collection_id=collection_id))
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="collection-{collection_id}.csv"'})
