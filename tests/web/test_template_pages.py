"""The team template pages: the list with each template's slots, and the form that makes or
changes one, its refusals told by the field, for those who plan rotations only."""

from __future__ import annotations

import re

import pytest

from crrt.access.enums import Role
from crrt.audit import service as audit
from crrt.rotations import service
from crrt.rotations.schemas import TemplateIn
from tests.conftest import SYSTEM
from tests.web.conftest import post_form

NEW = "/rotations/templates/new"
SMALL = {"name": "Small team", "min_size": 3, "max_size": 4, "min_nations": 2,
         "max_per_nation": 2, "languages": ["en"],
         "slots": [{"skill": "team_lead", "min_level": 2, "count": 1},
                   {"skill": "incident_handling", "min_level": 1, "count": 2,
                    "clearance": "RESTREINT UE"}]}
FORM = {"name": "Forensic team", "min_size": "3", "max_size": "5", "min_nations": "2",
        "max_per_nation": "2", "languages": "en fr, de", "consecutive": "1",
        "slot-1-skill": "team_lead", "slot-1-min_level": "2", "slot-1-count": "1",
        "slot-1-clearance": "none", "slot-1-lead": "1",
        "slot-2-skill": "digital_forensics", "slot-2-min_level": "3", "slot-2-count": "2",
        "slot-2-clearance": "SECRET UE"}


def add_template(database, data: dict | None = None):
    with database.session() as db:
        return service.create_template(db=db, actor=SYSTEM,
                                       data=TemplateIn.model_validate(data or SMALL)).public_id


def stored(database, name: str):
    with database.session() as db:
        return service.template_out(service.template_named(db=db, actor=SYSTEM, name=name))


def invalid(html: str, field: str) -> bool:
    """Whether the field is marked invalid, points at its error, and the summary links to it."""
    return bool(re.search(rf'id="{field}"[^>]*aria-describedby="[^"]*{field}-error[^"]*" '
                          r'aria-invalid="true"', html)) and f'id="{field}-error"' in html \
        and f'href="#{field}"' in html


def errors_of(html: str) -> list[str]:
    return re.findall(r'class="field-error" id="([^"]+)-error"', html)


def test_the_list_shows_each_template_with_its_slots(browser, database):
    template_id = add_template(database)
    page = browser(Role.RESPONDER).get("/rotations/templates")
    assert page.status_code == 200
    rows = re.findall(r"<tr>\s*<th scope=\"row\">(.*?)</th>\s*<td>(.*?)</td>\s*"
                      r"<td class=\"num\">(.*?)</td>\s*<td>(.*?)</td>", page.text)
    assert [(skill, count, clearance) for skill, _level, count, clearance in rows] == [
        ("Team lead", "1", "None"), ("Incident handling", "2", "RESTREINT UE")]
    assert "badge--lead" in page.text
    assert f'href="/rotations/templates/{template_id}/edit"' not in page.text
    assert 'href="/rotations/templates/new"' not in page.text


def test_a_coordinator_is_offered_new_and_edit(browser, database):
    template_id = add_template(database)
    page = browser(Role.COORDINATOR).get("/rotations/templates").text
    assert 'href="/rotations/templates/new"' in page
    assert f'href="/rotations/templates/{template_id}/edit"' in page


def test_a_coordinator_creates_a_template_and_it_is_audited(browser, database):
    coordinator = browser(Role.COORDINATOR)
    answer = post_form(coordinator, NEW, NEW, FORM)
    assert answer.status_code == 303
    made = stored(database, "Forensic team")
    assert answer.headers["location"] == f"/rotations/templates?saved={made.id}"
    assert (made.min_size, made.max_size, made.size, made.languages, made.consecutive) == (
        3, 5, 3, ["en", "fr", "de"], True)
    assert [(s.skill.value, s.min_level, s.count, s.clearance.value, s.lead)
            for s in made.slots] == [("team_lead", 2, 1, "none", True),
                                     ("digital_forensics", 3, 2, "SECRET UE", False)]
    with database.session() as db:
        [event] = audit.events_about(db=db, object_type="team_template", object_id=made.id)
        assert event.action == "team_template.created"
    listed = coordinator.get(answer.headers["location"]).text
    assert 'role="status"' in listed and "Forensic team" in listed


def test_blank_rows_are_ignored_wherever_they_are(browser, database):
    form = {k: v for k, v in FORM.items() if not k.startswith("slot-2-")}
    form |= {"slot-2-skill": "", "slot-2-count": "5", "slot-2-lead": "1",
             "slot-7-skill": "cloud", "slot-7-count": "2", "slot-7-min_level": "1",
             "slot-7-clearance": "none"}
    answer = post_form(browser(Role.COORDINATOR), NEW, NEW, form)
    assert answer.status_code == 303, answer.text
    assert [(s.skill.value, s.count) for s in stored(database, "Forensic team").slots] == [
        ("team_lead", 1), ("cloud", 2)]


