"""The TAXII 2.1 server as OASIS's own client uses it (taxii2-client, over real HTTP), on both
databases: discovery, the API root, collections, adding objects and polling the status,
objects with each filter and through every page, the manifest, versions, deletion; and the
protocol's edges (media types, TAXII error messages, Basic and bearer) with a plain client."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from stix2validator import ValidationOptions, validate_instance
from taxii2client.v21 import ApiRoot, Collection, Server, as_pages

from crrt.access.enums import Role, Tlp
from tests.intel.test_api import _collection, _indicator
from tests.support import serving

TAXII = "application/taxii+json;version=2.1"


@pytest.fixture
def live(fresh_app) -> Iterator[str]:
    """crrt under uvicorn in a thread, on the test's database."""
    with serving(fresh_app) as base:
        yield base


def test_oasis_client_end_to_end(client, world, live):
    made = _collection(client, world, title="Baltic", members=["EE", "LT"], readers=["DE"])
    token = world.tokens[Role.NATIONAL_POC]
    server = Server(f"{live}/taxii2/", user="poc-ee", password=token)  # HTTP Basic
    assert server.title == "crrt TAXII 2.1"
    root = server.default
    assert [r.url for r in server.api_roots] == [root.url] and root.url.endswith("/taxii2/crrt/")
    assert "application/taxii+json;version=2.1" in root.versions
    [found] = root.collections
    assert (found.id, found.title, found.can_read, found.can_write) == (
        made["id"], "Baltic", True, True)

    # add objects and poll the status
    indicators = [_indicator(f"203.0.113.{n}") for n in range(12)]
    newer = _indicator("203.0.113.0", stix_id=indicators[0]["id"],
                       modified="2026-11-28T09:00:00.000Z")
    status = found.add_objects({"objects": indicators}, wait_for_completion=True,
                               poll_interval=0.1, timeout=10)
    assert (status.status, status.total_count, status.success_count, status.failure_count) == (
        "complete", 12, 12, 0)
    later = found.add_objects({"objects": [newer, _indicator(tlp=Tlp.RED)]},
                              wait_for_completion=False)
    assert (later.success_count, later.failure_count) == (1, 1)
    assert "TLP:RED" in later.failures[0]["message"]
    polled = root.get_status(later.id)
    assert polled.status == "complete" and polled.success_count == 1

    # every page, no object lost or repeated, the latest version of each by default
    pages = list(as_pages(found.get_objects, per_request=5))
    assert [len(p.get("objects", [])) for p in pages] == [5, 5, 2]
    seen = [o["id"] for p in pages for o in p["objects"]]
    assert sorted(seen) == sorted(o["id"] for o in indicators) and len(set(seen)) == 12
    latest = next(o for p in pages for o in p["objects"] if o["id"] == indicators[0]["id"])
    assert latest["modified"] == "2026-11-28T09:00:00.000Z"

    # each filter
    everything = found.get_objects(version="all")["objects"]
    assert len(everything) == 13
    for obj in everything:  # what crrt serves passes OASIS's validator
        checked = validate_instance(obj, ValidationOptions(version="2.1"))
        assert checked.is_valid, [str(e) for e in checked.errors]
    assert found.get_objects(version="first", id=indicators[0]["id"])["objects"][0][
        "modified"] == "2026-11-27T10:00:00.000Z"
    assert found.get_objects(type="malware") == {"more": False}
    assert len(found.get_objects(type="indicator", spec_version="2.1")["objects"]) == 12
    assert len(found.get_objects(id=[indicators[1]["id"], indicators[2]["id"]])["objects"]) == 2
    assert len(found.get_objects(version="2026-11-27T10:00:00Z")["objects"]) == 12
    first_page = found.get_objects(limit=5)
    assert first_page["more"] is True
    manifest = found.get_manifest()
    assert len(manifest["objects"]) == 12
    assert {m["media_type"] for m in manifest["objects"]} == {"application/stix+json;version=2.1"}
    cut = manifest["objects"][-2]["date_added"]  # resume after a date added
    assert {o["id"] for o in found.get_objects(added_after=cut, version="all")["objects"]} == {
        m["id"] for m in manifest["objects"] if m["date_added"] > cut}

    # one object, its versions, its deletion
    one = found.get_object(indicators[0]["id"])
    assert [o["modified"] for o in one["objects"]] == ["2026-11-28T09:00:00.000Z"]
    assert found.object_versions(indicators[0]["id"])["versions"] == [
        "2026-11-27T10:00:00.000000Z", "2026-11-28T09:00:00.000000Z"]
    found.delete_object(indicators[1]["id"])
    assert len(found.get_objects()["objects"]) == 11
    found.delete_object(indicators[0]["id"], version="2026-11-28T09:00:00.000Z")
    assert [o["modified"] for o in found.get_object(indicators[0]["id"])["objects"]] == [
        "2026-11-27T10:00:00.000Z"]  # the version left is the latest again

    # a reader reads and may not write; a stranger does not see the collection
    reader = Collection(found.url, user="observer", password=world.tokens[Role.OBSERVER])
    assert reader.can_read and not reader.can_write
    stranger = ApiRoot(root.url, user="requester", password=world.tokens[Role.REQUESTER])
    assert stranger.collections == []


