"""``crrt roster``: plan, check, publish and show, as an operator runs them."""

from __future__ import annotations

import json
import uuid
from datetime import date

import pytest

from tests.rotations.test_service import add_away, make_template, small_pool
from tests.support import Cli

PLAN = ("roster", "plan", "--template", "Small team", "--start", "2027-01-01", "--periods", "1",
        "--months", "1", "--seconds", "1")


@pytest.fixture
def cli(database, monkeypatch, tmp_path) -> Cli:
    return Cli(database.url, monkeypatch, str(tmp_path / "data"))


def _clean(result) -> None:
    assert "Traceback" not in result.stdout + result.stderr


def test_plan_prints_the_plan_as_json_and_check_finds_it_sound(cli, database, world):
    pool = small_pool(database)
    make_template(database)
    result = cli(*PLAN, "--json")
    assert result.exit_code == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["status"] in ("optimal", "feasible")
    assert (plan["state"], plan["template"], plan["start"]) == ("draft", "Small team",
                                                                "2027-01-01")
    [team] = plan["rotations"]
    assert team["label"] == "2027-01-01 to 2027-01-31"
    assert team["members"][0] == {"expert_id": str(pool["lead"]), "name": "Lina Lead",
                                  "org": "LT", "slot_skill": "team_lead", "lead": True}
    assert plan["violations"] == [] and plan["unfilled"] == []
    assert "solving 1 period(s) of 'Small team'" in result.stderr

    checked = cli("roster", "check", plan["id"])
    assert checked.exit_code == 0, checked.stderr
    assert checked.stdout.strip() == "every hard rule holds."
    shown = cli("roster", "show", plan["id"], "--json")
    assert shown.exit_code == 0, shown.stderr
    assert json.loads(shown.stdout) == plan

    published = cli("roster", "publish", plan["id"])
    assert published.exit_code == 0, published.stderr
    [line] = published.stdout.strip().splitlines()
    assert "2027-01-01 to 2027-01-31" in line and "3 members" in line
    again = cli("roster", "publish", plan["id"])
    assert again.exit_code == 1
    assert "only a draft can be published" in again.stderr
    _clean(again)


def test_plan_prints_a_table_without_json(cli, database, world):
    small_pool(database)
    make_template(database)
    result = cli(*PLAN)
    assert result.exit_code == 0, result.stderr
    assert "2027-01-01 to 2027-01-31  2027-01-01 to 2027-01-31" in result.stdout
    assert "Lina Lead  lead" in result.stdout
    assert "nation  seats  target" in result.stdout


def test_an_infeasible_plan_exits_2_and_says_why(cli, database, world):
    small_pool(database)
    make_template(database, max_size=5, slots=[
        {"skill": "team_lead"}, {"skill": "incident_handling", "count": 2},
        {"skill": "ot_ics", "min_level": 3}])
    result = cli(*PLAN, "--json")
    assert result.exit_code == 2, result.stderr
    plan = json.loads(result.stdout)
    assert plan["status"] == "infeasible"
    [gap] = plan["unfilled"]
    assert gap["skill"] == "ot_ics" and "no expert in the pool qualifies" in gap["reason"]
    table = cli(*PLAN)
    assert table.exit_code == 2
    assert "! 2027-01-01 to 2027-01-31: ot_ics level >= 3" in table.stdout


def test_check_reports_a_draft_the_pool_has_outgrown(cli, database, world):
    pool = small_pool(database)
    make_template(database)
    plan = json.loads(cli(*PLAN, "--json").stdout)
    add_away(database, pool["lead"], date(2027, 1, 5), date(2027, 1, 6))
    result = cli("roster", "check", plan["id"])
    assert result.exit_code == 1
    assert "unavailable then" in result.stdout
    assert "1 violation(s)." in result.stderr
    refused = cli("roster", "publish", plan["id"])
    assert refused.exit_code == 1 and "plan again" in refused.stderr
    _clean(refused)


@pytest.mark.parametrize(("args", "message"), [
    (("--template", "No such team", "--start", "2027-01-01"),
     "No team template is named 'No such team'"),
    (("--template", "Small team", "--start", "1 January"), "--start is a date: YYYY-MM-DD"),
])
def test_plan_refuses_bad_input_clearly(cli, database, world, args, message):
    make_template(database)
    result = cli("roster", "plan", *args, "--seconds", "1")
    assert result.exit_code == 1
    assert message in result.stderr
    _clean(result)


def test_an_unknown_plan_is_refused_clearly(cli, world):
    for command in ("check", "publish", "show"):
        result = cli("roster", command, str(uuid.uuid4()))
        assert result.exit_code == 1, command
        assert "No such plan." in result.stderr
        _clean(result)
