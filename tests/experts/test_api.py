import csv
import io
import json
import uuid
from datetime import date

import pytest
from fastapi.testclient import TestClient

from crrt.access.enums import Role
from crrt.api import create_app
from crrt.core.db import is_sqlite
from crrt.experts import importer
from tests import support
from tests.support import add_expert

URL = "/api/v1/experts"
PROBLEM = "application/problem+json"


def _post(client, world, body, role=Role.COORDINATOR):
    return client.post(URL, json=body, headers=world.headers(role))


def _problem(response, status):
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    return response.json()


def test_a_nomination_answers_201_with_the_new_expert(client, world, expert_body):
    response = _post(client, world, expert_body(), Role.NATIONAL_POC)
    assert response.status_code == 201
    expert = response.json()
    assert uuid.UUID(expert["id"]).version == 4  # a public id, not a row number
    assert expert["org"] == "EE" and expert["org_name"] == "Estonia"
    assert expert["skills"] == [{"skill": "incident_handling", "level": 3},
                                {"skill": "malware_analysis", "level": 1}]
    assert expert["deployability"] == ["remote", "on_site"]
    assert expert["erased"] is False and expert["available_today"] is True
    fetched = client.get(f"{URL}/{expert['id']}", headers=world.headers(Role.NATIONAL_POC))
    assert fetched.json() == expert


def test_a_poc_cannot_nominate_for_or_read_another_nation(client, world, expert_body):
    _problem(_post(client, world, expert_body(org="ES"), Role.NATIONAL_POC), 403)
    spanish = _post(client, world, expert_body(org="ES")).json()["id"]
    body = _problem(client.get(f"{URL}/{spanish}", headers=world.headers(Role.NATIONAL_POC)),
                    404)
    assert body["detail"] == "No such expert."


def test_a_responder_sees_only_their_own_record(client, world, expert_body):
    own = _post(client, world, expert_body(user_email="responder@test.example")).json()["id"]
    other = _post(client, world, expert_body(email="other@ee.example")).json()["id"]
    headers = world.headers(Role.RESPONDER)
    listed = client.get(URL, headers=headers).json()["items"]
    assert [e["id"] for e in listed] == [own]
    assert client.get(f"{URL}/{own}", headers=headers).status_code == 200
    _problem(client.get(f"{URL}/{other}", headers=headers), 404)
    _problem(client.patch(f"{URL}/{own}", json={"name": "Me"}, headers=headers), 403)


@pytest.mark.parametrize("role", [Role.REQUESTER, Role.OBSERVER])
def test_requesters_and_observers_get_403_on_the_pool(client, world, role):
    _problem(client.get(URL, headers=world.headers(role)), 403)


def test_the_pool_needs_a_signed_in_caller(client):
    _problem(client.get(URL), 401)


def test_invalid_input_is_a_422_naming_each_field(client, world, expert_body):
    body = expert_body(skills=[{"skill": "hacking", "level": 1},
                               {"skill": "cloud", "level": 4}],
                       languages=["xx"], time_zone="Mars/Olympus", email="nope")
    problem = _problem(_post(client, world, body), 422)
    locs = {tuple(e["loc"]) for e in problem["errors"]}
    assert {("skills", 0, "skill"), ("skills", 1, "level"), ("languages", 0), ("time_zone",),
            ("email",)} <= locs


def test_a_duplicate_email_is_a_409(client, world, expert_body):
    assert _post(client, world, expert_body()).status_code == 201
    problem = _problem(_post(client, world, expert_body(email="KADRI.SAAR@ria.ee.example")),
                       409)
    assert "kadri.saar@ria.ee.example" in problem["detail"].lower()


@pytest.mark.parametrize(("method", "path"), [
    ("GET", f"{URL}/abc"), ("GET", f"{URL}/0"), ("PATCH", f"{URL}/99999999999"),
    ("DELETE", f"{URL}/1/unavailability/x"), ("POST", f"{URL}/-1/erase")])
def test_a_bad_id_is_a_422_never_a_500(client, world, method, path):
    response = client.request(method, path, headers=world.headers(Role.COORDINATOR), json={})
    _problem(response, 422)


def test_unknown_organisations_and_bad_filters_are_422(client, world, expert_body):
    headers = world.headers(Role.COORDINATOR)
    problem = _problem(_post(client, world, expert_body(org="XX")), 422)
    assert problem["errors"][0]["loc"] == ["org"]
    for query in ("org=XX", "min_level=4", "language=zz", "skill=hacking",
                  "available_on=tomorrow", "limit=0", "cursor=garbage", "q=a%00b"):
        _problem(client.get(f"{URL}?{query}", headers=headers), 422)


