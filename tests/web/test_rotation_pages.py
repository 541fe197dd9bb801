"""The rotation pages as a browser gets them: what could not be filled, worded by the page in
the viewer's language from the plan's structured reasons; a seated expert's nomination held;
the duty page of an account with no expert record."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

from crrt.access.enums import Role
from tests.rotations.test_service import SMALL, draft, make_template, publish, small_pool
from tests.web.conftest import post_form

LOCALE = Path(__file__).resolve().parents[2] / "crrt" / "web" / "locale"
NOBODY = "Nobody in the pool qualifies: nominate such an expert or lower the seat's level."


def translated(language: str, message: str) -> str:
    with (LOCALE / language / "LC_MESSAGES" / "messages.po").open("rb") as source:
        found = read_po(source, locale=language).get(message)
    assert found is not None and found.string, f"{message!r} has no {language} translation"
    return str(found.string)


def _gapped_plan(database):
    small_pool(database)
    template = make_template(database, name="Gapped team", max_size=5, languages=["en", "mt"],
                             slots=[*SMALL["slots"], {"skill": "ot_ics", "min_level": 3}])
    return draft(database, template, seconds=1)


def test_what_could_not_be_filled_is_said_in_the_viewers_words(browser, database):
    plan = _gapped_plan(database)
    coordinator = browser(Role.COORDINATOR)
    page = coordinator.get(f"/rotations/plans/{plan.id}").text
    assert "What could not be filled" in page
    assert NOBODY in page
    assert "no member of the team speaks Maltese" in page
    lithuanian = coordinator.get(f"/rotations/plans/{plan.id}",
                                 headers={"Accept-Language": "lt"}).text
    assert translated("lt", NOBODY) in lithuanian
    assert NOBODY not in lithuanian
    assert "maltiečių" in lithuanian  # Maltese, as Babel names it in Lithuanian


def test_a_seated_experts_nomination_waits_for_a_replacement(browser, database):
    plan = _gapped_plan(database)
    publish(database, plan.id)
    seated = plan.rotations[0].members[0].expert_id
    coordinator = browser(Role.COORDINATOR)
    answer = post_form(coordinator, f"/experts/{seated}/withdraw",
                       f"/experts/{seated}/withdraw", {})
    assert answer.status_code == 409
    assert "holds a seat on a rotation that is not over" in answer.text
    assert coordinator.get(f"/experts/{seated}").status_code == 200  # still there


def test_an_account_without_an_expert_record_has_no_duty(browser, database):
    page = browser(Role.COORDINATOR).get("/duty")
    assert page.status_code == 200
    assert "Your account is not linked to an expert record" in page.text