@pytest.mark.parametrize(("change", "field"), [
    ({"min_size": "0"}, "min_size"),
    ({"max_size": "x"}, "max_size"),
    ({"min_size": "5", "max_size": "4"}, "max_size"),
    ({"min_nations": "4"}, "min_nations"),
    ({"name": ""}, "name"),
    ({"languages": "english"}, "languages"),
    ({"slot-2-min_level": "7"}, "slot-2-min_level"),
])
def test_a_field_that_does_not_fit_is_told_by_the_field(browser, change, field):
    answer = post_form(browser(Role.COORDINATOR), NEW, NEW, FORM | change)
    assert answer.status_code == 422
    assert errors_of(answer.text) == [field] and invalid(answer.text, field)
    assert 'class="alert alert--error error-summary"' in answer.text
    assert 'tabindex="-1" autofocus' in answer.text
    assert '<option value="digital_forensics" selected>' in answer.text  # what was chosen stays


@pytest.mark.parametrize("change", [
    {"slot-2-lead": "1"},  # two lead seats
    {"slot-1-count": "2"},  # a lead seat of two
    {"slot-2-count": "5"},  # six seats in a team of three to five
    {"slot-2-skill": "team_lead", "slot-2-min_level": "2", "slot-2-clearance": "none",
     "slot-2-count": "1", "slot-1-lead": ""},  # the same slot twice
])
def test_a_template_that_does_not_hold_together_is_told_by_the_slots(browser, change):
    answer = post_form(browser(Role.COORDINATOR), NEW, NEW, FORM | change)
    assert answer.status_code == 422
    assert errors_of(answer.text) == ["slots"]
    assert re.search(r'id="slots"[^>]*aria-describedby="slots-hint slots-error"', answer.text)
    assert 'href="#slots"' in answer.text
    assert "Value error" not in answer.text


def test_a_template_without_a_slot_is_refused_by_the_slots(browser):
    form = {k: v for k, v in FORM.items() if not k.startswith("slot-")}
    answer = post_form(browser(Role.COORDINATOR), NEW, NEW, form)
    assert answer.status_code == 422
    assert errors_of(answer.text) == ["slots"]


def test_a_name_taken_is_told_by_the_name(browser, database):
    add_template(database)
    answer = post_form(browser(Role.COORDINATOR), NEW, NEW, FORM | {"name": "Small team"})
    assert answer.status_code == 409
    assert errors_of(answer.text) == ["name"] and invalid(answer.text, "name")


def test_the_edit_form_shows_the_slots_and_blank_rows_to_twelve(browser, database):
    template_id = add_template(database)
    page = browser(Role.COORDINATOR).get(f"/rotations/templates/{template_id}/edit").text
    assert len(re.findall(r'<select id="slot-\d+-skill"', page)) == 12
    assert re.search(r'id="slot-1-skill".*?<option value="team_lead" selected>', page, re.S)
    assert re.search(r'id="slot-2-clearance".*?<option value="RESTREINT UE" selected>', page,
                     re.S)
    assert 'id="slot-1-lead" name="slot-1-lead" value="1" checked' in page
    assert re.search(r'id="slot-3-skill"[^>]*>\s*<option value="" selected>', page)


def test_a_coordinator_changes_the_slots(browser, database):
    template_id = add_template(database)
    url = f"/rotations/templates/{template_id}/edit"
    answer = post_form(browser(Role.COORDINATOR), url, url, FORM | {"name": "Small team"})
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/rotations/templates?saved={template_id}"
    changed = stored(database, "Small team")
    assert [(s.skill.value, s.count, s.lead) for s in changed.slots] == [
        ("team_lead", 1, True), ("digital_forensics", 2, False)]
    with database.session() as db:
        events = audit.events_about(db=db, object_type="team_template", object_id=template_id)
        assert [e.action for e in events] == ["team_template.created", "team_template.updated"]


def test_an_edit_is_refused_by_the_field_and_changes_nothing(browser, database):
    template_id = add_template(database)
    add_template(database, SMALL | {"name": "Other"})
    url = f"/rotations/templates/{template_id}/edit"
    coordinator = browser(Role.COORDINATOR)
    taken = post_form(coordinator, url, url, FORM | {"name": "Other"})
    assert taken.status_code == 409 and errors_of(taken.text) == ["name"]
    leads = post_form(coordinator, url, url, FORM | {"slot-2-lead": "1"})
    assert leads.status_code == 422 and errors_of(leads.text) == ["slots"]
    assert stored(database, "Small team").size == 3


@pytest.mark.parametrize("role", [Role.NATIONAL_POC, Role.RESPONDER, Role.OBSERVER])
def test_who_does_not_plan_may_not_make_or_change_templates(browser, database, role):
    template_id = add_template(database)
    client = browser(role)
    edit = f"/rotations/templates/{template_id}/edit"
    assert client.get(NEW).status_code == 403
    assert client.get(edit).status_code == 403
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get("/rotations/templates").text)
    assert client.post(NEW, data={**FORM, "csrf_token": token.group(1) if token else ""},
                       ).status_code == 403
    assert stored(database, "Small team").size == 3


def test_a_requester_may_not_read_templates(browser):
    assert browser(Role.REQUESTER).get("/rotations/templates").status_code == 403


def test_an_unknown_template_is_not_found(browser):
    answer = browser(Role.COORDINATOR).get(
        "/rotations/templates/00000000-0000-4000-8000-000000000000/edit")
    assert answer.status_code == 404