def test_filters_are_query_parameters(client, world, expert_body):
    headers = world.headers(Role.COORDINATOR)
    a = _post(client, world, expert_body(email="a@ee.example", languages=["et"])).json()["id"]
    b = _post(client, world, expert_body(
        org="ES", name="Ana Ruiz", email="b@es.example", clearance="SECRET UE",
        skills=[{"skill": "cloud", "level": 2}], deployability=["on_site"])).json()["id"]
    for query, expected in (("skill=incident_handling&min_level=3", [a]),
                            ("skill=cloud&min_level=3", []), ("language=en", [b]),
                            ("clearance=RESTREINT%20UE", [a, b]),
                            ("clearance=SECRET%20UE", [b]), ("deployability=remote", [a]),
                            ("q=ruiz", [b]), ("org=EE", [a]),
                            (f"available_on={date.today().isoformat()}", [a, b])):
        items = client.get(f"{URL}?{query}", headers=headers).json()["items"]
        assert [e["id"] for e in items] == expected, query


def test_the_list_is_paginated_with_a_cursor(client, world, expert_body):
    made = [_post(client, world, expert_body(email=f"e{n}@ee.example")).json()["id"]
            for n in range(5)]
    headers, seen, cursor = world.headers(Role.NATIONAL_POC), [], None
    while True:
        page = client.get(URL, params={"limit": 2, **({"cursor": cursor} if cursor else {})},
                          headers=headers).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == made


def test_a_patch_changes_only_what_it_sends(client, world, expert_body):
    expert = _post(client, world, expert_body()).json()
    response = client.patch(f"{URL}/{expert['id']}", headers=world.headers(Role.NATIONAL_POC),
                            json={"clearance": "SECRET UE", "languages": ["en"]})
    assert response.status_code == 200
    changed = response.json()
    assert (changed["clearance"], changed["languages"]) == ("SECRET UE", ["en"])
    assert changed["name"] == expert["name"] and changed["phone"] == expert["phone"]
    _problem(client.patch(f"{URL}/{expert['id']}", headers=world.headers(Role.NATIONAL_POC),
                          json={"name": None}), 422)


def test_withdrawing_answers_204_and_the_expert_is_gone(client, world, expert_body):
    expert_id = _post(client, world, expert_body()).json()["id"]
    headers = world.headers(Role.NATIONAL_POC)
    assert client.delete(f"{URL}/{expert_id}", headers=headers).status_code == 204
    _problem(client.get(f"{URL}/{expert_id}", headers=headers), 404)
    _problem(client.delete(f"{URL}/{expert_id}", headers=headers), 404)


def test_unavailability_is_added_listed_and_removed(client, world, expert_body):
    expert_id = _post(client, world, expert_body()).json()["id"]
    headers = world.headers(Role.NATIONAL_POC)
    periods = f"{URL}/{expert_id}/unavailability"
    added = client.post(periods, headers=headers, json={"starts_on": "2027-07-01",
                                                         "ends_on": "2027-07-14",
                                                         "reason": "Leave"})
    assert added.status_code == 201
    period = added.json()
    _problem(client.post(periods, headers=headers,
                         json={"starts_on": "2027-07-14", "ends_on": "2027-07-20"}), 409)
    _problem(client.post(periods, headers=headers,
                         json={"starts_on": "2027-07-20", "ends_on": "2027-07-19"}), 422)
    assert client.get(periods, headers=headers).json() == [period]
    assert client.get(f"{URL}/{expert_id}", headers=headers).json()["unavailability"] == [period]
    assert client.delete(f"{periods}/{period['id']}", headers=headers).status_code == 204
    _problem(client.delete(f"{periods}/{period['id']}", headers=headers), 404)
    assert client.get(periods, headers=headers).json() == []


def test_a_responder_adds_their_own_unavailability(client, world, expert_body):
    own = _post(client, world, expert_body(user_email="responder@test.example")).json()["id"]
    response = client.post(f"{URL}/{own}/unavailability", headers=world.headers(Role.RESPONDER),
                           json={"starts_on": "2027-01-04", "ends_on": "2027-01-08"})
    assert response.status_code == 201


