"""The TLP 2.0 table (DESIGN §1): who may read a marked record, and where it may go.

The reading table is written once, as data, and checked twice: in Python on
:class:`~crrt.access.resource.Resource` objects, and in SQL on both databases through a
test-only marked table, so the list a user sees and the record a user opens cannot disagree.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

import pytest
from sqlalchemy import Integer, MetaData, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from crrt.access import policy, tlp
from crrt.access.enums import Audience, Role, Tlp
from crrt.access.marking import Marked, name_recipients
from crrt.access.policy import Permission
from crrt.access.principal import Principal
from crrt.access.resource import AccessMap, Resource, recipients, resource_of
from crrt.core.db import Database, str_enum
from crrt.core.ids import PublicId
from crrt.organisations.models import Organisation
from tests.conftest import World

TEAM = "deployment:x"
ELSEWHERE = "deployment:elsewhere"


class LocalBase(DeclarativeBase):
    """Tables that exist only for these tests: not in the app's schema or its migrations."""

    metadata = MetaData()


class Note(LocalBase, Marked):
    __tablename__ = "test_marked_notes"
    __access__ = AccessMap("test_note", owner_org="owner_org_id", marking="tlp",
                           key="public_id", team="team_key")

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_org_id: Mapped[int] = mapped_column(Integer)
    team_key: Mapped[str | None] = mapped_column(String(64))


class LooseNote(LocalBase, PublicId):
    """A record whose marking may be left empty (a table that does not mix in Marked)."""

    __tablename__ = "test_loose_notes"
    __access__ = AccessMap("test_loose_note", owner_org="owner_org_id", marking="tlp",
                           key="public_id", team="team_key")

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_org_id: Mapped[int] = mapped_column(Integer)
    team_key: Mapped[str | None] = mapped_column(String(64))
    tlp: Mapped[Tlp | None] = mapped_column(str_enum(Tlp), nullable=True)


@pytest.fixture
def tables(database: Database, world: World) -> Iterator[None]:
    """After the world is in place (it replaces the database wholesale)."""
    LocalBase.metadata.create_all(database.engine)
    yield
    LocalBase.metadata.drop_all(database.engine)


# --- the reading table ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Who:
    """A reader, as one record sees them."""

    label: str
    role: Role
    own_org: bool               # of the organisation that owns the record
    named: str = ""             # "org": the record names their organisation; "person": them
    on_team: bool = False       # on the team the record belongs to


A, C, P, R, Q, OBS = (Role.ADMIN, Role.COORDINATOR, Role.NATIONAL_POC, Role.RESPONDER,
                      Role.REQUESTER, Role.OBSERVER)

MEMBER = Who("member of the owner org", R, own_org=True)
OWN_POC = Who("POC of the owner org", P, own_org=True)
OUTSIDER = Who("observer of another org", OBS, own_org=False)
OUTSIDE_REQUESTER = Who("requester of another org", Q, own_org=False)
OUTSIDE_ADMIN = Who("admin of another org", A, own_org=False)
COORDINATOR = Who("coordinator of another org", C, own_org=False)
ON_TEAM = Who("responder of another org on the team", R, own_org=False, on_team=True)
NAMED_ORG = Who("requester whose org is named", Q, own_org=False, named="org")
NAMED_PERSON = Who("observer named in person", OBS, own_org=False, named="person")
NAMED_MEMBER = Who("member of the owner org named in person", R, own_org=True, named="person")
NAMED_COORDINATOR = Who("coordinator named in person", C, own_org=False, named="person")
ON_TEAM_ORG_NAMED = Who("on the team, its org named", R, own_org=False, named="org",
                        on_team=True)

UNMARKED = None
MARKINGS = (Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER, Tlp.AMBER_STRICT, Tlp.RED, UNMARKED)
Y, N = True, False

