"""A real Chromium through the intel pages: a collection opened and searched, an object with
its versions, relationships and correlation, a file imported and its report, at desktop and
phone width, each page checked with axe.

Screenshots go to ``/tmp/crrt-intel-*.png`` (or ``$CRRT_SCREENSHOTS``) for a person to look at.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from crrt.access.enums import Role, Tlp
from crrt.access.principal import Principal
from crrt.intel import markings
from crrt.intel import service as intel
from crrt.intel.schemas import CollectionIn
from crrt.organisations import service as org_service
from tests.conftest import SYSTEM
from tests.e2e.browser import (
    COORDINATOR_EMAIL,
    POC_EMAIL,
    no_horizontal_scroll,
    serious_violations,
    shoot,
    sign_in,
)

pytestmark = pytest.mark.browser

CREATED = "2026-11-27T10:00:00.000Z"
GREEN = markings.TLP2_IDS[Tlp.GREEN]
INDICATOR = f"indicator--{uuid.uuid4()}"
MALWARE = f"malware--{uuid.uuid4()}"
TITLE = "Baltic phishing infrastructure"


def _objects() -> list[dict]:
    indicator = {"type": "indicator", "spec_version": "2.1", "id": INDICATOR,
                 "created": CREATED, "modified": CREATED,
                 "name": "Credential-phishing host 198.51.100.7",
                 "description": "Serves a fake sign-in page of a ministry's webmail.",
                 "indicator_types": ["malicious-activity"],
                 "pattern": "[ipv4-addr:value = '198.51.100.7']", "pattern_type": "stix",
                 "valid_from": "2026-11-27T10:00:00Z", "object_marking_refs": [GREEN]}
    later = {**indicator, "modified": "2026-12-02T08:30:00.000Z"}
    malware = {"type": "malware", "spec_version": "2.1", "id": MALWARE, "created": CREATED,
               "modified": CREATED, "name": "Kraken phishing kit", "is_family": True,
               "object_marking_refs": [GREEN]}
    link = {"type": "relationship", "spec_version": "2.1",
            "id": f"relationship--{uuid.uuid4()}", "created": CREATED, "modified": CREATED,
            "relationship_type": "indicates", "source_ref": INDICATOR, "target_ref": MALWARE,
            "object_marking_refs": [GREEN]}
    network = {"type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}",
               "created": CREATED, "modified": CREATED, "name": "Bulletproof hosting range",
               "pattern": "[ipv4-addr:value = '198.51.100.0/24']", "pattern_type": "stix",
               "valid_from": "2026-11-27T10:00:00Z",
               "object_marking_refs": [markings.TLP2_IDS[Tlp.AMBER]]}
    return [indicator, malware, link, network, later]


@pytest.fixture(scope="module")
def prepare_database():
    def shared(db: Session) -> None:
        estonia = org_service.get(db=db, actor=SYSTEM, code="EE")
        poc = Principal(user_id=None, email="seed@ee.example", name="Seed", role=Role.NATIONAL_POC,
                        org_id=estonia.id, org_code="EE")
        made = intel.create_collection(db=db, actor=SYSTEM, data=CollectionIn(
            title=TITLE, description="Phishing against Baltic public administrations.",
            members=["EE", "LT"], readers=["FI", "cert-eu"], max_tlp=Tlp.AMBER))
        objects = _objects()
        for batch in (objects[:-1], objects[-1:]):
            outcome = intel.add_objects(db=db, actor=poc, collection_id=made.public_id,
                                        envelope={"objects": batch})
            assert outcome.failure_count == 0, outcome.failures
    return shared


def _csv(folder: Path) -> Path:
    path = folder / "iocs.csv"
    path.write_text("type,value,description\nipv4-addr,198.51.100.7,Phishing host\n"
                    "domain-name,login-ministry.example,Look-alike domain\n", encoding="utf-8")
    return path


def test_a_poc_opens_a_collection_searches_opens_an_object_and_imports(page, server, tmp_path):
    sign_in(page, server, POC_EMAIL, "/intel")
    page.get_by_role("link", name=TITLE).click()
    assert page.get_by_role("heading", name=TITLE).is_visible()
    page.get_by_label("Value, name or id").fill("198.51.100.7")
    with page.expect_navigation():
        page.get_by_role("button", name="Search").click()
    rows = page.locator("table tbody tr")
    assert rows.count() == 1 and "indicator" in rows.first.inner_text()
    page.get_by_role("link", name="Credential-phishing host 198.51.100.7").click()
    page.wait_for_url(f"**/intel/objects/{INDICATOR}")
    assert page.get_by_role("heading", name="Versions").is_visible()
    assert page.locator("#versions-heading + .table-scroll tbody tr").count() == 2
    assert page.get_by_role("link", name="Kraken phishing kit").is_visible()
    assert page.get_by_role("link", name=TITLE).first.is_visible()
    assert "Bulletproof hosting range" not in page.content()  # a hit is named by its id
    assert page.locator("pre.intel-raw").inner_text().startswith("{")
    shoot(page, "crrt-intel-object-flow.png")

    page.goto(f"{server.url}/intel")
    page.get_by_role("link", name="Import a file").click()
    page.get_by_label("Collection").select_option(label=f"{TITLE} (TLP:AMBER)")
    page.get_by_label("TLP").select_option("green")
    page.get_by_label("File").set_input_files(str(_csv(tmp_path)))
    with page.expect_navigation():
        page.get_by_role("button", name="Import the file").click()
    assert page.get_by_role("heading", name="Import report").is_visible()
    totals = page.locator(".import-total")
    assert [totals.nth(n).inner_text() for n in range(3)] == ["3", "0", "0"]
    shoot(page, "crrt-intel-import-report-flow.png")
    page.get_by_role("link", name="Open the collection").click()
    page.get_by_label("Value, name or id").fill("login-ministry.example")
    with page.expect_navigation():
        page.get_by_role("button", name="Search").click()
    assert page.locator("table tbody tr").count() == 1


@pytest.mark.parametrize("width", [1280, 360])
def test_the_intel_pages_pass_the_accessibility_checks_and_fit(axe_page, server, tmp_path,
                                                               width):
    page = axe_page
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, server, COORDINATOR_EMAIL, "/intel")
    wrong: list[str] = []

    def look(name: str) -> None:
        if not no_horizontal_scroll(page):
            wrong.append(f"{name} scrolls sideways at {width}px")
        wrong.extend(f"{name}: {v}" for v in serious_violations(page))
        shoot(page, f"crrt-intel-{name}-{width}.png")

    look("collections")
    page.get_by_role("link", name=TITLE).click()
    look("collection")
    page.goto(f"{server.url}/intel/objects/{INDICATOR}")
    look("object")
    page.goto(f"{server.url}/intel/correlate")
    page.get_by_label("Values, one a line").fill("198.51.100.7\nlogin-ministry.example\nnope")
    with page.expect_navigation():
        page.get_by_role("button", name="Look them up").click()
    look("correlate")
    page.goto(f"{server.url}/intel/import")
    with page.expect_navigation():
        page.get_by_role("button", name="Import the file").click()
    look("import-errors")
    page.get_by_label("Collection").select_option(label=f"{TITLE} (TLP:AMBER)")
    bundle = tmp_path / "bundle.json"
    bundle.write_text('{"type": "bundle", "id": "bundle--' + str(uuid.uuid4()) + '", '
                      '"objects": [{"type": "indicator", "id": "indicator--' + str(uuid.uuid4())
                      + '", "spec_version": "2.1", "created": "2026-11-27T10:00:00.000Z", '
                      '"modified": "2026-11-27T10:00:00.000Z", "pattern": "[ipv4-addr:value '
                      "= '203.0.113.5']\", \"pattern_type\": \"stix\", \"valid_from\": "
                      '"2026-11-27T10:00:00Z", "object_marking_refs": ["'
                      + markings.TLP2_IDS[Tlp.RED] + '"]}]}', encoding="utf-8")
    page.get_by_label("File").set_input_files(str(bundle))
    with page.expect_navigation():
        page.get_by_role("button", name="Import the file").click()
    look("import-report")
    assert not wrong, "\n".join(wrong)
