"""What the browser tests share: the demo users, signing in, and the checks every page must pass
(no sideways scroll at phone width, no serious WCAG violation, reachable by keyboard)."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
POC_EMAIL = "browser-poc@test.example"
COORDINATOR_EMAIL = "browser-coordinator@test.example"
RESPONDER_EMAIL = "browser-responder@test.example"
REQUESTER_EMAIL = "browser-requester@test.example"
RESPONDER_NAME = "Riin Responder"
PASSWORD = "a browser test password"
SHOTS = Path(os.environ.get("CRRT_SCREENSHOTS", tempfile.gettempdir()))
# Screenshots are for a person to look at: CI takes none unless CRRT_SCREENSHOTS asks.
TAKE_SHOTS = "CRRT_SCREENSHOTS" in os.environ or os.environ.get("CI", "").lower() != "true"


def shoot(page, filename: str, *, full: bool = True) -> None:
    """Keep the page as it stands, as ``SHOTS/filename``, for a person to look at."""
    if TAKE_SHOTS:
        page.screenshot(path=str(SHOTS / filename), full_page=full)


@dataclass
class Server:
    url: str


def sign_in(page, server: Server, email: str, next_path: str = "/") -> None:
    page.goto(f"{server.url}{next_path}")
    assert "/login" in page.url
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}{next_path}")


def no_horizontal_scroll(page) -> bool:
    return bool(page.evaluate(
        "() => document.documentElement.scrollWidth <= window.innerWidth"
        " && document.body.scrollWidth <= window.innerWidth"))


AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def serious_violations(page) -> list[str]:
    """axe-core's WCAG 2.1 A and AA violations of serious or critical impact on this page."""
    if not page.evaluate("() => typeof axe !== 'undefined'"):  # else loaded with the page
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags},"
                           " resultTypes: ['violations']})", WCAG_AA)
    return [f"{v['id']} ({v['impact']}): {v['help']} — "
            f"{[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


def tab_to(page, element_id: str, presses: int = 80) -> None:
    """Press Tab until the element with ``element_id`` has the focus."""
    for _ in range(presses):
        if page.evaluate("() => document.activeElement.id") == element_id:
            return
        page.keyboard.press("Tab")
    pytest.fail(f"Tab never reached #{element_id}")
