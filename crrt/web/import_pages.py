"""Web pages of the spreadsheet import: choose a file, see row by row what it would do, confirm.

The importer decides, as for the API: it checks every row and writes all of them or none, and
checks them again when the import is confirmed. The pages only carry the file from the check to
the confirmation, without trusting the browser with it: the upload waits in a staging store
(apart from the kept files) for a day at most, and the confirmation form names it by its
digest, sealed with an HMAC over the viewer, the nation and the file name. A digest the page
did not seal for this viewer (another's upload, or evidence whose digest someone has seen) is
refused; once imported, the copy is removed.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from crrt.access import policy
from crrt.access.policy import Permission
from crrt.access.principal import Principal
from crrt.core.errors import Invalid, NotFound
from crrt.core.files import FileStore, MalformedDigest, staging_for
from crrt.core.http import Db, body_limit
from crrt.core.text import NOTE_LENGTH
from crrt.experts import importer
from crrt.experts import service as expert_service
from crrt.experts.enums import Clearance, Skill
from crrt.experts.jobs import STAGING_AREA
from crrt.web import forms, i18n, session
from crrt.web.i18n import N_, _
from crrt.web.session import CheckedForm, CheckedUpload, SignedIn
from crrt.web.templating import render

if TYPE_CHECKING:
    from crrt.organisations.models import Organisation

router = APIRouter(prefix="/experts", include_in_schema=False)

ANCHORS = {"org": "org", "file": "file"}
ACTIONS = {
    # Translators: what an import does with a row of the spreadsheet: adds a new expert
    importer.NEW: N_("New"),
    # Translators: what an import does with a row of the spreadsheet: changes an expert
    importer.UPDATE: N_("Update"),
    # Translators: what an import does with a row that matches an expert and changes nothing
    importer.UNCHANGED: N_("Unchanged"),
    # Translators: what an import does with a row it cannot take
    importer.REJECTED: N_("Rejected"),
}
# The importer's fixed words about a file, marked here so the form shows them translated.
FILE_MESSAGES = (
    N_("Import a .csv or an .xlsx file."),
    N_("The CSV file is not UTF-8 text."),
    N_("The file is not a readable XLSX workbook."),
    N_("The XLSX workbook cannot be read."),
    N_("The file is empty: the first row names the columns."),
)
MAX_FILENAME = 200
MiB = importer.MiB


def _nations(db: Session, me: Principal) -> list[Organisation]:
    """The nations this viewer may import into (its own, or any for central roles)."""
    policy.require_some(me, Permission.EXPERTS_WRITE)
    return expert_service.nominating_nations(db=db, actor=me)


def _seal(request: Request, me: Principal, digest: str, org: str, filename: str) -> str:
    """What binds a stored upload to the viewer who checked it, its nation and its name."""
    key = session.settings_of(request).resolved_secret_key()
    message = "\0".join(("expert-import", str(me.user_id), org, digest, filename))
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()


def _import_form(request: Request, nations: list[Organisation], org: str,
                 errors: dict[str, str], status: int = 200) -> Response:
    return render(request, "expert_import.html", {
        "nations": nations, "org": org, "errors": errors, "anchors": ANCHORS,
        "max_mib": importer.MAX_BYTES // MiB, "max_rows": importer.MAX_ROWS,
        "skills": list(Skill), "clearances": [c for c in Clearance if c is not Clearance.NONE],
        "note_length": NOTE_LENGTH}, status=status)


def _file_problem(exc: Invalid) -> str:
    """The importer's refusal of a whole file, in the viewer's language where it can be."""
    extra: dict[str, Any] = exc.extra
    if "unknown_columns" in extra:
        return _("The first row names columns the import does not read: %(columns)s. The "
                 "columns are listed below.", columns=", ".join(extra["unknown_columns"]))
    if "missing_columns" in extra:
        return _("The first row must name the columns %(columns)s.",
                 columns=", ".join(extra["missing_columns"]))
    if "twice_columns" in extra:
        return _("The first row names these columns twice: %(columns)s.",
                 columns=", ".join(extra["twice_columns"]))
    if isinstance(exc, importer.TooLarge):
        return _("The file is over the import's limits.") + " " + _(exc.detail)
    return _(exc.detail)


def _said(problem: importer.Problem) -> str:
    """A row's problem in the reader's language: a validation error worded as the nomination
    form words it; the importer's own words translated when the catalogue has them (they are
    English, as the API's are)."""
    field = problem.where.split(".")[0]
    if problem.kind:
        return forms.message_for(field, problem.kind, problem.message)
    message = problem.message[:1].upper() + problem.message[1:]
    return _(message if message.endswith((".", ")")) else message + ".")


def _refusal(exc: Invalid) -> dict[str, str]:
    field = str(exc.errors[0].loc[0]) if exc.errors and exc.errors[0].loc else "file"
    if field == "org":
        return {"org": _("Choose one of the listed nations.")}
    return {"file": _file_problem(exc)}


def _chosen(nations: list[Organisation], form: Any) -> str:
    if len(nations) == 1:
        return nations[0].code
    return forms.text(form, "org").upper()[:64]


def _nation_problem(nations: list[Organisation], org: str) -> dict[str, str]:
    if not org:
        return {"org": _("Choose the nation the experts belong to.")}
    if org not in {n.code for n in nations}:
        return {"org": _("You may import experts only for %(nations)s.",
                         nations=", ".join(n.name for n in nations))}
    return {}


