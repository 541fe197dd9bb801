"""The STIX store's bulk tables carry no foreign keys (``crrt.intel.models.STORE_KEYS``): what
the keys guarded must hold by construction. After every way objects come in (new objects by
COPY, some already there by the skipping insert, the same versions placed in a second
collection, relationships, observables made indicators, a MISP event) and after a TAXII
deletion, no row points nowhere; on both databases."""

from __future__ import annotations

import uuid

from sqlalchemy import exists, func, select

from crrt.access.enums import Role
from crrt.intel.models import Collection, CollectionObject, IndexedValue, ObjectRef, StixObject
from crrt.organisations.models import Organisation
from tests.intel.test_api import API, _add, _collection, _indicator
from tests.intel.test_misp import _event

TAXII = "application/taxii+json;version=2.1"


def _dangling(db) -> dict[str, int]:
    """Each kind of row that points nowhere, and how many there are (none: an empty dict)."""
    checks = {
        "placement of no object": select(func.count()).select_from(CollectionObject).where(
            ~exists().where(StixObject.id == CollectionObject.object_id)),
        "placement in no collection": select(func.count()).select_from(CollectionObject).where(
            ~exists().where(Collection.id == CollectionObject.collection_id)),
        "value of no object": select(func.count()).select_from(IndexedValue).where(
            ~exists().where(StixObject.id == IndexedValue.object_id)),
        "reference of no object": select(func.count()).select_from(ObjectRef).where(
            ~exists().where(StixObject.id == ObjectRef.object_id)),
        "object of no organisation": select(func.count()).select_from(StixObject).where(
            StixObject.organisation_id.is_not(None),
            ~exists().where(Organisation.id == StixObject.organisation_id)),
    }
    return {name: found for name, stmt in checks.items() if (found := db.scalar(stmt))}


def _relationship(source: str) -> dict:
    return {"type": "relationship", "spec_version": "2.1", "id": f"relationship--{uuid.uuid4()}",
            "created": "2026-11-27T10:00:00.000Z", "modified": "2026-11-27T10:00:00.000Z",
            "relationship_type": "indicates", "source_ref": source,
            "target_ref": f"malware--{uuid.uuid4()}"}


def test_no_row_of_the_store_points_nowhere_after_every_way_in(client, world, database):
    baltic = _collection(client, world)
    nordic = _collection(client, world, title="Nordic", members=["EE", "ES"])
    first = [_indicator(f"203.0.113.{n}") for n in range(5)]
    assert _add(client, world, baltic, first).json()["success_count"] == 5  # all new
    again = [*first[:2], _indicator("203.0.113.99"), _relationship(first[0]["id"])]
    assert _add(client, world, baltic, again).json()["success_count"] == 4  # some there
    assert _add(client, world, nordic, first).json()["success_count"] == 5  # placed again
    shared = client.post("/api/v1/intel/indicators", headers=world.headers(Role.NATIONAL_POC),
                         json={"observables": [{"type": "domain-name", "value": "evil.example"}],
                               "collections": [baltic["id"]], "tlp": "green"})
    assert shared.status_code == 201, shared.text
    imported = client.post(f"{API}/{baltic['id']}/misp", headers=world.headers(
        Role.NATIONAL_POC), content=_event().to_json().encode())
    assert imported.status_code == 200, imported.text
    deleted = client.delete(f"/taxii2/crrt/collections/{baltic['id']}/objects/"
                            f"{first[1]['id']}/", headers=world.headers(Role.NATIONAL_POC)
                            | {"Accept": TAXII})
    assert deleted.status_code == 200, deleted.text

    with database.session(read_only=True) as db:
        for table in (StixObject, CollectionObject, IndexedValue, ObjectRef):
            assert db.scalar(select(func.count()).select_from(table)) > 0, table
        assert _dangling(db) == {}


def test_the_check_finds_a_row_that_points_nowhere(client, world, database):
    baltic = _collection(client, world)
    _add(client, world, baltic, [_indicator()])
    with database.session() as db:
        placed = db.scalars(select(CollectionObject)).one()
        db.add(CollectionObject(collection_id=placed.collection_id, object_id=placed.object_id
                                + 1000, date_added=placed.date_added))
    with database.session(read_only=True) as db:
        assert _dangling(db) == {"placement of no object": 1}
