"""The intel pages on both databases: the collections, a collection's objects searched and
filtered, an object with its versions, relationships and correlation, the import with its
report, and values pasted to correlate; TLP:AMBER+STRICT kept from every other organisation
on each of them."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from crrt.access.enums import Role, Tlp
from crrt.intel import markings
from crrt.intel import service as intel
from crrt.intel.models import CollectionMember, CollectionObject
from crrt.intel.schemas import CollectionIn
from crrt.organisations import service as org_service
from crrt.web import intel_import_pages
from tests.conftest import SYSTEM
from tests.web.conftest import csrf_of

CREATED = "2026-11-27T10:00:00.000Z"


def _collection(database, world, title: str = "Baltic", members=("EE", "LT"), readers=("DE",),
                max_tlp: Tlp = Tlp.AMBER) -> uuid.UUID:
    with database.session() as db:
        return intel.create_collection(
            db=db, actor=world.principals[Role.COORDINATOR], data=CollectionIn(
                title=title, members=list(members), readers=list(readers),
                max_tlp=max_tlp)).public_id


def _indicator(value: str, *, tlp: Tlp = Tlp.GREEN, name: str | None = None,
               modified: str = CREATED, stix_id: str | None = None) -> dict[str, Any]:
    return {"type": "indicator", "spec_version": "2.1",
            "id": stix_id or f"indicator--{uuid.uuid4()}", "created": CREATED,
            "modified": modified, "name": name or f"C2 server {value}",
            "indicator_types": ["malicious-activity"],
            "pattern": f"[ipv4-addr:value = '{value}']", "pattern_type": "stix",
            "valid_from": "2026-11-27T10:00:00Z",
            "object_marking_refs": [markings.TLP2_IDS[tlp]]}


def _malware(name: str) -> dict[str, Any]:
    return {"type": "malware", "spec_version": "2.1", "id": f"malware--{uuid.uuid4()}",
            "created": CREATED, "modified": CREATED, "name": name, "is_family": True,
            "object_marking_refs": [markings.TLP2_IDS[Tlp.GREEN]]}


def _relationship(source: str, kind: str, target: str) -> dict[str, Any]:
    return {"type": "relationship", "spec_version": "2.1",
            "id": f"relationship--{uuid.uuid4()}", "created": CREATED, "modified": CREATED,
            "relationship_type": kind, "source_ref": source, "target_ref": target,
            "object_marking_refs": [markings.TLP2_IDS[Tlp.GREEN]]}


def _add(database, world, collection: uuid.UUID, objects: list[dict[str, Any]],
         role: Role = Role.NATIONAL_POC) -> None:
    with database.session() as db:
        outcome = intel.add_objects(db=db, actor=world.principals[role],
                                    collection_id=collection, envelope={"objects": objects})
    assert outcome.failure_count == 0, outcome.failures


def _object_links(html: str) -> list[str]:
    return re.findall(r'href="/intel/objects/([^"?]+)"', html)


def _error(html: str, field: str) -> str:
    found = re.search(rf'<p class="field-error" id="{field}-error">(.*?)</p>', html, re.S)
    assert found, f"no error by {field}"
    return re.sub(r"<[^>]+>", "", found.group(1))


# --- the collections ----------------------------------------------------------------------------

def test_a_reader_sees_the_collections_it_reads_and_what_each_holds_for_it(database, world,
                                                                            browser):
    baltic = _collection(database, world)
    _collection(database, world, title="Iberian", members=("ES",), readers=())
    _add(database, world, baltic, [_indicator("198.51.100.7"), _indicator("198.51.100.8")])
    page = browser(Role.OBSERVER).get("/intel")  # Germany reads the Baltic one only
    assert page.status_code == 200
    assert f'href="/intel/collections/{baltic}"' in page.text and "Iberian" not in page.text
    assert '<span class="tlp tlp--amber">TLP:AMBER</span>' in page.text
    assert re.search(r'<td class="amount">2</td>', page.text)
    assert '<nav class="site-nav"' in page.text and 'href="/intel"' in page.text
    assert 'action="/intel"' not in page.text  # no form for a reader
    assert 'href="/intel/import"' not in page.text  # an observer shares nothing
    nothing = browser(Role.REQUESTER).get("/intel")
    assert nothing.status_code == 200 and "/intel/collections/" not in nothing.text


def test_a_coordinator_makes_a_collection_and_each_problem_is_told_by_its_field(database,
                                                                                  browser):
    client = browser(Role.COORDINATOR)
    token = csrf_of(client.get("/intel").text)
    empty = client.post("/intel", data={"csrf_token": token, "title": "", "max_tlp": "green"})
    assert empty.status_code == 422
    assert _error(empty.text, "title") and _error(empty.text, "members")
    strict = client.post("/intel", data={"csrf_token": token, "title": "Strict",
                                         "members": ["EE", "LT"], "max_tlp": "amber+strict"})
    assert strict.status_code == 422 and "one member" in _error(strict.text, "max_tlp")
    assert 'value="Strict"' in strict.text and 'id="members-EE" name="members" value="EE" ' \
                                               'checked' in strict.text
    with database.session() as db:
        assert not intel.list_collections(db=db, actor=SYSTEM)  # nothing changed
    made = client.post("/intel", data={"csrf_token": token, "title": "Nordic-Baltic",
                                       "description": "Phishing infrastructure.",
                                       "members": ["EE"], "readers": ["DE", "EE"],
                                       "max_tlp": "amber"}, follow_redirects=False)
    assert made.status_code == 303 and made.headers["location"].endswith("?created=1")
    shown = client.get(made.headers["location"])
    assert shown.status_code == 200 and "Nordic-Baltic" in shown.text
    assert 'role="status"' in shown.text
    again = client.post("/intel", data={"csrf_token": token, "title": "Nordic-Baltic",
                                        "members": ["EE"], "max_tlp": "green"})
    assert again.status_code == 422 and _error(again.text, "title")


def test_only_the_coordination_cell_makes_collections(browser):
    client = browser(Role.NATIONAL_POC)
    token = csrf_of(client.get("/intel/correlate").text)
    refused = client.post("/intel", data={"csrf_token": token, "title": "Ours",
                                          "members": ["EE"]})
    assert refused.status_code == 403


# --- a collection's objects ---------------------------------------------------------------------

def test_the_objects_are_searched_by_value_name_or_id_and_filtered(database, world, browser):
    baltic = _collection(database, world)
    first, amber = _indicator("198.51.100.7"), _indicator("203.0.113.9", tlp=Tlp.AMBER,
                                                          name="Phishing kit host")
    family = _malware("Emotet")
    _add(database, world, baltic, [first, amber, family])
    client = browser(Role.OBSERVER)
    here = f"/intel/collections/{baltic}"
    everything = client.get(here)
    assert everything.status_code == 200
    assert set(_object_links(everything.text)) == {first["id"], amber["id"], family["id"]}
    assert _object_links(everything.text)[0] == family["id"]  # the newest placed first
    by_value = client.get(here, params={"q": "198.51.100.7"})
    assert _object_links(by_value.text) == [first["id"]]
    by_name = client.get(here, params={"q": "phishing KIT"})
    assert _object_links(by_name.text) == [amber["id"]]
    by_id = client.get(here, params={"q": family["id"]})
    assert _object_links(by_id.text) == [family["id"]]
    assert _object_links(client.get(here, params={"type": "malware"}).text) == [family["id"]]
    assert _object_links(client.get(here, params={"tlp": "amber"}).text) == [amber["id"]]
    assert _object_links(client.get(here, params={"added_after": "2999-01-01"}).text) == []
    wrong = client.get(here, params={"added_after": "27.11.2026", "type": "nonsense"})
    assert wrong.status_code == 422
    assert _error(wrong.text, "added_after") and _error(wrong.text, "type")


def test_the_objects_come_a_page_at_a_time(database, world, browser, monkeypatch):
    from crrt.web import intel_pages

    monkeypatch.setattr(intel_pages, "PAGE_SIZE", 2)
    baltic = _collection(database, world)
    made = [_indicator(f"198.51.100.{n}") for n in range(1, 6)]
    _add(database, world, baltic, made)
    client = browser(Role.NATIONAL_POC)
    seen: list[str] = []
    url: str | None = f"/intel/collections/{baltic}"
    while url:
        page = client.get(url)
        seen += _object_links(page.text)
        found = re.search(r'<a href="([^"]+)" rel="next">', page.text)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert seen == [m["id"] for m in reversed(made)]


def test_a_collection_the_viewer_does_not_read_is_not_found(database, world, browser):
    iberian = _collection(database, world, title="Iberian", members=("ES",), readers=())
    assert browser(Role.OBSERVER).get(f"/intel/collections/{iberian}").status_code == 404


# --- one object ---------------------------------------------------------------------------------

def test_an_object_shows_its_fields_versions_relationships_and_where_else_it_was_seen(
        database, world, browser):
    baltic = _collection(database, world)
    other = _collection(database, world, title="Europe", members=("LT", "ES"), readers=())
    first = _indicator("198.51.100.7", name="C2 <script>alert(1)</script>")
    later = {**first, "modified": "2026-12-01T10:00:00.000Z", "name": "C2 server, confirmed"}
    family = _malware("Emotet")
    link = _relationship(first["id"], "indicates", family["id"])
    _add(database, world, baltic, [first, family, link])
    _add(database, world, baltic, [later])
    elsewhere = _indicator("198.51.100.0/24", name="Bad network")
    _add(database, world, other, [elsewhere], role=Role.COORDINATOR)
    page = browser(Role.COORDINATOR).get(f"/intel/objects/{first['id']}")
    assert page.status_code == 200
    assert "C2 server, confirmed" in page.text  # the latest version first
    assert page.text.count("2026-12-01T10:00:00.000000Z") >= 1
    assert f"/intel/objects/{first['id']}?version=" in page.text  # the earlier one, a link
    assert "<script>alert(1)" not in page.text  # the JSON is escaped
    assert re.search(r'<pre class="intel-raw"[^>]*>\{\n  &#34;type&#34;: &#34;indicator',
                     page.text)
    assert f'href="/intel/objects/{link["id"]}"' in page.text  # the relationship
    assert f'href="/intel/objects/{family["id"]}">Emotet</a>' in page.text  # its other end
    assert f'href="/intel/objects/{elsewhere["id"]}"' in page.text  # seen in Europe too
    assert f'href="/intel/collections/{other}"' in page.text
    earlier = re.search(rf'href="/intel/objects/{first["id"]}\?version=([^"]+)"', page.text)
    assert earlier
    old = browser(Role.COORDINATOR).get(
        f"/intel/objects/{first['id']}?version={earlier.group(1)}")
    assert "C2 &lt;script&gt;" in old.text
    malware = browser(Role.OBSERVER).get(f"/intel/objects/{family['id']}")
    assert malware.status_code == 200 and f'href="/intel/objects/{first["id"]}"' in malware.text
    # the observer reads Baltic, not Europe: the network there is not named to it
    seen = browser(Role.OBSERVER).get(f"/intel/objects/{first['id']}")
    assert seen.status_code == 200 and elsewhere["id"] not in seen.text
    assert browser(Role.REQUESTER).get(f"/intel/objects/{first['id']}").status_code == 404
    assert browser(Role.REQUESTER).get("/intel/objects/not-an-id").status_code == 404


# --- TLP:AMBER+STRICT ---------------------------------------------------------------------------

def test_amber_strict_never_reaches_another_organisation_on_any_page(database, world, browser):
    """Estonia's own collection carries AMBER+STRICT; Germany is then made a reader of it (as
    if its members were widened later): the TLP rule still keeps the object from Germany on
    the list, the object's page and the correlation page, while Estonia and the cell see it."""
    own = _collection(database, world, title="Estonia only", members=("EE",), readers=(),
                      max_tlp=Tlp.AMBER_STRICT)
    strict = _indicator("192.0.2.77", tlp=Tlp.AMBER_STRICT, name="Strictly ours")
    shared = _indicator("192.0.2.78", tlp=Tlp.AMBER)
    _add(database, world, own, [strict, shared])
    with database.session() as db:
        germany = org_service.get(db=db, actor=SYSTEM, code="DE")
        collection = next(c for c in intel.list_collections(db=db, actor=SYSTEM)
                          if c.public_id == own)
        db.add(CollectionMember(collection_id=collection.id, organisation_id=germany.id,
                                can_read=True, can_write=False))
    listing = f"/intel/collections/{own}"
    for role, sees in ((Role.NATIONAL_POC, True), (Role.COORDINATOR, True),
                       (Role.OBSERVER, False)):
        client = browser(role)
        page = client.get(listing)
        assert page.status_code == 200
        assert (strict["id"] in _object_links(page.text)) is sees, role
        assert shared["id"] in _object_links(page.text)
        assert (client.get(listing, params={"q": "192.0.2.77"}).text.count(strict["id"]) > 0) \
            is sees
        obj = client.get(f"/intel/objects/{strict['id']}")
        assert obj.status_code == (200 if sees else 404), role
        assert ("Strictly ours" in obj.text) is sees
        token = csrf_of(client.get("/intel/correlate").text)
        hits = client.post("/intel/correlate", data={"csrf_token": token,
                                                     "values": "192.0.2.77\n192.0.2.0/24"})
        assert hits.status_code == 200
        assert (strict["id"] in hits.text) is sees, role
        assert shared["id"] in hits.text  # the AMBER one, inside the network asked
        counts = client.get("/intel")
        assert re.search(r'<td class="amount">(\d+)</td>', counts.text).group(1) == \
            ("2" if sees else "1")


