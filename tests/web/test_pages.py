"""The dashboard and the organisation pages, as each role sees them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

import pytest
from babel.dates import format_date

from crrt import __version__
from crrt.access.enums import Role
from crrt.core import clock
from crrt.organisations import service as org_service
from crrt.organisations.enums import InstitutionKind, Membership
from crrt.organisations.schemas import InstitutionIn, OrganisationPatch
from tests.conftest import SYSTEM
from tests.web.conftest import nominate


def chart_rows(html: str, caption: str) -> dict[str, int]:
    """The numbers behind one chart, read from its rows."""
    chart = re.search(rf'class="chart__caption">{re.escape(caption)}</figcaption>(.*?)</figure>',
                      html, re.S)
    assert chart, f"no chart '{caption}'"
    return {label: int(n) for label, n in re.findall(
        r'<span class="bars__label">([^<]+)</span>.*?data-value="(\d+)"', chart.group(1), re.S)}


def chart_links(html: str, caption: str) -> dict[str, str]:
    """Where each row of one chart leads."""
    chart = re.search(rf'class="chart__caption">{re.escape(caption)}</figcaption>(.*?)</figure>',
                      html, re.S)
    assert chart, f"no chart '{caption}'"
    return {label: href.replace("&amp;", "&") for href, label in re.findall(
        r'<a class="bars__row" href="([^"]+)">\s*<span class="bars__label">([^<]+)</span>',
        chart.group(1))}


def test_dashboard_counts_organisations_by_membership_and_kind(browser):
    page = browser(Role.OBSERVER).get("/")
    assert page.status_code == 200
    assert chart_rows(page.text, "Organisations by membership") == {
        "Lead nation": 1, "Participant": 2, "Observer": 1, "No membership": 1}
    assert chart_rows(page.text, "Organisations by kind") == {
        "Nation": 4, "EU institution": 1, "Partner": 0}
    assert chart_links(page.text, "Organisations by membership")["Observer"] == \
        "/organisations?membership=observer"
    assert chart_links(page.text, "Organisations by kind")["Partner"] == \
        "/organisations?kind=partner"


def test_dashboard_shows_the_whole_pool_to_a_coordinator(browser, database):
    nominate(database, "EE", "Kadri Tamm", skills={"malware_analysis": 3, "cloud": 1})
    nominate(database, "EE", "Jaan Kask", skills={"malware_analysis": 2})
    nominate(database, "ES", "Lucia Garcia", skills={"legal_advisor": 2})
    page = browser(Role.COORDINATOR).get("/")
    by_nation = chart_rows(page.text, "Experts by nation")
    assert by_nation["Estonia (EE)"] == 2
    assert by_nation["Spain (ES)"] == 1
    by_skill = chart_rows(page.text, "Experts by skill")
    assert by_skill["Malware analysis"] == 2
    assert by_skill["Legal advice"] == 1
    assert by_skill["Team lead"] == 0
    links = chart_links(page.text, "Experts by nation")
    assert links["Estonia (EE)"] == "/experts?org=EE"
    assert chart_links(page.text, "Experts by skill")["Cloud"] == "/experts?skill=cloud"
    assert re.search(r'id="stat-experts">3<', page.text)


def test_dashboard_shows_a_poc_only_its_own_nation(browser, database):
    nominate(database, "EE", "Kadri Tamm")
    nominate(database, "ES", "Lucia Garcia")
    page = browser(Role.NATIONAL_POC).get("/")
    by_nation = chart_rows(page.text, "Experts by nation")
    assert by_nation == {"Estonia (EE)": 1}
    assert "Spain (ES)" not in page.text
    assert re.search(r'id="stat-experts">1<', page.text)


@pytest.mark.parametrize("role", [Role.REQUESTER, Role.OBSERVER, Role.RESPONDER])
def test_dashboard_hides_the_pool_from_roles_outside_it(browser, database, role):
    nominate(database, "EE", "Kadri Tamm")
    page = browser(role).get("/")
    assert page.status_code == 200
    assert "Organisations by kind" in page.text
    assert "Experts by nation" not in page.text
    assert "stat-experts" not in page.text


def test_navigation_offers_the_pool_only_to_roles_that_may_see_it(browser):
    assert 'href="/experts"' in browser(Role.NATIONAL_POC).get("/").text
    requester = browser(Role.REQUESTER).get("/").text
    assert 'href="/experts"' not in requester
    assert 'href="/organisations"' in requester
    assert "Web Requester" in requester and "cert-eu" in requester


def test_organisations_table_lists_every_organisation(browser):
    page = browser(Role.REQUESTER).get("/organisations")
    assert page.status_code == 200
    for name in ("Lithuania", "Estonia", "Spain", "Germany", "CERT-EU"):
        assert f">{name}</a>" in page.text
    assert format_date(clock.today(), format="medium", locale="en") in page.text
    assert 'aria-current="page"' in page.text


@pytest.mark.parametrize(("query", "shown", "hidden"), [
    ("membership=participant", {"Estonia", "Spain"}, {"Lithuania", "Germany", "CERT-EU"}),
    ("membership=none", {"CERT-EU"}, {"Lithuania", "Estonia"}),
    ("kind=eu_institution", {"CERT-EU"}, {"Estonia", "Germany"}),
    ("kind=nation&membership=observer", {"Germany"}, {"Estonia", "CERT-EU"}),
])
def test_organisations_filter_by_kind_and_membership(browser, query, shown, hidden):
    page = browser(Role.OBSERVER).get(f"/organisations?{query}")
    assert page.status_code == 200
    for name in shown:
        assert f">{name}</a>" in page.text
    for name in hidden:
        assert f">{name}</a>" not in page.text


def test_organisations_filter_with_an_unknown_value_is_refused(browser):
    page = browser(Role.OBSERVER).get("/organisations?membership=emperor")
    assert page.status_code == 422
    assert "is not a membership" in page.text


def test_organisation_page_shows_the_membership_history_and_institutions(browser, database):
    today = clock.today()
    with database.session() as db:
        org_service.update(db=db, actor=SYSTEM, code="ES", data=OrganisationPatch(
            membership=Membership.OBSERVER, effective_on=today + timedelta(days=10),
            note="Stepped back for the budget year."))
        org_service.update(db=db, actor=SYSTEM, code="ES", data=OrganisationPatch(
            membership=None, effective_on=today + timedelta(days=20)))
        org_service.create_institution(db=db, actor=SYSTEM, code="ES", data=InstitutionIn(
            name="INCIBE-CERT", kind=InstitutionKind.CSIRT))
    page = browser(Role.OBSERVER).get("/organisations/ES")
    assert page.status_code == 200
    text = page.text
    planned, history = text.index('id="planned-heading"'), text.index('id="history-heading"')
    joined = text.index("<strong>Joined</strong>")
    changed = text.index("<strong>Role changed</strong>")
    left = text.index("<strong>Left</strong>")
    assert planned < changed < left < history < joined, \
        "planned changes first, in the order they take effect; then what happened"
    assert text.count('class="badge badge--planned"') >= 2
    assert (today + timedelta(days=10)).isoformat() in text
    assert (today + timedelta(days=20)).isoformat() in text
    assert "from participant to observer" in text
    assert "Stepped back for the budget year." in text
    assert "INCIBE-CERT" in text and "(CSIRT)" in text
    with clock.frozen(datetime.combine(today + timedelta(days=15), time(9), UTC)):
        later = browser(Role.OBSERVER).get("/organisations/ES").text
    assert later.index("<strong>Role changed</strong>") > later.index('id="history-heading"')
    assert later.index("<strong>Left</strong>") < later.index('id="history-heading"')


def test_organisation_page_links_its_experts_only_for_those_who_see_them(browser):
    assert 'href="/experts?org=EE"' in browser(Role.NATIONAL_POC).get("/organisations/EE").text
    assert 'href="/experts?org=ES"' not in browser(Role.NATIONAL_POC).get(
        "/organisations/ES").text
    assert 'href="/experts?org=EE"' not in browser(Role.REQUESTER).get("/organisations/EE").text


def test_unknown_organisation_is_a_friendly_404(browser):
    page = browser(Role.OBSERVER).get("/organisations/XX")
    assert page.status_code == 404
    assert "No organisation has the code" in page.text
    assert "Back to the dashboard" in page.text


def test_unknown_address_is_a_friendly_404_page(browser):
    page = browser(Role.OBSERVER).get("/no/such/page")
    assert page.status_code == 404
    assert "Page not found" in page.text
    assert "<html" in page.text


@pytest.mark.parametrize("path", ["/login", "/", "/organisations", "/organisations/LT",
                                  "/experts", "/experts/new", "/no/such/page"])
def test_pages_obey_the_content_security_policy(browser, path):
    client = browser(Role.COORDINATOR)
    page = client.get(path)
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    # scripts only from this site, none inline: the one progressive-help file
    assert re.findall(r"<script[^>]*>", page.text) == [
        f'<script src="/static/forms.js?v={__version__}" defer>']
    assert "style=" not in page.text
    assert "<style" not in page.text
    assert "http://" not in page.text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page.text
    assert '<main id="main"' in page.text
    assert 'href="#main"' in page.text


def test_stylesheet_is_served_from_this_site(client):
    css = client.get("/static/crrt.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert "@import" not in css.text and "url(http" not in css.text
    assert ":focus-visible" in css.text


# --- the dashboard's decisions ---------------------------------------------------------------

def _ready_row(html: str, skill_label: str) -> list[str]:
    """The four counts of one skill's row in "Who can deploy in the next 72 hours"."""
    table = re.search(r'<table class="table table--ready">(.*?)</table>', html, re.S)
    assert table, "no table of who can deploy"
    row = re.search(rf'<th scope="row">{re.escape(skill_label)}</th>(.*?)</tr>', table[1], re.S)
    assert row, f"no row for {skill_label}"
    return re.findall(r">(\d+)</(?:a|span)>", row[1])


