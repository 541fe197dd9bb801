"""Routes for reading the audit log (admins and coordinators)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from crrt.access.caller import Me
from crrt.audit import service
from crrt.audit.schemas import AuditEventOut
from crrt.core.http import Cursor, Db, Limit
from crrt.core.pagination import Page

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("")
def list_audit_events(db: Db, me: Me,
                      limit: Limit = None,
                      cursor: Cursor = None,
                      actor: Annotated[str | None, Query(max_length=320)] = None,
                      action: Annotated[str | None, Query(max_length=64)] = None,
                      object_type: Annotated[str | None, Query(max_length=64)] = None,
                      object_id: Annotated[str | None, Query(max_length=64)] = None,
                      since: datetime | None = None,
                      until: datetime | None = None) -> Page[AuditEventOut]:
    """Audit events, oldest first; filter by who, what, which object and when."""
    events, next_cursor = service.list_events(
        db=db, actor=me, limit=limit, cursor=cursor, who=actor, action=action,
        object_type=object_type, object_id=object_id, since=since, until=until)
    return Page(items=events, next_cursor=next_cursor)
