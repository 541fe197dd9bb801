"""Routes of the expert pool; access and rules live in the service and the policy."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Response, UploadFile

from crrt.access.caller import Me, Read
from crrt.core.errors import FieldError, Invalid
from crrt.core.http import AppDatabase, Cursor, Db, Limit, PublicIdParam, WriteDb, body_limit
from crrt.core.pagination import Page
from crrt.experts import importer, reads, service
from crrt.experts.importer import MAX_BYTES
from crrt.experts.schemas import (
    ExpertFilter,
    ExpertIn,
    ExpertOut,
    ExpertPatch,
    ImportReport,
    UnavailabilityIn,
    UnavailabilityOut,
)

router = APIRouter(prefix="/experts", tags=["experts"])


@router.get("", response_model=Page[ExpertOut])
async def list_experts(read: Read, filters: Annotated[ExpertFilter, Query()],
                       limit: Limit = None, cursor: Cursor = None) -> Response:
    """The experts the caller may see, filtered; erased ones only with ``include_erased``."""
    page = await read(reads.page, filters=filters, limit=limit, cursor=cursor)
    return Response(page, media_type="application/json")


@router.post("", status_code=201)
def nominate(body: ExpertIn, db: Db, me: Me) -> ExpertOut:
    return service.expert_out(db, me, service.nominate(db=db, actor=me, data=body))


@router.get("/import/template.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
def import_template(me: Me) -> Response:
    """The columns an import reads, with one example row."""
    return Response(importer.template(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition":
                             'attachment; filename="experts-template.csv"'})


@router.get("/import/template.xlsx", response_class=Response,
            responses={200: {"content": {importer.XLSX_TYPE: {}}}})
def import_template_xlsx(me: Me) -> Response:
    """The same template as an XLSX workbook."""
    return Response(importer.template_xlsx(), media_type=importer.XLSX_TYPE,
                    headers={"Content-Disposition":
                             'attachment; filename="experts-template.xlsx"'})


@router.post("/import", responses={422: {"description": "Rejected rows; nothing was written. "
                                                        "The problem carries the `report`."}})
@body_limit(importer.MAX_UPLOAD)
def import_experts(file: UploadFile, org: Annotated[str, Form(max_length=64)],
                   database: AppDatabase, me: Me,
                   dry_run: Annotated[bool, Form()] = False) -> ImportReport:
    """Import a CSV or XLSX sheet into a nation's pool: every row, or none.

    The importer opens its own sessions, so reading and checking the sheet hold no write lock.
    """
    content = file.file.read(MAX_BYTES + 1)
    report = importer.import_experts(database=database, actor=me, org=org,
                                     filename=file.filename or "", content=content,
                                     dry_run=dry_run)
    if report.rejected and not dry_run:
        stopped = "" if report.complete else " (checking stopped there)"
        raise Invalid(f"{len(report.rejected)} row(s) rejected{stopped}; nothing was imported.",
                      [FieldError(["file", r.row], "; ".join(r.errors))
                       for r in report.rejected],
                      report=report.model_dump(mode="json"))
    return report


@router.get("/{expert_id}", response_model=ExpertOut)
async def get_expert(expert_id: PublicIdParam, read: Read) -> Response:
    return Response(await read(reads.one, expert_id=expert_id), media_type="application/json")


@router.patch("/{expert_id}")
def update_expert(expert_id: PublicIdParam, body: ExpertPatch, db: Db, me: Me) -> ExpertOut:
    expert = service.update(db=db, actor=me, expert_id=expert_id, data=body)
    return service.expert_out(db, me, expert)


@router.post("/{expert_id}/confirm")
def confirm_current(expert_id: PublicIdParam, db: Db, me: Me) -> ExpertOut:
    """Confirm the record is still right: it stops being stale for another year."""
    return service.expert_out(db, me, service.confirm_current(db=db, actor=me,
                                                              expert_id=expert_id))


@router.delete("/{expert_id}", status_code=204)
def withdraw_expert(expert_id: PublicIdParam, db: Db, me: Me) -> Response:
    """Withdraw the nomination; the record is removed (use erase to keep an anonymous one)."""
    service.withdraw(db=db, actor=me, expert_id=expert_id)
    return Response(status_code=204)


@router.get("/{expert_id}/unavailability")
def list_unavailability(expert_id: PublicIdParam, db: Db, me: Me) -> list[UnavailabilityOut]:
    return [service.unavailability_out(u)
            for u in service.list_unavailability(db=db, actor=me, expert_id=expert_id)]


@router.post("/{expert_id}/unavailability", status_code=201)
def add_unavailability(expert_id: PublicIdParam, body: UnavailabilityIn, db: Db,
                       me: Me) -> UnavailabilityOut:
    return service.unavailability_out(
        service.add_unavailability(db=db, actor=me, expert_id=expert_id, data=body))


@router.delete("/{expert_id}/unavailability/{unavailability_id}", status_code=204)
def remove_unavailability(expert_id: PublicIdParam, unavailability_id: PublicIdParam, db: Db,
                          me: Me) -> Response:
    service.remove_unavailability(db=db, actor=me, expert_id=expert_id,
                                  unavailability_id=unavailability_id)
    return Response(status_code=204)


@router.get("/{expert_id}/personal-data", response_model=dict[str, Any])
def export_personal_data(expert_id: PublicIdParam, db: WriteDb, me: Me) -> Response:
    """Everything held about the expert, as a JSON download (the right of access)."""
    document = service.export_personal_data(db=db, actor=me, expert_id=expert_id)
    return Response(json.dumps(document, ensure_ascii=False, indent=2),
                    media_type="application/json",
                    headers={"Content-Disposition":
                             f'attachment; filename="expert-{expert_id}.json"'})


@router.post("/{expert_id}/erase")
def erase_expert(expert_id: PublicIdParam, db: Db, me: Me) -> ExpertOut:
    """Anonymise the expert in place (the right to erasure); skills stay for statistics."""
    return service.expert_out(db, me, service.erase(db=db, actor=me, expert_id=expert_id))
