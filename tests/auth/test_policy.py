"""The policy table: what each role may do, on its own organisation's items and on others'."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crrt.auth import policy
from crrt.auth.enums import Role
from crrt.auth.policy import Permission
from crrt.auth.principal import Principal
from crrt.core.errors import Forbidden, NotFound
from crrt.experts.models import Expert
from crrt.organisations.enums import OrgKind
from tests.support import add_expert

OWN_ORG, OTHER_ORG = 2, 3
OWN_USER, OTHER_USER = 10, 11

A, C, P, R, Q, OBS = (Role.ADMIN, Role.COORDINATOR, Role.NATIONAL_POC, Role.RESPONDER,
                      Role.REQUESTER, Role.OBSERVER)
EVERYONE = frozenset(Role)

# permission: (target kind, roles allowed on their own item, roles allowed on another's)
EXPECTED: dict[Permission, tuple[str | None, frozenset[Role], frozenset[Role]]] = {
    Permission.ORGANISATIONS_READ: (None, EVERYONE, EVERYONE),
    Permission.ORGANISATIONS_WRITE: (None, frozenset({A, C}), frozenset({A, C})),
    Permission.INSTITUTIONS_WRITE: ("org", frozenset({A, C, P}), frozenset({A, C})),
    Permission.EXPERTS_READ: (None, frozenset({A, C, P, R}), frozenset({A, C, P, R})),
    Permission.EXPERTS_WRITE: ("org", frozenset({A, C, P}), frozenset({A, C})),
    Permission.EXPERTS_PERSONAL_DATA: ("org", frozenset({A, C, P}), frozenset({A, C})),
    Permission.AUDIT_READ: (None, frozenset({A, C}), frozenset({A, C})),
    Permission.USERS_MANAGE: (None, frozenset({A}), frozenset({A})),
    Permission.DASHBOARD_POOL: (None, frozenset({A, C, P}), frozenset({A, C, P})),
    Permission.WEBHOOKS_MANAGE: (None, frozenset({A}), frozenset({A})),
}
# Added by the experts part; checked when present.
OPTIONAL: dict[str, tuple[str | None, frozenset[Role], frozenset[Role]]] = {
    "EXPERTS_OWN_AVAILABILITY": ("user", EVERYONE, frozenset()),
    "EXPERTS_LINK_USER": (None, frozenset({A, C}), frozenset({A, C})),
}
for _name, _row in OPTIONAL.items():
    if hasattr(Permission, _name):
        EXPECTED[Permission[_name]] = _row


def principal(role: Role) -> Principal:
    return Principal(user_id=OWN_USER, email=f"{role.value}@test.example", name=role.value,
                     role=role, org_id=OWN_ORG, org_code="EE", org_kind=OrgKind.NATION)


def target(kind: str | None, own: bool) -> int | None:
    if kind == "org":
        return OWN_ORG if own else OTHER_ORG
    if kind == "user":
        return OWN_USER if own else OTHER_USER
    return None


def test_every_permission_has_an_expected_row():
    assert set(Permission) == set(EXPECTED), "add the new permission to EXPECTED"


@pytest.mark.parametrize("permission", list(EXPECTED), ids=str)
@pytest.mark.parametrize("role", list(Role), ids=str)
def test_policy_table(permission, role):
    kind, on_own, on_other = EXPECTED[permission]
    who = principal(role)
    assert policy.allows(who, permission, target(kind, True)) is (role in on_own)
    assert policy.allows(who, permission, target(kind, False)) is (role in on_other)


def test_require_raises_forbidden_naming_the_role():
    with pytest.raises(Forbidden, match="observer"):
        policy.require(principal(Role.OBSERVER), Permission.USERS_MANAGE)
    policy.require(principal(Role.ADMIN), Permission.USERS_MANAGE)


def test_a_poc_without_an_organisation_writes_nothing():
    orphan = Principal(user_id=1, email="p@x", name="p", role=Role.NATIONAL_POC, org_id=None,
                       org_code=None)
    assert not policy.allows(orphan, Permission.EXPERTS_WRITE, None)


def test_the_system_principal_acts_as_an_admin():
    system = Principal.system("tests")
    assert system.role is Role.ADMIN and system.actor == "system:tests"
    assert policy.allows(system, Permission.USERS_MANAGE)


@pytest.mark.parametrize(("role", "sees"), [
    (A, {"EE", "ES", "EE-own"}), (C, {"EE", "ES", "EE-own"}), (P, {"EE", "EE-own"}),
    (R, {"EE-own"}), (Q, set()), (OBS, set())])
def test_expert_visibility_in_queries_and_single_records_agree(database, world, role, sees):
    ids = {"EE": add_expert(database, "EE", name="Kaja Kask"),
           "ES": add_expert(database, "ES", name="Lucia Garcia"),
           "EE-own": add_expert(database, "EE", name="Responder Self",
                                user_id=world.users[Role.RESPONDER])}
    who = world.principals[role]
    with database.session() as db:
        scope = policy.experts_scope(who, Expert.organisation_id, Expert.user_id)
        visible = set(db.scalars(select(Expert.id).where(scope)))
        experts = {e.id: e for e in db.scalars(select(Expert))}
    assert visible == {ids[name] for name in sees}
    for expert_id, expert in experts.items():
        assert policy.expert_visible(who, org_id=expert.organisation_id,
                                     user_id=expert.user_id) is (expert_id in visible)


def test_an_expert_out_of_scope_does_not_exist_for_the_caller(database, world):
    spanish = add_expert(database, "ES", name="Lucia Garcia")
    with database.session() as db:
        expert = db.get(Expert, spanish)
        with pytest.raises(NotFound):
            policy.require_expert_visible(world.principals[Role.NATIONAL_POC],
                                          org_id=expert.organisation_id, user_id=None)
        with pytest.raises(Forbidden):
            policy.require_expert_visible(world.principals[Role.OBSERVER],
                                          org_id=expert.organisation_id, user_id=None)
        policy.require_expert_visible(world.principals[Role.COORDINATOR],
                                      org_id=expert.organisation_id, user_id=None)
