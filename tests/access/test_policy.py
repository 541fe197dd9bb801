"""The policy table: what each role may do on its own organisation's records and on others',
on its own account's records and on others', and the questions services ask of it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from crrt.access import policy
from crrt.access.enums import Role
from crrt.access.policy import Permission
from crrt.access.principal import Principal
from crrt.access.resource import Resource
from crrt.core.db import Database
from crrt.core.errors import Forbidden, NotFound
from crrt.experts.models import Expert
from tests.conftest import World
from tests.support import add_expert

OWN_ORG, OTHER_ORG = 2, 3
OWN_USER, OTHER_USER = 10, 11

# Each record carries one relation only, so each column of the table measures one of them.
OWN_ORG_RECORD = Resource(kind="thing", owner_org_id=OWN_ORG)
OTHER_ORG_RECORD = Resource(kind="thing", owner_org_id=OTHER_ORG)
OWN_ACCOUNT_RECORD = Resource(kind="thing", subject_user_id=OWN_USER)
OTHER_ACCOUNT_RECORD = Resource(kind="thing", subject_user_id=OTHER_USER)

# Roles by letter, so that a row of the table reads across.
LETTERS = {"A": Role.ADMIN, "C": Role.COORDINATOR, "P": Role.NATIONAL_POC,
           "R": Role.RESPONDER, "Q": Role.REQUESTER, "O": Role.OBSERVER}
ALL, NONE = "ACPRQO", ""


@dataclass(frozen=True)
class Row:
    """The roles that hold one permission on each kind of record.

    ``some``: the roles :func:`policy.may` says hold it on some record at all.
    ``needs_record``: the roles for which ``allows`` without a record is a programming error
    (TypeError), because every grant of theirs depends on the record; for the other roles
    (no grant, or one that holds on anything) it answers as on any record.
    """

    own_org: str
    other_org: str
    own_account: str
    other_account: str
    some: str
    needs_record: str = NONE


EXPECTED: dict[Permission, Row] = {
    #                                  own org  other org  own acct  other acct
    Permission.ORGANISATIONS_READ: Row(ALL, ALL, ALL, ALL, some=ALL),
    Permission.ORGANISATIONS_WRITE: Row("AC", "AC", "AC", "AC", some="AC"),
    Permission.ORGANISATIONS_CONTACT: Row("ACP", "AC", "AC", "AC", some="ACP", needs_record="P"),
    Permission.MEMBERSHIP_WRITE: Row("AC", "AC", "AC", "AC", some="AC"),
    Permission.INSTITUTIONS_WRITE: Row("ACP", "AC", "AC", "AC", some="ACP", needs_record="P"),
    Permission.POOL_READ: Row("ACP", "AC", "AC", "AC", some="ACP", needs_record="P"),
    Permission.EXPERTS_READ: Row("ACP", "AC", "ACR", "AC", some="ACPR", needs_record="PR"),
    Permission.EXPERTS_WRITE: Row("ACP", "AC", "AC", "AC", some="ACP", needs_record="P"),
    Permission.EXPERTS_PERSONAL_DATA: Row("ACP", "AC", "AC", "AC", some="ACP",
                                          needs_record="P"),
    Permission.EXPERTS_AVAILABILITY: Row("ACP", "AC", "ACR", "AC", some="ACPR", needs_record="PR"),
    Permission.EXPERTS_LINK_USER: Row("AC", "AC", "AC", "AC", some="AC"),
    Permission.AUDIT_READ: Row("AC", "AC", "AC", "AC", some="AC"),
    Permission.USERS_MANAGE: Row("A", "A", "A", "A", some="A"),
    Permission.USERS_FIND: Row("AC", "AC", "AC", "AC", some="AC"),
    Permission.TOKENS_OWN: Row(NONE, NONE, ALL, NONE, some=ALL, needs_record=ALL),
    Permission.TOKENS_MANAGE: Row("A", "A", ALL, "A", some=ALL, needs_record="CPRQO"),
    Permission.WEBHOOKS_MANAGE: Row("A", "A", "A", "A", some="A"),
    Permission.DASHBOARD_POOL: Row("ACP", "ACP", "ACP", "ACP", some="ACP"),
    # the records above carry no marking, so they are AMBER: the owner organisation and
    # coordinators read them (the whole TLP table is in test_tlp.py)
    Permission.MARKED_READ: Row(ALL, "C", "C", "C", some=ALL, needs_record=ALL),
    Permission.ROTATIONS_READ: Row("ACPR", "ACPR", "ACPR", "ACPR", some="ACPR"),
    Permission.ROTATIONS_PLAN: Row("AC", "AC", "AC", "AC", some="AC"),
    Permission.COMMITMENTS_WRITE: Row("ACP", "AC", "AC", "AC", some="ACP", needs_record="P"),
    Permission.CALENDAR_OWN: Row("ACPR", "ACPR", "ACPR", "ACPR", some="ACPR"),
    Permission.REQUESTS_SUBMIT: Row("CQ", "C", "C", "C", some="CQ", needs_record="Q"),
    # unmarked records are AMBER: the owner organisation's people and coordinators
    Permission.REQUESTS_READ: Row("ACPQ", "C", "C", "C", some="ACPQ", needs_record="ACPQ"),
    Permission.ARRANGEMENTS_MANAGE: Row("AC", "AC", "AC", "AC", some="AC"),
    Permission.REQUESTS_DECIDE: Row("C", "C", "C", "C", some="C"),
    Permission.COUNCIL_POSITION: Row("P", NONE, NONE, NONE, some="P", needs_record="P"),
    # AMBER as above; a responder reads only a deployment it is on (no team on these records)
    Permission.DEPLOYMENTS_READ: Row("ACPQ", "C", "C", "C", some="ACPRQ",
                                     needs_record="ACPRQ"),
    Permission.DEPLOYMENTS_MANAGE: Row("C", "C", "C", "C", some="C"),
    Permission.DEPLOYMENTS_CONSENT: Row("P", NONE, NONE, NONE, some="P", needs_record="P"),
    Permission.CALLOUTS_ANSWER: Row(NONE, NONE, "R", NONE, some="R", needs_record="R"),
    Permission.COSTS_WRITE: Row("CP", "C", "C", "C", some="CP", needs_record="P"),
    Permission.INTEL_READ: Row(ALL, ALL, ALL, ALL, some=ALL),
    Permission.INTEL_WRITE: Row("ACPRQ", "ACPRQ", "ACPRQ", "ACPRQ", some="ACPRQ"),
    Permission.INTEL_MANAGE: Row("AC", "AC", "AC", "AC", some="AC"),
}


def holds(letters: str, role: Role) -> bool:
    assert set(letters) <= set(LETTERS), f"unknown role letter in {letters!r}"
    return role in {LETTERS[letter] for letter in letters}


def principal(role: Role, *, org_id: int | None = OWN_ORG) -> Principal:
    return Principal(user_id=OWN_USER, email=f"{role.value}@test.example", name=role.value,
                     role=role, org_id=org_id, org_code="EE" if org_id else None)


def test_every_permission_has_a_row_in_the_table():
    missing = sorted(set(Permission) - set(EXPECTED))
    assert not missing, f"add a row to EXPECTED for {missing}"


@pytest.mark.parametrize("role", list(Role), ids=str)
@pytest.mark.parametrize("permission", list(Permission), ids=str)
def test_policy_table(permission: Permission, role: Role):
    row = EXPECTED[permission]
    who = principal(role)
    assert {
        "own org": policy.allows(who, permission, OWN_ORG_RECORD),
        "other org": policy.allows(who, permission, OTHER_ORG_RECORD),
        "own account": policy.allows(who, permission, OWN_ACCOUNT_RECORD),
        "other account": policy.allows(who, permission, OTHER_ACCOUNT_RECORD),
        "some record": policy.may(who, permission),
    } == {
        "own org": holds(row.own_org, role),
        "other org": holds(row.other_org, role),
        "own account": holds(row.own_account, role),
        "other account": holds(row.other_account, role),
        "some record": holds(row.some, role),
    }


@pytest.mark.parametrize("role", list(Role), ids=str)
@pytest.mark.parametrize("permission", list(Permission), ids=str)
def test_asking_without_a_record_answers_only_where_the_record_does_not_matter(
        permission: Permission, role: Role):
    row = EXPECTED[permission]
    who = principal(role)
    if holds(row.needs_record, role):
        with pytest.raises(TypeError, match=f"{permission.value}.*{role.value}"):
            policy.allows(who, permission)
    else:
        assert policy.allows(who, permission) is holds(row.some, role)


def test_asking_without_a_record_names_the_permission_and_the_role():
    with pytest.raises(TypeError, match=r"experts\.write depends on the record for national_poc"):
        policy.allows(principal(Role.NATIONAL_POC), Permission.EXPERTS_WRITE)
    assert policy.allows(principal(Role.ADMIN), Permission.USERS_MANAGE) is True
    assert policy.allows(principal(Role.OBSERVER), Permission.USERS_MANAGE) is False
    # a role with no grant at all is simply refused, whatever the record
    assert policy.allows(principal(Role.OBSERVER), Permission.EXPERTS_WRITE) is False


def test_require_refuses_with_forbidden_naming_the_role():
    with pytest.raises(Forbidden, match=r"Your role \(observer\) may not do this") as refused:
        policy.require(principal(Role.OBSERVER), Permission.USERS_MANAGE)
    assert refused.value.status == 403
    policy.require(principal(Role.ADMIN), Permission.USERS_MANAGE)


def test_require_says_the_refusal_it_is_given():
    with pytest.raises(Forbidden, match="Only your own nation's experts"):
        policy.require(principal(Role.NATIONAL_POC), Permission.EXPERTS_WRITE, OTHER_ORG_RECORD,
                       refusal="Only your own nation's experts.")
    policy.require(principal(Role.NATIONAL_POC), Permission.EXPERTS_WRITE, OWN_ORG_RECORD)


def test_require_some_refuses_a_role_that_never_holds_the_permission():
    with pytest.raises(Forbidden, match="requester"):
        policy.require_some(principal(Role.REQUESTER), Permission.EXPERTS_READ)
    policy.require_some(principal(Role.RESPONDER), Permission.EXPERTS_READ)


def test_a_record_out_of_reach_does_not_exist_for_the_caller():
    with pytest.raises(NotFound, match=r"No such expert\.") as missing:
        policy.require_visible(principal(Role.NATIONAL_POC), Permission.EXPERTS_READ,
                               OTHER_ORG_RECORD, missing="No such expert.")
    assert missing.value.status == 404
    policy.require_visible(principal(Role.NATIONAL_POC), Permission.EXPERTS_READ, OWN_ORG_RECORD)


def test_a_role_that_never_holds_the_permission_is_refused_not_told_the_record_is_missing():
    with pytest.raises(Forbidden, match="observer") as refused:
        policy.require_visible(principal(Role.OBSERVER), Permission.EXPERTS_READ,
                               OWN_ORG_RECORD)
    assert refused.value.status == 403


@pytest.mark.parametrize("permission", list(Permission), ids=str)
def test_the_system_principal_acts_as_an_admin(permission: Permission):
    system = Principal.system("tests")
    assert system.role is Role.ADMIN
    assert system.actor == "system:tests"
    row = EXPECTED[permission]
    assert policy.may(system, permission) is holds(row.some, Role.ADMIN)
    assert policy.allows(system, permission, OTHER_ORG_RECORD) is holds(row.other_org, Role.ADMIN)
    assert policy.allows(system, permission, OTHER_ACCOUNT_RECORD) \
        is holds(row.other_account, Role.ADMIN)


@pytest.mark.parametrize("permission", [
    Permission.EXPERTS_WRITE, Permission.INSTITUTIONS_WRITE, Permission.EXPERTS_PERSONAL_DATA],
    ids=str)
def test_a_poc_without_an_organisation_writes_nothing(permission: Permission):
    orphan = principal(Role.NATIONAL_POC, org_id=None)
    for record in (OWN_ORG_RECORD, OTHER_ORG_RECORD, Resource(kind="thing")):
        assert not policy.allows(orphan, permission, record), record


def test_a_poc_without_an_organisation_is_given_no_rows(database: Database, world: World):
    add_expert(database, "EE", name="Kaja Kask")
    orphan = principal(Role.NATIONAL_POC, org_id=None)
    with database.session() as db:
        writable = db.scalars(select(Expert.id).where(
            policy.scope(orphan, Permission.EXPERTS_WRITE, Expert))).all()
    assert writable == []


# --- which experts a role sees: the list (SQL) and the single record agree -----------------------

SEES = {
    Role.ADMIN: {"Kaja Kask", "Mart Tamm", "Lucia Garcia", "Jon Ander", "Responder Self"},
    Role.COORDINATOR: {"Kaja Kask", "Mart Tamm", "Lucia Garcia", "Jon Ander", "Responder Self"},
    Role.NATIONAL_POC: {"Kaja Kask", "Mart Tamm", "Responder Self"},  # the POC is of EE
    Role.RESPONDER: {"Responder Self"},
    Role.REQUESTER: set(),
    Role.OBSERVER: set(),
}


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_the_experts_list_and_the_single_expert_agree_on_who_is_visible(
        database: Database, world: World, role: Role):
    names: dict[uuid.UUID, str] = {
        add_expert(database, "EE", name="Kaja Kask"): "Kaja Kask",
        add_expert(database, "EE", name="Mart Tamm"): "Mart Tamm",
        add_expert(database, "ES", name="Lucia Garcia"): "Lucia Garcia",
        add_expert(database, "ES", name="Jon Ander"): "Jon Ander",
        add_expert(database, "EE", name="Responder Self",
                   user_id=world.users[Role.RESPONDER]): "Responder Self",
    }
    who = world.principals[role]
    with database.session() as db:
        listed = set(db.scalars(select(Expert.public_id).where(
            policy.scope(who, Permission.EXPERTS_READ, Expert))))
        opened = {expert.public_id for expert in db.scalars(select(Expert))
                  if policy.allows(who, Permission.EXPERTS_READ, expert)}
    assert {names[key] for key in listed} == SEES[role]
    assert {names[key] for key in opened} == SEES[role]
