"""What the rotations part holds about a person, and what it holds in place.

An expert's seats and weeks of duty are part of their personal data (exported with the rest);
erasure anonymises the expert's record in the pool, which is where a seat's name is read, so
the seats stay, nameless, and a team keeps its shape; the reasons written for a withdrawal
go. A nomination cannot be withdrawn while its expert holds a seat on a rotation not yet
over: the coordination cell replaces them first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from crrt.access.principal import Principal
from crrt.core import clock
from crrt.core.db import removed
from crrt.experts import service as experts
from crrt.privacy import service as privacy
from crrt.rotations.models import DutyShift, Rotation, RotationMember

if TYPE_CHECKING:
    from crrt.experts.models import Expert


def _seats(db: Session, expert_ids: list[int]) -> list[tuple[Rotation, RotationMember]]:
    return list(db.execute(select(Rotation, RotationMember).join(
        RotationMember, RotationMember.rotation_id == Rotation.id)
        .where(RotationMember.expert_id.in_(expert_ids)).order_by(Rotation.starts_on)).all())


def export(db: Session, actor: Principal, person: privacy.Person) -> Any:
    ids = sorted(person.expert_ids)
    if not ids:
        return None
    seats = _seats(db, ids)
    shifts = list(db.scalars(select(DutyShift).where(or_(
        DutyShift.primary_id.in_(ids), DutyShift.backup_id.in_(ids)))
        .order_by(DutyShift.starts_at)))
    if not seats and not shifts:
        return None
    return {
        "seats": [{"rotation": str(r.public_id), "label": r.label,
                   "start": r.starts_on.isoformat(), "end": r.ends_on.isoformat(),
                   "skill": m.slot_skill, "lead": m.lead,
                   "withdrawn_at": clock.iso(m.withdrawn_at) if m.withdrawn_at else None,
                   "reason": m.reason}
                  for r, m in seats],
        "duty": [{"start": clock.iso(s.starts_at), "end": clock.iso(s.ends_at),
                  "role": "primary" if s.primary_id in ids else "backup"} for s in shifts],
    }


def erase(db: Session, actor: Principal, person: privacy.Person) -> list[str]:
    """The seats name the expert only through the pool's record, which the pool anonymises;
    what was written about a withdrawal (its reason) goes."""
    ids = sorted(person.expert_ids)
    if not ids:
        return []
    blanked = db.execute(update(RotationMember).where(
        RotationMember.expert_id.in_(ids), RotationMember.reason != "").values(reason=""))
    return ["rotation withdrawal reasons"] if removed(blanked) else []


HOLDER = privacy.holder("rotations", export=export, erase=erase)


@experts.holds_record
def seated(db: Session, expert: Expert) -> str | None:
    """Why a nomination must wait: a seat on a rotation not yet over."""
    label = db.scalar(select(Rotation.label).join(
        RotationMember, RotationMember.rotation_id == Rotation.id).where(
        RotationMember.expert_id == expert.id, RotationMember.withdrawn_at.is_(None),
        Rotation.ends_on >= clock.today()).order_by(Rotation.starts_on).limit(1))
    if label is None:
        return None
    return (f"The expert holds a seat on rotation {label}: the coordination cell replaces "
            "them there first (a withdrawal on the rotation's page), then the nomination can "
            "be withdrawn.")
