"""Files sent with a request: stored by content (SHA-256), bounded in size and number, read
under the request's marking, always handed back as a download, never rendered."""

from __future__ import annotations

import re
import unicodedata
import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crrt.access import policy
from crrt.access.policy import Permission
from crrt.access.principal import Principal
from crrt.assistance import service
from crrt.assistance.models import RequestAttachment
from crrt.audit import service as audit
from crrt.core import clock
from crrt.core.errors import Conflict, Invalid, NotFound
from crrt.core.files import FileStore
from crrt.organisations import service as organisations

MiB = 1024 * 1024
MAX_BYTES = 25 * MiB
MAX_UPLOAD = MAX_BYTES + MiB  # the multipart framing around the file
MAX_FILES = 20
TYPE = re.compile(r"[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*")


def clean_name(name: str | None) -> str:
    """A file name as shown and offered back: its last path part, no control or format
    characters, at most 200 characters; "attachment" when nothing is left."""
    base = re.split(r"[\\/]", name or "")[-1]
    kept = "".join(c for c in base if unicodedata.category(c)[0] != "C").strip(" .")
    return kept[:200] or "attachment"


def add(*, db: Session, actor: Principal, request_id: uuid.UUID, filename: str | None,
        content_type: str | None, content: bytes, store: FileStore) -> RequestAttachment:
    """Attach a file: whoever may submit for the requesting organisation (its requester, a
    coordinator), while the request is open."""
    request = service.get(db=db, actor=actor, request_id=request_id)
    org = organisations.by_id(db=db, actor=actor, org_id=request.organisation_id)
    policy.require(actor, Permission.REQUESTS_SUBMIT, org)
    if request.state in service.STOPPED:
        raise Conflict(f"{request.reference} is {request.state}: it takes no more files.")
    if not content:
        raise Invalid.field("file", "The file is empty.")
    if len(content) > MAX_BYTES:
        raise Invalid.field("file", f"A file may be at most {MAX_BYTES // MiB} MiB.")
    count = db.scalar(select(func.count()).select_from(RequestAttachment).where(
        RequestAttachment.request_id == request.id)) or 0
    if count >= MAX_FILES:
        raise Conflict(f"A request holds at most {MAX_FILES} files.")
    kind = (content_type or "").lower().split(";")[0].strip()
    stored = store.save_bytes(content, limit=MAX_BYTES)
    row = RequestAttachment(request_id=request.id, filename=clean_name(filename),
                            content_type=kind if TYPE.fullmatch(kind) and len(kind) <= 100
                            else "application/octet-stream",
                            size=stored.size, sha256=stored.sha256, uploaded_by=actor.user_id,
                            uploaded_at=clock.now())
    db.add(row)
    db.flush()
    audit.record(db=db, actor=actor, action="request.attachment", object_type=service.KIND,
                 object_id=request.public_id,
                 changes={"attachment": str(row.public_id), "size": stored.size,
                          "sha256": stored.sha256})
    return row


def list_for(*, db: Session, actor: Principal, request_id: uuid.UUID) -> list[RequestAttachment]:
    request = service.get(db=db, actor=actor, request_id=request_id)
    return list(db.scalars(select(RequestAttachment).where(
        RequestAttachment.request_id == request.id).order_by(RequestAttachment.id)))


def get(*, db: Session, actor: Principal, request_id: uuid.UUID,
        attachment_id: uuid.UUID) -> RequestAttachment:
    request = service.get(db=db, actor=actor, request_id=request_id)
    row = db.scalar(select(RequestAttachment).where(
        RequestAttachment.request_id == request.id,
        RequestAttachment.public_id == attachment_id))
    if row is None:
        raise NotFound("No such attachment.")
    return row
