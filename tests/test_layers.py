"""The house's layers (docs/architecture.md), checked by import-linter with the contracts in
pyproject.toml: the tree as it is keeps them, and a planted wrong import breaks them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).with_name("lint-imports")


def lint(tree: Path) -> subprocess.CompletedProcess[str]:
    """Run the contracts of ``tree``'s pyproject.toml over ``tree``'s own crrt package."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([str(LINT), "--no-cache", "--no-logo"], cwd=tree, env=env,  # noqa: S603
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def copy_of_the_house(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "crrt", tmp_path / "crrt",
                    ignore=shutil.ignore_patterns("__pycache__", "static", "templates"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def plant(tree: Path, module: str, line: str) -> None:
    path = tree / "crrt" / module
    path.write_text(path.read_text() + f"\n{line}  # planted by the test\n")


def test_the_house_keeps_every_contract():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


def test_the_copy_under_test_keeps_every_contract_before_anything_is_planted(copy_of_the_house):
    assert lint(copy_of_the_house).returncode == 0


def test_the_shared_layer_importing_a_domain_breaks_the_layers(copy_of_the_house):
    plant(copy_of_the_house, "core/clock.py", "import crrt.experts.service")
    result = lint(copy_of_the_house)
    assert result.returncode == 1
    assert "crrt.core is not allowed to import crrt.experts" in result.stdout


def test_a_lower_domain_calling_a_higher_one_breaks_the_layers(copy_of_the_house):
    plant(copy_of_the_house, "organisations/service.py", "from crrt.experts import service")
    result = lint(copy_of_the_house)
    assert result.returncode == 1
    assert "crrt.organisations is not allowed to import crrt.experts" in result.stdout


def test_a_domain_reading_another_domains_tables_breaks_a_contract(copy_of_the_house):
    plant(copy_of_the_house, "experts/service.py",
          "from crrt.organisations.models import Organisation as _Organisation")
    result = lint(copy_of_the_house)
    assert result.returncode == 1
    assert "The experts part reads no other part's tables BROKEN" in result.stdout


def test_a_service_importing_its_own_edge_breaks_the_part_layers(copy_of_the_house):
    plant(copy_of_the_house, "experts/service.py", "from crrt.experts import importer")
    result = lint(copy_of_the_house)
    assert result.returncode == 1
    assert "crrt.experts.service is not allowed to import crrt.experts.importer" in result.stdout
