import json

import pytest

from crrt.audit import service as audit
from crrt.experts import service
from crrt.experts.schemas import ExpertFilter
from tests.conftest import SYSTEM
from tests.support import Cli

CSV = ("name,email,skills,languages\n"
       "Kadri Saar,kadri@ria.ee.example,incident_handling:3,et\n"
       "Mart Kask,mart@mil.ee.example,ot_ics:2,et\n")


@pytest.fixture
def cli(database, world, monkeypatch, tmp_path) -> Cli:
    return Cli(database.url, monkeypatch, str(tmp_path / "data"))


def _names(database) -> list[str]:
    with database.session() as db:
        experts, _ = service.list_experts(db=db, actor=SYSTEM, limit=None, cursor=None,
                                          filters=ExpertFilter(include_erased=True))
        return [e.name for e in experts]


def test_the_cli_imports_a_sheet(cli, database, tmp_path):
    sheet = tmp_path / "experts.csv"
    sheet.write_text(CSV)
    result = cli("experts", "import", str(sheet), "--org", "EE", "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert "2 expert(s) would be created" in result.stdout and _names(database) == []
    result = cli("experts", "import", str(sheet), "--org", "EE")
    assert result.exit_code == 0, result.stderr
    assert "2 expert(s) created, 0 updated" in result.stdout
    assert _names(database) == ["Kadri Saar", "Mart Kask"]


def test_the_cli_import_exits_1_listing_rejected_rows(cli, database, tmp_path):
    sheet = tmp_path / "experts.csv"
    sheet.write_text(CSV + "Liis Mägi,liis@ee.example,cloud:9,et\n")
    result = cli("experts", "import", str(sheet), "--org", "EE")
    assert result.exit_code == 1
    assert "row 4 (liis@ee.example): skills.0.level" in result.stderr
    assert "nothing was imported" in result.stderr and _names(database) == []
    assert cli("experts", "import", str(sheet), "--org", "XX").exit_code == 1


def test_the_cli_exports_and_erases_an_expert(cli, database, nominate):
    expert_id = nominate()
    exported = cli("experts", "export", str(expert_id))
    assert exported.exit_code == 0, exported.stderr
    parts = json.loads(exported.stdout)["parts"]
    assert parts["experts"][0]["email"] == "kadri.saar@ria.ee.example"
    refused = cli("experts", "erase", str(expert_id))
    assert refused.exit_code == 1 and "--yes" in refused.stderr
    erased = cli("experts", "erase", str(expert_id), "--yes")
    assert erased.exit_code == 0 and f"expert {expert_id} erased" in erased.stdout
    assert _names(database) == [f"Erased expert {str(expert_id)[:8]}"]
    assert cli("experts", "erase", str(expert_id), "--yes").exit_code == 1
    assert cli("audit", "verify").exit_code == 0
    with database.session() as db:
        assert audit.verify(db=db).ok