def _report(request: Request, outcome: importer.Outcome, nation: Organisation, filename: str,
            confirm: dict[str, str] | None, *, changed: bool = False,
            status: int = 200) -> Response:
    rows = [{"row": r.row, "name": r.name, "email": r.email, "action": r.action,
             "action_label": _(ACTIONS[r.action]),
             "problems": [(p.where.split(".")[0], _said(p)) for p in r.problems]}
            for r in outcome.rows]
    totals = [(action, _(label), outcome.count(action)) for action, label in ACTIONS.items()]
    return render(request, "expert_import_report.html", {
        "rows": rows, "totals": totals, "nation": nation, "filename": filename,
        "rejected": outcome.count(importer.REJECTED), "complete": outcome.report.complete,
        "max_rejected": importer.MAX_REJECTED, "confirm": confirm, "changed": changed},
        status=status)


@router.get("/import")
def import_form(request: Request, db: Db, me: SignedIn, org: str | None = None) -> Response:
    nations = _nations(db, me)
    chosen = nations[0].code if len(nations) == 1 else (org or "").upper()[:64]
    return _import_form(request, nations, chosen, {})


@router.post("/import")
@body_limit(importer.MAX_UPLOAD)
def check_import(request: Request, form: CheckedUpload, db: Db, me: SignedIn) -> Response:
    """The dry run, shown row by row; a clean file is stored for the confirmation.

    The form is read before the viewer is identified, so no database lock waits on a slow
    upload; the request's transaction ends before the file is checked, for the same reason.
    """
    nations = _nations(db, me)
    db.commit()  # identifying the viewer only read: hold no lock while the file is checked
    org = _chosen(nations, form)
    errors = _nation_problem(nations, org)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        errors["file"] = _("Choose the CSV or XLSX file to import.")
    if errors or not isinstance(upload, UploadFile):
        return _import_form(request, nations, org, errors, status=422)
    filename = PurePath(upload.filename or "").name[-MAX_FILENAME:]
    content = upload.file.read(importer.MAX_BYTES + 1)
    if len(content) > importer.MAX_BYTES:
        return _import_form(request, nations, org, {"file": _(
            "The file is larger than %(size)s MiB.", size=i18n.format_count(
                importer.MAX_BYTES // MiB))}, status=422)
    try:
        outcome = importer.run(database=request.app.state.database, actor=me, org=org,
                               filename=filename, content=content, dry_run=True)
    except Invalid as exc:
        return _import_form(request, nations, org, _refusal(exc), status=422)
    nation = next(n for n in nations if n.code == org)
    confirm = None
    if outcome.rows and not outcome.count(importer.REJECTED):
        digest = _staging(request).save_bytes(content, limit=importer.MAX_BYTES).sha256
        confirm = {"upload": digest, "org": org, "filename": filename,
                   "seal": _seal(request, me, digest, org, filename)}
    return _report(request, outcome, nation, filename, confirm,
                   status=422 if outcome.count(importer.REJECTED) else 200)


def _staging(request: Request) -> FileStore:
    """Where checked spreadsheets wait for their confirmation, apart from the kept files (the
    worker's ``experts.prune_import_staging`` removes those left for a day)."""
    return staging_for(session.settings_of(request), STAGING_AREA)


def _stored(request: Request, me: Principal, form: Any, org: str) -> tuple[str, bytes] | None:
    """The file name and bytes the confirmation names, if this page stored them for this
    viewer and nation; None for anything else."""
    digest, filename = forms.text(form, "upload"), forms.text(form, "filename")
    expected = _seal(request, me, digest, org, filename)
    if not hmac.compare_digest(expected.encode(), forms.text(form, "seal").encode()):
        return None
    try:
        with _staging(request).open(digest) as stored:
            return filename, stored.read(importer.MAX_BYTES + 1)
    except (NotFound, MalformedDigest):
        return None


@router.post("/import/confirm")
def confirm_import(request: Request, db: Db, me: SignedIn, form: CheckedForm) -> Response:
    """The real import of the checked file, which the importer checks again; then the pool."""
    nations = _nations(db, me)
    db.commit()  # as above: the import opens its own sessions
    org = _chosen(nations, form)
    errors = _nation_problem(nations, org)
    found = None if errors else _stored(request, me, form, org)
    if found is None:
        errors = errors or {"file": _("This upload is not known here, or was not checked by "
                                      "you: choose the file again.")}
        return _import_form(request, nations, org, errors, status=422)
    filename, content = found
    try:
        outcome = importer.run(database=request.app.state.database, actor=me, org=org,
                               filename=filename, content=content, dry_run=False)
    except Invalid as exc:
        return _import_form(request, nations, org, _refusal(exc), status=422)
    nation = next(n for n in nations if n.code == org)
    if not outcome.report.applied:  # the pool changed since the check (an institution went)
        return _report(request, outcome, nation, filename, None, changed=True, status=422)
    _staging(request).remove(forms.text(form, "upload"))  # imported: the copy has done its job
    counts = {"added": outcome.count(importer.NEW), "updated": outcome.count(importer.UPDATE)}
    return RedirectResponse(f"/experts?org={org}&imported=1&added={counts['added']}"
                            f"&updated={counts['updated']}", status_code=303)
