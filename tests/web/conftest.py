"""Browsers for the web tests: users with passwords who sign in through the real form."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import timedelta
from itertools import count

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from crrt.access.enums import Role
from crrt.auth import service as auth_service
from crrt.auth import tokens
from crrt.auth.identify import SESSION_COOKIE
from crrt.auth.models import WebSession
from crrt.auth.schemas import UserIn
from crrt.core import clock
from crrt.core.db import Database
from tests.conftest import ROLE_ORGS, SYSTEM

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The hidden CSRF field of the first form on a page."""
    found = CSRF.search(html)
    assert found, "the page has no form with a csrf_token"
    return found.group(1)


def make_user(database: Database, role: Role, org: str | None = None, *,
              email: str | None = None, name: str | None = None) -> str:
    """An account with :data:`PASSWORD`; returns its email."""
    email = email or f"web-{role.value.replace('_', '-')}-{(org or ROLE_ORGS[role]).lower()}" \
                     "@test.example"
    with database.session() as db:
        auth_service.create_user(db=db, actor=SYSTEM, data=UserIn(
            email=email, name=name or f"Web {role.value.replace('_', ' ').title()}", role=role,
            org=org or ROLE_ORGS[role], password=PASSWORD))
    return email


def sign_in(client: TestClient, email: str, password: str = PASSWORD,
            next: str | None = None) -> Response:
    """Fill in and post the sign-in form, as a person would (no redirect followed)."""
    page = client.get("/login" + (f"?next={next}" if next else ""))
    form = {"csrf_token": csrf_of(page.text), "email": email, "password": password}
    if next is not None:
        form["next"] = next
    return client.post("/login", data=form, follow_redirects=False)


def post_form(client: TestClient, page_url: str, action: str, data: dict[str, object],
              ) -> Response:
    """Open ``page_url``, take its CSRF token, and post ``data`` to ``action``."""
    token = csrf_of(client.get(page_url).text)
    return client.post(action, data={"csrf_token": token, **data}, follow_redirects=False)


def open_session(database: Database, email: str) -> str:
    """A session cookie for ``email`` without the password round (Argon2 costs ~0.4 s here).

    The sign-in form itself is exercised in ``test_session.py``; the page tests only need
    someone signed in.
    """
    secret = tokens.new_session_id()
    with database.session() as db:
        user = auth_service.find_by_email(db=db, actor=SYSTEM, email=email)
        assert user is not None
        db.add(WebSession(user_id=user.id, session_hash=tokens.digest(secret),
                          expires_at=clock.now() + timedelta(hours=1)))
    return secret


@pytest.fixture
def browser(app, database: Database, world) -> Iterator[Callable[..., TestClient]]:
    """A factory of signed-in browsers: ``browser(Role.NATIONAL_POC)`` or with ``org=``."""
    opened = count(1)
    with ExitStack() as stack:
        def open_browser(role: Role, org: str | None = None) -> TestClient:
            email = f"web{next(opened)}-{role.value.replace('_', '-')}@test.example"
            with database.session() as db:
                auth_service.create_user(db=db, actor=SYSTEM, data=UserIn(
                    email=email, name=f"Web {role.value.replace('_', ' ').title()}",
                    role=role, org=org or ROLE_ORGS[role]))
            client = stack.enter_context(TestClient(app, raise_server_exceptions=False))
            client.cookies.set(SESSION_COOKIE, open_session(database, email))
            return client

        yield open_browser


def nominate(database: Database, org: str, name: str, *,
             skills: dict[str, int] | None = None, languages: tuple[str, ...] = ("en",),
             clearance: str = "none", deployability: tuple[str, ...] = ("remote",)) -> int:
    """An expert nominated through the service, as the system; returns its id."""
    from crrt.experts import service as expert_service
    from crrt.experts.schemas import ExpertIn

    skills = skills or {"incident_handling": 2}
    with database.session() as db:
        expert = expert_service.nominate(db=db, actor=SYSTEM, data=ExpertIn.model_validate({
            "org": org, "name": name,
            "email": f"{name.lower().replace(' ', '.')}@{org.lower()}.example",
            "skills": [{"skill": s, "level": lvl} for s, lvl in skills.items()],
            "languages": list(languages), "clearance": clearance,
            "deployability": list(deployability)}))
        return expert.public_id
