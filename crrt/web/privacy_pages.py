"""Web pages of an expert's data-subject rights: downloading the personal data, and erasing it.

The experts service decides (``EXPERTS_PERSONAL_DATA`` on the record: a POC for its nation,
administrators and coordinators for any) and asks every part that holds personal data, as the
API does. Erasure cannot be undone, so its page asks for the expert's name to be typed before
the button does anything.
"""

from __future__ import annotations

import json
import unicodedata
import uuid

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from crrt.access import policy
from crrt.access.policy import Permission
from crrt.access.principal import Principal
from crrt.core.errors import Conflict
from crrt.core.http import Db, PublicIdParam, WriteDb
from crrt.experts import service as expert_service
from crrt.experts.schemas import ExpertOut
from crrt.web import forms
from crrt.web.i18n import N_, _
from crrt.web.session import CheckedForm, SignedIn
from crrt.web.templating import render

router = APIRouter(prefix="/experts", include_in_schema=False)

# What the export's parts hold, for the page that shows them (the document keys them in English).
PARTS = {
    "experts": N_("The expert's records in the pool, each with its audit trail"),
    "accounts": N_("The linked user account, its tokens, sessions and sign-ins"),
    "audit": N_("What the linked account changed, from the audit log"),
}

# The service's words for a second erasure, marked here so the error page shows them translated.
ERASED_ALREADY = N_("This expert was erased already.")
CONFIRMATION = "confirmation"


def _same_name(typed: str, name: str) -> bool:
    """Whether the typed confirmation is the name: any case, spacing or Unicode form."""
    def norm(text: str) -> str:
        return " ".join(unicodedata.normalize("NFKC", text).split()).casefold()
    return bool(typed) and norm(typed) == norm(name)


@router.get("/{expert_id}/personal-data")
def personal_data_page(request: Request, db: WriteDb, me: SignedIn,
                       expert_id: PublicIdParam) -> Response:
    """What the download holds, shown before it is handed over (the showing is an export
    too, and audited as one)."""
    document = expert_service.export_personal_data(db=db, actor=me, expert_id=expert_id)
    expert = expert_service.expert_out(db, me, expert_service.get(db=db, actor=me,
                                                                  expert_id=expert_id))
    parts = [(name, _(PARTS[name]) if name in PARTS else name, held)
             for name, held in document["parts"].items()]
    return render(request, "expert_personal_data.html", {
        "expert": expert, "parts": parts, "exported_at": document["exported_at"]})


@router.get("/{expert_id}/personal-data.json")
def personal_data(db: WriteDb, me: SignedIn, expert_id: PublicIdParam) -> Response:
    """The same document as the API's export, as a download (the export is audited, hence
    a writing session)."""
    document = expert_service.export_personal_data(db=db, actor=me, expert_id=expert_id)
    return Response(json.dumps(document, ensure_ascii=False, indent=2),
                    media_type="application/json",
                    headers={"Content-Disposition":
                             f'attachment; filename="expert-{expert_id}.json"',
                             "Cache-Control": "no-store"})


def _erasable(db: Session, me: Principal, expert_id: uuid.UUID) -> ExpertOut:
    expert = expert_service.get(db=db, actor=me, expert_id=expert_id)
    policy.require(me, Permission.EXPERTS_PERSONAL_DATA, expert)
    if expert.erased_at is not None:
        raise Conflict(ERASED_ALREADY)
    return expert_service.expert_out(db, me, expert)


def _question(request: Request, expert: ExpertOut, typed: str, errors: dict[str, str],
              status: int = 200) -> Response:
    return render(request, "expert_erase.html", {
        "expert": expert, "typed": typed, "errors": errors,
        "anchors": {CONFIRMATION: CONFIRMATION}}, status=status)


@router.get("/{expert_id}/erase")
def erase_question(request: Request, db: Db, me: SignedIn,
                   expert_id: PublicIdParam) -> Response:
    """Say what erasure removes and keeps, and ask for the name to be typed."""
    return _question(request, _erasable(db, me, expert_id), "", {})


@router.post("/{expert_id}/erase")
def erase(request: Request, db: Db, me: SignedIn, expert_id: PublicIdParam,
          form: CheckedForm) -> Response:
    """Erase once the typed name matches; a mismatch changes nothing and says so by the
    field."""
    expert = _erasable(db, me, expert_id)
    typed = forms.text(form, CONFIRMATION)[:400]
    if not _same_name(typed, expert.name):
        message = _("Type the expert's name, %(name)s, to confirm.", name=expert.name) \
            if not typed else _("That is not the expert's name: type %(name)s to confirm.",
                                name=expert.name)
        return _question(request, expert, typed, {CONFIRMATION: message}, status=422)
    expert_service.erase(db=db, actor=me, expert_id=expert_id)
    return RedirectResponse(f"/experts/{expert_id}?saved=erased", status_code=303)
