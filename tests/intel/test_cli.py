"""``crrt intel import`` and ``export`` from a fresh shell's point of view: the format found
from the content (CSV of values, a STIX bundle, a MISP event made with PyMISP), a report of
what went in and what was refused, and the exports read back by their own tools."""

from __future__ import annotations

import csv
import io
import json

import pytest
from pymisp import MISPEvent
from stix2validator import ValidationOptions, validate_instance

from crrt.access.enums import Tlp
from tests.intel.test_api import _collection, _indicator
from tests.intel.test_misp import _event
from tests.support import Cli


@pytest.fixture
def cli(database, monkeypatch, tmp_path):
    return Cli(database.url, monkeypatch, str(tmp_path / "data"))


def test_a_csv_of_values_goes_in_and_comes_back_out(cli, client, world, tmp_path):
    collection = _collection(client, world)
    values = tmp_path / "iocs.csv"
    values.write_text("198.51.100.7\nEvil.Example\n" + "ab" * 32 + "\nhttps://x.example/a\n")
    result = cli("intel", "import", str(values), "--collection", collection["id"],
                 "--org", "EE", "--tlp", "green")
    assert result.exit_code == 0, result.stderr
    assert "CSV of values, 5 objects" in result.stderr  # the identity and four indicators
    assert "5 added, 0 refused" in result.stdout
    exported = cli("intel", "export", collection["id"], "--format", "csv")
    assert exported.exit_code == 0, exported.stderr
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert sorted((r["type"], r["value"], r["tlp"]) for r in rows) == [
        ("domain-name", "evil.example", "green"), ("ipv4-addr", "198.51.100.7", "green"),
        ("sha256", "ab" * 32, "green"), ("url", "https://x.example/a", "green")]
    bundle = json.loads(cli("intel", "export", collection["id"]).stdout)
    assert bundle["type"] == "bundle" and len(bundle["objects"]) == 7  # + CLEAR's, GREEN's
    assert {o["name"] for o in bundle["objects"] if o["type"] == "marking-definition"} == {
        "TLP:CLEAR", "TLP:GREEN"}
    for obj in bundle["objects"]:
        checked = validate_instance(obj, ValidationOptions(version="2.1"))
        assert checked.is_valid, (obj["type"], [str(e) for e in checked.errors])


def test_a_bundle_and_a_misp_event_are_told_apart_and_refusals_reported(cli, client, world,
                                                                        tmp_path):
    collection = _collection(client, world, max_tlp="green")
    bundle = tmp_path / "feed.json"
    bundle.write_text(json.dumps({"type": "bundle", "id": "bundle--6b0b4b5e-0a3e-4b3a-9f1e-"
                                  "5d3c2b1a0f9e", "objects": [
                                      _indicator(), _indicator(tlp=Tlp.AMBER)]}))
    result = cli("intel", "import", str(bundle), "--collection", collection["id"],
                 "--org", "EE")
    assert result.exit_code == 1
    assert "STIX bundle, 2 objects" in result.stderr and "1 added, 1 refused" in result.stdout
    assert "above what this collection carries" in result.stderr
    event = tmp_path / "event.json"
    event.write_text(_event().to_json())
    shared = _collection(client, world, title="MISP", max_tlp="amber")
    result = cli("intel", "import", str(event), "--collection", shared["id"], "--org", "EE")
    assert result.exit_code == 0, result.stderr
    assert "MISP event, 7 objects" in result.stderr
    back = MISPEvent()
    back.load(cli("intel", "export", shared["id"], "--format", "misp").stdout)
    assert back.info == _event().info
    header = tmp_path / "typed.csv"
    header.write_text("type,value\nipv4-addr,not-an-address\n")
    result = cli("intel", "import", str(header), "--collection", shared["id"], "--org", "EE")
    assert result.exit_code == 1 and "line 2" in result.stderr  # the file's own line
