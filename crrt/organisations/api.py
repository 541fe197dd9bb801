"""Routes for organisations, their membership history and their institutions."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response

from crrt.access.caller import Me, Read
from crrt.core.http import Cursor, Db, Limit, OrgCodeParam, PublicIdParam
from crrt.core.pagination import Page
from crrt.organisations import service
from crrt.organisations.enums import Membership, OrgKind
from crrt.organisations.schemas import (
    InstitutionIn,
    InstitutionOut,
    InstitutionPatch,
    MembershipChangeOut,
    OrganisationIn,
    OrganisationOut,
    OrganisationPatch,
)

router = APIRouter(prefix="/organisations", tags=["organisations"])

# Bounded like the column, so a megabyte of address is refused before any lookup.
Code = OrgCodeParam


@router.get("")
async def list_organisations(read: Read, limit: Limit = None, cursor: Cursor = None,
                             kind: OrgKind | None = None,
                             membership: Membership | None = None,
                             on: Annotated[date | None, Query(
                                 description="Membership as in force on this day (default: "
                                             "today); `membership=participant&on=2027-01-01` "
                                             "lists who participated that day.")] = None,
                             ) -> Page[OrganisationOut]:
    return await read(service.page, limit=limit, cursor=cursor, kind=kind,
                      membership=membership, on=on)


@router.post("", status_code=201)
def create_organisation(body: OrganisationIn, db: Db, me: Me) -> OrganisationOut:
    return service.organisation_out(service.create(db=db, actor=me, data=body))


@router.get("/{code}")
def get_organisation(code: Code, db: Db, me: Me,
                     on: Annotated[date | None, Query(
                         description="The membership in force on this day (default: today)."
                     )] = None) -> OrganisationOut:
    return service.organisation_out(service.get(db=db, actor=me, code=code), on=on)


@router.patch("/{code}")
def update_organisation(code: Code, body: OrganisationPatch, db: Db, me: Me) -> OrganisationOut:
    """Rename, or change the membership; ``"membership": null`` records the nation leaving.

    A change with a later ``effective_on`` is planned: it takes effect on that day."""
    return service.organisation_out(service.update(db=db, actor=me, code=code, data=body))


@router.get("/{code}/history")
def membership_history(code: Code, db: Db, me: Me) -> list[MembershipChangeOut]:
    """Every join, role change and departure, oldest first."""
    return [service.history_out(c) for c in service.history(db=db, actor=me, code=code)]


@router.delete("/{code}/history/{change_id}", status_code=204)
def cancel_planned_change(code: Code, change_id: PublicIdParam, db: Db, me: Me) -> Response:
    """Cancel the last membership change while it is still planned."""
    service.cancel_planned(db=db, actor=me, code=code, change_id=change_id)
    return Response(status_code=204)


@router.get("/{code}/institutions")
def list_institutions(code: Code, db: Db, me: Me) -> list[InstitutionOut]:
    institutions = service.list_institutions(db=db, actor=me, code=code)
    return [service.institution_out(i) for i in institutions]


@router.post("/{code}/institutions", status_code=201)
def create_institution(code: Code, body: InstitutionIn, db: Db, me: Me) -> InstitutionOut:
    return service.institution_out(
        service.create_institution(db=db, actor=me, code=code, data=body))


@router.get("/{code}/institutions/{institution_id}")
def get_institution(code: Code, institution_id: PublicIdParam, db: Db, me: Me) -> InstitutionOut:
    return service.institution_out(
        service.get_institution(db=db, actor=me, code=code, institution_id=institution_id))


@router.patch("/{code}/institutions/{institution_id}")
def update_institution(code: Code, institution_id: PublicIdParam, body: InstitutionPatch, db: Db,
                       me: Me) -> InstitutionOut:
    return service.institution_out(service.update_institution(
        db=db, actor=me, code=code, institution_id=institution_id, data=body))


@router.delete("/{code}/institutions/{institution_id}", status_code=204)
def delete_institution(code: Code, institution_id: PublicIdParam, db: Db, me: Me) -> Response:
    service.delete_institution(db=db, actor=me, code=code, institution_id=institution_id)
    return Response(status_code=204)
