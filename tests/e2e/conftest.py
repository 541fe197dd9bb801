"""The browser tests' fixtures: crrt under uvicorn on the demo data, and the system Chromium.

The app runs under uvicorn on a free local port, on a migrated SQLite copy holding the demo
picture; Chromium is the system one (``/usr/bin/chromium``), never a download. Each test module
gets its own server, so modules can change what they like.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from crrt.access.enums import Role
from crrt.api import create_app
from crrt.audit import service as audit
from crrt.auth import service as auth_service
from crrt.auth.schemas import UserIn
from crrt.core.config import Settings
from crrt.core.db import Database
from crrt.demo import load as demo
from crrt.experts import service as expert_service
from crrt.experts.schemas import ExpertIn
from tests.conftest import AUDIT_KEY, SYSTEM
from tests.e2e.browser import (
    AXE,
    CHROMIUM,
    CHROMIUM_ARGS,
    COORDINATOR_EMAIL,
    PASSWORD,
    POC_EMAIL,
    REQUESTER_EMAIL,
    RESPONDER_EMAIL,
    RESPONDER_NAME,
    Server,
)
from tests.support import free_port


@pytest.fixture(scope="session")
def demo_template(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo picture (its rotations solved) and the browser tests' accounts, loaded once
    per test process into a migrated SQLite file; each module's server gets a copy."""
    path = tmp_path_factory.mktemp("browser-demo") / "crrt.db"
    shutil.copyfile(sqlite_template, path)
    database = audit.bind_key(Database(f"sqlite:///{path}"), AUDIT_KEY)
    with database.session() as db:
        demo.load(db)
        for email, role, org in ((POC_EMAIL, Role.NATIONAL_POC, "EE"),
                                 (COORDINATOR_EMAIL, Role.COORDINATOR, "LT"),
                                 (RESPONDER_EMAIL, Role.RESPONDER, "EE"),
                                 (REQUESTER_EMAIL, Role.REQUESTER, "cert-eu")):
            auth_service.create_user(db=db, actor=SYSTEM, data=UserIn(
                email=email, name=f"Browser {role.value.replace('_', ' ').title()}", role=role,
                org=org, password=PASSWORD))
        # a nomination no rotation holds (the demo's rotations were planned before it came)
        expert_service.nominate(db=db, actor=SYSTEM, data=ExpertIn.model_validate({
            "org": "EE", "name": "Rein Lahkuja", "email": "rein.lahkuja@ee.example",
            "skills": [{"skill": "cloud", "level": 2}], "languages": ["et", "en"],
            "time_zone": "Europe/Tallinn"}))
        # the responder's own record, linked to their account
        expert_service.nominate(db=db, actor=SYSTEM, data=ExpertIn.model_validate({
            "org": "EE", "name": RESPONDER_NAME, "email": "riin.responder@ee.example",
            "skills": [{"skill": "incident_handling", "level": 2}], "languages": ["et", "en"],
            "time_zone": "Europe/Tallinn", "user_email": RESPONDER_EMAIL}))
    database.dispose()
    return path


@pytest.fixture(scope="module")
def prepare_database() -> Callable[[Session], None] | None:
    """What a module changes in its copy of the demo before its server starts: nothing, unless
    the module overrides this fixture."""
    return None


@pytest.fixture(scope="module")
def server(demo_template: Path, tmp_path_factory: pytest.TempPathFactory,
           prepare_database: Callable[[Session], None] | None) -> Iterator[Server]:
    """crrt under uvicorn in a thread, on a copy of the demo database of its own."""
    import uvicorn

    folder = tmp_path_factory.mktemp("browser")
    path = folder / "crrt.db"
    shutil.copyfile(demo_template, path)
    database = audit.bind_key(Database(f"sqlite:///{path}"), AUDIT_KEY)
    if prepare_database is not None:
        with database.session() as db:
            prepare_database(db)
    settings = Settings(database_url=database.url, data_dir=folder / "data",
                        secret_key="browser-test-secret-key")
    port = free_port()
    uv = uvicorn.Server(uvicorn.Config(create_app(settings, database=database), host="127.0.0.1",
                                       port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield Server(url=f"http://127.0.0.1:{port}")
    uv.should_exit = True
    thread.join(timeout=10)
    database.dispose()


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    if not CHROMIUM.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {CHROMIUM} is missing: the browser tests must run")
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, server):
    """A fresh browser context (no cookies) that fails the test on a CSP violation, a script
    error or a stylesheet or image that did not load (error pages themselves are fine)."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    problems: list[str] = []

    def on_console(message) -> None:
        if message.type == "error" and "Failed to load resource" not in message.text:
            problems.append(message.text)

    def on_response(response) -> None:
        if response.request.resource_type != "document" and response.status >= 400:
            problems.append(f"{response.status} {response.url}")

    tab.on("console", on_console)
    tab.on("response", on_response)
    tab.on("pageerror", lambda exc: problems.append(str(exc)))
    yield tab
    context.close()
    assert not problems, f"the browser reported errors: {problems}"


@pytest.fixture
def axe_page(chromium, server):
    """A tab that lets a test inject axe-core: the pages' CSP refuses any script, so this
    context (and only this one) bypasses it."""
    if not AXE.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {AXE} is missing: run npm ci (make test does)")
        pytest.skip("the accessibility checks need axe-core: npm ci")
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    context.add_init_script(path=str(AXE))  # on every page, without a round trip each time
    yield context.new_page()
    context.close()



