"""Who to send: a deployment's team proposed from the rotation on duty, topped up from the pool.

The services a request wants become the skills its team needs; the team lead's seat comes
first, then one seat for each skill, then more of the same skills up to the team's size. Each
seat takes the best qualified expert of the rotation on duty (its own lead for the lead's
seat), and only when the rotation has none left, of the wider pool of the participating
nations: deployable in the request's mode, available today, not on another open deployment,
never proposed for this deployment before (so a declined or silent expert is not asked again).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crrt.access.principal import Principal
from crrt.assistance.enums import DeploymentState, Mode, Service, Source
from crrt.assistance.models import Deployment, DeploymentMember
from crrt.core import clock
from crrt.experts import service as experts
from crrt.experts.enums import Skill
from crrt.organisations import service as organisations
from crrt.rotations import service as rotations

if TYPE_CHECKING:
    from crrt.experts.models import Expert

SYSTEM = Principal.system("dispatch")

# The skills each service needs, the first the most needed.
SKILLS: dict[Service, tuple[Skill, ...]] = {
    Service.INCIDENT_RESPONSE: (Skill.INCIDENT_HANDLING, Skill.NETWORK_FORENSICS),
    Service.DIGITAL_FORENSICS: (Skill.DIGITAL_FORENSICS, Skill.NETWORK_FORENSICS),
    Service.MALWARE_ANALYSIS: (Skill.MALWARE_ANALYSIS,),
    Service.VULNERABILITY_ASSESSMENT: (Skill.VULNERABILITY_ASSESSMENT,),
    Service.ELECTION_SUPPORT: (Skill.INCIDENT_HANDLING, Skill.THREAT_INTELLIGENCE,
                               Skill.COMMUNICATIONS),
    Service.TRAINING: (Skill.INCIDENT_HANDLING,),
    Service.OTHER: (Skill.INCIDENT_HANDLING,),
}
OPEN = (DeploymentState.PLANNED.value, DeploymentState.DEPLOYING.value,
        DeploymentState.DEPLOYED.value)


def needs(services: list[str]) -> list[Skill]:
    """The skills wanted, most needed first, each once."""
    ordered = [skill for s in services for skill in SKILLS[Service(s)][:1]]
    ordered += [skill for s in services for skill in SKILLS[Service(s)][1:]]
    return list(dict.fromkeys(ordered)) or [Skill.INCIDENT_HANDLING]


def seats(services: list[str], size: int) -> list[Skill]:
    """The team's seats: the lead's, one per skill, then the skills again up to ``size``."""
    skills = needs(services)
    out = [Skill.TEAM_LEAD]
    i = 0
    while len(out) < size:
        out.append(skills[i % len(skills)])
        i += 1
    return out[:size]


@dataclass(frozen=True)
class Candidate:
    expert: Expert
    source: Source
    lead: bool = False


def _busy_or_asked(deployment: Deployment) -> Select[Any]:
    """Experts not to propose: asked for this deployment before, or engaged on an open one."""
    return select(DeploymentMember.expert_id).where(
        (DeploymentMember.deployment_id == deployment.id) | DeploymentMember.engaged.is_(True))


@dataclass(frozen=True)
class Field:
    """Where a deployment's seats are filled from, read once for all its seats: the rotation
    on duty (its experts, and which of them lead) and the nations taking part today."""

    seated: dict[int, bool] | None
    nations: list[int]

    @classmethod
    def of(cls, db: Session) -> Field:
        now = clock.now()
        rotation = rotations.current(db=db, actor=SYSTEM, at=now)
        seated = None if rotation is None else rotations.seated(db=db, rotation=rotation)
        return cls(seated, organisations.member_ids_on(db=db, actor=SYSTEM, day=now.date()))


def next_candidate(db: Session, deployment: Deployment, skill: Skill, *,
                   taken: set[int], field: Field | None = None) -> Candidate | None:
    """The best expert for a seat needing ``skill``: the rotation on duty first (its own lead
    for the lead's seat), then the pool; ``taken`` are experts already chosen in this pass."""
    field = field or Field.of(db)
    mode = deployment.mode
    ask: dict[str, Any] = {"db": db, "day": clock.today(), "remote": mode is not Mode.ON_SITE,
                           "on_site": mode is not Mode.REMOTE,
                           "excluded": _busy_or_asked(deployment), "taken": taken,
                           "skip_locked": True}
    lead = skill is Skill.TEAM_LEAD
    if field.seated is not None:
        leads = [e for e, is_lead in field.seated.items() if is_lead]
        found = experts.best_for(skill=None, among=leads, **ask) \
            if lead and leads else None
        found = found or experts.best_for(skill=skill, among=list(field.seated), **ask)
        if found is not None:
            return Candidate(found, Source.ROTATION, lead=lead)
    found = experts.best_for(skill=skill, org_ids=field.nations, **ask)
    return None if found is None else Candidate(found, Source.POOL, lead=lead)


def propose(db: Session, deployment: Deployment, services: list[str]) -> list[Skill]:
    """Add the team's members (consent pending); returns the seats no one could fill."""
    field = Field.of(db)
    taken: set[int] = set()
    return [skill for skill in seats(services, deployment.team_size)
            if seat(db, deployment, skill, taken=taken, field=field) is None]


def seat(db: Session, deployment: Deployment, skill: Skill, *, taken: set[int],
         field: Field | None = None, lead: bool | None = None) -> DeploymentMember | None:
    """Fill a seat with the best free candidate, or None if nobody is left.

    Proposals run side by side without a lock of their own: each candidate is read with its
    row locked (others skip it meanwhile), and the member is added in a savepoint, where the
    database's one engagement per expert refuses an expert another proposal took in between;
    then the next candidate is tried.
    """
    while True:
        found = next_candidate(db, deployment, skill, taken=taken, field=field)
        if found is None:
            return None
        taken.add(found.expert.id)
        try:
            with db.begin_nested():
                member = add(db, deployment, found, skill)
        except IntegrityError:
            continue
        if lead is not None:
            member.lead = lead
        return member


def add(db: Session, deployment: Deployment, found: Candidate, skill: Skill) -> DeploymentMember:
    """The member for ``found`` on ``skill``'s seat (consent pending), holding the expert."""
    member = DeploymentMember(deployment_id=deployment.id, expert_id=found.expert.id,
                              organisation_id=found.expert.organisation_id, skill=skill.value,
                              lead=found.lead, source=found.source, proposed_at=clock.now())
    db.add(member)
    db.flush()
    return member

