"""A real Chromium through the request pages: a requester asks for assistance, a field's
problem is shown by it, and the request's page shows its clocks; every page passes axe and
fits a phone."""

from __future__ import annotations

import re

import pytest

from tests.e2e.browser import (
    COORDINATOR_EMAIL,
    REQUESTER_EMAIL,
    no_horizontal_scroll,
    serious_violations,
    shoot,
    sign_in,
)

pytestmark = pytest.mark.browser


def test_a_requester_asks_for_assistance(axe_page, server):
    page = axe_page
    sign_in(page, server, REQUESTER_EMAIL, "/requests/new")
    assert serious_violations(page) == []
    page.get_by_label("Name").fill("Jana Novak")
    page.get_by_label("Email address").fill("jana.novak@cert.example")
    page.get_by_label("Affected entity").fill("An agency of the Union")
    page.get_by_label("Sector").fill("public administration")
    page.get_by_label("Mode").select_option("on_site")
    with page.expect_navigation():
        page.get_by_role("button", name="Send the request").click()
    assert page.get_by_label("What happened").get_attribute("aria-invalid") == "true"
    assert serious_violations(page) == []
    page.get_by_label("What happened").fill("Credential phishing against the staff.")
    page.get_by_label("Incident response").check()
    with page.expect_navigation():  # the rule across fields: on site, so where
        page.get_by_role("button", name="Send the request").click()
    assert page.get_by_label("Location").get_attribute("aria-invalid") == "true"
    page.get_by_label("Location").fill("Brussels")
    with page.expect_navigation():
        page.get_by_role("button", name="Send the request").click()
    assert re.search(r"/requests/[0-9a-f-]{36}\?saved=submitted$", page.url)
    assert page.locator(".clock").count() == 3
    assert serious_violations(page) == []
    shoot(page, "crrt-request-1280.png")
    page.set_viewport_size({"width": 360, "height": 780})
    assert no_horizontal_scroll(page)
    shoot(page, "crrt-request-360.png")


def test_the_coordinators_queue_fits_a_phone(axe_page, server):
    page = axe_page
    sign_in(page, server, COORDINATOR_EMAIL, "/requests")
    assert serious_violations(page) == []
    page.set_viewport_size({"width": 360, "height": 780})
    assert no_horizontal_scroll(page)
