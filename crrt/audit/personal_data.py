"""What the audit log holds about a person: the changes their accounts made (it holds no
personal values, so there is nothing to erase)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crrt.access.principal import Principal
from crrt.audit.models import AuditEvent
from crrt.privacy import service as privacy


def export(db: Session, person: privacy.Person) -> list[dict[str, Any]] | None:
    if not person.user_ids:
        return None
    actors = sorted(f"user:{user_id}" for user_id in person.user_ids)
    events = db.scalars(select(AuditEvent).where(AuditEvent.actor.in_(actors))
                        .order_by(AuditEvent.seq))
    found = [{"action": e.action, "at": e.at.isoformat(), "object_type": e.object_type,
              "object_id": e.object_id} for e in events]
    return found or None


def erase(db: Session, actor: Principal, person: privacy.Person) -> list[str]:
    return []


HOLDER = privacy.holder("audit", export=export, erase=erase)
