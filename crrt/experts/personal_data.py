"""The data-subject rights of an expert: a copy of everything held, and erasure.

Erasure anonymises in place rather than deleting, so rotations and statistics keep their shape;
the audit log never held personal values (only the names of fields that changed), so the hash
chain stays valid after an erasure.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from crrt.audit import service as audit
from crrt.auth import policy
from crrt.auth import service as auth
from crrt.auth.principal import Principal
from crrt.core import clock
from crrt.core.errors import Conflict
from crrt.experts import service
from crrt.experts.models import Expert

FORMAT = "crrt.expert-personal-data/1"


def _changed_fields(changes: Any) -> list[str]:
    return sorted(changes) if isinstance(changes, dict) else []


def export(*, db: Session, actor: Principal, expert_id: int) -> dict[str, Any]:
    """A JSON-ready copy of everything held about one expert, and who changed it when."""
    expert = service.get(db=db, actor=actor, expert_id=expert_id)
    policy.require(actor, policy.Permission.EXPERTS_PERSONAL_DATA, expert.organisation_id)
    user = auth.find_user(db, expert.user_id) if expert.user_id is not None else None
    events = audit.events_about(db=db, object_type="expert", object_id=expert.id)
    document = {
        "format": FORMAT,
        "exported_at": clock.now().isoformat(),
        "expert": {
            "id": expert.id, "org": expert.organisation.code,
            "org_name": expert.organisation.name,
            "institution": expert.institution.name if expert.institution else None,
            "name": expert.name, "email": expert.email, "phone": expert.phone,
            "clearance": expert.clearance.value,
            "deployability": [d.value for d in service.deployability_of(expert)],
            "time_zone": expert.time_zone, "notes": expert.notes,
            "created_at": expert.created_at.isoformat(),
            "updated_at": expert.updated_at.isoformat(),
            "erased_at": expert.erased_at.isoformat() if expert.erased_at else None,
        },
        "skills": [{"skill": s.skill.value, "level": s.level} for s in expert.skills],
        "languages": [lang.code for lang in expert.languages],
        "unavailability": [{"starts_on": u.starts_on.isoformat(),
                            "ends_on": u.ends_on.isoformat(), "reason": u.reason}
                           for u in expert.unavailability],
        "user": {"email": user.email, "role": user.role.value} if user else None,
        "audit": [{"action": e.action, "at": e.at.isoformat(), "actor": e.actor,
                   "fields": _changed_fields(e.changes)} for e in events],
    }
    audit.record(db=db, actor=actor, action="expert.export", object_type="expert",
                 object_id=expert.id, changes={})
    return document


def erase(*, db: Session, actor: Principal, expert_id: int) -> Expert:
    """Anonymise the expert: identity, contact, notes, languages, periods and account link go;
    organisation, skills and clearance stay for the pool's statistics."""
    expert = service.get(db=db, actor=actor, expert_id=expert_id)
    policy.require(actor, policy.Permission.EXPERTS_PERSONAL_DATA, expert.organisation_id)
    if expert.erased_at is not None:
        raise Conflict("This expert was erased already.")
    erased = sorted(field for field, held in (
        ("name", True), ("email", expert.email), ("phone", expert.phone),
        ("notes", expert.notes), ("languages", expert.languages),
        ("unavailability", expert.unavailability), ("user", expert.user_id)) if held)
    expert.name = f"Erased expert #{expert.id}"
    expert.email = expert.phone = expert.user_id = None
    expert.notes = ""
    expert.languages.clear()
    expert.unavailability.clear()
    expert.erased_at = expert.updated_at = clock.now()
    db.flush()
    audit.record(db=db, actor=actor, action="expert.erase", object_type="expert",
                 object_id=expert.id, changes={"erased": erased})
    return expert
