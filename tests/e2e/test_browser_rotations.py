"""A real Chromium through the rotation pages: a coordinator plans a team, reads each nation's
share against its target, publishes it, and a responder takes their duty calendar's address,
which a calendar program reads. Every page passes axe and fits a phone."""

from __future__ import annotations

import re

import icalendar
import pytest

from tests.e2e.browser import (
    COORDINATOR_EMAIL,
    RESPONDER_EMAIL,
    no_horizontal_scroll,
    serious_violations,
    shoot,
    sign_in,
)

pytestmark = pytest.mark.browser


def test_a_coordinator_plans_a_rotation_and_publishes_it(axe_page, server):
    page = axe_page
    sign_in(page, server, COORDINATOR_EMAIL, "/rotations")
    assert page.get_by_role("heading", name="On duty now").is_visible()
    assert page.locator("table.table--team tbody tr").count() == 10  # the demo's team
    page.get_by_role("link", name="Plan rotations").click()
    page.wait_for_url(f"{server.url}/rotations/plan")
    assert serious_violations(page) == []
    start = page.get_by_label("First day").input_value()  # after the published ones
    page.get_by_label("Periods").fill("1")
    page.get_by_label("Search time (seconds)").fill("0")
    with page.expect_navigation():
        page.get_by_role("button", name="Make a draft plan").click()
    assert page.get_by_label("Search time (seconds)").get_attribute("aria-invalid") == "true"

    page.get_by_label("Search time (seconds)").fill("3")
    with page.expect_navigation(timeout=60_000):
        page.get_by_role("button", name="Make a draft plan").click()
    assert re.search(r"/rotations/plans/[0-9a-f-]{36}$", page.url)
    plan_url = page.url
    chart = page.locator("figure.share-chart")
    assert chart.is_visible()
    values = chart.locator(".share-chart__value")
    assert values.count() >= 4  # the template asks for four nations at least
    held = sum(int(v.get_attribute("data-assigned")) for v in values.all())
    assert held == page.locator("table.table--team tbody tr").count() == 10
    assert page.locator("table.table--team").first.get_by_text("Team lead").count() >= 1
    assert serious_violations(page) == []
    shoot(page, "crrt-plan-1280.png")
    page.set_viewport_size({"width": 360, "height": 780})
    assert no_horizontal_scroll(page)
    shoot(page, "crrt-plan-360.png")
    page.set_viewport_size({"width": 1280, "height": 900})

    with page.expect_navigation():
        page.get_by_role("button", name="Publish this plan").click()
    page.wait_for_url(f"{server.url}/rotations?published=1")
    assert "The plan is published" in page.get_by_role("status").inner_text()
    listed = page.locator(".rotation-list li")
    assert any(start[:4] in item for item in listed.all_inner_texts())
    page.goto(plan_url)  # published: no second publish
    assert page.get_by_role("button", name="Publish this plan").count() == 0
    page.goto(f"{server.url}/rotations")
    page.locator(".rotation-list a").last.click()
    page.wait_for_url(re.compile(r".*/rotations/[0-9a-f-]{36}$"))
    assert page.locator("table.table--duty tbody tr").count() >= 20  # weeks of six months
    assert serious_violations(page) == []
    page.set_viewport_size({"width": 360, "height": 780})
    assert no_horizontal_scroll(page)
    shoot(page, "crrt-rotation-360.png")


def test_a_responder_takes_a_calendar_address_a_calendar_reads(axe_page, server):
    page = axe_page
    sign_in(page, server, RESPONDER_EMAIL, "/duty")
    assert page.get_by_role("heading", name="Your duty calendar").is_visible()
    with page.expect_navigation():
        page.get_by_role("button", name="Make a calendar address").click()
    address = page.locator("#calendar-address").inner_text()
    assert "/api/v1/calendars/" in address and address.endswith(".ics")
    assert serious_violations(page) == []
    answer = page.request.get(address)
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(answer.body())
    assert calendar.get("X-WR-TIMEZONE") == "Europe/Tallinn"
    page.goto(f"{server.url}/duty")
    with page.expect_navigation():
        page.get_by_role("button", name="Revoke the address").click()
    assert page.request.get(address).status == 404
    page.set_viewport_size({"width": 360, "height": 780})
    assert no_horizontal_scroll(page)
