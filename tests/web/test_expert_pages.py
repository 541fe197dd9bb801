"""The expert pool pages: the filtered list, one expert, and nominating through the form."""

from __future__ import annotations

import base64
import re
from datetime import date, timedelta

import pytest
from babel.dates import format_date

from crrt.access.enums import Role
from crrt.core import clock
from crrt.experts import service as expert_service
from crrt.experts.schemas import ExpertFilter, UnavailabilityIn
from tests.conftest import SYSTEM
from tests.web.conftest import csrf_of, make_user, nominate, post_form


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
    assert "30 experts match; this page shows 25." in first.text
    assert "30 experts match; this page shows 5." in second.text


def _names_in_order(html: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="/experts/[0-9a-f-]{36}">([^<]+)</a></th>', html)


def test_pool_sorts_by_name_either_way_and_pages_in_that_order(browser, database, world):
    names = [f"Expert {letter}{n}" for n in range(14) for letter in "QA"]
    for name in names:
        nominate(database, "EE", name)
    client = browser(Role.COORDINATOR)
    unsorted = client.get("/experts?org=EE")
    assert 'aria-sort="none"' in unsorted.text
    first = client.get("/experts?org=EE&sort=name")
    assert 'aria-sort="ascending"' in first.text
    link = re.search(r'<a href="([^"]+)" rel="next">', first.text)
    assert link and "sort=name" in link.group(1)
    second = client.get(link.group(1).replace("&amp;", "&"))
    shown = _names_in_order(first.text) + _names_in_order(second.text)
    assert shown == sorted(names)
    backwards = client.get("/experts?org=EE&sort=-name")
    assert 'aria-sort="descending"' in backwards.text
    assert _names_in_order(backwards.text) == sorted(names, reverse=True)[:25]
    # filtering again keeps the order chosen
    assert '<input type="hidden" name="sort" value="-name">' in backwards.text
    assert client.get("/experts?org=EE&sort=name&cursor=bm9uc2Vuc2U").status_code == 422
    # the cursor names the last row by its key only, never by its name
    assert "Expert" not in base64.urlsafe_b64decode(
        link.group(1).split("cursor=")[1] + "==").decode()


def test_a_sorted_cursor_pointing_outside_the_viewers_list_is_refused(browser, database,
                                                                     world):
    from sqlalchemy import select

    from crrt.core.pagination import encode_cursor
    from crrt.experts.models import Expert

    for n in range(26):
        nominate(database, "EE", f"Estonian {n:02d}")
    spanish = nominate(database, "ES", "Spanish Secret")
    with database.session(read_only=True) as db:
        hidden = db.scalar(select(Expert.id).where(Expert.public_id == spanish))
    poc = browser(Role.NATIONAL_POC)  # Estonia's
    page = poc.get(f"/experts?sort=name&cursor={encode_cursor(hidden)}")
    assert page.status_code == 422
    assert "Estonian" not in page.text


def test_poc_sees_only_its_own_nations_experts(browser, pool):
    client = browser(Role.NATIONAL_POC)
    page = client.get("/experts")
    assert listed(page.text) == {"Kadri Tamm", "Jaan Kask"}
    other = client.get("/experts?org=ES")
    assert listed(other.text) == set()
    # not an empty list with no word why: the field says whose experts the POC sees
    assert other.status_code == 422
    assert 'id="org-error"' in other.text
    assert "you see the experts of Estonia" in other.text
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
    assert '<optgroup label="Spain" data-org="ES">' in form.text
    response = post_form(client, "/experts/new", "/experts/new", {
        "org": "ES", "institution_id": str(inst), "name": "Pablo Ruiz",
        "email": "pablo@es.example", "skill.cloud": "2", "deployability": "remote"})
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert "Spain (ES) · INCIBE-CERT" in page.text


def test_an_institution_of_another_nation_is_told_by_name_with_the_other_problems(browser,
                                                                                  database):
    from crrt.organisations import service as org_service
    from crrt.organisations.enums import InstitutionKind
    from crrt.organisations.schemas import InstitutionIn

    with database.session() as db:
        inst = org_service.create_institution(db=db, actor=SYSTEM, code="ES", data=InstitutionIn(
            name="INCIBE-CERT", kind=InstitutionKind.CSIRT)).public_id
    client = browser(Role.COORDINATOR)
    response = post_form(client, "/experts/new", "/experts/new", {
        "org": "EE", "institution_id": str(inst), "name": "", "email": "kadri@ee.example",
        "skill.cloud": "2", "deployability": "remote"})
    assert response.status_code == 422
    assert "INCIBE-CERT belongs to Spain, not Estonia." in response.text
    assert str(inst) not in re.sub(r'<option value="[^"]+"', "", response.text)
    assert 'id="name-error"' in response.text  # the name's problem, in the same answer
    assert pool_size(database) == 0


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


def test_a_nation_code_no_one_has_is_told_by_the_nation_field(browser):
    page = browser(Role.COORDINATOR).get("/experts/new?org=ZZ")
    assert page.status_code == 422
    assert re.search(r'id="org-error"[^>]*>.*No nation has the code &#39;ZZ&#39;', page.text,
                     re.S)
    assert 'aria-invalid="true"' in page.text
    assert "You may nominate experts only for" not in page.text


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
    assert response.headers["location"] == "/login?next=%2Fexperts%2Fnew&ended=1"
    assert pool_size(database) == 0


def test_expert_page_with_an_impossible_id_is_a_bad_request_not_a_crash(browser):
    page = browser(Role.COORDINATOR).get("/experts/99999999999")
    assert page.status_code == 400


# --- changing an expert: unavailability, editing, withdrawing ------------------------------------

def own_record(database, client, name: str = "Reet Responder"):
    """An EE expert record linked to the responder signed in on ``client``; its public id."""
    from sqlalchemy import select

    from crrt.auth.models import User
    from tests.support import add_expert

    email = re.search(r"web\d+-responder@test\.example", client.get("/account").text)[0]
    with database.session(read_only=True) as db:
        user_id = db.scalar(select(User.id).where(User.email == email))
    return add_expert(database, "EE", name=name, user_id=user_id)


def periods_of(database, expert_id) -> list[tuple[str, str, str]]:
    with database.session(read_only=True) as db:
        return sorted((p.starts_on.isoformat(), p.ends_on.isoformat(), p.reason)
                      for p in expert_service.list_unavailability(db=db, actor=SYSTEM,
                                                                  expert_id=expert_id))


def english_day(iso: str) -> str:
    from datetime import date

    return format_date(date.fromisoformat(iso), format="medium", locale="en")


def actions(html: str) -> set[str]:
    """What the expert page offers: edit, withdraw, record a period, remove a period."""
    offered = set()
    if re.search(r'href="/experts/[0-9a-f-]{36}/edit"', html):
        offered.add("edit")
    if re.search(r'href="/experts/[0-9a-f-]{36}/withdraw"', html):
        offered.add("withdraw")
    if re.search(r'<form method="post" action="/experts/[0-9a-f-]{36}/unavailability"', html):
        offered.add("record")
    if re.search(r'action="/experts/[0-9a-f-]{36}/unavailability/[0-9a-f-]{36}/remove"', html):
        offered.add("remove")
    return offered


def test_responder_records_their_own_unavailability_and_sees_it_listed(browser, database):
    client = browser(Role.RESPONDER)
    mine = own_record(database, client)
    page = client.get(f"/experts/{mine}")
    assert actions(page.text) == {"record"}
    assert '<input type="date" id="starts_on" name="starts_on"' in page.text
    response = post_form(client, f"/experts/{mine}", f"/experts/{mine}/unavailability", {
        "starts_on": "2031-03-10", "ends_on": "2031-03-14", "reason": "Annual leave"})
    assert response.status_code == 303
    assert response.headers["location"] == f"/experts/{mine}?saved=period#unavailability"
    shown = client.get(response.headers["location"])
    assert re.search(r'role="status"><p>The period of unavailability is recorded.</p>',
                     shown.text)
    assert f"{english_day('2031-03-10')}</time> to <time" in shown.text
    assert "Annual leave" in shown.text
    assert f'aria-label="Remove the period {english_day("2031-03-10")} to ' in shown.text
    assert periods_of(database, mine) == [("2031-03-10", "2031-03-14", "Annual leave")]


def test_responder_removes_a_period_from_their_own_record(browser, database):
    client = browser(Role.RESPONDER)
    mine = own_record(database, client)
    with database.session() as db:
        period = expert_service.add_unavailability(
            db=db, actor=SYSTEM, expert_id=mine,
            data=UnavailabilityIn(starts_on="2031-05-01", ends_on="2031-05-02")).public_id
    action = f"/experts/{mine}/unavailability/{period}/remove"
    assert f'action="{action}"' in client.get(f"/experts/{mine}").text
    response = post_form(client, f"/experts/{mine}", action, {})
    assert response.status_code == 303
    assert response.headers["location"] == f"/experts/{mine}?saved=removed#unavailability"
    page = client.get(response.headers["location"])
    assert "The period of unavailability is removed." in page.text
    assert "No periods of unavailability." in page.text
    assert periods_of(database, mine) == []
    again = post_form(client, f"/experts/{mine}", action, {})
    assert again.status_code == 404


def test_the_expert_page_offers_only_what_the_viewer_may_do(browser, database, pool):
    kadri = pool["Kadri Tamm"]
    with database.session() as db:
        expert_service.add_unavailability(db=db, actor=SYSTEM, expert_id=kadri, data=(
            UnavailabilityIn(starts_on="2031-01-05", ends_on="2031-01-06")))
    everything = {"edit", "withdraw", "record", "remove"}
    for role in (Role.ADMIN, Role.COORDINATOR, Role.NATIONAL_POC):
        assert actions(browser(role).get(f"/experts/{kadri}").text) == everything, role
    responder = browser(Role.RESPONDER)
    mine = own_record(database, responder)
    assert actions(responder.get(f"/experts/{mine}").text) == {"record"}
    assert responder.get(f"/experts/{kadri}").status_code == 404


def test_an_erased_record_offers_no_changes(browser, database, pool):
    kadri = pool["Kadri Tamm"]
    with database.session() as db:
        expert_service.erase(db=db, actor=SYSTEM, expert_id=kadri)
    client = browser(Role.COORDINATOR)
    assert actions(client.get(f"/experts/{kadri}").text) == {"withdraw"}
    assert client.get(f"/experts/{kadri}/edit").status_code == 409
    refused = post_form(client, "/experts", f"/experts/{kadri}/unavailability", {
        "starts_on": "2031-03-10", "ends_on": "2031-03-14"})
    assert refused.status_code == 409
    assert periods_of(database, kadri) == []


def test_unavailability_errors_are_shown_by_their_fields_and_the_form_keeps_them(browser,
                                                                               database):
    client = browser(Role.RESPONDER)
    mine = own_record(database, client)
    missing = post_form(client, f"/experts/{mine}", f"/experts/{mine}/unavailability", {
        "starts_on": "", "ends_on": "2031-03-14", "reason": "Training"})
    assert missing.status_code == 422
    html = missing.text
    assert re.search(r'class="alert alert--error error-summary" role="alert"[^>]*autofocus', html)
    assert '<a href="#starts_on">Enter the first day of the period.</a>' in html
    assert re.search(r'id="starts_on"[^>]*aria-describedby="starts_on-error" '
                     r'aria-invalid="true"', html)
    assert 'name="ends_on" value="2031-03-14"' in html
    assert 'name="reason" value="Training"' in html
    assert "<title>Error: Reet Responder · crrt</title>" in html
    backwards = post_form(client, f"/experts/{mine}", f"/experts/{mine}/unavailability", {
        "starts_on": "2031-03-14", "ends_on": "2031-03-10"})
    assert backwards.status_code == 422
    assert 'id="ends_on-error"' in backwards.text
    assert "The last day must not be before the first day." in backwards.text
    assert re.search(r'id="ends_on"[^>]*aria-invalid="true"', backwards.text)
    assert periods_of(database, mine) == []


def test_an_overlapping_period_is_refused_naming_the_period_it_overlaps(browser, database):
    client = browser(Role.RESPONDER)
    mine = own_record(database, client)
    with database.session() as db:
        expert_service.add_unavailability(db=db, actor=SYSTEM, expert_id=mine, data=(
            UnavailabilityIn(starts_on="2031-03-12", ends_on="2031-03-20")))
    response = post_form(client, f"/experts/{mine}", f"/experts/{mine}/unavailability", {
        "starts_on": "2031-03-10", "ends_on": "2031-03-14"})
    assert response.status_code == 422
    expected = (f"It overlaps the period {english_day('2031-03-12')} to "
                f"{english_day('2031-03-20')}.")
    assert expected in response.text
    assert 'id="starts_on-error"' in response.text
    assert periods_of(database, mine) == [("2031-03-12", "2031-03-20", "")]


def test_responder_cannot_change_a_colleagues_unavailability(browser, database, pool):
    client = browser(Role.RESPONDER)
    mine = own_record(database, client)
    colleague = pool["Jaan Kask"]
    with database.session() as db:
        period = expert_service.add_unavailability(db=db, actor=SYSTEM, expert_id=colleague,
                                                   data=UnavailabilityIn(
                                                       starts_on="2031-05-01",
                                                       ends_on="2031-05-02")).public_id
    recorded = post_form(client, f"/experts/{mine}", f"/experts/{colleague}/unavailability", {
        "starts_on": "2031-03-10", "ends_on": "2031-03-14"})
    removed = post_form(client, f"/experts/{mine}",
                        f"/experts/{colleague}/unavailability/{period}/remove", {})
    assert (recorded.status_code, removed.status_code) == (404, 404)
    assert periods_of(database, colleague) == [("2031-05-01", "2031-05-02", "")]


def test_poc_edits_an_expert_through_the_prefilled_form(browser, database, pool):
    from crrt.organisations import service as org_service
    from crrt.organisations.enums import InstitutionKind
    from crrt.organisations.schemas import InstitutionIn

    with database.session() as db:
        cert = org_service.create_institution(db=db, actor=SYSTEM, code="EE", data=InstitutionIn(
            name="CERT-EE", kind=InstitutionKind.CSIRT)).public_id
    kadri = pool["Kadri Tamm"]
    client = browser(Role.NATIONAL_POC)
    form = client.get(f"/experts/{kadri}/edit")
    assert form.status_code == 200
    html = form.text
    assert "<h1>Edit Kadri Tamm</h1>" in html
    assert 'name="name" value="Kadri Tamm"' in html
    assert 'name="email" value="kadri.tamm@ee.example"' in html
    assert 'name="languages" value="en, et"' in html
    assert re.search(r'name="skill.malware_analysis">\s*<option value="">—</option>\s*'
                     r'(<option[^>]*>[^<]*</option>\s*){2}<option value="3" selected>', html)
    assert '<option value="SECRET UE" selected>' in html
    assert 'value="on_site" checked' in html
    assert "Estonia (EE)" in html and 'name="org"' not in html
    assert 'name="user_email"' not in html
    response = post_form(client, f"/experts/{kadri}/edit", f"/experts/{kadri}/edit", {
        "institution_id": str(cert), "name": "Kadri Tamm-Saar", "email": "kadri@ee.example",
        "phone": "+372 5000 0000", "skill.malware_analysis": "2", "skill.ot_ics": "1",
        "languages": "et, en, fi", "clearance": "CONFIDENTIEL UE", "deployability": "remote",
        "time_zone": "Europe/Tallinn", "notes": "Back from FIRST."})
    assert response.status_code == 303
    assert response.headers["location"] == f"/experts/{kadri}?saved=details"
    page = client.get(response.headers["location"])
    assert re.search(r'role="status"><p>Your changes are saved.</p>', page.text)
    assert "<h1>Kadri Tamm-Saar</h1>" in page.text
    assert "Estonia (EE) · CERT-EE" in page.text
    assert "kadri@ee.example" in page.text and "+372 5000 0000" in page.text
    assert "EN, ET, FI" in page.text and "CONFIDENTIEL UE" in page.text
    assert "OT / ICS" in page.text and "Cloud" not in page.text
    assert "Back from FIRST." in page.text
    # an empty optional field clears what it held
    cleared = post_form(client, f"/experts/{kadri}/edit", f"/experts/{kadri}/edit", {
        "institution_id": "", "name": "Kadri Tamm-Saar", "email": "kadri@ee.example",
        "phone": "", "skill.malware_analysis": "2", "languages": "", "clearance": "none",
        "deployability": "remote", "time_zone": "Europe/Tallinn", "notes": ""})
    assert cleared.status_code == 303
    with database.session(read_only=True) as db:
        out = expert_service.expert_out(db, SYSTEM, expert_service.get(db=db, actor=SYSTEM,
                                                                       expert_id=kadri))
    assert (out.institution, out.phone, out.languages, out.notes) == (None, None, [], "")


def _edit(client, expert, **changes):
    fields = {"name": "Kadri Tamm", "email": "kadri.tamm@ee.example", "skill.cloud": "1",
              "deployability": "remote", "clearance": "none", "time_zone": "UTC", **changes}
    return post_form(client, f"/experts/{expert}/edit", f"/experts/{expert}/edit", fields)


def test_coordinator_moves_an_expert_to_another_nation_and_links_then_unlinks_an_account(
        browser, database, pool):
    kadri = pool["Kadri Tamm"]
    make_user(database, Role.RESPONDER, "ES", email="kadri@es.example")
    client = browser(Role.COORDINATOR)
    form = client.get(f"/experts/{kadri}/edit")
    assert '<select id="org" name="org"' in form.text
    assert '<option value="EE" selected>' in form.text
    assert 'name="user_email"' in form.text and 'name="unlink"' not in form.text
    # an account of another nation is refused while the record stays Estonian
    refused = _edit(client, kadri, user_email="kadri@es.example")
    assert refused.status_code == 422 and 'id="user_email-error"' in refused.text
    moved = _edit(client, kadri, org="ES", user_email="kadri@es.example")
    assert moved.status_code == 303, moved.text
    with database.session(read_only=True) as db:
        expert = expert_service.get(db=db, actor=SYSTEM, expert_id=kadri)
        assert expert.user_id is not None
        assert expert_service.expert_out(db, SYSTEM, expert).org == "ES"
    again = client.get(f"/experts/{kadri}/edit")
    assert 'name="unlink"' in again.text and "Leave this empty to keep that link." in again.text
    kept = _edit(client, kadri, org="ES")  # the email left empty keeps the link
    assert kept.status_code == 303
    with database.session(read_only=True) as db:
        assert expert_service.get(db=db, actor=SYSTEM, expert_id=kadri).user_id is not None
    assert _edit(client, kadri, org="ES", unlink="1").status_code == 303
    with database.session(read_only=True) as db:
        assert expert_service.get(db=db, actor=SYSTEM, expert_id=kadri).user_id is None


def test_a_poc_neither_moves_an_expert_nor_links_an_account(browser, database, pool):
    kadri = pool["Kadri Tamm"]
    client = browser(Role.NATIONAL_POC)
    assert _edit(client, kadri, org="ES", user_email="x@ee.example",
                 unlink="1").status_code == 303  # the fields it may not use are ignored
    with database.session(read_only=True) as db:
        expert = expert_service.get(db=db, actor=SYSTEM, expert_id=kadri)
        assert expert_service.expert_out(db, SYSTEM, expert).org == "EE"
        assert expert.user_id is None


def test_edit_errors_are_shown_by_their_fields_and_nothing_changes(browser, database, pool):
    kadri = pool["Kadri Tamm"]
    client = browser(Role.COORDINATOR)
    response = post_form(client, f"/experts/{kadri}/edit", f"/experts/{kadri}/edit", {
        "name": " ", "email": "", "phone": "+372 5555 1234", "languages": "et, zz",
        "time_zone": "Mars/Olympus", "notes": "Keep this note.", "clearance": "none"})
    assert response.status_code == 422
    html = response.text
    assert re.search(r'error-summary" role="alert"[^>]*autofocus', html)
    for field in ("name", "email", "languages", "time_zone"):
        assert re.search(rf'id="{field}"[^>]*aria-describedby="[^"]*{field}-error"'
                         r'[^>]*aria-invalid="true"', html), field
    assert "Enter the expert&#39;s email address." in html
    assert "Give at least one skill with its level." in html
    assert "Choose remote, on site, or both." in html
    summary = html[html.index("error-summary"):html.index("</div>", html.index("error-summary"))]
    order = [summary.index(f'href="#{anchor}"') for anchor in ("name", "email", "skills-legend",
                                                              "languages")]
    assert order == sorted(order), "the summary lists the problems in the form's order"
    assert 'value="+372 5555 1234"' in html and ">Keep this note.</textarea>" in html
    assert "<title>Error: Edit Kadri Tamm · crrt</title>" in html
    with database.session(read_only=True) as db:
        expert = expert_service.get(db=db, actor=SYSTEM, expert_id=kadri)
        assert (expert.name, expert.phone) == ("Kadri Tamm", None)


def test_editing_to_an_email_taken_in_the_nation_is_shown_on_the_email_field(browser, pool):
    kadri = pool["Kadri Tamm"]
    client = browser(Role.NATIONAL_POC)
    response = post_form(client, f"/experts/{kadri}/edit", f"/experts/{kadri}/edit", {
        "name": "Kadri Tamm", "email": "jaan.kask@ee.example", "skill.cloud": "1",
        "deployability": "remote", "clearance": "none"})
    assert response.status_code == 422
    assert 'id="email-error"' in response.text and "already" in response.text


@pytest.mark.parametrize("path", ["/experts/{id}/edit", "/experts/{id}/withdraw"])
def test_responder_may_not_edit_or_withdraw_even_their_own_record(browser, database, path):
    client = browser(Role.RESPONDER)
    mine = own_record(database, client)
    url = path.format(id=mine)
    assert client.get(url).status_code == 403
    posted = post_form(client, f"/experts/{mine}", url, {
        "name": "Renamed", "email": "renamed@ee.example", "skill.cloud": "1",
        "deployability": "remote"})
    assert posted.status_code == 403
    with database.session(read_only=True) as db:
        assert expert_service.get(db=db, actor=SYSTEM, expert_id=mine).name == "Reet Responder"


@pytest.mark.parametrize("path", ["/experts/{id}/edit", "/experts/{id}/withdraw"])
def test_poc_reaches_no_change_page_of_another_nations_expert(browser, database, pool, path):
    client = browser(Role.NATIONAL_POC)
    url = path.format(id=pool["Lucia Garcia"])
    assert client.get(url).status_code == 404
    assert post_form(client, "/experts", url, {"name": "X", "email": "x@es.example",
                                               "skill.cloud": "1"}).status_code == 404
    assert pool_size(database, "ES") == 1


@pytest.mark.parametrize("path", ["/experts/{id}/edit", "/experts/{id}/withdraw",
                                  "/experts/{id}/unavailability"])
@pytest.mark.parametrize("role", [Role.REQUESTER, Role.OBSERVER])
def test_roles_outside_the_pool_cannot_post_changes(browser, database, pool, role, path):
    client = browser(role)
    response = post_form(client, "/", path.format(id=pool["Kadri Tamm"]), {
        "name": "X", "email": "x@ee.example", "skill.cloud": "1", "deployability": "remote",
        "starts_on": "2031-03-10", "ends_on": "2031-03-14"})
    assert response.status_code == 403
    assert pool_size(database) == 3
    assert periods_of(database, pool["Kadri Tamm"]) == []


def test_withdrawing_asks_first_then_the_expert_leaves_the_pool(browser, database, pool):
    kadri = pool["Kadri Tamm"]
    client = browser(Role.NATIONAL_POC)
    question = client.get(f"/experts/{kadri}/withdraw")
    assert question.status_code == 200
    assert "<h1>Withdraw Kadri Tamm?</h1>" in question.text
    assert f'<form method="post" action="/experts/{kadri}/withdraw"' in question.text
    assert pool_size(database) == 3  # asking changes nothing
    response = post_form(client, f"/experts/{kadri}/withdraw", f"/experts/{kadri}/withdraw", {})
    assert response.status_code == 303
    assert response.headers["location"] == "/experts?withdrawn=1"
    page = client.get(response.headers["location"])
    assert re.search(r'role="status"><p>The nomination is withdrawn; the expert has left the '
                     r'pool.</p>', page.text)
    assert listed(page.text) == {"Jaan Kask"}
    assert client.get(f"/experts/{kadri}").status_code == 404


@pytest.mark.parametrize("action", ["edit", "withdraw", "unavailability"])
@pytest.mark.parametrize("token", [None, "f" * 64])
def test_change_forms_without_a_valid_csrf_token_change_nothing(browser, database, pool, action,
                                                                token):
    kadri = pool["Kadri Tamm"]
    client = browser(Role.COORDINATOR)
    client.get(f"/experts/{kadri}")
    data = {"name": "Forged", "email": "forged@ee.example", "skill.cloud": "1",
            "deployability": "remote", "starts_on": "2031-03-10", "ends_on": "2031-03-14"}
    if token is not None:
        data["csrf_token"] = token
    response = client.post(f"/experts/{kadri}/{action}", data=data, follow_redirects=False)
    assert response.status_code == 403
    assert pool_size(database) == 3
    assert periods_of(database, kadri) == []
    with database.session(read_only=True) as db:
        assert expert_service.get(db=db, actor=SYSTEM, expert_id=kadri).name == "Kadri Tamm"


def test_the_edit_form_keeps_and_clears_how_the_expert_is_reached(browser, database, pool):
    from tests.web.conftest import csrf_of

    poc = browser(Role.COORDINATOR)
    expert = pool["Jaan Kask"]
    form = poc.get(f"/experts/{expert}/edit")
    fields = dict(re.findall(r'name="([\w.]+)" value="([^"]*)"', form.text))
    answer = poc.post(f"/experts/{expert}/edit", data={
        **fields, "csrf_token": csrf_of(form.text), "skill.incident_handling": "2",
        "deployability": "remote", "messenger": "Matrix: @jaan:example.org",
        "pgp_fingerprint": "3aa5 c343 7156 7bd2 2282 0f3d 26bb 7d48 d5df 47e1",
        "clearance_expires_on": "2028-01-31"}, follow_redirects=False)
    assert answer.status_code == 303, answer.text[:2000]
    page = poc.get(f"/experts/{expert}").text
    assert "Matrix: @jaan:example.org" in page and "3AA5 C343 7156" in page
    assert format_date(date(2028, 1, 31), format="medium", locale="en") in page
    again = poc.get(f"/experts/{expert}/edit").text
    assert 'name="messenger" value="Matrix: @jaan:example.org"' in again


def test_a_bad_level_and_an_unknown_nation_are_both_told(browser, pool):
    page = browser(Role.COORDINATOR).get("/experts?min_level=7&org=ZZ")
    assert page.status_code == 422
    assert 'id="min_level-error"' in page.text and 'id="org-error"' in page.text


def test_availability_is_shown_for_the_day_filtered_on(browser, database, pool):
    today = clock.today()
    with database.session() as db:
        expert_service.add_unavailability(
            db=db, actor=SYSTEM, expert_id=pool["Jaan Kask"],
            data=UnavailabilityIn(starts_on=today, ends_on=today + timedelta(days=2)))
    client = browser(Role.COORDINATOR)
    assert "Away until" in client.get("/experts?q=Jaan").text
    later = today + timedelta(days=5)
    page = client.get(f"/experts?q=Jaan&available_on={later.isoformat()}").text
    assert f"Availability on {format_date(later, format='medium', locale='en')}" in page
    assert "Away until" not in page and ">Available<" in page
