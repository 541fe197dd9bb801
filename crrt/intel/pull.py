"""A round's pull: ``GET {api_root}collections/{id}/objects/`` with ``added_after``, ``limit``
and every version, following ``next`` while ``more``.

Each page is stored through :func:`crrt.intel.imports.add` (validated, what is there
skipped, the collection's TLP enforced) as the node itself, in batches (a peer may ignore
``limit``), all in one transaction with the cursor: a round killed between pages loses
nothing and repeats nothing, and the next resumes with the same ``next`` token. A server that
forgot its token is asked again from the last date added committed, inclusive, and the store
skips what it holds. A server that gives no ``next`` is asked on from just before the
page's last date added (objects sharing that date may lie beyond the page), and from that
date itself once a page brings nothing new. A finished walk starts the next one a little
before its last date added (:data:`OVERLAP`): a server's placement committed late with an
earlier date is still found.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from crrt.intel import imports, markings, stix
from crrt.intel.enums import Direction
from crrt.intel.models import Peer
from crrt.intel.taxii_client import NextRefused, PeerFailed

if TYPE_CHECKING:
    from crrt.intel.sync import Round

OVERLAP = timedelta(minutes=2)
BATCH = 500  # objects given to the store at once, however many a page holds
MAX_NEXT = 1000


def pull(run: Round) -> None:
    target, tally = run.target, run.tally
    if target.pull_next:
        after, next_token = target.pull_after, target.pull_next
    else:  # a new walk, from a little before where the last one ended
        after, next_token = _overlapped(target.pull_seen), None
    seen, previous, done = target.pull_seen, None, 0
    for _page in range(run.max_pages):
        if run.out_of_time():
            tally.finished = False
            return
        try:
            envelope, last = run.remote.objects(added_after=after, next_token=next_token,
                                                limit=run.page_size)
        except NextRefused:
            after, next_token = (_before(seen) if seen else None), None
            continue
        more, following, last = _read(envelope, last)
        objects = [o for o in envelope.get("objects", [])
                   if not (isinstance(o, dict) and markings.is_tlp_definition(str(o.get("id"))))]
        seen = last or seen
        with run.database.session() as db:
            run.hold(db)
            stored = _store(db, run, objects)
            db.execute(update(Peer).where(Peer.id == target.id).values(
                pull_after=after if more else None, pull_next=following, pull_seen=seen))
        tally.pulled += stored.added
        tally.refused += stored.refused
        done += len(objects)
        run.report(Direction.PULL, done)
        if not more:
            return
        if following is None and last is not None:
            # no next token: on from just before the last date added, the store skipping
            # what it holds; past that date once a page brings nothing new (the server shows
            # no more of that date than a page holds), so a walk never loops
            stalled = stored.added == 0 and last == previous
            after, previous = (last if stalled else _before(last)), last
        next_token = following
    tally.finished = False


def _read(envelope: dict[str, Any], last: str | None) -> tuple[bool, str | None, str | None]:
    """(more, the next token, the last date added) of a page, checked."""
    more = envelope.get("more") is True
    following = envelope.get("next") if more else None
    if following is not None and (not isinstance(following, str) or len(following) > MAX_NEXT):
        raise PeerFailed(f"the peer's next token is not a string of at most {MAX_NEXT} "
                         "characters")
    if last is not None:
        try:
            last = stix.parse_stamp(last)
        except stix.Refused:
            raise PeerFailed("the peer's X-TAXII-Date-Added-Last is not a timestamp") from None
    if more and following is None and last is None:
        raise PeerFailed("the peer says there is more but gives neither a next token nor the "
                         "last date added")
    return more, following, last


def _store(db: Session, run: Round, objects: list[Any]) -> imports.Tally:
    """Add a page to the local collection as the node, a batch at a time."""
    stored = imports.Tally()
    for start in range(0, len(objects), BATCH):
        stored += imports.add(db=db, actor=run.actor, collection_id=run.target.collection,
                              objects=objects[start:start + BATCH],
                              default_tlp=run.default_tlp)
    return stored


def _before(stamp: str) -> str:
    """A moment just before ``stamp``, so that ``added_after`` (exclusive) takes it in."""
    return stix.stamp(_moment(stamp) - timedelta(microseconds=1))


def _overlapped(seen: str | None) -> str | None:
    return None if seen is None else stix.stamp(_moment(seen) - OVERLAP)


def _moment(stamp: str) -> datetime:
    return datetime.fromisoformat(stix.parse_stamp(stamp).replace("Z", "+00:00"))