READING: list[tuple[Who, tuple[bool, ...]]] = [
    # who                  CLEAR GREEN AMBER STRICT RED unmarked
    (MEMBER,               (Y,   Y,    Y,    Y,     N,  Y)),
    (OWN_POC,              (Y,   Y,    Y,    Y,     N,  Y)),
    (OUTSIDER,             (Y,   Y,    N,    N,     N,  N)),
    (OUTSIDE_REQUESTER,    (Y,   Y,    N,    N,     N,  N)),
    (OUTSIDE_ADMIN,        (Y,   Y,    N,    N,     N,  N)),
    (COORDINATOR,          (Y,   Y,    Y,    Y,     N,  Y)),
    (ON_TEAM,              (Y,   Y,    Y,    Y,     N,  Y)),
    (NAMED_ORG,            (Y,   Y,    Y,    N,     N,  Y)),
    (NAMED_PERSON,         (Y,   Y,    Y,    N,     Y,  Y)),
    (NAMED_MEMBER,         (Y,   Y,    Y,    Y,     Y,  Y)),
    (NAMED_COORDINATOR,    (Y,   Y,    Y,    Y,     Y,  Y)),
    (ON_TEAM_ORG_NAMED,    (Y,   Y,    Y,    Y,     N,  Y)),
]

CASES: list[tuple[Who, Tlp | None, bool]] = [
    (who, marking, expected)
    for who, answers in READING for marking, expected in zip(MARKINGS, answers, strict=True)]


def case_id(case: tuple[Who, Tlp | None, bool]) -> str:
    who, marking, expected = case
    answer = "reads" if expected else "may not read"
    return f"{who.label}-{marking.label if marking else 'unmarked'}-{answer}"


@dataclass(frozen=True)
class Staged:
    """One case made concrete: the reader, and the record's owner and recipients (every
    record is on the team ``TEAM``)."""

    reader: Principal
    owner_org_id: int
    recipient_org_ids: frozenset[int]
    recipient_user_ids: frozenset[int]


def stage(who: Who, reader: Principal, orgs: Iterable[int], users: Iterable[int]) -> Staged:
    """Place ``reader`` as ``who`` says; every record also names an organisation and a person
    who are not the reader, so a reader is never let in merely because someone is named."""
    assert reader.org_id is not None and reader.user_id is not None
    others = [org for org in orgs if org != reader.org_id]
    strangers = [user for user in users if user != reader.user_id]
    teams = frozenset({TEAM if who.on_team else ELSEWHERE})
    return Staged(
        reader=replace(reader, role=who.role, teams=teams),
        owner_org_id=reader.org_id if who.own_org else others[0],
        recipient_org_ids=frozenset({others[1], *([reader.org_id] if who.named == "org" else [])}),
        recipient_user_ids=frozenset({strangers[0],
                                      *([reader.user_id] if who.named == "person" else [])}),
    )


def made_up_reader() -> Principal:
    return Principal(user_id=10, email="reader@test.example", name="Reader", role=OBS, org_id=1,
                     org_code="EE")


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_reading_a_marked_record(case: tuple[Who, Tlp | None, bool]):
    who, marking, expected = case
    staged = stage(who, made_up_reader(), orgs=(1, 2, 3), users=(10, 11))
    record = Resource(kind="test_note", key=uuid.uuid4(), owner_org_id=staged.owner_org_id,
                      marking=marking, recipient_org_ids=staged.recipient_org_ids,
                      recipient_user_ids=staged.recipient_user_ids, teams=frozenset({TEAM}))
    assert tlp.may_read(staged.reader, record) is expected
    assert policy.allows(staged.reader, Permission.MARKED_READ, record) is expected


def test_the_reading_table_in_sql_agrees_with_the_table_and_with_the_single_record(
        database: Database, world: World, tables: None):
    with database.session() as db:
        orgs = list(db.scalars(select(Organisation.id).order_by(Organisation.id)))
    users = list(world.users.values())
    wrong: list[str] = []
    with database.session() as db:
        rows: list[tuple[str, Principal, Note, bool]] = []
        for case in CASES:
            who, marking, expected = case
            staged = stage(who, world.principals[who.role], orgs, users)
            note = Note(owner_org_id=staged.owner_org_id, team_key=TEAM)
            if marking is not None:  # an unmarked Note keeps the Marked default
                note.tlp = marking
            db.add(note)
            name_recipients(db, note, organisations=staged.recipient_org_ids,
                            users=staged.recipient_user_ids)
            rows.append((case_id(case), staged.reader, note, expected))
        db.commit()
        resources = {note.id: resource_of(note) for _, _, note, _ in rows}
        for label, reader, note, expected in rows:
            listed = set(db.scalars(select(Note.id).where(
                policy.scope(reader, Permission.MARKED_READ, Note))))
            opened = {note_id for note_id, resource in resources.items()
                      if policy.allows(reader, Permission.MARKED_READ, resource)}
            if (note.id in listed) is not expected:
                wrong.append(f"{label}: the list {'hides' if expected else 'shows'} it")
            if (note.id in opened) is not expected:
                wrong.append(f"{label}: the record {'is refused' if expected else 'opens'}")
            if listed != opened:
                wrong.append(f"{label}: the list and the records differ on {listed ^ opened}")
    assert not wrong, "\n".join(wrong)


