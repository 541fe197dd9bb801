"""The one place access is decided: every permission, its rule, and the questions services ask.

Services ask :func:`require` before acting on a record, :func:`require_visible` before showing
one (outside the caller's reach it does not exist: 404), and filter lists with :func:`scope`;
pages and menus ask :func:`may` and :func:`allows`. No service or page compares roles itself.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import ColumnElement

from crrt.access.enums import Role
from crrt.access.principal import Principal
from crrt.access.resource import NOTHING_IN_PARTICULAR, columns_of, resource_of
from crrt.access.rules import (
    EVERY_ROLE,
    ON_TEAM,
    OWN_ORGANISATION,
    OWN_RECORD,
    Rule,
    grant,
)
from crrt.access.tlp import READABLE
from crrt.core.errors import Forbidden, NotFound

ADMIN, COORDINATOR, POC = Role.ADMIN, Role.COORDINATOR, Role.NATIONAL_POC
CENTRAL = (ADMIN, COORDINATOR)


class Permission(StrEnum):
    ORGANISATIONS_READ = "organisations.read"
    ORGANISATIONS_WRITE = "organisations.write"
    ORGANISATIONS_CONTACT = "organisations.contact"
    MEMBERSHIP_WRITE = "membership.write"
    INSTITUTIONS_WRITE = "institutions.write"
    POOL_READ = "pool.read"
    EXPERTS_READ = "experts.read"
    EXPERTS_WRITE = "experts.write"
    EXPERTS_PERSONAL_DATA = "experts.personal_data"
    EXPERTS_AVAILABILITY = "experts.availability"
    EXPERTS_LINK_USER = "experts.link_user"
    AUDIT_READ = "audit.read"
    USERS_MANAGE = "users.manage"
    USERS_FIND = "users.find"
    TOKENS_OWN = "tokens.own"
    TOKENS_MANAGE = "tokens.manage"
    WEBHOOKS_MANAGE = "webhooks.manage"
    DASHBOARD_POOL = "dashboard.pool"
    MARKED_READ = "marked.read"
    ROTATIONS_READ = "rotations.read"
    ROTATIONS_PLAN = "rotations.plan"
    COMMITMENTS_WRITE = "commitments.write"
    CALENDAR_OWN = "calendar.own"
    REQUESTS_SUBMIT = "requests.submit"
    REQUESTS_READ = "requests.read"
    ARRANGEMENTS_MANAGE = "arrangements.manage"
    REQUESTS_DECIDE = "requests.decide"
    COUNCIL_POSITION = "council.position"
    DEPLOYMENTS_READ = "deployments.read"
    DEPLOYMENTS_MANAGE = "deployments.manage"
    DEPLOYMENTS_CONSENT = "deployments.consent"
    CALLOUTS_ANSWER = "callouts.answer"
    COSTS_WRITE = "costs.write"
    INTEL_READ = "intel.read"
    INTEL_WRITE = "intel.write"
    INTEL_MANAGE = "intel.manage"


RULES: dict[Permission, Rule] = {
    Permission.ORGANISATIONS_READ: Rule(grant(*EVERY_ROLE)),
    Permission.ORGANISATIONS_WRITE: Rule(grant(*CENTRAL)),
    # on an organisation: its contact card, which a POC keeps for its own nation
    Permission.ORGANISATIONS_CONTACT: Rule(grant(*CENTRAL), grant(POC, when=OWN_ORGANISATION)),
    Permission.MEMBERSHIP_WRITE: Rule(grant(*CENTRAL)),
    # on an organisation: a POC for its own nation
    Permission.INSTITUTIONS_WRITE: Rule(grant(*CENTRAL), grant(POC, when=OWN_ORGANISATION)),
    # on an organisation: whose whole pool one may see
    Permission.POOL_READ: Rule(grant(*CENTRAL), grant(POC, when=OWN_ORGANISATION)),
    # on an expert: all, its nation's, or a responder's own record
    Permission.EXPERTS_READ: Rule(grant(*CENTRAL), grant(POC, when=OWN_ORGANISATION),
                                  grant(Role.RESPONDER, when=OWN_RECORD)),
    # on an expert or the nominating nation
    Permission.EXPERTS_WRITE: Rule(grant(*CENTRAL), grant(POC, when=OWN_ORGANISATION)),
    Permission.EXPERTS_PERSONAL_DATA: Rule(grant(*CENTRAL), grant(POC, when=OWN_ORGANISATION)),
    # on an expert: whoever may edit it, and the responder whose own record it is
    Permission.EXPERTS_AVAILABILITY: Rule(grant(*CENTRAL), grant(POC, when=OWN_ORGANISATION),
                                          grant(Role.RESPONDER, when=OWN_RECORD)),
    Permission.EXPERTS_LINK_USER: Rule(grant(*CENTRAL)),
    Permission.AUDIT_READ: Rule(grant(*CENTRAL)),
    Permission.USERS_MANAGE: Rule(grant(ADMIN)),
    # find an account by email, to link it to an expert record
    Permission.USERS_FIND: Rule(grant(*CENTRAL)),
    # on an account: one's own tokens (the /me paths)
    Permission.TOKENS_OWN: Rule(grant(*EVERY_ROLE, when=OWN_RECORD)),
    # on an account: one's own tokens, or anyone's for an admin
    Permission.TOKENS_MANAGE: Rule(grant(ADMIN), grant(*EVERY_ROLE, when=OWN_RECORD)),
    Permission.WEBHOOKS_MANAGE: Rule(grant(ADMIN)),
    Permission.DASHBOARD_POOL: Rule(grant(*CENTRAL, POC)),
    # on a marked record: what its TLP marking allows (DESIGN §1)
    Permission.MARKED_READ: Rule(grant(*EVERY_ROLE, when=READABLE)),
    # the teams on duty, their members and weekly duty; templates; commitments: the people of
    # the participating nations (observers get statistics, not who is on duty)
    Permission.ROTATIONS_READ: Rule(grant(*CENTRAL, POC, Role.RESPONDER)),
    # templates, planning, publishing and replacing: the coordination cell's work
    Permission.ROTATIONS_PLAN: Rule(grant(*CENTRAL)),
    # on an organisation: the expert-seats a year it commits
    Permission.COMMITMENTS_WRITE: Rule(grant(*CENTRAL), grant(POC, when=OWN_ORGANISATION)),
    # one's own duty and calendar address (for whoever may read rotations and has an expert
    # record)
    Permission.CALENDAR_OWN: Rule(grant(*CENTRAL, POC, Role.RESPONDER)),
    # on an organisation: a requester asks for its own; a coordinator enters one received by
    # phone or e-mail on a requester's behalf
    Permission.REQUESTS_SUBMIT: Rule(grant(COORDINATOR),
                                     grant(Role.REQUESTER, when=OWN_ORGANISATION)),
    # on a request: its TLP decides (participants are named on an AMBER one for the Council);
    # a requester sees only its own organisation's
    Permission.REQUESTS_READ: Rule(grant(*CENTRAL, POC, when=READABLE),
                                   grant(Role.REQUESTER, when=OWN_ORGANISATION & READABLE)),
    # partners' arrangements with the project, which let them ask
    Permission.ARRANGEMENTS_MANAGE: Rule(grant(*CENTRAL)),
    # triage and the Council's decision: the coordination cell
    Permission.REQUESTS_DECIDE: Rule(grant(COORDINATOR)),
    # on an organisation: a participating nation's position in the Council, by its POC
    Permission.COUNCIL_POSITION: Rule(grant(POC, when=OWN_ORGANISATION)),
    # on a deployment: its marking decides; the contributing nations are named on it, its
    # team reads it as the team, the requester follows its own organisation's
    Permission.DEPLOYMENTS_READ: Rule(grant(*CENTRAL, POC, when=READABLE),
                                      grant(Role.RESPONDER, when=ON_TEAM & READABLE),
                                      grant(Role.REQUESTER, when=OWN_ORGANISATION & READABLE)),
    # the team, its status, logistics and the mission arrangement: the coordination cell
    Permission.DEPLOYMENTS_MANAGE: Rule(grant(COORDINATOR)),
    # on an organisation: a nation's consent to sending its own experts, by its POC
    Permission.DEPLOYMENTS_CONSENT: Rule(grant(POC, when=OWN_ORGANISATION)),
    # on an expert: the call-out's answer, by the responder whose record it is
    Permission.CALLOUTS_ANSWER: Rule(grant(Role.RESPONDER, when=OWN_RECORD)),
    # on the paying organisation: a coordinator, or a POC for what its own nation paid
    Permission.COSTS_WRITE: Rule(grant(COORDINATOR), grant(POC, when=OWN_ORGANISATION)),
    # sharing groups: every role may belong to one (its organisation a member); which one it
    # reads, and under what TLP, the collection decides (crrt.intel.service)
    Permission.INTEL_READ: Rule(grant(*EVERY_ROLE)),
    # adding objects to a collection one's organisation writes to (observers only read)
    Permission.INTEL_WRITE: Rule(grant(*CENTRAL, POC, Role.RESPONDER, Role.REQUESTER)),
    # making sharing groups: the coordination cell
    Permission.INTEL_MANAGE: Rule(grant(*CENTRAL)),
}


def may(who: Principal, permission: Permission) -> bool:
    """Whether the role holds the permission on some record at all (menus, role refusals)."""
    return RULES[permission].applies_to(who)


def allows(who: Principal, permission: Permission, what: object = None) -> bool:
    """Whether ``who`` holds ``permission`` on ``what``: a record whose table declares
    ``__access__``, a :class:`~crrt.access.resource.Resource`, or nothing in particular."""
    rule = RULES[permission]
    if what is None and not rule.unconditional_for(who):
        raise TypeError(f"{permission} depends on the record for {who.role}: name it, or ask "
                        "may()/require_some() whether the role holds it on some record")
    resource = NOTHING_IN_PARTICULAR if what is None else resource_of(what)
    return rule.holds(who, resource)


def require(who: Principal, permission: Permission, what: object = None, *,
            refusal: str | None = None) -> None:
    """Raise :class:`Forbidden` (saying ``refusal``, if given) unless ``who`` holds the
    permission (on ``what``)."""
    if not allows(who, permission, what):
        raise Forbidden(refusal or f"Your role ({who.role.value}) may not do this.")


def require_some(who: Principal, permission: Permission) -> None:
    """Raise :class:`Forbidden` unless the role holds the permission on some record (a page
    that lists what may be chosen)."""
    if not may(who, permission):
        raise Forbidden(f"Your role ({who.role.value}) may not do this.")


def require_visible(who: Principal, permission: Permission, what: object, *,
                    missing: str = "No such item.") -> None:
    """A record outside the caller's reach does not exist for it (404); a role that may
    never hold the permission is refused outright (403)."""
    require_some(who, permission)
    if not allows(who, permission, what):
        raise NotFound(missing)


def scope(who: Principal, permission: Permission, model: type) -> ColumnElement[bool]:
    """The filter on ``model``'s rows on which ``who`` holds the permission."""
    return RULES[permission].where(who, columns_of(model))