def test_personal_data_downloads_as_a_json_attachment(client, world, expert_body):
    expert_id = _post(client, world, expert_body()).json()["id"]
    response = client.get(f"{URL}/{expert_id}/personal-data",
                          headers=world.headers(Role.NATIONAL_POC))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["content-disposition"] == \
        f'attachment; filename="expert-{expert_id}.json"'
    document = response.json()
    assert document["format"] == "crrt.personal-data/2"
    assert document["parts"]["experts"][0]["email"] == "kadri.saar@ria.ee.example"
    _problem(client.get(f"{URL}/{expert_id}/personal-data",
                        headers=world.headers(Role.OBSERVER)), 403)


def test_erasing_anonymises_and_hides_the_expert(client, world, expert_body):
    expert_id = _post(client, world, expert_body()).json()["id"]
    headers = world.headers(Role.NATIONAL_POC)
    response = client.post(f"{URL}/{expert_id}/erase", headers=headers)
    assert response.status_code == 200
    erased = response.json()
    assert erased["erased"] is True
    assert (erased["name"], erased["email"], erased["phone"]) == \
        (f"Erased expert {expert_id[:8]}", None, None)
    assert client.get(URL, headers=headers).json()["items"] == []
    assert [e["id"] for e in client.get(URL, params={"include_erased": "true"},
                                        headers=headers).json()["items"]] == [expert_id]
    _problem(client.post(f"{URL}/{expert_id}/erase", headers=headers), 409)
    _problem(client.patch(f"{URL}/{expert_id}", json={"notes": "x"}, headers=headers), 409)


CSV = ("name,email,skills,languages\n"
       "Kadri Saar,kadri@ria.ee.example,incident_handling:3,\"et, en\"\n"
       "Mart Kask,mart@mil.ee.example,ot_ics:2; cloud:1,et\n")


def _import(client, world, content, *, name="experts.csv", org="EE", dry_run=None,
            role=Role.NATIONAL_POC):
    data = {"org": org, **({"dry_run": dry_run} if dry_run is not None else {})}
    return client.post(f"{URL}/import", headers=world.headers(role), data=data,
                       files={"file": (name, content, "text/csv")})


def test_an_import_answers_with_its_report(client, world):
    response = _import(client, world, CSV.encode())
    assert response.status_code == 200
    assert response.json() == {"created": 2, "updated": 0, "rejected": [], "complete": True,
                               "dry_run": False, "applied": True}
    names = [e["name"] for e in client.get(URL, headers=world.headers(Role.NATIONAL_POC))
             .json()["items"]]
    assert names == ["Kadri Saar", "Mart Kask"]


def test_a_dry_run_import_reports_and_writes_nothing(client, world):
    response = _import(client, world, CSV.encode(), dry_run="true")
    assert response.json() == {"created": 2, "updated": 0, "rejected": [], "complete": True,
                               "dry_run": True, "applied": False}
    assert client.get(URL, headers=world.headers(Role.NATIONAL_POC)).json()["items"] == []


def test_a_rejected_import_is_a_422_carrying_the_report(client, world):
    bad = CSV + "Liis Mägi,liis@taltech.ee.example,malware_analysis:4,et\n"
    problem = _problem(_import(client, world, bad.encode()), 422)
    assert problem["report"]["rejected"] == [
        {"row": 4, "email": "liis@taltech.ee.example",
         "errors": ["skills.0.level: Input should be less than or equal to 3"]}]
    assert problem["report"]["applied"] is False
    assert problem["errors"][0]["loc"] == ["file", 4]
    assert client.get(URL, headers=world.headers(Role.NATIONAL_POC)).json()["items"] == []


def test_an_import_refuses_files_it_cannot_read(client, world):
    _problem(_import(client, world, b"%PDF-1.4", name="experts.pdf"), 415)
    problem = _problem(_import(client, world, b"name,email,skills,shoe_size\n"), 422)
    assert problem["unknown_columns"] == ["shoe_size"]
    _problem(_import(client, world, CSV.encode(), org="ES"), 403)
    _problem(_import(client, world, CSV.encode(), org="X X"), 422)
    _problem(_import(client, world, CSV.encode(), role=Role.RESPONDER), 403)
    _problem(client.post(f"{URL}/import", headers=world.headers(Role.NATIONAL_POC),
                         data={"org": "EE"}), 422)


def test_the_import_template_is_a_csv_download_written_as_every_export(client, world):
    response = client.get(f"{URL}/import/template.csv", headers=world.headers(Role.NATIONAL_POC))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    header, example = csv.reader(io.StringIO(response.text))
    assert header == ["name", "email", "phone", "institution", "skills", "languages",
                      "clearance", "deployability", "time_zone", "notes", "messenger",
                      "pgp_fingerprint", "clearance_expires_on"]
    assert example[2] == "'+370 600 00000"  # neutralised, as a formula would be
    assert response.text.startswith('"name","email",')  # every cell quoted
    assert _import(client, world, response.content).json()["created"] == 1
    [expert] = client.get(URL, headers=world.headers(Role.NATIONAL_POC)).json()["items"]
    assert expert["phone"] == "+370 600 00000"


