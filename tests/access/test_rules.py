"""The condition algebra on its own: each condition answers for one record (``holds``) and
as a SQL filter (``where``), and ``|`` and ``&`` combine them alike both ways."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from sqlalchemy import Integer, MetaData, String, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crrt.access import policy
from crrt.access.enums import Role
from crrt.access.models import Recipient
from crrt.access.policy import Permission
from crrt.access.principal import Principal
from crrt.access.resource import AccessMap, Resource, columns_of, resource_of
from crrt.access.rules import (
    ANYTHING,
    NAMED,
    NAMED_PERSON,
    ON_TEAM,
    OWN_ORGANISATION,
    OWN_RECORD,
    Both,
    Condition,
    Either,
    RoleIs,
    Rule,
    grant,
)
from crrt.access.tlp import READABLE
from crrt.core.db import Database
from crrt.core.ids import PublicId
from tests.conftest import World

TEAM = "deployment:x"
MY_ORG, OTHER_ORG = 1, 2
ME, SOMEONE = 10, 11


class LocalBase(DeclarativeBase):
    """Tables that exist only for these tests: not in the app's schema or its migrations."""

    metadata = MetaData()


class Record(LocalBase):
    __tablename__ = "test_rule_records"
    __access__ = AccessMap("test_record", owner_org="owner_org_id",
                           subject_user="subject_user_id", team="team_key")

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_org_id: Mapped[int] = mapped_column(Integer)
    subject_user_id: Mapped[int] = mapped_column(Integer)
    team_key: Mapped[str | None] = mapped_column(String(64))


class Keyed(LocalBase, PublicId):
    """A table whose records are named by key, with no marking."""

    __tablename__ = "test_rule_keyed"
    __access__ = AccessMap("test_keyed", key="public_id")

    id: Mapped[int] = mapped_column(primary_key=True)


class Bare(LocalBase):
    """A table that declares nothing rules could look at."""

    __tablename__ = "test_rule_bare"
    __access__ = AccessMap("test_bare")

    id: Mapped[int] = mapped_column(primary_key=True)


class Undeclared(LocalBase):
    __tablename__ = "test_rule_undeclared"

    id: Mapped[int] = mapped_column(primary_key=True)


@pytest.fixture
def tables(database: Database, world: World) -> Iterator[None]:
    """After the world is in place (it replaces the database wholesale)."""
    LocalBase.metadata.create_all(database.engine)
    yield
    LocalBase.metadata.drop_all(database.engine)


@pytest.fixture
def records(database: Database, tables: None) -> list[Record]:
    """One record for every combination of owner, subject and team."""
    with database.session() as db:
        rows = [Record(owner_org_id=org, subject_user_id=user, team_key=team)
                for org, user, team in itertools.product((MY_ORG, OTHER_ORG), (ME, SOMEONE),
                                                         (TEAM, None))]
        db.add_all(rows)
    return rows


def principal(role: Role, *, org_id: int | None = MY_ORG, user_id: int | None = ME,
              teams: frozenset[str] = frozenset()) -> Principal:
    return Principal(user_id=user_id, email="someone@test.example", name="Someone", role=role,
                     org_id=org_id, org_code=None, teams=teams)


PRINCIPALS = {
    "responder on the team": principal(Role.RESPONDER, teams=frozenset({TEAM})),
    "coordinator on no team": principal(Role.COORDINATOR),
    "poc of no organisation": principal(Role.NATIONAL_POC, org_id=None,
                                        teams=frozenset({"deployment:y"})),
    "the platform itself": Principal.system("tests"),
}
RESOURCES = [Resource(kind="test_record", owner_org_id=org, subject_user_id=user,
                      teams=frozenset({team}) if team else frozenset())
             for org, user, team in itertools.product((MY_ORG, OTHER_ORG), (ME, SOMEONE),
                                                      (TEAM, None))]
BASE: dict[str, Condition] = {
    "own organisation": OWN_ORGANISATION,
    "own record": OWN_RECORD,
    "on team": ON_TEAM,
    "coordinator": RoleIs(Role.COORDINATOR),
}
PAIRS = list(itertools.permutations(BASE, 2))


