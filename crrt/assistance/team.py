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
from datetime import date

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from crrt.access.principal import Principal
from crrt.assistance.enums import DeploymentState, Mode, Service, Source
from crrt.assistance.models import Deployment, DeploymentMember
from crrt.core import clock
from crrt.experts.enums import Skill
from crrt.experts.models import Expert, ExpertSkill, Unavailability
from crrt.organisations import service as organisations
from crrt.rotations import service as rotations
from crrt.rotations.models import RotationMember

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


def _fits(mode: Mode, day: date) -> list:  # type: ignore[type-arg]
    """Conditions on an expert: deployable in ``mode``, not erased, available on ``day``."""
    deployable = {Mode.REMOTE: Expert.remote.is_(True), Mode.ON_SITE: Expert.on_site.is_(True),
                  Mode.HYBRID: or_(Expert.remote.is_(True), Expert.on_site.is_(True))}[mode]
    away = exists().where(Unavailability.expert_id == Expert.id,
                          Unavailability.starts_on <= day, Unavailability.ends_on >= day)
    busy = exists().where(DeploymentMember.expert_id == Expert.id,
                          DeploymentMember.active.is_(True),
                          DeploymentMember.deployment_id == Deployment.id,
                          Deployment.state.in_(OPEN))
    return [deployable, Expert.erased_at.is_(None), ~away, ~busy]


def next_candidate(db: Session, deployment: Deployment, skill: Skill, *,
                   taken: set[int]) -> Candidate | None:
    """The best expert for a seat needing ``skill``: the rotation on duty first, then the
    pool; ``taken`` are experts already chosen in this pass."""
    now = clock.now()
    asked = select(DeploymentMember.expert_id).where(
        DeploymentMember.deployment_id == deployment.id)
    fits = [*_fits(deployment.mode, now.date()), Expert.id.not_in(sorted(taken))]
    rotation = rotations.current(db=db, actor=SYSTEM, at=now)
    if rotation is not None:
        stmt = (select(Expert).join(
            RotationMember, RotationMember.expert_id == Expert.id)
            .where(RotationMember.rotation_id == rotation.id,
                   RotationMember.withdrawn_at.is_(None), Expert.id.not_in(asked), *fits))
        if skill is Skill.TEAM_LEAD:
            stmt = stmt.outerjoin(ExpertSkill, and_(ExpertSkill.expert_id == Expert.id,
                                                    ExpertSkill.skill == skill)).where(
                or_(RotationMember.lead.is_(True), ExpertSkill.skill.is_not(None)))
            stmt = stmt.order_by(RotationMember.lead.desc(), ExpertSkill.level.desc(),
                                 Expert.id)
        else:
            stmt = stmt.join(ExpertSkill, and_(ExpertSkill.expert_id == Expert.id,
                                               ExpertSkill.skill == skill))
            stmt = stmt.order_by(ExpertSkill.level.desc(), Expert.id)
        expert = db.scalar(stmt.limit(1))
        if expert is not None:
            return Candidate(expert, Source.ROTATION, lead=skill is Skill.TEAM_LEAD)
    members = [o.id for o in organisations.members_on(db=db, actor=SYSTEM, day=now.date())]
    pool = (select(Expert).join(ExpertSkill, and_(ExpertSkill.expert_id == Expert.id,
                                                  ExpertSkill.skill == skill))
            .where(Expert.organisation_id.in_(members), Expert.id.not_in(asked), *fits)
            .order_by(ExpertSkill.level.desc(), Expert.id).limit(1))
    expert = db.scalar(pool)
    return None if expert is None else Candidate(expert, Source.POOL,
                                                 lead=skill is Skill.TEAM_LEAD)


def propose(db: Session, deployment: Deployment, services: list[str]) -> list[Skill]:
    """Add the team's members (consent pending); returns the seats no one could fill."""
    taken: set[int] = set()
    empty: list[Skill] = []
    for skill in seats(services, deployment.team_size):
        found = next_candidate(db, deployment, skill, taken=taken)
        if found is None:
            empty.append(skill)
            continue
        taken.add(found.expert.id)
        add(db, deployment, found, skill)
    return empty


def add(db: Session, deployment: Deployment, found: Candidate, skill: Skill) -> DeploymentMember:
    member = DeploymentMember(deployment_id=deployment.id, expert_id=found.expert.id,
                              organisation_id=found.expert.organisation_id, skill=skill.value,
                              lead=found.lead, source=found.source, proposed_at=clock.now())
    db.add(member)
    db.flush()
    return member
