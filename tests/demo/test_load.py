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
    assert summary.requests == len(data.REQUESTS)


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


def test_the_demos_plans_move_to_the_day_it_is_loaded(database):
    """Loaded months later, the planned absences are still ahead and the clearances still
    run out on the same schedule; the project's membership history does not move."""
    from datetime import UTC, date, datetime

    from crrt.core import clock

    loaded_on = date(2027, 3, 1)
    with clock.frozen(datetime(2027, 3, 1, 9, tzinfo=UTC)), database.session() as db:
        load(db)
    shift = loaded_on - data.DEMO_TODAY
    with database.session() as db:
        mart = experts.find_by_email(db=db, actor=DEMO, org="EE", email="mart.kask@mil.ee.example")
        assert [(u.starts_on, u.ends_on) for u in mart.unavailability] == [
            (date(2026, 11, 30) + shift, date(2026, 12, 4) + shift)]
        assert mart.pgp_fingerprint and len(mart.pgp_fingerprint) == 40
        finland = organisations.get(db=db, actor=DEMO, code="FI")
        assert [c.effective_on.year for c in finland.history] == [2018, 2019]  # as written


def test_the_demo_has_records_no_one_confirmed_for_over_a_year(database):
    from datetime import UTC, datetime

    from crrt.core import clock

    with clock.frozen(datetime(2027, 3, 1, 9, tzinfo=UTC)), database.session() as db:
        load(db)
    with clock.frozen(datetime(2027, 3, 1, 10, tzinfo=UTC)), database.session() as db:
        stale = experts.stale_count(db=db, actor=DEMO)
        andres = experts.find_by_email(db=db, actor=DEMO, org="EE",
                                       email="andres.sepp@mil.ee.example")
        assert stale == 6
        assert andres.verified_at is not None
        assert experts.is_stale(andres.verified_at, clock.now())
