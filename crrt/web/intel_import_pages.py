"""The intel import page: a file (a STIX bundle, a MISP event or CSV of values) into a
collection the viewer adds to, and the report of what went in.

The format is found from the content by :mod:`crrt.intel.imports`, as ``crrt intel import``
finds it; the store validates each object and refuses what the collection may not carry, each
with its reason. The upload is bounded, and so is the number of objects a page adds: more
goes through TAXII or the command line.
"""

from __future__ import annotations

import uuid
from pathlib import PurePath
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from crrt.access import policy
from crrt.access.enums import Tlp
from crrt.access.policy import Permission
from crrt.access.principal import Principal
from crrt.core.errors import Forbidden, Invalid, NotFound
from crrt.core.http import Db, body_limit
from crrt.intel import imports, stix
from crrt.intel import service as intel
from crrt.intel.models import Collection
from crrt.organisations import service as org_service
from crrt.web import forms, i18n
from crrt.web.i18n import N_, _
from crrt.web.session import CheckedUpload, SignedIn
from crrt.web.templating import render

router = APIRouter(prefix="/intel", include_in_schema=False)

MiB = 1024 * 1024
MAX_BYTES = 8 * MiB
MAX_UPLOAD = MAX_BYTES + 64 * 1024  # the file and the form around it
MAX_OBJECTS = stix.MAX_OBJECTS
MAX_FILENAME = 200
FAILURES_SHOWN = 500
ANCHORS = {"collection": "collection", "tlp": "tlp", "file": "file"}
TLPS = [t for t in Tlp if t is not Tlp.RED]
FORMATS = {
    imports.STIX: N_("STIX bundle"),
    imports.MISP: N_("MISP event"),
    imports.CSV: N_("CSV of values"),
}
# The store's fixed refusals, marked here so the report shows them translated.
REFUSALS = (
    N_("TLP:RED never goes to a collection: it is for named people, not for systems."),
    N_("TLP:AMBER+STRICT stays in its own organisation: this collection has other members."),
)


def _writable(db: Session, me: Principal) -> list[Collection]:
    """The collections the viewer adds to (its organisation writes; the cell: all)."""
    policy.require_some(me, Permission.INTEL_WRITE)
    return [c for c in intel.list_collections(db=db, actor=me) if intel.may_write(me, c)]


def _form(request: Request, collections: list[Collection], values: dict[str, str],
          errors: dict[str, str], status: int = 200) -> Response:
    return render(request, "intel_import.html", {
        "collections": collections, "values": values, "errors": errors, "anchors": ANCHORS,
        "tlps": TLPS, "max_mib": MAX_BYTES // MiB, "max_objects": MAX_OBJECTS},
        status=status)


def _default_tlp(request: Request) -> str:
    return str(request.app.state.settings.intel_default_tlp)


@router.get("/import")
def import_form(request: Request, db: Db, me: SignedIn,
                collection: str | None = None) -> Response:
    collections = _writable(db, me)
    chosen = collection if collection in {str(c.public_id) for c in collections} else (
        str(collections[0].public_id) if len(collections) == 1 else "")
    return _form(request, collections, {"collection": chosen, "tlp": _default_tlp(request)}, {})


def _chosen(db: Session, me: Principal, collections: list[Collection],
            value: str) -> tuple[Collection | None, dict[str, str]]:
    """The collection named by the form: one the viewer adds to, or a message by the field;
    one it reads but does not add to is refused (403), as the API refuses it."""
    if not value:
        return None, {"collection": _("Choose the collection to add to.")}
    found = next((c for c in collections if str(c.public_id) == value), None)
    if found is not None:
        return found, {}
    try:
        intel.get_collection(db=db, actor=me, collection_id=uuid.UUID(value))
    except (ValueError, NotFound):
        return None, {"collection": _("Choose one of the listed collections.")}
    raise Forbidden(N_("Your organisation reads this collection but does not add to it."))


def _file_problem(exc: imports.NotImportable) -> str:
    return _("The file is not one the import reads (%(why)s). Import a STIX 2.1 bundle, a "
             "MISP event (JSON) or CSV of values.", why=str(exc))


@router.post("/import")
@body_limit(MAX_UPLOAD)
def import_file(request: Request, form: CheckedUpload, db: Db, me: SignedIn) -> Response:
    """Add the file's objects, each on its own, and show the report. The form is read
    before the viewer, so no database lock waits on a slow upload."""
    collections = _writable(db, me)
    values = {"collection": forms.text(form, "collection"), "tlp": forms.text(form, "tlp")}
    collection, errors = _chosen(db, me, collections, values["collection"])
    if values["tlp"] not in {t.value for t in TLPS}:
        errors["tlp"] = _("Choose one of the listed options.")
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        errors["file"] = _("Choose the file to import.")
    if errors or collection is None or not isinstance(upload, UploadFile):
        return _form(request, collections, values, errors, status=422)
    content = upload.file.read(MAX_BYTES + 1)
    if len(content) > MAX_BYTES:
        errors["file"] = _("The file is larger than %(size)s MiB.",
                           size=i18n.format_count(MAX_BYTES // MiB))
        return _form(request, collections, values, errors, status=422)
    tlp = Tlp(values["tlp"])
    org = org_service.by_id(db=db, actor=intel.READER, org_id=me.org_id) \
        if me.org_id is not None else None
    try:
        kind, objects = imports.objects_of(content, code=org.code if org else "crrt",
                                           name=org.name if org else "crrt", tlp=tlp,
                                           max_objects=MAX_OBJECTS)
        tally = imports.add(db=db, actor=me, collection_id=collection.public_id,
                            objects=objects, default_tlp=tlp)
    except imports.NotImportable as exc:
        errors["file"] = _file_problem(exc)
    except Invalid as exc:
        db.rollback()
        errors["file"] = _(exc.errors[0].msg if exc.errors else exc.detail)
    if errors:
        return _form(request, collections, values, errors, status=422)
    return _report(request, collection, PurePath(upload.filename or "").name[-MAX_FILENAME:],
                   kind, tlp, tally)


def _report(request: Request, collection: Collection, filename: str, kind: str, tlp: Tlp,
            tally: imports.Tally) -> Response:
    failures: list[dict[str, Any]] = [
        {"id": f.id, "message": _(f.message)} for f in tally.failures[:FAILURES_SHOWN]]
    return render(request, "intel_import_report.html", {
        "collection": collection, "filename": filename, "format": _(FORMATS[kind]),
        "tlp": tlp, "tally": tally, "failures": failures,
        "more": max(tally.refused - FAILURES_SHOWN, 0)})