def answers(condition: Condition, who: Principal) -> list[bool]:
    return [condition.holds(who, resource) for resource in RESOURCES]


@pytest.mark.parametrize(("first", "second"), PAIRS, ids="|".join)
def test_either_holds_where_one_of_its_conditions_holds(first: str, second: str):
    a, b = BASE[first], BASE[second]
    for who in PRINCIPALS.values():
        expected = [x or y for x, y in zip(answers(a, who), answers(b, who), strict=True)]
        assert answers(a | b, who) == expected
        assert answers(b | a, who) == expected


@pytest.mark.parametrize(("first", "second"), PAIRS, ids="&".join)
def test_both_holds_where_each_of_its_conditions_holds(first: str, second: str):
    a, b = BASE[first], BASE[second]
    for who in PRINCIPALS.values():
        expected = [x and y for x, y in zip(answers(a, who), answers(b, who), strict=True)]
        assert answers(a & b, who) == expected
        assert answers(b & a, who) == expected


def test_each_condition_answers_for_some_records_and_not_others():
    """Guards the tests above: a condition that always or never held would prove nothing."""
    who = PRINCIPALS["responder on the team"]
    for name in ("own organisation", "own record", "on team"):
        assert set(answers(BASE[name], who)) == {True, False}, name


def test_no_condition_at_all_is_never_met_by_either_and_always_by_both():
    who = PRINCIPALS["responder on the team"]
    assert answers(Either(), who) == [False] * len(RESOURCES)
    assert answers(Both(), who) == [True] * len(RESOURCES)


COMBINED: dict[str, Condition] = {
    **BASE,
    **{f"{a} | {b}": BASE[a] | BASE[b] for a, b in PAIRS},
    **{f"{a} & {b}": BASE[a] & BASE[b] for a, b in PAIRS},
    "(own organisation | own record) & on team":
        (OWN_ORGANISATION | OWN_RECORD) & ON_TEAM,
    "own organisation | (own record & on team)":
        OWN_ORGANISATION | (OWN_RECORD & ON_TEAM),
    "coordinator | (own organisation & on team)":
        RoleIs(Role.COORDINATOR) | (OWN_ORGANISATION & ON_TEAM),
    "anything": ANYTHING,
    "neither of nothing": Either(),
    "both of nothing": Both(),
}


def test_every_condition_selects_in_sql_the_records_it_holds_for(database: Database,
                                                                 records: list[Record]):
    wrong: list[str] = []
    with database.session() as db:
        loaded = {row.id: resource_of(db.get(Record, row.id)) for row in records}
        columns = columns_of(Record)
        for (name, condition), (label, who) in itertools.product(COMBINED.items(),
                                                                 PRINCIPALS.items()):
            selected = set(db.scalars(select(Record.id).where(condition.where(who, columns))))
            held = {key for key, resource in loaded.items() if condition.holds(who, resource)}
            if selected != held:
                wrong.append(f"{name} for the {label}: SQL {sorted(selected)}, "
                             f"one by one {sorted(held)}")
    assert not wrong, "\n".join(wrong)


# --- rules: grants per role ----------------------------------------------------------------------

RULE = Rule(grant(Role.COORDINATOR),
            grant(Role.NATIONAL_POC, when=OWN_ORGANISATION),
            grant(Role.RESPONDER, Role.NATIONAL_POC, when=OWN_RECORD))


@pytest.mark.parametrize(("role", "applies"), [
    (Role.COORDINATOR, True), (Role.NATIONAL_POC, True), (Role.RESPONDER, True),
    (Role.ADMIN, False), (Role.REQUESTER, False), (Role.OBSERVER, False)], ids=str)
def test_a_rule_applies_to_the_roles_it_grants_whatever_the_condition(role: Role,
                                                                      applies: bool):
    assert RULE.applies_to(principal(role)) is applies


def test_a_rule_without_grants_applies_to_no_one():
    assert not any(Rule().applies_to(principal(role)) for role in Role)


