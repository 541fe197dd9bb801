"""The federation peers pages on both databases: the coordination cell sees the peers with
their last round and a peer's sync log, never a token; everyone else is refused; the pages
speak the viewer's language."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from crrt.access.enums import Role, Tlp
from crrt.intel import peers
from crrt.intel import service as intel
from crrt.intel.enums import Direction, SyncOutcome
from crrt.intel.models import Peer, SyncLog
from crrt.intel.peer_schemas import PeerIn
from crrt.intel.schemas import CollectionIn

TOKEN = "peer-token-never-shown-4711"
STARTED = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def _peer(database, world, settings, name: str = "CERT-Nordic node") -> uuid.UUID:
    """A peer syncing both ways with a fresh collection, with a token, and one failed round
    logged."""
    coordinator = world.principals[Role.COORDINATOR]
    with database.session() as db:
        collection = intel.create_collection(db=db, actor=coordinator, data=CollectionIn(
            title="Baltic", members=["EE", "LT"], readers=["DE"], max_tlp=Tlp.AMBER))
        peer = peers.create_peer(db=db, actor=coordinator,
                                 secret_key=settings.resolved_secret_key(), data=PeerIn(
                                     name=name,
                                     api_root="https://node.example.eu/taxii2/crrt/",
                                     collection="nordic-shared",
                                     local_collection=collection.public_id,
                                     direction=Direction.BOTH, max_tlp=Tlp.GREEN,
                                     token=TOKEN))
        db.add(SyncLog(peer_id=peer.id, direction=Direction.BOTH, started_at=STARTED,
                       finished_at=STARTED + timedelta(seconds=42), pulled=7, pushed=3,
                       withheld=2, refused=1, outcome=SyncOutcome.FAILED,
                       error="The peer answered 503 Service Unavailable."))
        return peer.public_id


def test_the_cell_sees_the_peers_and_their_last_round(database, world, settings, browser):
    peer_id = _peer(database, world, settings)
    client = browser(Role.COORDINATOR)
    page = client.get("/intel/peers")
    assert page.status_code == 200
    assert f'href="/intel/peers/{peer_id}"' in page.text
    assert "CERT-Nordic node" in page.text and "https://node.example.eu/taxii2/crrt/" in page.text
    assert "nordic-shared" in page.text and "Baltic" in page.text
    assert '<span class="tlp tlp--green">TLP:GREEN</span>' in page.text
    assert "Both ways" in page.text and "Failed" in page.text and "Set" in page.text
    assert "every 15 minutes" in page.text and "crrt intel sync" in page.text
    assert TOKEN not in page.text
    # the collections page links to the peers, for the cell only
    assert 'href="/intel/peers"' in client.get("/intel").text
    assert 'href="/intel/peers"' not in browser(Role.NATIONAL_POC).get("/intel").text


def test_a_peer_page_shows_its_sync_log_newest_first_in_pages(database, world, settings,
                                                              browser):
    peer_id = _peer(database, world, settings)
    with database.session() as db:
        peer = db.query(Peer).filter(Peer.public_id == peer_id).one()
        for n in range(30):  # newer rounds, which fill the first page
            db.add(SyncLog(peer_id=peer.id, direction=Direction.PULL,
                           started_at=STARTED + timedelta(hours=n + 1), pulled=100 + n,
                           outcome=SyncOutcome.COMPLETE))
    client = browser(Role.COORDINATOR)
    page = client.get(f"/intel/peers/{peer_id}")
    assert page.status_code == 200
    assert TOKEN not in page.text
    assert "129" in page.text and "503 Service Unavailable" not in page.text
    assert page.text.index(">129<") < page.text.index(">128<")
    assert 'rel="next"' in page.text
    later = client.get(page.text.split('rel="next"')[0].rsplit('href="', 1)[1]
                       .split('"')[0].replace("&amp;", "&"))
    assert later.status_code == 200
    assert "The peer answered 503 Service Unavailable." in later.text
    assert ">7<" in later.text and ">2<" in later.text and "Failed" in later.text
    assert TOKEN not in later.text
    bad = client.get(f"/intel/peers/{peer_id}?cursor=nonsense")
    assert bad.status_code == 422
    assert client.get(f"/intel/peers/{uuid.uuid4()}").status_code == 404


@pytest.mark.parametrize("role", [Role.NATIONAL_POC, Role.RESPONDER, Role.OBSERVER])
def test_others_are_refused(database, world, settings, browser, role):
    peer_id = _peer(database, world, settings)
    client = browser(role)
    for path in ("/intel/peers", f"/intel/peers/{peer_id}"):
        refused = client.get(path)
        assert refused.status_code == 403, path
        assert "CERT-Nordic node" not in refused.text


@pytest.mark.parametrize("language", ["de", "fr"])
def test_the_pages_speak_the_viewers_language(database, world, settings, browser, language):
    from crrt.auth.models import User

    peer_id = _peer(database, world, settings)
    client = browser(Role.COORDINATOR)
    with database.session() as db:
        db.execute(User.__table__.update().where(User.email.like("web%"))
                   .values(language=language))
    english = {"Federation peers", "Remote collection", "Both ways", "Failed", "Sync log",
               "Withheld", "The worker syncs"}
    for path in ("/intel/peers", f"/intel/peers/{peer_id}"):
        page = client.get(path)
        assert page.status_code == 200
        assert not [w for w in english if w in page.text], (path, language)