def test_a_marked_record_left_unmarked_is_amber(database: Database, tables: None):
    with database.session() as db:
        note = Note(owner_org_id=1)
        db.add(note)
        db.flush()
        assert note.tlp is Tlp.AMBER
        assert resource_of(note).marking is Tlp.AMBER


UNMARKED_CASES = [(who, expected) for who, marking, expected in CASES if marking is UNMARKED]


def test_a_record_with_no_marking_is_read_as_amber_in_sql_and_one_by_one(
        database: Database, world: World, tables: None):
    with database.session() as db:
        orgs = list(db.scalars(select(Organisation.id).order_by(Organisation.id)))
    users = list(world.users.values())
    wrong: list[str] = []
    with database.session() as db:
        for who, expected in UNMARKED_CASES:
            staged = stage(who, world.principals[who.role], orgs, users)
            note = LooseNote(owner_org_id=staged.owner_org_id, team_key=TEAM, tlp=None)
            db.add(note)
            name_recipients(db, note,
                            organisations=staged.recipient_org_ids,
                            users=staged.recipient_user_ids)
            listed = set(db.scalars(select(LooseNote.id).where(
                policy.scope(staged.reader, Permission.MARKED_READ, LooseNote))))
            if (note.id in listed) is not expected:
                wrong.append(f"{who.label}: the list {'hides' if expected else 'shows'} it")
            if policy.allows(staged.reader, Permission.MARKED_READ, note) is not expected:
                wrong.append(f"{who.label}: the record {'is refused' if expected else 'opens'}")
            db.delete(note)
            db.flush()
    assert not wrong, "\n".join(wrong)


# --- named recipients ----------------------------------------------------------------------------

def named_on(db: Session, note: Note) -> tuple[frozenset[int], frozenset[int]]:
    return recipients(db, "test_note", note.public_id)


def test_naming_recipients_replaces_those_named_before(database: Database, world: World,
                                                       tables: None):
    with database.session() as db:
        orgs = list(db.scalars(select(Organisation.id).order_by(Organisation.id)))
        note = Note(owner_org_id=orgs[0], tlp=Tlp.AMBER)
        db.add(note)
        name_recipients(db, note, organisations=[orgs[1], orgs[2]],
                        users=[world.users[Role.REQUESTER]])
        name_recipients(db, note, organisations=[orgs[3]], users=[world.users[Role.OBSERVER]])
        assert named_on(db, note) == (frozenset({orgs[3]}),
                                      frozenset({world.users[Role.OBSERVER]}))


def test_deleting_a_marked_record_forgets_its_recipients(database: Database, world: World,
                                                         tables: None):
    with database.session() as db:
        orgs = list(db.scalars(select(Organisation.id).order_by(Organisation.id)))
        gone, kept = Note(owner_org_id=orgs[0], tlp=Tlp.RED), Note(owner_org_id=orgs[0],
                                                                     tlp=Tlp.RED)
        db.add_all([gone, kept])
        for note in (gone, kept):
            name_recipients(db, note, organisations=[orgs[1]], users=[world.users[Role.OBSERVER]])
    with database.session() as db:
        db.delete(db.get(Note, gone.id))
    with database.session() as db:
        assert named_on(db, gone) == (frozenset(), frozenset())
        assert named_on(db, kept) == (frozenset({orgs[1]}),
                                      frozenset({world.users[Role.OBSERVER]}))


def test_a_new_record_that_reuses_a_deleted_ones_key_is_named_to_no_one(
        database: Database, world: World, tables: None):
    with database.session() as db:
        note = Note(owner_org_id=1, tlp=Tlp.RED)
        db.add(note)
        name_recipients(db, note, users=[world.users[Role.OBSERVER]])
        key = note.public_id
    with database.session() as db:
        db.delete(db.get(Note, note.id))
    with database.session() as db:
        again = Note(owner_org_id=1, tlp=Tlp.RED, public_id=key)
        db.add(again)
        db.flush()
        observer = world.principals[Role.OBSERVER]
        assert not policy.allows(observer, Permission.MARKED_READ, again)
        assert db.scalars(select(Note.id).where(
            policy.scope(observer, Permission.MARKED_READ, Note))).all() == []


