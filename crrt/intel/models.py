"""Tables of the intel part: sharing groups (TAXII collections) with their member
organisations, and the STIX store, each object version once, placed in collections; the
federation's peers and the log of their sync rounds.

An object version (its id and ``version``) is stored once however many collections hold it;
each placement has its own date added, on which TAXII pages (with the placement's id to break
ties, so equal dates never lose or repeat an object).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crrt.access.enums import Tlp
from crrt.core import clock
from crrt.core.db import Base, UTCDateTime, str_enum
from crrt.core.ids import PublicId
from crrt.intel.enums import Direction, PeerAuth, SyncOutcome

# The tables written a row per object of an envelope (the objects, their placements, their
# indexed values and references) carry no foreign keys, and no index that no query reads:
# PostgreSQL checks each key by a query of its own per row, which cost a bulk load about a
# tenth of its time, and each index is written at every row. What the keys guarded holds by
# construction: these rows are written only by ``service.add_objects``, in the transaction
# that stores or finds the object and has read the collection and the caller's
# organisation, and no collection, object or organisation is ever deleted. A part that comes
# to delete one deletes these rows with it. ``tests/intel/test_store_keys.py`` checks that
# no row points nowhere after every way in.
STORE_KEYS = ("intel_collection_objects", "intel_values", "intel_refs", "stix_objects")


class Collection(Base, PublicId):
    """A sharing group: its members, the highest TLP it may carry. Its public id is its TAXII
    collection id."""

    __tablename__ = "intel_collections"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    max_tlp: Mapped[Tlp] = mapped_column(str_enum(Tlp), default=Tlp.GREEN)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    members: Mapped[list[CollectionMember]] = relationship(
        back_populates="collection", cascade="all, delete-orphan", lazy="selectin",
        order_by="CollectionMember.organisation_id")


class CollectionMember(Base):
    """An organisation in a sharing group: whether its people read, and whether they write."""

    __tablename__ = "intel_collection_members"
    __table_args__ = (UniqueConstraint("collection_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    collection_id: Mapped[int] = mapped_column(
        ForeignKey("intel_collections.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    can_read: Mapped[bool] = mapped_column(Boolean, default=True)
    can_write: Mapped[bool] = mapped_column(Boolean, default=True)
    collection: Mapped[Collection] = relationship(back_populates="members")


class StixObject(Base):
    """One version of a STIX object, validated, kept as it came (``body``) with its indexed
    fields. ``tlp`` is its marking as crrt's TLP; ``organisation_id`` the organisation that
    first shared it (AMBER+STRICT stays with it)."""

    __tablename__ = "stix_objects"
    __table_args__ = (UniqueConstraint("stix_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # found by the (stix_id, version) unique index, whose first column it is: a second index
    # of its own would only cost every insert
    stix_id: Mapped[str] = mapped_column(String(120))
    type: Mapped[str] = mapped_column(String(64))  # read with its row, never searched alone
    spec_version: Mapped[str] = mapped_column(String(8), default="2.1")
    created: Mapped[str | None] = mapped_column(String(32))
    modified: Mapped[str | None] = mapped_column(String(32))
    version: Mapped[str] = mapped_column(String(32), default="")
    created_by_ref: Mapped[str | None] = mapped_column(String(120))
    marking_refs: Mapped[list[str]] = mapped_column(JSON, default=list)
    tlp: Mapped[Tlp] = mapped_column(str_enum(Tlp), default=Tlp.AMBER)
    organisation_id: Mapped[int | None] = mapped_column(Integer)  # an Organisation's id
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class CollectionObject(Base):
    """An object version placed in a collection, and when (TAXII's date added)."""

    __tablename__ = "intel_collection_objects"
    # the object first: the one index finds an object's placements in every collection, and
    # one placement by both; a collection's walk takes the (collection, date added) index
    __table_args__ = (UniqueConstraint("object_id", "collection_id"),
                      Index("ix_intel_collection_objects_added", "collection_id", "date_added",
                            "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    collection_id: Mapped[int] = mapped_column(Integer)  # a Collection's id (see STORE_KEYS)
    object_id: Mapped[int] = mapped_column(Integer)  # a StixObject's id
    date_added: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # the latest version of its object in this collection: TAXII's default, read at every page
    latest: Mapped[bool] = mapped_column(Boolean, default=True)


class AddStatus(Base, PublicId):
    """The outcome of one envelope added over TAXII (its status resource): complete at once,
    since crrt adds an envelope in the request that sends it. Read by whoever sent it."""

    __tablename__ = "intel_add_statuses"

    id: Mapped[int] = mapped_column(primary_key=True)
    collection_id: Mapped[int] = mapped_column(
        ForeignKey("intel_collections.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(Integer)  # the sender (no key: users are erased)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    total_count: Mapped[int] = mapped_column(Integer, default=0)
    successes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    failures: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class ObjectRef(Base):
    """Where a relationship or a sighting points (``source_ref``, ``target_ref``,
    ``sighting_of_ref``), so an object's page finds what points to it by an index lookup,
    never by reading every body in the store."""

    __tablename__ = "intel_refs"

    id: Mapped[int] = mapped_column(primary_key=True)
    object_id: Mapped[int] = mapped_column(Integer)  # a StixObject's id (read, never sought)
    ref: Mapped[str] = mapped_column(String(120), index=True)


class IndexedValue(Base):
    """A value an object says (an indicator's pattern, an observable's value), normalised:
    ``value`` for exact matches (an address or network in CIDR, a domain, a URL, an e-mail,
    a hash), ``key`` for ranges (an address or network's first address in fixed-width hex; a
    domain's labels reversed, so its subdomains share the prefix).

    Correlation asks an in-memory copy (:class:`crrt.intel.correlate.Memory`), which reads
    this table by its ids, so the keys have no index: it would be written at every value of
    every bulk load and read by no query of the product. The values have one, for the
    objects page's search by a value. The SQL form of the lookups
    (:func:`crrt.intel.correlate.matches`, the tests' reference) scans for its ranges;
    ``bench/correlate.py`` gives it the index of keys for its baseline."""

    __tablename__ = "intel_values"
    __table_args__ = (Index("ix_intel_values_value", "kind", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    object_id: Mapped[int] = mapped_column(Integer)  # a StixObject's id (read, never sought)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(2048))
    key: Mapped[str] = mapped_column(String(300), default="")


class Peer(Base, PublicId):
    """Another TAXII 2.1 server this node federates with (another crrt node, or any
    conformant server): one of its collections mapped onto one of ours, which way, the
    highest TLP that may go to it, and the token crrt signs in with, sealed
    (:mod:`crrt.core.secretbox`), never shown.

    The cursors are kept here and moved in the same transaction as what they account for:
    the pull's after each page stored (the ``added_after`` its walk started from, the server's
    ``next`` token, the last date added committed), the push's after the peer accepted an
    envelope (the last placement sent, on date added then placement id). A round holds the
    peer by ``lease_holder`` until ``lease_until``, so two rounds never run at once.
    """

    __tablename__ = "intel_peers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    api_root: Mapped[str] = mapped_column(String(2000))
    remote_collection: Mapped[str] = mapped_column(String(200))
    collection_id: Mapped[int] = mapped_column(ForeignKey("intel_collections.id"), index=True)
    direction: Mapped[Direction] = mapped_column(str_enum(Direction), default=Direction.PULL)
    max_tlp: Mapped[Tlp] = mapped_column(str_enum(Tlp), default=Tlp.GREEN)
    # the organisation whose node the peer is (AMBER may go to it), if it is one's
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    auth: Mapped[PeerAuth] = mapped_column(str_enum(PeerAuth), default=PeerAuth.BEARER)
    username: Mapped[str] = mapped_column(String(200), default="")
    token_sealed: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    pull_after: Mapped[str | None] = mapped_column(String(40))
    pull_next: Mapped[str | None] = mapped_column(String(1000))
    pull_seen: Mapped[str | None] = mapped_column(String(40))
    push_added: Mapped[datetime | None] = mapped_column(UTCDateTime)
    push_placement: Mapped[int] = mapped_column(Integer, default=0)
    next_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_holder: Mapped[str | None] = mapped_column(String(36))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SyncLog(Base, PublicId):
    """One round with a peer: when, what it took, sent, kept home under TLP and saw refused,
    and how it ended (its error without secrets). Pruned to the newest rows of each peer."""

    __tablename__ = "intel_sync_log"
    __table_args__ = (Index("ix_intel_sync_log_peer", "peer_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    peer_id: Mapped[int] = mapped_column(ForeignKey("intel_peers.id", ondelete="CASCADE"))
    direction: Mapped[Direction] = mapped_column(str_enum(Direction))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pulled: Mapped[int] = mapped_column(Integer, default=0)
    pushed: Mapped[int] = mapped_column(Integer, default=0)
    withheld: Mapped[int] = mapped_column(Integer, default=0)
    refused: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[SyncOutcome] = mapped_column(str_enum(SyncOutcome),
                                                 default=SyncOutcome.RUNNING)
    error: Mapped[str] = mapped_column(Text, default="")