def test_the_dashboard_counts_who_can_deploy_in_72_hours_by_skill(browser, database):
    from crrt.experts import service as expert_service
    from crrt.experts.schemas import UnavailabilityIn

    nominate(database, "EE", "Free Expert", skills={"malware_analysis": 3},
             deployability=("remote", "on_site"), clearance="SECRET UE")
    nominate(database, "ES", "Free Remote", skills={"malware_analysis": 1})
    away = nominate(database, "EE", "Away Tomorrow", skills={"malware_analysis": 3})
    later = nominate(database, "ES", "Away Later", skills={"malware_analysis": 2})
    today = clock.today()
    with database.session() as db:
        for expert, start in ((away, today + timedelta(days=1)),
                              (later, today + timedelta(days=5))):
            expert_service.add_unavailability(db=db, actor=SYSTEM, expert_id=expert,
                                              data=UnavailabilityIn(starts_on=start,
                                                                    ends_on=start))
    page = browser(Role.COORDINATOR).get("/").text
    # Free Expert, Free Remote and Away Later (away only after the 72 hours)
    assert _ready_row(page, "Malware analysis") == ["3", "1", "1", "1"]
    assert _ready_row(page, "Cloud") == ["0", "0", "0", "0"]
    last = (today + timedelta(days=2)).isoformat()
    assert (f'href="/experts?skill=malware_analysis&amp;min_level=3&amp;available_on='
            f'{today.isoformat()}&amp;available_until={last}"') in page
    assert (f'href="/experts?skill=malware_analysis&amp;clearance=RESTREINT+UE&amp;'
            f'available_on={today.isoformat()}&amp;available_until={last}"') in page
    away_list = re.search(r'id="away-heading">.*?</section>', page, re.S)[0]
    assert "Away Tomorrow" in away_list and "Away Later" in away_list
    assert "Free Expert" not in away_list


