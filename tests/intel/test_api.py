"""Sharing groups and the STIX store through the API, on both databases: who makes and reads
a collection, each object validated on its own, versions kept, the same version stored once,
and TLP 2.0 deciding what a collection carries and who sees it."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select
from stix2validator import ValidationOptions, validate_instance

from crrt.access.enums import Role, Tlp
from crrt.audit.models import AuditEvent
from crrt.intel import markings
from crrt.intel.models import StixObject

API = "/api/v1/intel/collections"


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()


def _collection(client, world, title: str = "Baltic", members=("EE", "LT"), readers=(),
                max_tlp: str = "amber") -> dict:
    made = client.post(API, headers=world.headers(Role.COORDINATOR), json={
        "title": title, "members": list(members), "readers": list(readers),
        "max_tlp": max_tlp})
    assert made.status_code == 201, made.text
    return made.json()


def _indicator(value: str = "198.51.100.7", tlp: Tlp | None = Tlp.GREEN,
               modified: str = "2026-11-27T10:00:00.000Z", stix_id: str | None = None) -> dict:
    out = {"type": "indicator", "spec_version": "2.1",
           "id": stix_id or f"indicator--{uuid.uuid4()}",
           "created": "2026-11-27T10:00:00.000Z", "modified": modified,
           "name": f"C2 server {value}", "indicator_types": ["malicious-activity"],
           "pattern": f"[ipv4-addr:value = '{value}']", "pattern_type": "stix",
           "valid_from": "2026-11-27T10:00:00Z"}
    if tlp is not None:
        out["object_marking_refs"] = [markings.TLP2_IDS[tlp]]
    return out


def _add(client, world, collection: dict, objects: list, role: Role = Role.NATIONAL_POC):
    return client.post(f"{API}/{collection['id']}/objects", headers=world.headers(role),
                       json={"type": "bundle", "id": f"bundle--{uuid.uuid4()}",
                             "objects": objects})


def test_a_coordinator_makes_a_sharing_group_that_its_members_read(client, world):
    made = _collection(client, world, readers=["DE"])
    assert {(m["org"], m["can_read"], m["can_write"]) for m in made["members"]} == {
        ("EE", True, True), ("LT", True, True), ("DE", True, False)}
    assert made["max_tlp"] == "amber"
    seen = {role: [c["id"] for c in client.get(API, headers=world.headers(role)).json()]
            for role in Role}
    assert seen[Role.NATIONAL_POC] == [made["id"]] == seen[Role.OBSERVER]  # EE, and DE reads
    assert seen[Role.REQUESTER] == []  # CERT-EU is not in it
    one = client.get(f"{API}/{made['id']}", headers=world.headers(Role.OBSERVER)).json()
    assert (one["can_read"], one["can_write"]) == (True, False)
    _problem(client.get(f"{API}/{made['id']}", headers=world.headers(Role.REQUESTER)), 404)
    _problem(client.post(API, headers=world.headers(Role.NATIONAL_POC), json={
        "title": "Ours", "members": ["EE"]}), 403)
    _problem(client.post(API, headers=world.headers(Role.COORDINATOR), json={
        "title": "Baltic", "members": ["EE"]}), 409)
    assert "XX" in str(_problem(client.post(API, headers=world.headers(Role.COORDINATOR), json={
        "title": "Nowhere", "members": ["XX"]}), 422))


@pytest.mark.parametrize(("body", "why"), [
    ({"title": "Red", "members": ["EE"], "max_tlp": "red"}, "TLP:RED"),
    ({"title": "Strict", "members": ["EE", "LT"], "max_tlp": "amber+strict"}, "one member"),
    ({"title": "Empty", "members": []}, "members"),
])
def test_a_collection_that_could_not_keep_its_tlp_is_refused(client, world, body, why):
    assert why in str(_problem(client.post(API, headers=world.headers(Role.COORDINATOR),
                                           json=body), 422))


def test_each_object_succeeds_or_fails_on_its_own(client, world, database):
    collection = _collection(client, world)
    good = _indicator()
    bad_pattern = _indicator() | {"pattern": "[ipv4-addr:value = "}
    no_id = {"type": "indicator", "spec_version": "2.1"}
    red = _indicator("203.0.113.9", tlp=Tlp.RED)
    added = _add(client, world, collection, [good, bad_pattern, no_id, red, "not an object"])
    assert added.status_code == 200, added.text
    out = added.json()
    assert (out["total_count"], out["success_count"], out["failure_count"]) == (5, 1, 4)
    assert out["successes"] == [{"id": good["id"], "version": "2026-11-27T10:00:00.000000Z"}]
    reasons = {f["id"]: f["message"] for f in out["failures"]}
    assert "pattern" in reasons[bad_pattern["id"]]
    assert "TLP:RED" in reasons[red["id"]]
    assert sorted(f["message"] for f in out["failures"] if f["id"] is None) == [
        "an object is a JSON object", "the object has no valid id (type--UUID)"]
    with database.session(read_only=True) as db:
        assert db.scalars(select(StixObject.stix_id)).all() == [good["id"]]
        [event] = db.scalars(select(AuditEvent).where(AuditEvent.action ==
                                                      "intel.objects_added")).all()
        assert (event.changes["total"], event.changes["added"], event.changes["refused"]) \
            == (5, 1, 4)  # one event for the envelope, not one per object


def test_versions_are_kept_and_the_same_version_is_stored_once(client, world, database):
    collection = _collection(client, world)
    first = _indicator()
    newer = _indicator(stix_id=first["id"], modified="2026-11-28T08:30:00.000Z")
    for _ in range(2):
        assert _add(client, world, collection, [first]).json()["success_count"] == 1
    _add(client, world, collection, [newer])
    other = _collection(client, world, title="Nordic", members=["EE", "ES"])
    _add(client, world, other, [first])  # the same version, in a second collection
    with database.session(read_only=True) as db:
        assert db.scalar(select(func.count()).select_from(StixObject)) == 2
    page = client.get(f"{API}/{collection['id']}/objects",
                      headers=world.headers(Role.NATIONAL_POC)).json()
    assert [o["modified"] for o in page["objects"]] == ["2026-11-27T10:00:00.000Z",
                                                        "2026-11-28T08:30:00.000Z"]
    assert page["objects"][0] == first  # as it came, byte for byte the same JSON


def test_tlp_decides_what_a_collection_carries(client, world):
    green_only = _collection(client, world, title="Green", max_tlp="green")
    amber = _indicator(tlp=Tlp.AMBER)
    unmarked = _indicator(tlp=None)  # read as AMBER, never as open
    out = _add(client, world, green_only, [amber, unmarked, _indicator(tlp=Tlp.CLEAR)]).json()
    assert out["success_count"] == 1
    assert all("above what this collection carries" in f["message"] for f in out["failures"])
    strict_home = _collection(client, world, title="Estonia only", members=["EE"],
                              max_tlp="amber+strict")
    assert _add(client, world, strict_home, [_indicator(tlp=Tlp.AMBER_STRICT)]
                ).json()["success_count"] == 1

    def seen_by(role: Role) -> int:
        return len(client.get(f"{API}/{strict_home['id']}/objects",
                              headers=world.headers(role)).json()["objects"])

    # as access.tlp has it: coordinators read AMBER+STRICT, an administrator no more than
    # anyone outside the organisation
    assert (seen_by(Role.NATIONAL_POC), seen_by(Role.COORDINATOR), seen_by(Role.ADMIN)) == (
        1, 1, 0)
    # the coordination cell (Lithuania's) may write to any collection, but not put its own
    # AMBER+STRICT where another organisation reads it
    refused = _add(client, world, strict_home, [_indicator(tlp=Tlp.AMBER_STRICT)],
                   role=Role.COORDINATOR).json()
    assert "stays in its own organisation" in refused["failures"][0]["message"]


def test_readers_read_and_writers_write(client, world):
    collection = _collection(client, world, readers=["DE", "cert-eu"])
    _problem(_add(client, world, collection, [_indicator()], role=Role.REQUESTER), 403)
    _problem(_add(client, world, collection, [_indicator()], role=Role.OBSERVER), 403)
    assert _add(client, world, collection, [_indicator()], role=Role.RESPONDER
                ).json()["success_count"] == 1
    page = client.get(f"{API}/{collection['id']}/objects",
                      headers=world.headers(Role.REQUESTER)).json()
    assert len(page["objects"]) == 1
    _problem(client.post(f"{API}/{collection['id']}/objects",
                         headers=world.headers(Role.NATIONAL_POC), content=b"{not json"), 422)
    _problem(client.post(f"{API}/{collection['id']}/objects",
                         headers=world.headers(Role.NATIONAL_POC), json=[1, 2]), 422)


def test_pages_never_lose_or_repeat_an_object(client, world):
    collection = _collection(client, world)
    sent = [_indicator(f"192.0.2.{n}") for n in range(7)]
    _add(client, world, collection, sent[:4])  # four with the same date added
    _add(client, world, collection, sent[4:])
    got, cursor = [], None
    while True:
        page = client.get(f"{API}/{collection['id']}/objects", params={
            "limit": 3, **({"cursor": cursor} if cursor else {})},
            headers=world.headers(Role.NATIONAL_POC)).json()
        got += [o["id"] for o in page["objects"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert got == [o["id"] for o in sent]
    _problem(client.get(f"{API}/{collection['id']}/objects", params={"cursor": "bm9wZQ"},
                        headers=world.headers(Role.NATIONAL_POC)), 422)


def test_the_official_tlp_definitions_pass_oasis_validator():
    for tlp in Tlp:
        result = validate_instance(markings.definition(tlp), ValidationOptions(version="2.1"))
        assert result.is_valid, [str(e) for e in result.errors]
    assert markings.tlp_of([markings.TLP2_IDS[Tlp.GREEN], markings.TLP2_IDS[Tlp.AMBER]]) \
        is Tlp.AMBER
    assert markings.tlp_of(["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"]) \
        is Tlp.GREEN  # TLP 1.0 GREEN, as MISP sends it
    assert markings.tlp_of([]) is Tlp.AMBER


def test_a_large_envelope_goes_in_whole(client, world, database):
    """Two thousand objects at once: more parameters than one statement may carry."""
    collection = _collection(client, world)
    sent = [_indicator(f"10.{n // 256}.{n % 256}.1") for n in range(2000)]
    assert _add(client, world, collection, sent).json()["success_count"] == 2000
    with database.session(read_only=True) as db:
        assert db.scalar(select(func.count()).select_from(StixObject)) == 2000


def test_observables_become_indicators_with_their_sightings(client, world):
    collection = _collection(client, world)
    green_only = _collection(client, world, title="Green only", max_tlp="green")
    shared = client.post("/api/v1/intel/indicators", headers=world.headers(Role.NATIONAL_POC),
                         json={"observables": [
                             {"type": "ipv4-addr", "value": " 198.51.100.7 "},
                             {"type": "sha256", "value": "AB" * 32,
                              "description": "The dropper"},
                             {"type": "url", "value": "HTTP://Evil.Example/Login"}],
                             "collections": [collection["id"], green_only["id"]],
                             "tlp": "amber"})
    assert shared.status_code == 201, shared.text
    out = shared.json()
    assert len(out["indicators"]) == 3 and out["objects"] == 1 + 3 * 4
    amber, green = out["published"]
    assert amber["outcome"]["success_count"] == 13
    assert green["outcome"]["success_count"] == 1  # the identity (CLEAR); the rest is AMBER
    objects = client.get(f"{API}/{collection['id']}/objects", params={"limit": 100},
                         headers=world.headers(Role.COORDINATOR)).json()["objects"]
    patterns = sorted(o["pattern"] for o in objects if o["type"] == "indicator")
    assert patterns == ["[file:hashes.'SHA-256' = '" + "ab" * 32 + "']",
                        "[ipv4-addr:value = '198.51.100.7']",
                        "[url:value = 'http://evil.example/Login']"]
    for obj in objects:
        checked = validate_instance(obj, ValidationOptions(version="2.1"))
        assert checked.is_valid, (obj["type"], [str(e) for e in checked.errors])
        if obj["type"] not in ("identity", "ipv4-addr", "file", "url"):
            assert obj["created_by_ref"] == out["identity"]
            assert obj["object_marking_refs"] == [markings.TLP2_IDS[Tlp.AMBER]]
    assert {o["type"] for o in objects} == {"identity", "indicator", "ipv4-addr", "file", "url",
                                            "observed-data", "sighting"}


def test_a_value_that_is_not_its_type_is_refused_by_the_field(client, world):
    collection = _collection(client, world)
    sent = [{"type": "ipv4-addr", "value": "10.1.1.1"},
            {"type": "ipv4-addr", "value": "2001:db8::1"}]
    refused = _problem(client.post("/api/v1/intel/indicators",
                                   headers=world.headers(Role.NATIONAL_POC), json={
                                       "observables": sent, "collections": [collection["id"]]}),
                       422)
    assert refused["errors"][0]["loc"][-2:] == [1, "value"]
    assert "IPv4" in refused["errors"][0]["msg"]


def test_a_collection_exports_as_a_bundle_and_as_csv(client, world):
    collection = _collection(client, world, readers=["DE"])
    sent = [_indicator("198.51.100.7"), _indicator("203.0.113.9", tlp=Tlp.AMBER)]
    _add(client, world, collection, sent)
    bundle = client.get(f"{API}/{collection['id']}/bundle",
                        headers=world.headers(Role.OBSERVER)).json()
    assert bundle["type"] == "bundle"
    assert {o["id"] for o in bundle["objects"] if o["type"] == "indicator"} == {
        o["id"] for o in sent}
    assert {o["name"] for o in bundle["objects"] if o["type"] == "marking-definition"} == {
        "TLP:GREEN", "TLP:AMBER"}
    for obj in bundle["objects"]:
        checked = validate_instance(obj, ValidationOptions(version="2.1"))
        assert checked.is_valid, (obj["type"], [str(e) for e in checked.errors])
    values = client.get(f"{API}/{collection['id']}/values.csv",
                        headers=world.headers(Role.OBSERVER))
    assert values.headers["content-type"].startswith("text/csv")
    lines = values.text.splitlines()
    assert lines[0] == "type,value,tlp,stix_id,description"
    assert sorted(line.split(",")[:3] for line in lines[1:]) == [
        ["ipv4-addr", "198.51.100.7", "green"], ["ipv4-addr", "203.0.113.9", "amber"]]
