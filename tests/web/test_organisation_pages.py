"""The organisation pages: the contact card, editing it and the name, recording and cancelling
membership changes, institutions, and adding an organisation, as each role may."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from crrt.access.enums import Role
from crrt.core import clock
from crrt.organisations import service as org_service
from crrt.organisations.schemas import ContactIn, InstitutionIn, OrganisationPatch
from tests.conftest import SYSTEM
from tests.web.conftest import post_form

CARD = {"hotline": "+372 600 0000", "email": "cert@cert.ee.example",
        "pgp_fingerprint": "3AA5C34371567BD222820F3D26BB7D48D5DF47E1",
        "messenger": "Signal: +372 600 0001", "default_tlp": "amber"}
EDIT_FORM = {"name": "Estonia", **CARD, "pgp_fingerprint": "3aa5 c343 7156 7bd2 2282 "
                                                        "0f3d 26bb 7d48 d5df 47e1"}


def set_card(database, code: str, **card: str) -> None:
    with database.session() as db:
        org_service.update(db=db, actor=SYSTEM, code=code,
                           data=OrganisationPatch(contact=ContactIn.model_validate(card)))


def card_of(database, code: str):
    with database.session() as db:
        return org_service.organisation_out(org_service.get(db=db, actor=SYSTEM, code=code))


def invalid(html: str, field: str) -> bool:
    """Whether the field is marked invalid and points at its error message."""
    return bool(re.search(rf'id="{field}"[^>]*aria-describedby="[^"]*{field}-error[^"]*" '
                          r'aria-invalid="true"', html)) and f'id="{field}-error"' in html


def error_of(html: str, field: str) -> str:
    found = re.search(rf'<p class="field-error" id="{field}-error">.*?</span>(.*?)</p>', html,
                      re.S)
    assert found, f"no error beside {field}"
    return found.group(1)


# --- the contact card ---------------------------------------------------------------------------

def test_everyone_signed_in_sees_the_card_with_links_to_call_and_write(browser, database):
    set_card(database, "EE", **CARD)
    page = browser(Role.OBSERVER).get("/organisations/EE")
    assert page.status_code == 200
    card = page.text[page.text.index('id="contact"'):page.text.index('id="membership-history"')]
    assert '<a href="tel:+3726000000">+372 600 0000</a>' in card
    assert '<a href="mailto:cert@cert.ee.example">' in card
    assert re.sub(r"</?span>", "", re.search(r'class="mono fingerprint">(.*?)</dd>', card)
                  .group(1)) == "3AA5 C343 7156 7BD2 2282 0F3D 26BB 7D48 D5DF 47E1"
    assert "Signal: +372 600 0001" in card
    assert '<span class="tlp tlp--amber">TLP:AMBER</span>' in card


def test_an_empty_card_says_so_and_offers_no_edit_to_an_observer(browser):
    page = browser(Role.OBSERVER).get("/organisations/DE").text
    assert 'href="/organisations/DE/edit"' not in page
    card = page[page.index('id="contact"'):page.index('id="membership-history"')]
    assert "<dl" not in card


def test_amber_strict_gets_its_own_label(browser, database):
    set_card(database, "ES", default_tlp="amber+strict")
    page = browser(Role.REQUESTER).get("/organisations/ES").text
    assert '<span class="tlp tlp--amber-strict">TLP:AMBER+STRICT</span>' in page


def test_a_poc_edits_its_nations_card_but_not_its_name(browser, database):
    poc = browser(Role.NATIONAL_POC)
    page = poc.get("/organisations/EE")
    assert 'href="/organisations/EE/edit"' in page.text
    form = poc.get("/organisations/EE/edit")
    assert form.status_code == 200
    assert 'id="name"' not in form.text and 'id="hotline"' in form.text
    saved = post_form(poc, "/organisations/EE/edit", "/organisations/EE/edit",
                      {**EDIT_FORM, "name": "Eesti Vabariik"})
    assert saved.status_code == 303
    assert saved.headers["location"] == "/organisations/EE?saved=details#contact"
    out = card_of(database, "EE")
    assert out.name == "Estonia"  # a name a POC posts is not taken
    assert out.contact.model_dump(mode="json") == CARD
    shown = poc.get(saved.headers["location"]).text
    assert 'role="status"' in shown


def test_a_poc_may_not_open_or_post_another_nations_card(browser, database):
    poc = browser(Role.NATIONAL_POC)
    assert 'href="/organisations/ES/edit"' not in poc.get("/organisations/ES").text
    assert poc.get("/organisations/ES/edit").status_code == 403
    token_page = "/organisations/EE/edit"
    refused = post_form(poc, token_page, "/organisations/ES/edit", EDIT_FORM)
    assert refused.status_code == 403
    assert card_of(database, "ES").contact.hotline is None


@pytest.mark.parametrize("role", [Role.RESPONDER, Role.REQUESTER, Role.OBSERVER])
def test_other_roles_may_not_edit_even_their_own_organisation(browser, role):
    own = {Role.RESPONDER: "EE", Role.REQUESTER: "cert-eu", Role.OBSERVER: "DE"}[role]
    assert browser(role).get(f"/organisations/{own}/edit").status_code == 403


def test_a_coordinator_renames_and_clears_card_fields(browser, database):
    set_card(database, "ES", **CARD)
    coordinator = browser(Role.COORDINATOR)
    assert 'id="name"' in coordinator.get("/organisations/ES/edit").text
    saved = post_form(coordinator, "/organisations/ES/edit", "/organisations/ES/edit",
                      {**EDIT_FORM, "name": "Kingdom of Spain", "messenger": "",
                       "default_tlp": "green"})
    assert saved.status_code == 303
    out = card_of(database, "ES")
    assert (out.name, out.contact.messenger, out.contact.default_tlp) == (
        "Kingdom of Spain", None, "green")


def test_a_bad_card_is_shown_again_with_each_problem_by_its_field(browser, database):
    poc = browser(Role.NATIONAL_POC)
    page = post_form(poc, "/organisations/EE/edit", "/organisations/EE/edit",
                     {**EDIT_FORM, "hotline": "call us", "pgp_fingerprint": "ABCD 1234",
                      "email": "not-an-address", "default_tlp": "white"})
    assert page.status_code == 422
    assert 'class="alert alert--error error-summary"' in page.text
    for field in ("hotline", "pgp_fingerprint", "email", "default_tlp"):
        assert invalid(page.text, field), field
    assert "40 or 64 hexadecimal digits" in error_of(page.text, "pgp_fingerprint")
    assert 'value="call us"' in page.text  # what was typed stays
    assert card_of(database, "EE").contact.hotline is None


def test_a_coordinator_must_give_a_name(browser):
    page = post_form(browser(Role.COORDINATOR), "/organisations/ES/edit",
                     "/organisations/ES/edit", {**EDIT_FORM, "name": "  "})
    assert page.status_code == 422
    assert invalid(page.text, "name")
    assert error_of(page.text, "name") == "Enter the organisation&#39;s name."


# --- membership ---------------------------------------------------------------------------------

def test_a_coordinator_plans_a_membership_change_and_cancels_it(browser, database):
    coordinator = browser(Role.COORDINATOR)
    page = coordinator.get("/organisations/DE").text
    assert 'action="/organisations/DE/membership"' in page
    moves = re.findall(r'<option value="(\w+)">', page[page.index('id="membership"'):])
    assert moves[:3] == ["lead", "participant", "none"]  # not the membership held
    day = clock.today() + timedelta(days=30)
    done = post_form(coordinator, "/organisations/DE", "/organisations/DE/membership",
                     {"membership": "participant", "effective_on": day.isoformat(),
                      "note": "Council decision of the month"})
    assert done.status_code == 303
    assert done.headers["location"] == "/organisations/DE?saved=planned#membership-history"
    planned = card_of(database, "DE").planned
    assert [(c.membership, c.effective_on, c.note) for c in planned] == [
        ("participant", day, "Council decision of the month")]
    shown = coordinator.get(done.headers["location"]).text
    cancel = f'action="/organisations/DE/history/{planned[0].id}/cancel"'
    assert cancel in shown
    cancelled = post_form(coordinator, "/organisations/DE",
                          f"/organisations/DE/history/{planned[0].id}/cancel", {})
    assert cancelled.status_code == 303
    assert card_of(database, "DE").planned == []


def test_a_change_taking_effect_today_is_in_force_at_once(browser, database):
    done = post_form(browser(Role.ADMIN), "/organisations/ES", "/organisations/ES/membership",
                     {"membership": "observer", "effective_on": clock.today().isoformat()})
    assert done.headers["location"].endswith("?saved=membership#membership-history")
    assert card_of(database, "ES").membership == "observer"


def test_the_one_lead_rule_is_told_by_the_membership_field(browser, database):
    page = post_form(browser(Role.COORDINATOR), "/organisations/EE",
                     "/organisations/EE/membership",
                     {"membership": "lead", "effective_on": clock.today().isoformat()})
    assert page.status_code == 422
    assert invalid(page.text, "membership")
    assert "Lithuania leads the project" in error_of(page.text, "membership")
    assert 'selected>Change role to lead nation</option>' in page.text  # as chosen
    assert card_of(database, "EE").membership == "participant"


def test_a_change_before_a_planned_one_is_told_by_its_date(browser, database):
    with database.session() as db:
        org_service.update(db=db, actor=SYSTEM, code="DE", data=OrganisationPatch(
            membership=None, effective_on=clock.today() + timedelta(days=60)))
    page = post_form(browser(Role.COORDINATOR), "/organisations/DE",
                     "/organisations/DE/membership",
                     {"membership": "participant",
                      "effective_on": (clock.today() + timedelta(days=10)).isoformat()})
    assert page.status_code == 422
    assert invalid(page.text, "effective_on")


@pytest.mark.parametrize(("form", "field"), [
    ({"membership": "", "effective_on": ""}, "membership"),
    ({"membership": "emperor"}, "membership"),
    ({"membership": "observer", "effective_on": "someday"}, "effective_on"),
    ({"membership": "observer", "effective_on": "2999-01-01"}, "effective_on"),
])
def test_a_bad_membership_form_is_told_by_its_field(browser, form, field):
    page = post_form(browser(Role.COORDINATOR), "/organisations/ES",
                     "/organisations/ES/membership", form)
    assert page.status_code == 422
    assert invalid(page.text, field)


def test_a_poc_is_offered_no_membership_form_and_may_not_post_one(browser, database):
    poc = browser(Role.NATIONAL_POC)
    assert 'action="/organisations/EE/membership"' not in poc.get("/organisations/EE").text
    refused = post_form(poc, "/organisations/EE", "/organisations/EE/membership",
                        {"membership": "observer"})
    assert refused.status_code == 403
    assert card_of(database, "EE").membership == "participant"


def test_an_eu_institution_has_no_membership_form(browser):
    assert 'action="/organisations/cert-eu/membership"' not in browser(Role.ADMIN).get(
        "/organisations/cert-eu").text


# --- institutions -------------------------------------------------------------------------------

def test_a_poc_adds_renames_and_removes_its_nations_institution(browser, database):
    poc = browser(Role.NATIONAL_POC)
    assert 'href="/organisations/EE/institutions/new"' in poc.get("/organisations/EE").text
    added = post_form(poc, "/organisations/EE/institutions/new",
                      "/organisations/EE/institutions/new", {"name": "CERT-EE", "kind": "csirt"})
    assert added.status_code == 303
    with database.session() as db:
        (inst,) = org_service.list_institutions(db=db, actor=SYSTEM, code="EE")
        inst_id = inst.public_id
    edit = f"/organisations/EE/institutions/{inst_id}/edit"
    assert f'href="{edit}"' in poc.get("/organisations/EE").text
    changed = post_form(poc, edit, edit, {"name": "CERT-EE (RIA)", "kind": "other"})
    assert changed.status_code == 303
    with database.session() as db:
        inst = org_service.get_institution(db=db, actor=SYSTEM, code="EE",
                                           institution_id=inst_id)
        assert (inst.name, inst.kind.value) == ("CERT-EE (RIA)", "other")
    removed = post_form(poc, edit, f"/organisations/EE/institutions/{inst_id}/delete", {})
    assert removed.headers["location"] == "/organisations/EE?saved=removed#institutions"
    with database.session() as db:
        assert org_service.list_institutions(db=db, actor=SYSTEM, code="EE") == []


def test_an_institution_name_taken_or_missing_is_told_by_the_name(browser, database):
    with database.session() as db:
        org_service.create_institution(db=db, actor=SYSTEM, code="EE",
                                       data=InstitutionIn(name="CERT-EE", kind="csirt"))
    poc = browser(Role.NATIONAL_POC)
    for name, words in (("cert-ee", "has an institution named"), ("", "institution&#39;s name")):
        page = post_form(poc, "/organisations/EE/institutions/new",
                         "/organisations/EE/institutions/new", {"name": name, "kind": "csirt"})
        assert page.status_code == 422
        assert invalid(page.text, "name")
        assert words in error_of(page.text, "name")


def test_removing_an_institution_keeps_its_experts_and_says_so(browser, database):
    from crrt.experts import service as expert_service
    from crrt.experts.schemas import ExpertIn

    with database.session() as db:
        inst = org_service.create_institution(db=db, actor=SYSTEM, code="EE",
                                              data=InstitutionIn(name="CERT-EE", kind="csirt"))
        inst_id = inst.public_id
        expert = expert_service.nominate(db=db, actor=SYSTEM, data=ExpertIn.model_validate({
            "org": "EE", "name": "Kadri Tamm", "email": "kadri@ee.example",
            "institution_id": str(inst_id), "skills": [{"skill": "cloud", "level": 2}]}))
        expert_id = expert.public_id
    coordinator = browser(Role.COORDINATOR)
    edit = f"/organisations/EE/institutions/{inst_id}/edit"
    assert f'action="/organisations/EE/institutions/{inst_id}/delete"' in coordinator.get(
        edit).text
    assert post_form(coordinator, edit, f"/organisations/EE/institutions/{inst_id}/delete",
                     {}).status_code == 303
    with database.session() as db:
        kept = expert_service.get(db=db, actor=SYSTEM, expert_id=expert_id)
        assert kept.institution_id is None


def test_a_poc_may_not_touch_another_nations_institutions(browser, database):
    with database.session() as db:
        inst_id = org_service.create_institution(
            db=db, actor=SYSTEM, code="ES", data=InstitutionIn(name="CCN-CERT",
                                                               kind="csirt")).public_id
    poc = browser(Role.NATIONAL_POC)
    assert 'href="/organisations/ES/institutions/new"' not in poc.get("/organisations/ES").text
    assert poc.get("/organisations/ES/institutions/new").status_code == 403
    assert poc.get(f"/organisations/ES/institutions/{inst_id}/edit").status_code == 403
    refused = post_form(poc, "/organisations/EE",
                        f"/organisations/ES/institutions/{inst_id}/delete", {})
    assert refused.status_code == 403


# --- a new organisation -------------------------------------------------------------------------

def test_a_coordinator_adds_a_nation_that_joins_today(browser, database):
    coordinator = browser(Role.COORDINATOR)
    assert 'href="/organisations/new"' in coordinator.get("/organisations").text
    added = post_form(coordinator, "/organisations/new", "/organisations/new", {
        "kind": "nation", "code": "ie", "name": "Ireland", "membership": "observer",
        "effective_on": clock.today().isoformat()})
    assert added.status_code == 303
    assert added.headers["location"] == "/organisations/IE?saved=created"
    out = card_of(database, "IE")
    assert (out.name, out.membership, out.member_since) == ("Ireland", "observer",
                                                            clock.today())
    assert 'role="status"' in coordinator.get(added.headers["location"]).text


def test_an_admin_adds_a_partner_with_no_membership(browser, database):
    added = post_form(browser(Role.ADMIN), "/organisations/new", "/organisations/new", {
        "kind": "partner", "code": "MD-CERT", "name": "CERT Moldova", "membership": "none",
        "effective_on": ""})
    assert added.headers["location"] == "/organisations/md-cert?saved=created"
    assert card_of(database, "md-cert").membership is None


@pytest.mark.parametrize(("form", "field"), [
    ({"kind": "nation", "code": "XX", "name": "Atlantis"}, "code"),
    ({"kind": "partner", "code": "a b", "name": "Odd"}, "code"),
    ({"kind": "partner", "code": "md-cert", "name": "CERT Moldova",
      "membership": "observer"}, "membership"),
    ({"kind": "nation", "code": "EE", "name": "Estonia again"}, "code"),
    ({"kind": "nation", "code": "IE", "name": ""}, "name"),
    ({"kind": "nation", "code": "", "name": "Ireland"}, "code"),
    ({"kind": "nation", "code": "IE", "name": "Ireland", "membership": "lead"}, "membership"),
])
def test_a_new_organisation_that_does_not_fit_is_told_by_its_field(browser, database, form,
                                                                    field):
    page = post_form(browser(Role.COORDINATOR), "/organisations/new", "/organisations/new",
                     {"membership": "none", **form})
    assert page.status_code == 422
    assert invalid(page.text, field)
    assert len(org_service_codes(database)) == 5


def org_service_codes(database) -> set[str]:
    with database.session() as db:
        return {o.code for o in org_service.all_organisations(db=db, actor=SYSTEM)}


@pytest.mark.parametrize("role", [Role.NATIONAL_POC, Role.RESPONDER, Role.OBSERVER])
def test_only_central_roles_may_add_an_organisation(browser, role):
    client = browser(role)
    assert 'href="/organisations/new"' not in client.get("/organisations").text
    assert client.get("/organisations/new").status_code == 403
