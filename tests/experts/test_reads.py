"""The pool's hot read answers exactly what the record-by-record path answers, byte for byte,
on both engines, for every role's scope and every filter."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest

from crrt.access.enums import Role
from crrt.core.pagination import Page
from crrt.experts import reads, service
from crrt.experts.schemas import ExpertFilter, ExpertOut, ExpertPatch, UnavailabilityIn
from tests.support import add_institution


@pytest.fixture
def pool(database, world, nominate):
    """Experts of two nations, with an institution, periods, many languages, a non-ASCII name,
    an erased record and one linked to the responder's account."""
    cert = add_institution(database, "EE", "CERT-EE (Riigi Infosüsteemi Amet)")
    kadri = nominate(institution_id=cert, user_email="responder@test.example")
    nominate(org="ES", email="lucia@es.example", name="Lucía Gómez-Žlutá",
             languages=["es", "en", "fr", "de"], deployability=["on_site"])
    gone = nominate(email="gone@ee.example", name="To Be Erased")
    coordinator = world.principals[Role.COORDINATOR]
    with database.session() as db:
        for starts, ends in ((date(2027, 5, 1), date(2027, 5, 9)),
                             (date(2026, 1, 1), date(2027, 4, 30))):
            service.add_unavailability(db=db, actor=coordinator, expert_id=kadri,
                                       data=UnavailabilityIn(starts_on=starts, ends_on=ends,
                                                             reason="Leave ☀"))
        service.update(db=db, actor=coordinator, expert_id=kadri,
                       data=ExpertPatch(phone=None, notes='Quotes " and \\ slashes'))
        service.erase(db=db, actor=coordinator, expert_id=gone)
    return kadri


def _reference(database, actor, filters: ExpertFilter, limit: int, cursor=None) -> bytes:
    """The same page the slow way: ORM objects, ExpertOut models, FastAPI's JSON encoding."""
    with database.session(read_only=True) as db:
        experts, next_cursor = service.list_experts(db=db, actor=actor, filters=filters,
                                                    limit=limit, cursor=cursor)
        model = Page[ExpertOut](items=[service.expert_out(db, actor, e) for e in experts],
                                next_cursor=next_cursor)
    return json.dumps(model.model_dump(mode="json"), ensure_ascii=False,
                      separators=(",", ":")).encode()


def _fast(database, actor, filters: ExpertFilter, limit: int, cursor=None) -> bytes:
    with database.session(read_only=True) as db:
        return reads.page(db=db, actor=actor, filters=filters, limit=limit, cursor=cursor)


@pytest.mark.parametrize("role", [Role.ADMIN, Role.COORDINATOR, Role.NATIONAL_POC,
                                  Role.RESPONDER])
@pytest.mark.parametrize("filters", [
    {}, {"include_erased": True}, {"org": "ES"}, {"skill": "malware_analysis", "min_level": 1},
    {"language": "fr"}, {"available_on": "2027-05-03"}, {"q": "ž"},
    {"deployability": "on_site"}, {"clearance": "RESTREINT UE"},
    {"available_on": "2027-05-10", "available_until": "2027-05-20"},
    {"available_on": "2027-05-09", "available_until": "2027-05-20"},
    {"available_until": "2027-05-03"}])
def test_the_hot_read_is_byte_for_byte_the_reference_answer(database, world, pool, role,
                                                            filters):
    actor, chosen = world.principals[role], ExpertFilter(**filters)
    assert _fast(database, actor, chosen, 50) == _reference(database, actor, chosen, 50)


def test_pages_and_cursors_agree_with_the_reference(database, world, pool, nominate):
    for n in range(5):
        nominate(email=f"more{n}@ee.example", name=f"More {n}")
    actor, everyone = world.principals[Role.COORDINATOR], ExpertFilter(include_erased=True)
    cursor, pages = None, 0
    while True:
        fast = _fast(database, actor, everyone, 3, cursor)
        assert fast == _reference(database, actor, everyone, 3, cursor)
        cursor, pages = json.loads(fast)["next_cursor"], pages + 1
        if cursor is None:
            break
    assert pages == 3  # 8 experts, 3 a page


