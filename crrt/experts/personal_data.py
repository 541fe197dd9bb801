"""What the pool holds about a person, for the data-subject rights (see :mod:`crrt.privacy`).

Erasure anonymises in place rather than deleting, so rotations and statistics keep their shape;
the audit log never held personal values (only the names of fields that changed), so the hash
chain stays valid after an erasure.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crrt.access import policy
from crrt.access.policy import Permission
from crrt.access.principal import Principal
from crrt.audit import service as audit
from crrt.core import clock
from crrt.experts import service
from crrt.experts.models import Expert
from crrt.organisations import service as organisations
from crrt.privacy import service as privacy

PLATFORM = Principal.system("privacy")


def _changed_fields(changes: Any) -> list[str]:
    return sorted(changes) if isinstance(changes, dict) else []


def _experts(db: Session, person: privacy.Person) -> list[Expert]:
    if not person.expert_ids:
        return []
    return list(db.scalars(select(Expert).where(Expert.id.in_(sorted(person.expert_ids)))
                           .order_by(Expert.id)))


def _one(db: Session, expert: Expert) -> dict[str, Any]:
    org = organisations.by_id(db=db, actor=PLATFORM, org_id=expert.organisation_id)
    inst = organisations.institution_by_id(db=db, actor=PLATFORM,
                                           institution_id=expert.institution_id) \
        if expert.institution_id is not None else None
    events = audit.events_about(db=db, object_type="expert", object_id=expert.public_id)
    return {
        "id": str(expert.public_id), "org": org.code, "org_name": org.name,
        "institution": inst.name if inst else None,
        "name": expert.name, "email": expert.email, "phone": expert.phone,
        "clearance": expert.clearance.value,
        "deployability": [d.value for d in service.deployability_of(expert)],
        "time_zone": expert.time_zone, "notes": expert.notes,
        "messenger": expert.messenger, "pgp_fingerprint": expert.pgp_fingerprint,
        "clearance_expires_on": expert.clearance_expires_on.isoformat()
        if expert.clearance_expires_on else None,
        "verified_at": clock.iso(expert.verified_at) if expert.verified_at else None,
        "created_at": clock.iso(expert.created_at),
        "updated_at": clock.iso(expert.updated_at),
        "erased_at": clock.iso(expert.erased_at) if expert.erased_at else None,
        "skills": [{"skill": s.skill.value, "level": s.level} for s in expert.skills],
        "languages": [lang.code for lang in expert.languages],
        "unavailability": [{"starts_on": u.starts_on.isoformat(),
                            "ends_on": u.ends_on.isoformat(), "reason": u.reason}
                           for u in expert.unavailability],
        "audit": [{"action": e.action, "at": clock.iso(e.at), "actor": e.actor,
                   "fields": _changed_fields(e.changes)}
                  for e in events],
    }


def export(db: Session, actor: Principal,
           person: privacy.Person) -> list[dict[str, Any]] | None:
    """Every nomination of the person the actor may export, with its audit trail (who
    changed which field, when)."""
    found = [_one(db, expert) for expert in _experts(db, person)
             if policy.allows(actor, Permission.EXPERTS_PERSONAL_DATA, expert)]
    return found or None


def erase(db: Session, actor: Principal, person: privacy.Person) -> list[str]:
    """Anonymise every nomination of the person: identity, contact, notes, languages, periods
    and the account link go; nation, skills and clearance stay for the pool's statistics."""
    erased: set[str] = set()
    for expert in _experts(db, person):
        if expert.erased_at is not None:
            continue
        erased |= {field for field, held in (
            ("name", True), ("email", expert.email), ("phone", expert.phone),
            ("notes", expert.notes), ("languages", expert.languages),
            ("messenger", expert.messenger), ("pgp_fingerprint", expert.pgp_fingerprint),
            ("time_zone", expert.time_zone != "UTC"),
            ("unavailability", expert.unavailability), ("user", expert.user_id)) if held}
        expert.name = f"Erased expert {str(expert.public_id)[:8]}"
        expert.email = expert.phone = expert.user_id = None
        expert.messenger = expert.pgp_fingerprint = None
        expert.notes = ""
        expert.time_zone = "UTC"
        expert.languages.clear()
        expert.unavailability.clear()
        expert.erased_at = expert.updated_at = clock.now()
    return sorted(erased)


HOLDER = privacy.holder("experts", export=export, erase=erase)