# --- correlation --------------------------------------------------------------------------------

def test_pasted_values_are_correlated_and_a_bad_one_is_said(database, world, browser):
    baltic = _collection(database, world)
    seen = _indicator("198.51.100.7")
    _add(database, world, baltic, [seen])
    client = browser(Role.RESPONDER)
    form = client.get("/intel/correlate")
    assert form.status_code == 200 and '<textarea id="values"' in form.text
    token = csrf_of(form.text)
    empty = client.post("/intel/correlate", data={"csrf_token": token, "values": "  \n "})
    assert empty.status_code == 422 and _error(empty.text, "values")
    found = client.post("/intel/correlate", data={
        "csrf_token": token, "values": "198.51.100.7\r\nexample.org\r\nnot a value"})
    assert found.status_code == 200
    assert f'href="/intel/objects/{seen["id"]}"' in found.text
    assert f'href="/intel/collections/{baltic}"' in found.text
    assert "1 of 3 values were seen." in found.text
    assert found.text.count('colspan="4"') == 2  # example.org unseen, the last not a value


# --- the import ---------------------------------------------------------------------------------

def _import(client, content: bytes, filename: str, **fields: str):
    token = csrf_of(client.get("/intel/import").text)
    return client.post("/intel/import", data={"csrf_token": token, **fields},
                       files={"file": (filename, content, "application/octet-stream")},
                       follow_redirects=False)


