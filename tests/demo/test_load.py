"""The demo picture loads through the services, completely, once, and stays audited."""

from __future__ import annotations

import pytest

from crrt.audit import service as audit
from crrt.auth import service as auth
from crrt.demo import data
from crrt.demo.load import DEMO, is_empty, load, logins
from crrt.experts import service as experts
from crrt.experts.schemas import ExpertFilter
from crrt.organisations import service as organisations


def test_the_demo_data_keeps_its_own_invariants(monkeypatch):
    data.check()
    # and check() is a real guard: a picture with a second lead is refused
    second_lead = [dict(o, membership="lead") if o["code"] == "EE" else o
                   for o in data.ORGANISATIONS]
    monkeypatch.setattr(data, "ORGANISATIONS", second_lead)
    with pytest.raises(AssertionError):
        data.check()


def test_loading_the_demo_builds_the_project_picture(database):
    with database.session() as db:
        assert is_empty(db)
        summary = load(db)
    assert (summary.organisations, summary.institutions, summary.users, summary.experts) == (
        17, len(data.INSTITUTIONS), len(data.USERS), 60)
    with database.session() as db:
        orgs = {o.code: o for o in organisations.all_organisations(db=db, actor=DEMO)}
        assert orgs["LT"].membership == "lead"
        assert {c for c, o in orgs.items() if o.membership == "observer"} == {
            "BE", "GR", "SI", "DE"}
        finland = [(c.event.value, c.membership) for c in orgs["FI"].history]
        assert finland == [("joined", "observer"), ("role_changed", "participant")]
        by_nation = {code: n for code, _name, n in experts.counts_by_nation(db=db, actor=DEMO)}
        assert sum(by_nation.values()) == 60 and by_nation["LT"] >= by_nation["EE"] > 0
        responder = auth.find_by_email(db=db, actor=DEMO, email="responder@crrt.example")
        mine, _ = experts.list_experts(db=db, actor=auth.principal_of(db, responder),
                                       filters=ExpertFilter(), limit=10, cursor=None)
        assert [e.email for e in mine] == ["kristjan.tamm@ria.ee.example"]
        assert audit.verify(db=db).ok


def test_loading_the_demo_twice_adds_nothing(database):
    with database.session() as db:
        load(db)
    with database.session() as db:
        events_before = audit.verify(db=db).events
        again = load(db)
        assert "nothing added" in str(again)
        assert audit.verify(db=db).events == events_before
        assert not is_empty(db)


def test_the_logins_list_every_demo_account_and_the_password():
    text = logins()
    assert data.DEMO_PASSWORD in text
    assert all(user["email"] in text for user in data.USERS)