def test_the_import_template_is_also_an_xlsx_download_that_imports(client, world):
    response = client.get(f"{URL}/import/template.xlsx", headers=world.headers(Role.OBSERVER))
    assert response.status_code == 200
    assert response.headers["content-type"] == \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response.headers["content-disposition"] == \
        'attachment; filename="experts-template.xlsx"'
    imported = client.post(f"{URL}/import", headers=world.headers(Role.NATIONAL_POC),
                           files={"file": ("template.xlsx", response.content)},
                           data={"org": "EE"})
    assert imported.status_code == 200 and imported.json()["created"] == 1
    [expert] = client.get(URL, headers=world.headers(Role.NATIONAL_POC)).json()["items"]
    assert (expert["phone"], expert["messenger"]) == ("+370 600 00000", "Signal +370 600 00000")


def test_an_observers_megabyte_of_languages_is_one_small_422(client, database, world):
    """A list past its bound is refused on its length alone, before any item or the
    permission: once 168,000 items were validated one by one (21 s, a 24 MB answer)."""
    expert = add_expert(database, "EE")
    body = json.dumps({"languages": ["xx"] * 140_000}).encode()  # 840 KB, each item invalid
    response = client.patch(f"{URL}/{expert}", content=body,
                            headers={**world.headers(Role.OBSERVER),
                                     "Content-Type": "application/json"})
    problem = _problem(response, 422)
    assert [(e["loc"], e["type"]) for e in problem["errors"]] == [(["languages"], "too_long")]
    assert len(response.content) < 1024


@pytest.mark.parametrize(("field", "value"), [
    ("languages", ["et", "en", "lt", "lv", "fi", "sv", "de", "fr", "es", "it", "pt", "nl",
                   "pl", "cs", "sk", "sl", "hr", "hu", "ro", "bg", "el"]),
    ("skills", [{"skill": "incident_handling", "level": 1}] * 17),
    ("deployability", ["remote", "on_site", "remote"]),
])
def test_lists_longer_than_any_real_expert_needs_are_refused(client, world, expert_body,
                                                              field, value):
    problem = _problem(_post(client, world, expert_body(**{field: value})), 422)
    assert [(e["loc"], e["type"]) for e in problem["errors"]] == [([field], "too_long")]


def test_an_expert_named_by_invisible_characters_is_refused(client, world, expert_body):
    for name in ("\u200b\u200c", "Kadri \u202eraaS"):
        problem = _problem(_post(client, world, expert_body(name=name)), 422)
        assert [e["loc"] for e in problem["errors"]] == [["name"]]
    problem = _problem(_post(client, world, expert_body(notes="call\u2067 me")), 422)
    assert [e["loc"] for e in problem["errors"]] == [["notes"]]


def _wide_header() -> bytes:
    """The review's hostile header: 40,000 known names over and over (344 KB)."""
    return (",".join(importer.COLUMNS[n % len(importer.COLUMNS)]
                     for n in range(40_000)) + "\n").encode()


def _long_rows() -> bytes:
    """5,000 rows of about 920 characters each (4.6 MB), every one with too long a name."""
    return ("name,email,skills,notes\n" + "".join(
        f"{'N' * 450},e{n}@ee.example,cloud:1,{'x' * 450}\n" for n in range(5000))).encode()


def test_hostile_sheets_are_refused_with_a_problem_naming_the_limit(client, world):
    problem = _problem(_import(client, world, _wide_header()), 413)
    assert problem["detail"] == "Line 1 is longer than 10,000 characters."
    problem = _problem(_import(client, world, _long_rows()), 422)
    assert problem["detail"] == "100 row(s) rejected (checking stopped there); nothing was " \
                                "imported."
    assert len(problem["errors"]) == 100 and problem["report"]["complete"] is False


def test_checking_an_import_waits_for_no_writer(settings, database, world):
    """A writer holds SQLite's one write lock: a refused sheet, a rejected one and a dry run
    are answered without it, and only a clean import waits for it (503 when it stays held)."""
    impatient = support.impatient(database)
    try:
        with TestClient(create_app(settings, database=impatient),
                        raise_server_exceptions=False) as client, \
                support.write_lock(database, "experts, audit_head"):
            _problem(_import(client, world, _wide_header()), 413)
            _problem(_import(client, world, _long_rows()), 422)
            assert _import(client, world, CSV.encode(), dry_run="true").json()["created"] == 2
            held = _import(client, world, CSV.encode())  # PostgreSQL: this test's lock timeout
            assert held.status_code == (503 if is_sqlite(database.engine) else 500), held.text
    finally:
        impatient.dispose()


