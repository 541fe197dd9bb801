"""What the dispatch part holds about a person, and what it holds in place.

The deployments an expert was proposed for, with the nation's consent and their answer to the
call-out, are part of their personal data (exported with the rest). Erasure anonymises the
expert's record in the pool, where a member's name is read, so a deployment keeps its team,
nameless; what was written about the person (a caveat, a reason for declining) goes. A
nomination cannot be withdrawn while its expert is on a deployment still open: the seat is
handed on first (a decline, or the deployment's end).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from crrt.access.principal import Principal
from crrt.assistance.deployments import OPEN
from crrt.assistance.models import AssistanceRequest, Deployment, DeploymentMember
from crrt.core import clock
from crrt.core.db import removed
from crrt.experts import service as experts
from crrt.privacy import service as privacy

if TYPE_CHECKING:
    from crrt.experts.models import Expert


def export(db: Session, actor: Principal, person: privacy.Person) -> Any:
    ids = sorted(person.expert_ids)
    if not ids:
        return None
    rows = db.execute(select(Deployment, DeploymentMember, AssistanceRequest.reference)
                      .join(DeploymentMember, DeploymentMember.deployment_id == Deployment.id)
                      .join(AssistanceRequest, AssistanceRequest.id == Deployment.request_id)
                      .where(DeploymentMember.expert_id.in_(ids))
                      .order_by(DeploymentMember.proposed_at)).all()
    if not rows:
        return None
    return {"deployments": [{
        "deployment": str(d.public_id), "reference": reference, "status": d.state,
        "skill": m.skill, "lead": m.lead, "proposed_at": clock.iso(m.proposed_at),
        "consent": m.consent.value, "caveat": m.caveat, "callout": m.callout.value,
        "answered_at": clock.iso(m.answered_at) if m.answered_at else None,
        "reason": m.reason} for d, m, reference in rows]}


def erase(db: Session, actor: Principal, person: privacy.Person) -> list[str]:
    """The team names the expert only through the pool's record, which the pool anonymises;
    the caveats and reasons written about them go."""
    ids = sorted(person.expert_ids)
    if not ids:
        return []
    blanked = db.execute(update(DeploymentMember).where(
        DeploymentMember.expert_id.in_(ids),
        or_(DeploymentMember.reason != "", DeploymentMember.caveat != ""))
        .values(reason="", caveat=""))
    return ["deployment caveats and answers"] if removed(blanked) else []


HOLDER = privacy.holder("deployments", export=export, erase=erase)


@experts.holds_record
def deployed(db: Session, expert: Expert) -> str | None:
    """Why a nomination must wait: a place on a deployment still open."""
    reference = db.scalar(select(AssistanceRequest.reference).join(
        Deployment, Deployment.request_id == AssistanceRequest.id).join(
        DeploymentMember, DeploymentMember.deployment_id == Deployment.id).where(
        DeploymentMember.expert_id == expert.id, DeploymentMember.active.is_(True),
        Deployment.state.in_(OPEN)).limit(1))
    if reference is None:
        return None
    return (f"The expert is on the team answering {reference}: the seat is handed on first "
            "(their nation declines or they decline the call-out), or the deployment ends.")