def _totals(html: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(
        r'<dd class="import-total import-total--(?:new|unchanged|rejected)">(\d+)</dd>', html))


def _placed(database) -> int:
    with database.session() as db:
        return int(db.scalar(select(func.count()).select_from(CollectionObject)) or 0)


def test_an_import_reports_what_was_added_already_there_and_refused(database, world, browser):
    baltic = _collection(database, world)
    client = browser(Role.NATIONAL_POC)
    form = client.get("/intel/import")
    assert form.status_code == 200 and f'<option value="{baltic}" selected>' in form.text
    values = b"type,value,description\nipv4-addr,198.51.100.7,C2\ndomain-name,evil.example,\n"
    first = _import(client, values, "values.csv", collection=str(baltic), tlp="green")
    assert first.status_code == 200, first.text
    assert _totals(first.text) == (3, 0, 0)  # the identity and two indicators
    bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": [
        _indicator("198.51.100.9"), _indicator("198.51.100.10", tlp=Tlp.RED)]}
    mixed = _import(client, json.dumps(bundle).encode(), "bundle.json", collection=str(baltic),
                    tlp="amber")
    assert _totals(mixed.text) == (1, 0, 1)
    assert "TLP:RED never goes to a collection" in mixed.text
    assert bundle["objects"][1]["id"] in mixed.text
    again = _import(client, json.dumps(bundle).encode(), "bundle.json", collection=str(baltic),
                    tlp="amber")
    assert _totals(again.text) == (0, 1, 1)
    listed = client.get(f"/intel/collections/{baltic}", params={"q": "evil.example"})
    assert len(_object_links(listed.text)) == 1


