"""The expert pool pages: the filtered list, one expert, and nominating through the form."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from babel.dates import format_date

from crrt.access.enums import Role
from crrt.core import clock
from crrt.experts import service as expert_service
from crrt.experts.schemas import ExpertFilter, UnavailabilityIn
from tests.conftest import SYSTEM
from tests.web.conftest import csrf_of, nominate, post_form


def listed(html: str) -> set[str]:
    """The names in the pool table."""
    return set(re.findall(r'<th scope="row"><a href="/experts/[0-9a-f-]{36}">([^<]+)</a></th>',
                          html))


def pool_size(database, org: str | None = None) -> int:
    with database.session() as db:
        experts, _ = expert_service.list_experts(db=db, actor=SYSTEM, filters=ExpertFilter(org=org),
                                                 limit=200, cursor=None)
        return len(experts)


@pytest.fixture
def pool(database, world):
    """A small pool across two nations."""
    ids = {
        "Kadri Tamm": nominate(database, "EE", "Kadri Tamm",
                               skills={"malware_analysis": 3, "cloud": 1},
                               languages=("et", "en"), clearance="SECRET UE",
                               deployability=("remote", "on_site")),
        "Jaan Kask": nominate(database, "EE", "Jaan Kask", skills={"malware_analysis": 1},
                              languages=("et",)),
        "Lucia Garcia": nominate(database, "ES", "Lucia Garcia", skills={"legal_advisor": 2},
                                 languages=("es", "en"), clearance="RESTREINT UE"),
    }
    return ids


def test_pool_lists_experts_with_their_particulars(browser, pool):
    page = browser(Role.COORDINATOR).get("/experts")
    assert page.status_code == 200
    assert listed(page.text) == {"Kadri Tamm", "Jaan Kask", "Lucia Garcia"}
    row = page.text[page.text.index("Kadri Tamm"):page.text.index("</tr>",
                                                                   page.text.index("Kadri Tamm"))]
    assert "Malware analysis" in row and 'level--3' in row
    assert "EN, ET" in row
    assert "SECRET UE" in row
    assert "Remote, On site" in row
    assert "Available" in row


@pytest.mark.parametrize(("query", "expected"), [
    ("skill=malware_analysis", {"Kadri Tamm", "Jaan Kask"}),
    ("skill=malware_analysis&min_level=2", {"Kadri Tamm"}),
    ("language=en", {"Kadri Tamm", "Lucia Garcia"}),
    ("clearance=RESTREINT+UE", {"Kadri Tamm", "Lucia Garcia"}),
    ("clearance=SECRET+UE", {"Kadri Tamm"}),
    ("deployability=on_site", {"Kadri Tamm"}),
    ("org=ES", {"Lucia Garcia"}),
    ("q=kas", {"Jaan Kask"}),
    ("org=&skill=&q=", {"Kadri Tamm", "Jaan Kask", "Lucia Garcia"}),
])
def test_pool_filters_narrow_the_list(browser, pool, query, expected):
    page = browser(Role.COORDINATOR).get(f"/experts?{query}")
    assert page.status_code == 200
    assert listed(page.text) == expected


def test_pool_filter_keeps_the_chosen_values_in_the_form(browser, pool):
    page = browser(Role.COORDINATOR).get("/experts?skill=cloud&min_level=1&q=Tamm")
    assert '<option value="cloud" selected>' in page.text
    assert '<option value="1" selected>' in page.text
    assert 'name="q" value="Tamm"' in page.text
    assert "Clear filters" in page.text


def test_pool_filter_by_availability_leaves_out_who_is_away(browser, database, pool):
    day = clock.today() + timedelta(days=30)
    with database.session() as db:
        expert_service.add_unavailability(db=db, actor=SYSTEM, expert_id=pool["Jaan Kask"],
                                          data=UnavailabilityIn(starts_on=day, ends_on=day))
    client = browser(Role.COORDINATOR)
    away = client.get(f"/experts?skill=malware_analysis&available_on={day.isoformat()}")
    assert listed(away.text) == {"Kadri Tamm"}
    other_day = (day + timedelta(days=1)).isoformat()
    assert listed(client.get(f"/experts?available_on={other_day}").text) == set(pool)


def test_pool_shows_who_is_away_today(browser, database, pool):
    today = clock.today()
    with database.session() as db:
        expert_service.add_unavailability(
            db=db, actor=SYSTEM, expert_id=pool["Jaan Kask"],
            data=UnavailabilityIn(starts_on=today, ends_on=today + timedelta(days=2)))
    page = browser(Role.COORDINATOR).get("/experts?q=Jaan")
    back = today + timedelta(days=2)
    shown = format_date(back, format="medium", locale="en")  # the pages' English date
    assert f"Away until {shown}" in page.text


def test_pool_filter_with_a_bad_value_says_which_and_why(browser, pool):
    page = browser(Role.COORDINATOR).get("/experts?language=zz&available_on=someday")
    assert page.status_code == 422
    assert "There is a problem" in page.text
    assert "&#39;zz&#39; is not an ISO 639-1 language code" in page.text
    assert re.search(r'id="language"[^>]*aria-describedby="language-error" '
                     r'aria-invalid="true"', page.text)
    assert 'id="available_on-error"' in page.text
    assert listed(page.text) == set()


def test_pool_pages_through_with_a_next_page_link(browser, database, world):
    for n in range(30):
        nominate(database, "EE", f"Expert Number{n:02d}")
    client = browser(Role.COORDINATOR)
    first = client.get("/experts?org=EE")
    assert len(listed(first.text)) == 25
    link = re.search(r'<a href="([^"]+)" rel="next">Next page</a>', first.text)
    assert link, "no next page link"
    second = client.get(link.group(1).replace("&amp;", "&"))
    assert len(listed(second.text)) == 5
    assert not listed(first.text) & listed(second.text)
    assert "org=EE" in link.group(1)
    assert 'rel="next"' not in second.text
    assert "First page" in second.text


def test_poc_sees_only_its_own_nations_experts(browser, pool):
    client = browser(Role.NATIONAL_POC)
    page = client.get("/experts")
    assert listed(page.text) == {"Kadri Tamm", "Jaan Kask"}
    assert listed(client.get("/experts?org=ES").text) == set()
    detail = client.get(f"/experts/{pool['Lucia Garcia']}")
    assert detail.status_code == 404
    assert "Lucia Garcia" not in detail.text


def test_responder_sees_the_pool_page_but_no_one_else(browser, pool):
    page = browser(Role.RESPONDER).get("/experts")
    assert page.status_code == 200
    assert listed(page.text) == set()
    assert "Nominate an expert" not in page.text


@pytest.mark.parametrize("path", ["/experts", "/experts/new", "/experts/{kadri}"])
@pytest.mark.parametrize("role", [Role.REQUESTER, Role.OBSERVER])
def test_roles_outside_the_pool_get_a_forbidden_page(browser, pool, role, path):
    page = browser(role).get(path.format(kadri=pool["Kadri Tamm"]))
    assert page.status_code == 403
    assert "Forbidden" in page.text
    assert "Kadri Tamm" not in page.text


def test_expert_page_shows_the_record(browser, pool):
    page = browser(Role.NATIONAL_POC).get(f"/experts/{pool['Kadri Tamm']}")
    assert page.status_code == 200
    assert "<h1>Kadri Tamm</h1>" in page.text
    assert "kadri.tamm@ee.example" in page.text
    assert "Malware analysis" in page.text and "expert" in page.text
    assert "Nomination recorded" not in page.text


def test_nomination_form_for_a_poc_fixes_its_own_nation(browser, database):
    page = browser(Role.NATIONAL_POC).get("/experts/new")
    assert page.status_code == 200
    assert "Estonia (EE)" in page.text
    assert '<input type="hidden" name="org" value="EE">' in page.text
    assert '<select id="org"' not in page.text
    assert 'name="user_email"' not in page.text
    for field in ("name", "email", "phone", "languages", "clearance", "time_zone", "notes",
                  "skill-cloud", "deployability-remote"):
        assert f'<label for="{field}"' in page.text, field


def test_poc_nominates_through_the_form_and_sees_the_confirmation(browser, database):
    client = browser(Role.NATIONAL_POC)
    response = post_form(client, "/experts/new", "/experts/new", {
        "name": "Mari Saar", "email": "Mari.Saar@ee.example", "phone": "+372 5555 1234",
        "skill.incident_handling": "3", "skill.digital_forensics": "2",
        "languages": "et, en ru", "clearance": "CONFIDENTIEL UE",
        "deployability": ["remote", "on_site"], "time_zone": "Europe/Tallinn",
        "notes": "Speaks at FIRST."})
    assert response.status_code == 303
    location = response.headers["location"]
    assert re.fullmatch(r"/experts/[0-9a-f-]{36}\?nominated=1", location)
    page = client.get(location)
    assert "Nomination recorded." in page.text
    assert "Mari Saar" in page.text
    assert "mari.saar@ee.example" in page.text
    assert "Incident handling" in page.text and "Digital forensics" in page.text
    assert "EN, ET, RU" in page.text
    assert "CONFIDENTIEL UE" in page.text
    assert "Europe/Tallinn" in page.text
    assert listed(client.get("/experts?q=saar").text) == {"Mari Saar"}


def test_coordinator_picks_the_nation_and_an_institution(browser, database):
    from crrt.organisations import service as org_service
    from crrt.organisations.enums import InstitutionKind
    from crrt.organisations.schemas import InstitutionIn

    with database.session() as db:
        inst = org_service.create_institution(db=db, actor=SYSTEM, code="ES", data=InstitutionIn(
            name="INCIBE-CERT", kind=InstitutionKind.CSIRT)).public_id
    client = browser(Role.COORDINATOR)
    form = client.get("/experts/new?org=ES")
    assert '<option value="ES" selected>' in form.text
    assert '<optgroup label="Spain">' in form.text
    response = post_form(client, "/experts/new", "/experts/new", {
        "org": "ES", "institution_id": str(inst), "name": "Pablo Ruiz",
        "email": "pablo@es.example", "skill.cloud": "2", "deployability": "remote"})
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert "Spain (ES) · INCIBE-CERT" in page.text


def test_nomination_errors_are_shown_beside_their_fields_and_values_kept(browser, database):
    client = browser(Role.NATIONAL_POC)
    response = post_form(client, "/experts/new", "/experts/new", {
        "name": "  ", "email": "not-an-address", "phone": "+372 5555 1234",
        "languages": "et, zz", "time_zone": "Mars/Olympus", "notes": "Keep this note."})
    assert response.status_code == 422
    html = response.text
    assert "There is a problem" in html
    for field in ("name", "email", "languages", "time_zone"):
        assert f'id="{field}-error"' in html, field
        assert re.search(rf'id="{field}"[^>]*aria-describedby="[^"]*{field}-error"'
                         r'[^>]*aria-invalid="true"', html), field
    assert "Enter the expert&#39;s full name." in html
    assert "Enter an email address such as name@example.org." in html
    assert "Give at least one skill with its level." in html
    assert "Choose remote, on site, or both." in html
    assert 'href="#skills-legend"' in html
    assert 'value="+372 5555 1234"' in html
    assert 'value="et, zz"' in html
    assert ">Keep this note.</textarea>" in html
    assert 'value="not-an-address"' in html
    assert pool_size(database) == 0


def test_nominating_a_taken_email_again_is_shown_on_the_email_field(browser, database):
    nominate(database, "EE", "Kadri Tamm")
    client = browser(Role.NATIONAL_POC)
    response = post_form(client, "/experts/new", "/experts/new", {
        "name": "Kadri Tamm", "email": "kadri.tamm@ee.example", "skill.cloud": "1",
        "deployability": "remote"})
    assert response.status_code == 422
    assert 'id="email-error"' in response.text
    assert "already" in response.text
    assert pool_size(database) == 1


def test_poc_cannot_open_the_form_for_another_nation(browser):
    page = browser(Role.NATIONAL_POC).get("/experts/new?org=ES")
    assert page.status_code == 403
    assert "only for Estonia" in page.text


def test_poc_cannot_nominate_for_another_nation_by_posting(browser, database):
    client = browser(Role.NATIONAL_POC)
    response = post_form(client, "/experts/new", "/experts/new", {
        "org": "ES", "name": "Sneaky", "email": "sneaky@es.example", "skill.cloud": "1",
        "deployability": "remote"})
    assert response.status_code == 403
    assert pool_size(database) == 0


@pytest.mark.parametrize("token", [None, "", "f" * 64])
def test_nomination_without_a_valid_csrf_token_is_refused_and_nothing_stored(browser, database,
                                                                            token):
    client = browser(Role.NATIONAL_POC)
    client.get("/experts/new")
    data = {"name": "Forged", "email": "forged@ee.example", "skill.cloud": "1",
            "deployability": "remote"}
    if token is not None:
        data["csrf_token"] = token
    response = client.post("/experts/new", data=data, follow_redirects=False)
    assert response.status_code == 403
    assert pool_size(database) == 0


def test_signed_out_nomination_post_goes_to_sign_in_and_stores_nothing(client, database, world):
    page = client.get("/login")
    response = client.post("/experts/new", data={
        "csrf_token": csrf_of(page.text), "name": "Anon", "email": "anon@ee.example",
        "org": "EE", "skill.cloud": "1", "deployability": "remote"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/experts/new"
    assert pool_size(database) == 0


def test_expert_page_with_an_impossible_id_is_a_bad_request_not_a_crash(browser):
    page = browser(Role.COORDINATOR).get("/experts/99999999999")
    assert page.status_code == 400