def test_a_grant_to_one_role_lends_nothing_to_another():
    someone_elses = Resource(kind="test_record", owner_org_id=OTHER_ORG, subject_user_id=SOMEONE)
    assert RULE.holds(principal(Role.COORDINATOR), someone_elses)
    assert not RULE.holds(principal(Role.RESPONDER), someone_elses)
    assert not RULE.holds(principal(Role.NATIONAL_POC), someone_elses)
    assert not RULE.holds(principal(Role.ADMIN), someone_elses)


def test_a_rule_selects_in_sql_the_records_it_holds_for(database: Database,
                                                        records: list[Record]):
    with database.session() as db:
        loaded = {row.id: resource_of(db.get(Record, row.id)) for row in records}
        for role in Role:
            who = principal(role, teams=frozenset({TEAM}))
            selected = set(db.scalars(select(Record.id).where(
                RULE.where(who, columns_of(Record)))))
            held = {key for key, resource in loaded.items() if RULE.holds(who, resource)}
            assert selected == held, role


def test_a_rule_on_named_people_agrees_in_sql_and_one_by_one_without_a_marking(
        database: Database, world: World, tables: None):
    observer = world.principals[Role.OBSERVER]
    rule = Rule(grant(Role.OBSERVER, when=NAMED_PERSON))
    with database.session() as db:
        named, unnamed = Keyed(), Keyed()
        db.add_all([named, unnamed])
        db.flush()
        db.add(Recipient(resource_type="test_keyed", resource_key=named.public_id,
                         user_id=observer.user_id))
        db.flush()
        selected = set(db.scalars(select(Keyed.id).where(rule.where(observer,
                                                                    columns_of(Keyed)))))
        held = {row.id for row in (named, unnamed) if rule.holds(observer, resource_of(row))}
    assert selected == {named.id}
    assert held == {named.id}


# --- a rule needs what the table declares ---------------------------------------------------

NEEDS = [
    pytest.param(OWN_ORGANISATION, "owner organisation", id="own organisation"),
    pytest.param(OWN_RECORD, "subject account", id="own record"),
    pytest.param(ON_TEAM, "team", id="on team"),
    pytest.param(NAMED, "public id", id="named"),
    pytest.param(NAMED_PERSON, "public id", id="named person"),
    pytest.param(READABLE, "marking", id="readable"),
    pytest.param(RoleIs(Role.NATIONAL_POC) & OWN_ORGANISATION, "owner organisation",
                 id="within a combination"),
]
ASKERS = {
    "a poc of an organisation on a team": principal(Role.NATIONAL_POC,
                                                    teams=frozenset({TEAM})),
    "a poc of no organisation on no team": principal(Role.NATIONAL_POC, org_id=None),
}


@pytest.mark.parametrize("asker", ASKERS)
@pytest.mark.parametrize(("condition", "what"), NEEDS)
def test_a_rule_on_a_table_that_does_not_declare_what_it_needs_is_refused_clearly(
        condition: Condition, what: str, asker: str):
    rule = Rule(grant(Role.NATIONAL_POC, when=condition))
    with pytest.raises(TypeError, match=f"needs the {what} of test_bare: declare it in "
                                        "__access__"):
        rule.where(ASKERS[asker], columns_of(Bare))


def test_a_condition_on_the_role_alone_needs_no_column():
    rule = Rule(grant(Role.NATIONAL_POC, when=RoleIs(Role.NATIONAL_POC)))
    def sql(role: Role) -> str:
        clause = rule.where(principal(role), columns_of(Bare))
        return str(clause.compile(dialect=postgresql.dialect()))

    assert sql(Role.NATIONAL_POC) == "true"  # no column of the table was needed
    assert sql(Role.OBSERVER) == "false"


def test_a_table_without_an_access_declaration_is_refused_clearly():
    with pytest.raises(TypeError, match=r"Undeclared declares no __access__ = AccessMap"):
        policy.scope(principal(Role.COORDINATOR), Permission.EXPERTS_READ, Undeclared)
    with pytest.raises(TypeError, match=r"Undeclared declares no __access__ = AccessMap"):
        policy.allows(principal(Role.COORDINATOR), Permission.EXPERTS_READ, Undeclared(id=1))
