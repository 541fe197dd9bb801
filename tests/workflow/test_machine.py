"""The state machine helper: a table of moves, each permitted by the policy and audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from crrt.access.enums import Role
from crrt.access.policy import Permission
from crrt.audit.models import AuditEvent
from crrt.core.errors import Conflict, Forbidden
from crrt.organisations.models import Organisation
from crrt.workflow.machine import Deadline, Machine, transition

REQUEST = Machine(
    "request", states=["submitted", "triaged", "approved", "rejected", "closed"],
    transitions=[
        transition("triage", sources=["submitted"], targets=["triaged"],
                   permission=Permission.ORGANISATIONS_WRITE),
        transition("decide", sources=["triaged"], targets=["approved", "rejected"],
                   permission=Permission.ORGANISATIONS_WRITE),
        transition("close", sources=["approved", "rejected"], targets=["closed"],
                   permission=Permission.ORGANISATIONS_WRITE),
    ])


def test_a_move_in_the_table_is_found_by_its_ends():
    assert REQUEST.find("triaged", "rejected").name == "decide"
    assert [t.name for t in REQUEST.moves_from("approved")] == ["close"]
    assert REQUEST.moves_from("closed") == []


def test_a_move_outside_the_table_is_a_409_naming_what_is_possible():
    with pytest.raises(Conflict) as caught:
        REQUEST.find("submitted", "approved")
    assert caught.value.extra["possible"] == ["triaged"]
    assert "from submitted it may go to triaged" in caught.value.detail
    with pytest.raises(Conflict, match="final"):
        REQUEST.find("closed", "submitted")
    with pytest.raises(Conflict, match="already"):
        REQUEST.find("triaged", "triaged")


def test_a_table_naming_unknown_states_or_moves_is_refused_when_built():
    with pytest.raises(ValueError, match="unknown states"):
        Machine("broken", states=["a"], transitions=[
            transition("go", sources=["a"], targets=["b"],
                       permission=Permission.ORGANISATIONS_WRITE)])
    with pytest.raises(ValueError, match="does not exist"):
        Machine("broken", states=["a", "b"], transitions=[], deadlines=[
            Deadline("a", timedelta(hours=4), then="escalate")])


def test_the_policy_decides_who_may_make_a_move(database, world):
    with database.session() as db:
        estonia = db.scalars(select(Organisation).where(Organisation.code == "EE")).one()
        with pytest.raises(Forbidden):
            REQUEST.check(actor=world.principals[Role.NATIONAL_POC], current="submitted",
                          target="triaged", what=estonia)
        move = REQUEST.check(actor=world.principals[Role.COORDINATOR], current="submitted",
                             target="triaged", what=estonia)
        REQUEST.record(db=db, actor=world.principals[Role.COORDINATOR], move=move,
                       current="submitted", target="triaged", object_type="request",
                       object_id="r-1", changes={"note": "by phone"})
    with database.session() as db:
        event = db.scalars(select(AuditEvent).where(AuditEvent.action == "request.triage")).one()
    assert (event.object_type, event.object_id, event.actor) == (
        "request", "r-1", f"user:{world.users[Role.COORDINATOR]}")
    assert event.changes == {"state": ["submitted", "triaged"], "note": "by phone"}