def test_a_poc_decides_from_their_own_nation_only(browser, database):
    nominate(database, "EE", "Estonian Free", skills={"cloud": 2})
    nominate(database, "ES", "Spanish Free", skills={"cloud": 2})
    page = browser(Role.NATIONAL_POC).get("/").text  # the EE point of contact
    assert _ready_row(page, "Cloud") == ["1", "0", "0", "0"]


def test_a_responder_sees_their_own_record_and_others_see_no_pool(browser, database, world):
    from sqlalchemy import select, update

    from crrt.auth.models import User
    from crrt.experts.models import Expert

    responder = browser(Role.RESPONDER)
    email = re.search(r"web\d+-responder@test\.example", responder.get("/account").text)[0]
    mine = nominate(database, "EE", "Linked Responder")
    with database.session() as db:
        user_id = db.scalar(select(User.id).where(User.email == email))
        db.execute(update(Expert).where(Expert.public_id == mine).values(user_id=user_id))
    page = responder.get("/").text
    assert 'id="own-heading"' in page and f'href="/experts/{mine}"' in page
    assert "table--ready" not in page  # the pool's decisions are not a responder's
    observer = browser(Role.OBSERVER).get("/").text
    assert "table--ready" not in observer and 'id="own-heading"' not in observer


def test_a_count_of_the_dashboard_opens_the_list_it_counts(browser, database):
    from crrt.experts import service as expert_service
    from crrt.experts.schemas import UnavailabilityIn

    nominate(database, "EE", "Free Analyst", skills={"cloud": 3})
    busy = nominate(database, "EE", "Busy Analyst", skills={"cloud": 3})
    today = clock.today()
    with database.session() as db:
        expert_service.add_unavailability(db=db, actor=SYSTEM, expert_id=busy,
                                          data=UnavailabilityIn(starts_on=today + timedelta(2),
                                                                ends_on=today + timedelta(4)))
    coordinator = browser(Role.COORDINATOR)
    link = re.search(r'href="(/experts\?skill=cloud&amp;min_level=3[^"]*)"',
                     coordinator.get("/").text)[1].replace("&amp;", "&")
    listed = coordinator.get(link)
    assert listed.status_code == 200
    assert "Free Analyst" in listed.text and "Busy Analyst" not in listed.text
    until = (today + timedelta(days=2)).isoformat()
    assert f'id="available_until" name="available_until" value="{until}"' in listed.text


def test_a_stale_record_is_counted_listed_and_confirmed_in_the_browser(browser, database):
    from sqlalchemy import update

    from crrt.experts.models import Expert
    from tests.web.conftest import csrf_of

    old = nominate(database, "EE", "Old Record")
    nominate(database, "EE", "Fresh Record")
    with database.session() as db:
        db.execute(update(Expert).where(Expert.public_id == old)
                   .values(verified_at=clock.now() - timedelta(days=400)))
    poc = browser(Role.NATIONAL_POC)
    dashboard = poc.get("/").text
    assert "1 record was not confirmed current for a year." in dashboard
    listed = poc.get("/experts?stale=true").text
    assert "Old Record" in listed and "Fresh Record" not in listed
    page = poc.get(f"/experts/{old}")
    assert "Stale" in page.text
    answer = poc.post(f"/experts/{old}/confirm", data={"csrf_token": csrf_of(page.text)},
                      follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].endswith("saved=confirmed")
    assert "Every record was confirmed current within the last year." in poc.get("/").text