def test_a_file_that_is_none_of_the_formats_is_told_by_its_field_and_changes_nothing(
        database, world, browser, monkeypatch):
    baltic = _collection(database, world)
    client = browser(Role.NATIONAL_POC)
    before = _placed(database)
    wrong = _import(client, b'{"hello": "world"}', "x.json", collection=str(baltic), tlp="amber")
    assert wrong.status_code == 422 and "neither a STIX bundle" in _error(wrong.text, "file")
    bad_value = _import(client, b"type,value\nipv4-addr,999.1.1.1\n", "x.csv",
                        collection=str(baltic), tlp="amber")
    assert bad_value.status_code == 422 and "line 2" in _error(bad_value.text, "file")
    no_choice = _import(client, b"198.51.100.7\n", "x.csv", collection="", tlp="red")
    assert no_choice.status_code == 422
    assert _error(no_choice.text, "collection") and _error(no_choice.text, "tlp")
    monkeypatch.setattr(intel_import_pages, "MAX_BYTES", 10)
    large = _import(client, b"198.51.100.7\n198.51.100.8\n", "x.csv", collection=str(baltic),
                    tlp="amber")
    assert large.status_code == 422 and _error(large.text, "file")
    assert _placed(database) == before


def test_a_reader_may_not_add_to_a_collection(database, world, browser):
    baltic = _collection(database, world, readers=("DE", "cert-eu"))
    client = browser(Role.REQUESTER)  # CERT-EU reads Baltic and shares, but not there
    form = client.get("/intel/import")
    assert form.status_code == 200 and 'type="file"' not in form.text
    assert browser(Role.OBSERVER).get("/intel/import").status_code == 403
    token = csrf_of(client.get("/intel/correlate").text)
    refused = client.post("/intel/import", data={
        "csrf_token": token, "collection": str(baltic), "tlp": "amber"},
        files={"file": ("x.csv", b"198.51.100.7\n", "text/csv")})
    assert refused.status_code == 403


@pytest.mark.parametrize("language", ["de", "lt"])
def test_the_pages_speak_the_viewers_language(database, world, browser, language):
    from crrt.auth.models import User

    baltic = _collection(database, world)
    client = browser(Role.NATIONAL_POC)
    with database.session() as db:
        db.execute(User.__table__.update().where(User.email.like("web%"))
                   .values(language=language))
    english = {"Intel collections", "Correlate values", "Value, name or id"}
    for path in ("/intel", f"/intel/collections/{baltic}", "/intel/correlate"):
        page = client.get(path)
        assert page.status_code == 200
        assert not [w for w in english if w in page.text], (path, language)
