"""Deadlines: queued with the move into a state, run by the workers when due, acted on only if
the record still sits where it was."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Integer, MetaData, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from crrt.access.enums import Role
from crrt.access.policy import Permission
from crrt.access.resource import AccessMap
from crrt.audit.models import AuditEvent
from crrt.core import clock
from crrt.core.db import Database
from crrt.core.errors import Forbidden
from crrt.jobs import service as jobs
from crrt.jobs.models import JobTask
from crrt.workflow.machine import DEADLINE_TASK, MACHINES, Deadline, Machine, transition
from crrt.workflow.models import Stateful
from tests.conftest import World

T0 = datetime(2030, 3, 1, 9, 0, tzinfo=UTC)


class LocalBase(DeclarativeBase):
    """A test-only table, apart from the application's schema and migrations."""

    metadata = MetaData()


class Ticket(LocalBase, Stateful):
    __tablename__ = "test_workflow_tickets"
    __access__ = AccessMap("test_ticket")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(36), unique=True)
    severity: Mapped[int] = mapped_column(Integer, default=2)


def _load(db: Session, key: str) -> Ticket | None:
    return db.scalar(select(Ticket).where(Ticket.key == key))


def _by_severity(ticket: Ticket) -> timedelta:
    return timedelta(hours=4 if ticket.severity >= 3 else 24)


TICKET = Machine(
    "test_ticket", states=["open", "triaged", "escalated", "closed"],
    transitions=[
        transition("triage", sources=["open"], targets=["triaged"],
                   permission=Permission.ORGANISATIONS_WRITE),
        transition("escalate", sources=["open"], targets=["escalated"],
                   permission=Permission.ORGANISATIONS_WRITE),
        transition("close", sources=["triaged", "escalated"], targets=["closed"],
                   permission=Permission.ORGANISATIONS_WRITE),
    ],
    deadlines=[Deadline("open", timedelta(hours=1), name="warn"),
               Deadline("open", _by_severity, name="breach", then="escalated")],
    loader=_load)

WARNINGS: list[tuple[str, str]] = []


@TICKET.on_expiry
def _told(db: Session, record: Stateful, deadline: Deadline) -> None:
    assert isinstance(record, Ticket)
    WARNINGS.append((record.key, deadline.name))


@pytest.fixture
def tickets(database: Database, world: World) -> Iterator[Database]:
    """After the world is in place (it replaces the database wholesale)."""
    LocalBase.metadata.create_all(database.engine)
    WARNINGS.clear()
    yield database
    LocalBase.metadata.drop_all(database.engine)


def _open(database: Database, world, key: str, severity: int = 2) -> None:
    with clock.frozen(T0), database.session() as db:
        ticket = Ticket(key=key, state="new", severity=severity)
        db.add(ticket)
        ticket.state = "open"
        db.flush()
        for deadline in TICKET.deadlines:  # as a move into "open" would queue them
            jobs.schedule(db=db, name=DEADLINE_TASK, at=deadline.due(ticket), payload={
                "machine": TICKET.name, "object_type": "test_ticket", "object_id": key,
                "state": "open", "deadline": deadline.name,
                "since": ticket.state_since.isoformat()})


def _state(database: Database, key: str) -> str:
    with database.session() as db:
        ticket = _load(db, key)
        assert ticket is not None
        return ticket.state


def _run(database: Database, settings, at: datetime):
    with clock.frozen(at):
        return jobs.run_due(database, settings, worker_id="test")


def test_a_machine_with_deadlines_is_found_by_its_name():
    assert MACHINES["test_ticket"] is TICKET


def test_a_move_queues_the_deadlines_of_the_state_it_enters(tickets, world):
    with clock.frozen(T0), tickets.session() as db:
        db.add_all([Ticket(key="t1", state="triaged", severity=3),
                    Ticket(key="t2", state="escalated", severity=3),
                    Ticket(key="t3", state="open", severity=3)])
        db.flush()
        for key in ("t1", "t2"):
            ticket = _load(db, key)
            assert ticket is not None
            TICKET.move(db=db, actor=world.principals[Role.COORDINATOR], record=ticket,
                        target="closed", object_type="test_ticket", object_id=key)
        third = _load(db, "t3")
        assert third is not None
        with pytest.raises(Forbidden):
            TICKET.move(db=db, actor=world.principals[Role.OBSERVER], record=third,
                        target="triaged", object_type="test_ticket", object_id="t3")
        assert third.state == "open"
    with tickets.session() as db:
        queued = list(db.scalars(select(JobTask).where(JobTask.name == DEADLINE_TASK)))
        closes = list(db.scalars(select(AuditEvent).where(
            AuditEvent.action == "test_ticket.close").order_by(AuditEvent.seq)))
    assert queued == []  # "closed" has no deadline
    assert [e.object_id for e in closes] == ["t1", "t2"]


def test_nothing_happens_before_a_deadline_and_the_warning_comes_on_time(tickets, world,
                                                                        settings):
    _open(tickets, world, "t1")
    assert _run(tickets, settings, T0 + timedelta(minutes=59)).idle
    assert WARNINGS == []
    report = _run(tickets, settings, T0 + timedelta(hours=1))
    assert [o.result for o in report.outcomes] == ["reported"]
    assert WARNINGS == [("t1", "warn")] and _state(tickets, "t1") == "open"


def test_a_passed_deadline_moves_the_record_as_the_platform_and_audits_it(tickets, world,
                                                                          settings):
    _open(tickets, world, "urgent", severity=3)
    report = _run(tickets, settings, T0 + timedelta(hours=4))
    assert sorted(str(o.result) for o in report.outcomes) == ["moved to escalated",
                                                              "reported"]
    assert _state(tickets, "urgent") == "escalated"
    with tickets.session() as db:
        event = db.scalars(select(AuditEvent).where(
            AuditEvent.action == "test_ticket.escalate")).one()
    assert (event.actor, event.object_id, event.changes) == (
        "system:workflow", "urgent", {"state": ["open", "escalated"], "deadline": "breach"})


def test_a_deadline_of_a_state_the_record_has_left_does_nothing(tickets, world, settings):
    _open(tickets, world, "t2")
    with clock.frozen(T0 + timedelta(minutes=30)), tickets.session() as db:
        ticket = _load(db, "t2")
        assert ticket is not None
        TICKET.move(db=db, actor=world.principals[Role.COORDINATOR], record=ticket,
                    target="triaged", object_type="test_ticket", object_id="t2")
    report = _run(tickets, settings, T0 + timedelta(days=2))
    assert [o.result for o in report.outcomes] == ["moved on", "moved on"]
    assert WARNINGS == [] and _state(tickets, "t2") == "triaged"


def test_the_severity_sets_the_clock(tickets, world, settings):
    _open(tickets, world, "slow", severity=1)
    _run(tickets, settings, T0 + timedelta(hours=4))
    assert _state(tickets, "slow") == "open"
    _run(tickets, settings, T0 + timedelta(hours=24))
    assert _state(tickets, "slow") == "escalated"
