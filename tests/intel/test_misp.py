"""MISP both ways, with PyMISP making the event and reading crrt's export: attributes,
objects, tags and TLP survive the trip; what crrt exports passes OASIS's validator."""

from __future__ import annotations

import json

from pymisp import MISPEvent, MISPObject
from stix2validator import ValidationOptions, validate_instance

from crrt.access.enums import Role, Tlp
from crrt.intel import markings
from tests.intel.test_api import API, _collection, _problem


def _event() -> MISPEvent:
    event = MISPEvent()
    event.info = "Phishing wave against energy operators"
    event.distribution = 1
    event.threat_level_id = 2
    event.analysis = 1
    event.add_tag("tlp:green")
    event.add_tag("crrt:exercise")
    c2 = event.add_attribute("ip-dst", "198.51.100.7", to_ids=True, comment="C2 server")
    c2.add_tag("kill-chain:command-and-control")
    event.add_attribute("domain", "login-energy.example", to_ids=True)
    event.add_attribute("text", "Sent from a lookalike domain", to_ids=False)
    strict = event.add_attribute("url", "https://login-energy.example/sso", to_ids=True)
    strict.add_tag("tlp:amber")
    dropper = MISPObject("file")
    dropper.add_attribute("filename", value="invoice.pdf.exe")
    dropper.add_attribute("sha256", value="ab" * 32)
    event.add_object(dropper)
    return event


def _summary(event: MISPEvent) -> set[tuple]:
    attributes = list(event.attributes) + [a for o in event.objects for a in o.attributes]
    return {(a.type, a.value, bool(a.to_ids), a.get("comment") or "",
             tuple(sorted(t.name for t in a.tags)))
            for a in attributes}


def test_a_misp_event_goes_in_and_comes_out_the_same(client, world):
    collection = _collection(client, world, max_tlp="amber")
    sent = _event()
    imported = client.post(f"{API}/{collection['id']}/misp",
                           headers=world.headers(Role.NATIONAL_POC),
                           content=sent.to_json().encode())
    assert imported.status_code == 200, imported.text
    assert imported.json()["success_count"] == 1 + 6 and imported.json()["failure_count"] == 0

    stored = client.get(f"{API}/{collection['id']}/objects", params={"limit": 50},
                        headers=world.headers(Role.NATIONAL_POC)).json()["objects"]
    kinds = sorted(o["type"] for o in stored)
    assert kinds == ["indicator"] * 4 + ["note", "note", "report"]  # text and filename: notes
    by_value = {o["x_misp_attribute"]["value"]: o for o in stored if "x_misp_attribute" in o}
    assert by_value["https://login-energy.example/sso"]["object_marking_refs"] == [
        markings.TLP2_IDS[Tlp.AMBER]]  # the attribute's own TLP, above the event's
    assert by_value["198.51.100.7"]["object_marking_refs"] == [markings.TLP2_IDS[Tlp.GREEN]]
    for obj in stored:
        checked = validate_instance(obj, ValidationOptions(version="2.1"))
        assert checked.is_valid, (obj["type"], [str(e) for e in checked.errors])

    exported = client.get(f"{API}/{collection['id']}/misp",
                          headers=world.headers(Role.NATIONAL_POC))
    assert exported.status_code == 200, exported.text
    back = MISPEvent()
    back.load(json.dumps(exported.json()))
    assert back.info == sent.info and str(back.uuid) == str(sent.uuid)
    assert {t.name for t in back.tags} == {"tlp:green", "crrt:exercise"}
    assert _summary(back) == _summary(sent)
    assert [o.name for o in back.objects] == ["file"]


def test_crrt_indicators_export_as_misp_attributes(client, world):
    collection = _collection(client, world)
    client.post("/api/v1/intel/indicators", headers=world.headers(Role.NATIONAL_POC), json={
        "observables": [{"type": "ipv4-addr", "value": "203.0.113.5", "description": "Scanner"},
                        {"type": "sha1", "value": "A" * 40}],
        "collections": [collection["id"]], "tlp": "green", "sightings": False})
    event = MISPEvent()
    event.load(json.dumps(client.get(f"{API}/{collection['id']}/misp",
                                     headers=world.headers(Role.NATIONAL_POC)).json()))
    assert {(a.type, a.value, a.get("comment")) for a in event.attributes} == {
        ("ip-dst", "203.0.113.5", "Scanner"), ("sha1", "a" * 40, "")}
    assert {t.name for t in event.tags} == {"tlp:green"}


def test_what_is_not_a_misp_event_is_refused(client, world):
    collection = _collection(client, world)
    for body in ([1, 2], {"Event": "nope"}, {"Event": {"info": "x", "Attribute": "nope"}}):
        _problem(client.post(f"{API}/{collection['id']}/misp",
                             headers=world.headers(Role.NATIONAL_POC), json=body), 422)