def test_a_role_outside_the_pool_is_refused_as_before(database, world, pool):
    from crrt.core.errors import Forbidden

    with pytest.raises(Forbidden):
        _fast(database, world.principals[Role.OBSERVER], ExpertFilter(), 50)


@pytest.mark.parametrize("first, second", [
    ({"org": "ES"}, {"org": "EE"}), ({"q": "ž"}, {"q": "a"}),
    ({"language": "fr"}, {"language": "et"}), ({"clearance": "SECRET UE"}, {"clearance": "none"}),
    ({"available_on": "2027-05-03"}, {"available_on": "2028-01-01"}),
    ({"skill": "incident_handling", "min_level": 3}, {"skill": "cloud", "min_level": 1})])
def test_a_statement_built_once_binds_each_requests_values(database, world, pool, first, second):
    """The page's statement is built once per set of criteria: a second request of the same
    shape gets its own answer, not the first one's."""
    actor = world.principals[Role.COORDINATOR]
    answers = []
    for filters in (first, second, first):
        chosen = ExpertFilter(**filters)
        fast = _fast(database, actor, chosen, 50)
        assert fast == _reference(database, actor, chosen, 50)
        answers.append(fast)
    assert answers[0] == answers[2] != answers[1]


def test_a_search_for_a_wildcard_finds_only_that_character(database, world, nominate):
    nominate(email="pct@ee.example", name="Fifty % Kask")
    nominate(email="plain@ee.example", name="Plain Kask")
    actor = world.principals[Role.COORDINATOR]
    for q, names in (("%", ["Fifty % Kask"]), ("_", []), ("kask", ["Fifty % Kask", "Plain Kask"])):
        found = json.loads(_fast(database, actor, ExpertFilter(q=q), 50))["items"]
        assert sorted(e["name"] for e in found if "Kask" in e["name"]) == names


@pytest.mark.parametrize("role", [Role.ADMIN, Role.COORDINATOR, Role.NATIONAL_POC,
                                  Role.RESPONDER, Role.OBSERVER])
def test_one_expert_is_byte_for_byte_the_reference_or_missing_alike(database, world, pool,
                                                                    role):
    from crrt.core.errors import DomainError

    actor = world.principals[role]
    coordinator = world.principals[Role.COORDINATOR]
    with database.session(read_only=True) as db:
        everyone, _ = service.list_experts(db=db, actor=coordinator,
                                           filters=ExpertFilter(include_erased=True),
                                           limit=None, cursor=None)
        ids = [e.public_id for e in everyone]
    shown = 0
    for expert_id in ids:
        with database.session(read_only=True) as db:
            try:
                reference = service.expert_out(db, actor, service.get(db=db, actor=actor,
                                                                      expert_id=expert_id))
            except DomainError as missing:
                with pytest.raises(type(missing), match=re.escape(missing.detail)):
                    reads.one(db=db, actor=actor, expert_id=expert_id)
                continue
            expected = json.dumps(reference.model_dump(mode="json"), ensure_ascii=False,
                                  separators=(",", ":")).encode()
            assert reads.one(db=db, actor=actor, expert_id=expert_id) == expected
            shown += 1
    assert shown == {Role.ADMIN: 3, Role.COORDINATOR: 3, Role.NATIONAL_POC: 2,
                     Role.RESPONDER: 1, Role.OBSERVER: 0}[role]


def test_a_span_leaves_out_whoever_is_away_on_any_of_its_days(database, world, pool):
    """The pool's Kadri is away 2027-05-01..09 (and until 2027-04-30 before that)."""
    coordinator = world.principals[Role.COORDINATOR]

    def names(**span: str) -> set[str]:
        page = json.loads(_fast(database, coordinator, ExpertFilter(**span), 50))
        return {e["name"] for e in page["items"]}

    assert "Kadri Saar" in names(available_on="2027-05-10", available_until="2027-05-20")
    assert "Kadri Saar" not in names(available_on="2027-05-09", available_until="2027-05-20")
    assert "Kadri Saar" not in names(available_on="2027-04-30", available_until="2027-04-30")
    with pytest.raises(ValueError, match="before"):
        ExpertFilter(available_on="2027-05-10", available_until="2027-05-01")
