"""Fixtures of the expert pool tests: a valid nomination to vary, and a quick way to make one."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from crrt.access.enums import Role
from crrt.core.db import Database
from crrt.experts import service
from crrt.experts.schemas import ExpertIn
from tests.conftest import World

Body = Callable[..., dict[str, Any]]
Nominate = Callable[..., uuid.UUID]


def _body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "org": "EE", "name": "Kadri Saar", "email": "kadri.saar@ria.ee.example",
        "phone": "+372 5550 1101",
        "skills": [{"skill": "incident_handling", "level": 3},
                   {"skill": "malware_analysis", "level": 1}],
        "languages": ["et", "en"], "clearance": "RESTREINT UE",
        "deployability": ["remote", "on_site"], "time_zone": "Europe/Tallinn",
        "notes": "Prefers night shifts.",
    }
    body.update(changes)
    return body


@pytest.fixture
def expert_body() -> Body:
    """A valid nomination of an Estonian expert; keyword arguments replace its fields."""
    return _body


@pytest.fixture
def nominate(database: Database, world: World) -> Nominate:
    """Nominate through the service (as the coordinator unless ``role`` says otherwise)."""

    def _nominate(role: Role = Role.COORDINATOR, **changes: Any) -> uuid.UUID:
        with database.session() as db:
            return service.nominate(db=db, actor=world.principals[role],
                                    data=ExpertIn.model_validate(_body(**changes))).public_id

    return _nominate
