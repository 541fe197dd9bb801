"""Routes for organisations, their membership history and their institutions."""

from __future__ import annotations

from fastapi import APIRouter, Response

from crrt.auth.deps import Me
from crrt.core.http import Cursor, Db, Id, Limit
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


@router.get("")
def list_organisations(db: Db, me: Me, limit: Limit = None, cursor: Cursor = None,
                       kind: OrgKind | None = None,
                       membership: Membership | None = None) -> Page[OrganisationOut]:
    orgs, next_cursor = service.list_organisations(db=db, actor=me, limit=limit, cursor=cursor,
                                                   kind=kind, membership=membership)
    return Page(items=[service.organisation_out(o) for o in orgs], next_cursor=next_cursor)


@router.post("", status_code=201)
def create_organisation(body: OrganisationIn, db: Db, me: Me) -> OrganisationOut:
    return service.organisation_out(service.create(db=db, actor=me, data=body))


@router.get("/{code}")
def get_organisation(code: str, db: Db, me: Me) -> OrganisationOut:
    return service.organisation_out(service.get(db=db, actor=me, code=code))


@router.patch("/{code}")
def update_organisation(code: str, body: OrganisationPatch, db: Db, me: Me) -> OrganisationOut:
    """Rename, or change the membership; ``"membership": null`` records the nation leaving."""
    return service.organisation_out(service.update(db=db, actor=me, code=code, data=body))


@router.get("/{code}/history")
def membership_history(code: str, db: Db, me: Me) -> list[MembershipChangeOut]:
    """Every join, role change and departure, oldest first."""
    return [service.history_out(c) for c in service.history(db=db, actor=me, code=code)]


@router.get("/{code}/institutions")
def list_institutions(code: str, db: Db, me: Me) -> list[InstitutionOut]:
    institutions = service.list_institutions(db=db, actor=me, code=code)
    return [service.institution_out(i) for i in institutions]


@router.post("/{code}/institutions", status_code=201)
def create_institution(code: str, body: InstitutionIn, db: Db, me: Me) -> InstitutionOut:
    return service.institution_out(
        service.create_institution(db=db, actor=me, code=code, data=body))


@router.get("/{code}/institutions/{institution_id}")
def get_institution(code: str, institution_id: Id, db: Db, me: Me) -> InstitutionOut:
    return service.institution_out(
        service.get_institution(db=db, actor=me, code=code, institution_id=institution_id))


@router.patch("/{code}/institutions/{institution_id}")
def update_institution(code: str, institution_id: Id, body: InstitutionPatch, db: Db,
                       me: Me) -> InstitutionOut:
    return service.institution_out(service.update_institution(
        db=db, actor=me, code=code, institution_id=institution_id, data=body))


@router.delete("/{code}/institutions/{institution_id}", status_code=204)
def delete_institution(code: str, institution_id: Id, db: Db, me: Me) -> Response:
    service.delete_institution(db=db, actor=me, code=code, institution_id=institution_id)
    return Response(status_code=204)
