"""Schemathesis fuzzes every API operation from the OpenAPI document: no input is a 5xx.

Runs on SQLite only. The fuzzer looks for crashes in our code (unhandled input, a missing
validation, a bad serialisation), which do not depend on the engine; the engine-specific edges
it could reach (ids out of range, NUL characters) are asserted on both engines in
tests/core/test_http.py. Running it twice would double the slowest test for little more.

Each operation runs on its own copy of a seeded database, so a fuzzed DELETE or a deactivated
account cannot starve the operations after it; generation is bounded (``MAX_EXAMPLES``) to keep
the whole module to a minute or two on two cores.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from crrt.access.enums import Role
from crrt.api import create_app
from crrt.audit import service as audit
from crrt.core.config import Settings
from crrt.core.db import Database
from tests.auth.test_matrix import build_scene
from tests.conftest import AUDIT_KEY, World, seed_world

MAX_EXAMPLES = 25
SECRET = "schemathesis-secret-key"


def _operation_labels() -> list[str]:
    """The operations, read from the document at collection time (no database needed)."""
    app = create_app(Settings(secret_key=SECRET), database=Database("sqlite://"),
                     check_schema=False)
    document = app.openapi()
    return sorted(f"{method.upper()} {path}" for path, item in document["paths"].items()
                  for method in item)


OPERATIONS = _operation_labels()


@pytest.fixture(scope="module")
def seeded(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> tuple[Path, World]:
    """A migrated SQLite file holding the world and the matrix's scene (experts, etc.)."""
    path = tmp_path_factory.mktemp("fuzz") / "seeded.db"
    shutil.copyfile(sqlite_template, path)
    database = audit.bind_key(Database(f"sqlite:///{path}"), AUDIT_KEY)
    world = seed_world(database)
    build_scene(database, world, SECRET)
    database.dispose()
    return path, world


def fuzz(operation, mode: GenerationMode, headers: dict[str, str]) -> None:
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case) -> None:
        response = case.call(headers=headers)
        case.validate_response(response, checks=[not_a_server_error])

    try:
        run()
    except Unsatisfiable:
        if mode is not GenerationMode.NEGATIVE:
            raise  # an operation without inputs (health) has no invalid ones to try


@pytest.fixture(scope="module")
def fuzzed_app(seeded: tuple[Path, World], tmp_path_factory: pytest.TempPathFactory):
    """The application and its schema, built once; each operation swaps in its own database."""
    app = create_app(Settings(secret_key=SECRET, data_dir=tmp_path_factory.mktemp("data"),
                              embedded_worker=False),
                     database=Database("sqlite://"), check_schema=False)
    return app, schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)


@pytest.mark.parametrize("label", OPERATIONS)
def test_no_input_makes_a_server_error(seeded, fuzzed_app, tmp_path, label):
    template, world = seeded
    app, schema = fuzzed_app
    path = tmp_path / "crrt.db"
    shutil.copyfile(template, path)
    database = audit.bind_key(Database(f"sqlite:///{path}"), AUDIT_KEY)
    app.state.database = database
    app.state.settings = Settings(database_url=database.url, data_dir=tmp_path,
                                  secret_key=SECRET, embedded_worker=False)
    try:
        with TestClient(app) as client:  # the tokens work before the fuzzing starts
            assert client.get("/api/v1/me", headers=world.headers(Role.ADMIN)).status_code == 200
        method, route = label.split(" ", 1)
        operation = schema[route][method]
        runs = [(Role.ADMIN, GenerationMode.POSITIVE), (Role.NATIONAL_POC,
                                                        GenerationMode.POSITIVE),
                (Role.ADMIN, GenerationMode.NEGATIVE)]
        for role, mode in runs:
            fuzz(operation, mode, world.headers(role))
    finally:
        database.dispose()
