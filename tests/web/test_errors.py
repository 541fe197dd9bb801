"""Errors as people see them: pages in the site's layout, or the way to sign in."""

from __future__ import annotations

from crrt.access.enums import Role


def test_page_needing_a_session_sends_to_sign_in_with_the_way_back(client):
    response = client.get("/experts?skill=cloud", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/experts%3Fskill%3Dcloud"


def test_unknown_address_keeps_the_menu_of_a_signed_in_user(browser):
    page = browser(Role.COORDINATOR).get("/nowhere")
    assert page.status_code == 404
    assert "Page not found" in page.text
    assert 'href="/organisations"' in page.text
    assert "Sign out" in page.text


def test_unknown_address_for_a_visitor_offers_sign_in(client):
    page = client.get("/nowhere")
    assert page.status_code == 404
    assert 'href="/login"' in page.text
    assert "Sign out" not in page.text


def test_forbidden_page_says_why_in_the_layout(browser):
    page = browser(Role.REQUESTER).get("/experts")
    assert page.status_code == 403
    assert "<h1>Forbidden</h1>" in page.text
    assert "Your role (requester) may not do this." in page.text
    assert "Back to the dashboard" in page.text


def test_malformed_address_is_a_bad_request_page_not_a_crash(browser):
    page = browser(Role.COORDINATOR).get("/experts/not-a-number")
    assert page.status_code == 400
    assert "<html" in page.text


def test_api_errors_stay_problem_json(client):
    response = client.get("/api/v1/experts")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