# --- leaving this node ---------------------------------------------------------------------------

OWNER, NAMED_ORG, OTHER = 1, 2, 3
DESTINATIONS: tuple[tuple[str, Audience, int | None], ...] = (
    ("public", Audience.PUBLIC, None),
    ("community", Audience.COMMUNITY, None),
    ("owner's node", Audience.ORGANISATION, OWNER),
    ("named org's node", Audience.ORGANISATION, NAMED_ORG),
    ("another org's node", Audience.ORGANISATION, OTHER),
    ("an org not said", Audience.ORGANISATION, None),
)

LEAVING: list[tuple[Tlp | None, tuple[bool, ...]]] = [
    # marking          public community owner's named's another's unsaid
    (Tlp.CLEAR,        (True,  True,     True,   True,   True,     True)),
    (Tlp.GREEN,        (False, True,     True,   True,   True,     True)),
    (Tlp.AMBER,        (False, False,    True,   True,   False,    False)),
    (Tlp.AMBER_STRICT, (False, False,    True,   False,  False,    False)),
    (Tlp.RED,          (False, False,    False,  False,  False,    False)),
    (UNMARKED,         (False, False,    True,   True,   False,    False)),
]

LEAVING_CASES = [
    pytest.param(marking, audience, org_id, expected,
                 id=f"{marking.label if marking else 'unmarked'}-{place}")
    for marking, answers in LEAVING
    for (place, audience, org_id), expected in zip(DESTINATIONS, answers, strict=True)]


@pytest.mark.parametrize(("marking", "audience", "org_id", "expected"), LEAVING_CASES)
def test_leaving_this_node(marking: Tlp | None, audience: Audience, org_id: int | None,
                           expected: bool):
    record = Resource(kind="test_note", key=uuid.uuid4(), owner_org_id=OWNER, marking=marking,
                      recipient_org_ids=frozenset({NAMED_ORG}),
                      recipient_user_ids=frozenset({10}))
    assert tlp.may_leave(record, audience, org_id) is expected


# --- markings themselves -------------------------------------------------------------------------

@pytest.mark.parametrize(("marking", "ceiling", "expected"), [
    (Tlp.CLEAR, Tlp.CLEAR, True),
    (Tlp.GREEN, Tlp.CLEAR, False),
    (Tlp.GREEN, Tlp.AMBER, True),
    (Tlp.AMBER, Tlp.AMBER, True),
    (Tlp.AMBER_STRICT, Tlp.AMBER, False),
    (Tlp.AMBER, Tlp.AMBER_STRICT, True),
    (Tlp.RED, Tlp.AMBER_STRICT, False),
    (Tlp.RED, Tlp.RED, True),
    (Tlp.CLEAR, Tlp.RED, True),
], ids=lambda v: v.label if isinstance(v, Tlp) else str(v))
def test_a_marking_within_a_ceiling(marking: Tlp, ceiling: Tlp, expected: bool):
    assert tlp.at_most(marking, ceiling) is expected


@pytest.mark.parametrize(("marking", "label"), [
    (Tlp.CLEAR, "TLP:CLEAR"), (Tlp.GREEN, "TLP:GREEN"), (Tlp.AMBER, "TLP:AMBER"),
    (Tlp.AMBER_STRICT, "TLP:AMBER+STRICT"), (Tlp.RED, "TLP:RED")], ids=str)
def test_a_marking_is_written_as_tlp_2_spells_it(marking: Tlp, label: str):
    assert marking.label == label


@pytest.mark.parametrize(("given", "read_as"), [
    ("red", Tlp.RED), ("RED", Tlp.RED), ("TLP:AMBER+STRICT", Tlp.AMBER_STRICT),
    (" Green ", Tlp.GREEN), ("purple", Tlp.RED), ("", Tlp.RED)])
def test_a_marking_spelt_otherwise_is_understood_and_an_unknown_one_is_red(given, read_as):
    record = Resource(kind="note", owner_org_id=1, marking=given)  # as an import might build
    assert record.marking is read_as
    coordinator = Principal(user_id=5, email="c@x", name="c", role=Role.COORDINATOR,
                            org_id=2, org_code="LT")
    assert tlp.may_read(coordinator, record) is (read_as not in (Tlp.RED,))
    assert tlp.may_leave(record, Audience.ORGANISATION, 1) is (read_as is not Tlp.RED)