@pytest.mark.parametrize("path", ["/api/v1/experts?limit=0&skill=nonsense",
                                  "/api/v1/experts/00000000-0000-4000-8000-000000000000",
                                  "/api/v1/organisations?kind=nonsense"])
def test_a_hot_read_tells_a_stranger_to_sign_in_before_checking_the_query(client, path):
    """The hot reads check the caller in their worker thread, with the read; a request with
    no credential at all is still a 401 first, never a lesson in the query's rules."""
    response = client.get(path)
    assert response.status_code == 401, response.text
    assert response.json()["type"] == "/problems/unauthenticated"


def test_a_hot_read_with_a_wrong_token_is_a_401(client):
    response = client.get("/api/v1/experts", headers={"Authorization": "Bearer crrt_wrong"})
    assert response.status_code == 401, response.text
    assert response.json()["type"] == "/problems/unauthenticated"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


# --- how responders are reached, and whether a record is current ----------------------------

FINGERPRINT = "3aa5 C343 7156 7BD2 2282 0F3D 26BB 7D48 D5DF 47E1"  # spaced, mixed case


def test_an_expert_is_reached_by_messenger_and_pgp_and_their_clearance_expires(
        client, world, expert_body):
    body = expert_body(messenger="Signal: +372 5550 1101", pgp_fingerprint=FINGERPRINT,
                       clearance_expires_on="2028-06-30")
    made = _post(client, world, body).json()
    assert (made["messenger"], made["pgp_fingerprint"], made["clearance_expires_on"]) == \
        ("Signal: +372 5550 1101", "3AA5C34371567BD222820F3D26BB7D48D5DF47E1", "2028-06-30")
    changed = client.patch(f"{URL}/{made['id']}", json={"messenger": None,
                                                        "clearance_expires_on": None},
                           headers=world.headers(Role.NATIONAL_POC)).json()
    assert changed["messenger"] is None and changed["clearance_expires_on"] is None
    assert changed["pgp_fingerprint"] == made["pgp_fingerprint"]


@pytest.mark.parametrize("fingerprint", ["3AA5 C343", "ZZ" * 20, "A" * 41])
def test_a_fingerprint_that_is_not_one_is_a_422_by_its_field(client, world, expert_body,
                                                              fingerprint):
    response = _post(client, world, expert_body(pgp_fingerprint=fingerprint))
    body = _problem(response, 422)
    assert body["errors"][0]["loc"][-1] == "pgp_fingerprint"


def test_a_record_not_confirmed_for_a_year_is_stale_until_someone_confirms_it(
        client, world, expert_body, database):
    from datetime import timedelta

    from sqlalchemy import update

    from crrt.core import clock
    from crrt.experts.models import Expert

    made = _post(client, world, expert_body()).json()
    assert made["stale"] is False and made["verified_at"] is not None
    with database.session() as db:
        db.execute(update(Expert).values(verified_at=clock.now() - timedelta(days=400)))
    headers = world.headers(Role.NATIONAL_POC)
    assert client.get(f"{URL}/{made['id']}", headers=headers).json()["stale"] is True
    stale = client.get(URL, params={"stale": "true"}, headers=headers).json()["items"]
    assert [e["id"] for e in stale] == [made["id"]]
    assert client.get(URL, params={"stale": "false"}, headers=headers).json()["items"] == []
    confirmed = client.post(f"{URL}/{made['id']}/confirm", headers=headers)
    assert confirmed.status_code == 200 and confirmed.json()["stale"] is False
    assert client.get(URL, params={"stale": "true"}, headers=headers).json()["items"] == []
    refused = client.post(f"{URL}/{made['id']}/confirm", headers=world.headers(Role.RESPONDER))
    assert refused.status_code in (403, 404)


def test_erasure_takes_the_messenger_and_the_fingerprint_too(client, world, expert_body):
    made = _post(client, world, expert_body(messenger="Threema: ABCD1234",
                                            pgp_fingerprint=FINGERPRINT)).json()
    erased = client.post(f"{URL}/{made['id']}/erase",
                         headers=world.headers(Role.NATIONAL_POC)).json()
    assert erased["messenger"] is None and erased["pgp_fingerprint"] is None