def test_protocol_edges(client, world):
    made = _collection(client, world, title="Edges")
    objects = f"/taxii2/crrt/collections/{made['id']}/objects/"
    bearer = {"Authorization": f"Bearer {world.tokens[Role.NATIONAL_POC]}", "Accept": TAXII}
    listed = client.get("/taxii2/crrt/collections/", headers=bearer)
    assert listed.status_code == 200 and listed.headers["content-type"] == TAXII
    anonymous = client.get("/taxii2/", headers={"Accept": TAXII})
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == TAXII
    assert anonymous.json()["http_status"] == "401" and anonymous.json()["title"]
    wrong = client.get("/taxii2/crrt/", headers=bearer | {"Accept": "application/xml"})
    assert wrong.status_code == 406 and wrong.json()["http_status"] == "406"
    json_body = client.post(objects, headers=bearer | {"Content-Type": "application/json"},
                            content=b'{"objects": []}')
    assert json_body.status_code == 415
    garbled = client.post(objects, headers=bearer | {"Content-Type": TAXII}, content=b"{oops")
    assert garbled.status_code == 400 and garbled.json()["http_status"] == "400"
    assert client.get("/taxii2/other/", headers=bearer).status_code == 404
    assert client.get(f"/taxii2/crrt/collections/{uuid.uuid4()}/", headers=bearer
                      ).status_code == 404
    bad_filter = client.get(objects, params={"added_after": "yesterday"}, headers=bearer)
    assert bad_filter.status_code == 400 and "added_after" in bad_filter.json()["description"]
    bad_next = client.get(objects, params={"next": "bm9wZQ"}, headers=bearer)
    assert bad_next.status_code == 400
    basic_wrong = client.get("/taxii2/", headers={"Accept": TAXII,
                                                  "Authorization": "Basic bm90OmF0b2tlbg=="})
    assert basic_wrong.status_code == 401


def test_amber_strict_never_leaves_by_taxii_for_a_central_account(client, world):
    """The coordination cell sees AMBER+STRICT on its pages and API, but TAXII is how objects
    leave the node (a peer may hold a central account): there it goes to its own
    organisation only."""
    home = _collection(client, world, title="Estonia only", members=["EE"],
                       max_tlp="amber+strict")
    objects = f"/taxii2/crrt/collections/{home['id']}/objects/"
    strict = _indicator("198.51.100.77", tlp=Tlp.AMBER_STRICT)
    poc = {"Authorization": f"Bearer {world.tokens[Role.NATIONAL_POC]}", "Accept": TAXII}
    added = client.post(objects, headers=poc | {"Content-Type": TAXII},
                        json={"objects": [strict]})
    assert added.status_code == 202 and added.json()["success_count"] == 1, added.text
    assert [o["id"] for o in client.get(objects, headers=poc).json()["objects"]] == [strict["id"]]
    cell = {"Authorization": f"Bearer {world.tokens[Role.COORDINATOR]}", "Accept": TAXII}
    assert "objects" not in client.get(objects, headers=cell).json()
    assert client.get(f"{objects}{strict['id']}/", headers=cell).status_code == 404
    assert "objects" not in client.get(objects.replace("/objects/", "/manifest/"),
                                       headers=cell).json()
    by_api = client.get(f"/api/v1/intel/collections/{home['id']}/objects",
                        headers=world.headers(Role.COORDINATOR))
    assert by_api.status_code == 200 and strict["id"] in by_api.text
