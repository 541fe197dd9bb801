"""Correlation: what a value matches in the store, by index lookups only.

Values are indexed as objects come in (:func:`index`). A lookup (:func:`matches`) finds the
same value; for an address, every network holding it (one exact lookup a prefix length: a
CIDR network is its address masked to its length) and, for a network, the addresses and
networks inside it (a range of the first address, in fixed-width hex); for a domain, itself,
the domains above it and those below it (a range of its reversed labels); for a URL, itself
and its host as a domain. So a store of millions answers in a few index probes a value.
"""

from __future__ import annotations

import bisect
import ipaddress
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from crrt.core.at_commit import AtCommit
from crrt.core.db import insert_rows, serialise
from crrt.intel import observables
from crrt.intel.models import IndexedValue
from crrt.intel.observables import Kind

IP, DOMAIN = "ip", "domain"
WRITERS = "intel_values"  # the lock the index's writers take turns by
KIND_OF = {Kind.IPV4: IP, Kind.IPV6: IP, Kind.DOMAIN: DOMAIN, Kind.URL: "url",
           Kind.EMAIL: "email", Kind.MD5: "md5", Kind.SHA1: "sha1", Kind.SHA256: "sha256",
           Kind.SHA512: "sha512"}
HASH_NAMES = {"MD5": Kind.MD5, "SHA-1": Kind.SHA1, "SHA-256": Kind.SHA256,
              "SHA-512": Kind.SHA512}
PATTERN_KINDS = {kind.value: kind for kind in Kind}
SCO_KINDS = {"ipv4-addr": Kind.IPV4, "ipv6-addr": Kind.IPV6, "domain-name": Kind.DOMAIN,
             "url": Kind.URL, "email-addr": Kind.EMAIL}
VALUES = re.compile(r"(ipv4-addr|ipv6-addr|domain-name|url|email-addr):value\s*=\s*"
                    r"'((?:[^'\\]|\\.)*)'")
# an IPv4 address as ipaddress writes it (no leading zeros): the commonest value indexed,
# read without building an address object (the tests hold it to ipaddress's answers)
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
DOTTED = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}", re.ASCII)
HASHES = re.compile(r"file:hashes\.'?(MD5|SHA-1|SHA-256|SHA-512)'?\s*=\s*'([0-9a-fA-F]+)'")


class Entry(NamedTuple):
    """One indexed value: a named tuple, as a bulk load makes one an object."""

    kind: str
    value: str
    key: str = ""


def _ip_key(network: ipaddress.IPv4Network | ipaddress.IPv6Network, at: Any = None) -> str:
    address = network.network_address if at is None else at
    return f"{network.version}:{int(address):0{8 if network.version == 4 else 32}x}"


def _reversed(domain: str) -> str:
    return ".".join(reversed(domain.split(".")))


def entries(kind: Kind, value: str) -> list[Entry]:
    """What one observable value is indexed as (nothing if it does not normalise)."""
    if kind is Kind.IPV4 and "/" not in value:  # the commonest value, parsed once
        text = value.strip()
        dotted = DOTTED.fullmatch(text)
        if dotted:  # already in the one written form: its octets make the key
            a, b, c, d = map(int, dotted.groups())
            return [Entry(IP, text, f"4:{a << 24 | b << 16 | c << 8 | d:08x}")]
        try:
            address = ipaddress.IPv4Address(text)
        except ValueError:
            return []
        return [Entry(IP, str(address), f"4:{int(address):08x}")]
    try:
        normal = observables.normalise(kind, value)
    except observables.NotAnObservable:
        return []
    if KIND_OF[kind] == IP:
        return [Entry(IP, normal, _ip_key(ipaddress.ip_network(normal, strict=False)))]
    if kind is Kind.DOMAIN:
        return [Entry(DOMAIN, normal, _reversed(normal))]
    if kind is Kind.URL:
        host = observables.host_of(normal)
        out = [Entry("url", normal)]
        if host is not None:
            out += entries(Kind.IPV6 if ":" in host else Kind.IPV4, host) \
                if observables.is_ip(host) else entries(Kind.DOMAIN, host)
        return out
    return [Entry(KIND_OF[kind], normal)]


def said_by(body: dict[str, Any]) -> list[tuple[Kind, str]]:
    """The observable values an object says: an indicator's pattern (each comparison of a
    value or a file hash), a cyber observable's value or hashes."""
    kind = body.get("type")
    if kind == "indicator" and body.get("pattern_type", "stix") == "stix":
        text = str(body.get("pattern", ""))
        found = [(PATTERN_KINDS[k], v.replace("\\'", "'").replace("\\\\", "\\")
                  if "\\" in v else v) for k, v in VALUES.findall(text)]
        if "hashes" in text:
            found += [(HASH_NAMES[h], v) for h, v in HASHES.findall(text)]
        return found
    if kind in SCO_KINDS and isinstance(body.get("value"), str):
        return [(SCO_KINDS[str(kind)], str(body["value"]))]
    if kind == "file" and isinstance(body.get("hashes"), dict):
        return [(HASH_NAMES[h], str(v)) for h, v in body["hashes"].items() if h in HASH_NAMES]
    return []


def index(db: Session, objects: Iterable[tuple[int, dict[str, Any]]]) -> int:
    """Index the values of newly stored objects (their row ids and bodies): written when the
    transaction commits (:func:`_write`); how many."""
    rows = [{"object_id": object_id, "kind": e.kind, "value": e.value[:2048], "key": e.key[:300]}
            for object_id, body in objects for kind, value in said_by(body)
            for e in entries(kind, value)]
    _VALUES.add(db, rows)
    return len(rows)


def _write(db: Session, rows: list[dict[str, Any]]) -> None:
    """A transaction's values, at its commit, the writers taking turns (:func:`serialise`)
    until it ends: the rows commit in the order of their ids, as :class:`Memory`, which
    follows the table by the last id it read, needs (a row given a lower id but committed
    after a higher one would never be read). Only the commits wait for one another, never a
    load for another's."""
    serialise(db, WRITERS)
    insert_rows(db, IndexedValue, rows)


_VALUES: AtCommit[dict[str, Any]] = AtCommit("crrt.intel.values", _write)


@dataclass(frozen=True)
class Match:
    object_id: int
    value: str
    how: str  # same; within (a network holding it); contains; above; below (domains)


def _ip_probes(normal: str) -> tuple[list[str], tuple[str, str] | None]:
    """The networks that would hold ``normal``, and (for a network) its range of keys."""
    network = ipaddress.ip_network(normal, strict=False)
    bits = network.max_prefixlen
    holders = []
    for length in range(0, network.prefixlen + 1):
        outer = network.supernet(new_prefix=length) if length < network.prefixlen else network
        holders.append(str(outer.network_address) if outer.prefixlen == bits else str(outer))
    inside = None
    if network.prefixlen < bits:
        inside = (_ip_key(network), _ip_key(network, network.broadcast_address))
    return holders, inside


def _rows(db: Session, *conditions: Any) -> list[Any]:
    return list(db.execute(select(IndexedValue.object_id, IndexedValue.value)
                           .where(*conditions)).all())


def matches(db: Session, kind: Kind, value: str) -> list[Match]:
    """Every indexed value ``value`` correlates with, and how: the SQL form of
    :class:`Memory`'s lookups, the tests' reference. Each probe is one lookup (kind and value,
    an index) or one range (kind and key, a scan: the product's table has no index of ranges;
    ``bench/correlate.py`` builds one), never an OR."""
    found: list[Match] = []
    for entry in entries(kind, value):
        if entry.kind == IP:
            holders, inside = _ip_probes(entry.value)
            for row in _rows(db, IndexedValue.kind == IP, IndexedValue.value.in_(holders)):
                found.append(Match(row.object_id, row.value,
                                   "same" if row.value == entry.value else "within"))
            if inside is not None:
                length = ipaddress.ip_network(entry.value).prefixlen
                for row in _rows(db, IndexedValue.kind == IP,
                                 IndexedValue.key.between(*inside)):
                    if ipaddress.ip_network(row.value).prefixlen > length:
                        found.append(Match(row.object_id, row.value, "contains"))
        elif entry.kind == DOMAIN:
            labels = entry.value.split(".")
            above = [".".join(labels[i:]) for i in range(1, len(labels) - 1)]
            for row in _rows(db, IndexedValue.kind == DOMAIN,
                             IndexedValue.value.in_([entry.value, *above])):
                found.append(Match(row.object_id, row.value,
                                   "same" if row.value == entry.value else "above"))
            for row in _rows(db, IndexedValue.kind == DOMAIN,
                             IndexedValue.key > entry.key + ".",
                             IndexedValue.key < entry.key + "/"):
                found.append(Match(row.object_id, row.value, "below"))
        else:
            for row in _rows(db, IndexedValue.kind == entry.kind,
                             IndexedValue.value == entry.value):
                found.append(Match(row.object_id, row.value, "same"))
    return list(dict.fromkeys(found))


# --- in memory: the same answers at memory speed ------------------------------------------------

class Memory:
    """The index held in memory, kept up with the table by the rows added since (their ids
    only grow, and they commit in that order: see :func:`_write`): a lookup costs a few
    dictionary probes and a binary search, not a round trip.
    Answers as :func:`matches` does (tests hold the two to the same answers)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clear()

    def _clear(self) -> None:
        """Forget everything read (the table is read again from its first row)."""
        self.last_id = 0
        self.last_row: tuple[str, str, int] | None = None
        self.exact: dict[tuple[str, str], list[int]] = {}
        # (IP version, prefix length) -> {network as an integer: [(value, object id)]}
        self.networks: dict[tuple[int, int], dict[int, list[tuple[str, int]]]] = {}
        self.lengths: dict[int, set[int]] = {4: set(), 6: set()}
        self.ip_starts: dict[int, list[tuple[int, int, str, int]]] = {4: [], 6: []}
        self.below: list[tuple[str, str, int]] = []  # (reversed domain, domain, object id)
        self._sorted = True

    def refresh(self, db: Session) -> int:
        """Take in the rows added since the last refresh; how many."""
        with self._lock:
            if self.last_id:
                last = db.get(IndexedValue, self.last_id)
                if last is None or (last.kind, last.value, last.object_id) != self.last_row:
                    self._clear()  # the table is not the one read (restored, rebuilt)
            rows = db.execute(select(IndexedValue.id, IndexedValue.kind, IndexedValue.value,
                                     IndexedValue.key, IndexedValue.object_id)
                              .where(IndexedValue.id > self.last_id)
                              .order_by(IndexedValue.id)).all()
            for row_id, kind, value, key, object_id in rows:
                self.add(kind, value, key, object_id)
                self.last_id, self.last_row = row_id, (kind, value, object_id)
            if not self._sorted:  # sorted as it is read, not by the first lookup after
                self._sort_held()
            return len(rows)

    def add(self, kind: str, value: str, key: str, object_id: int) -> None:
        self.exact.setdefault((kind, value), []).append(object_id)
        if kind == IP:
            network = ipaddress.ip_network(value, strict=False)
            start = int(network.network_address)
            self.networks.setdefault((network.version, network.prefixlen), {}).setdefault(
                start, []).append((value, object_id))
            self.lengths[network.version].add(network.prefixlen)
            self.ip_starts[network.version].append((start, network.prefixlen, value, object_id))
            self._sorted = False
        elif kind == DOMAIN:
            self.below.append((key, value, object_id))
            self._sorted = False

    def _sort(self) -> None:
        if not self._sorted:
            with self._lock:
                self._sort_held()

    def _sort_held(self) -> None:
        """Sort the range lists (the lock held)."""
        self.below.sort()
        for starts in self.ip_starts.values():
            starts.sort()
        self._sorted = True

    def lookup(self, kind: Kind, value: str) -> list[Match]:
        self._sort()
        found: list[Match] = []
        for entry in entries(kind, value):
            if entry.kind == IP:
                found += self._ip(entry)
            elif entry.kind == DOMAIN:
                found += self._domain(entry)
            else:
                found += [Match(o, entry.value, "same")
                          for o in self.exact.get((entry.kind, entry.value), [])]
        return list(dict.fromkeys(found))

    def _ip(self, entry: Entry) -> list[Match]:
        if "/" not in entry.value:  # an address: its key says it all, no parsing again
            version = int(entry.key[0])
            bits = prefix = 32 if version == 4 else 128
            asked = int(entry.key[2:], 16)
            end = asked
        else:
            network = ipaddress.ip_network(entry.value, strict=False)
            version, bits, prefix = network.version, network.max_prefixlen, network.prefixlen
            asked, end = int(network.network_address), int(network.broadcast_address)
        found = []
        for length in sorted(self.lengths[version]):
            if length > prefix:
                continue
            start = asked >> (bits - length) << (bits - length)
            for held, object_id in self.networks[(version, length)].get(start, []):
                found.append(Match(object_id, held, "same" if length == prefix else "within"))
        if prefix < bits:
            starts = self.ip_starts[version]
            at = bisect.bisect_left(starts, (asked, prefix + 1))
            while at < len(starts) and starts[at][0] <= end:
                _start, length, held, object_id = starts[at]
                if length > prefix:
                    found.append(Match(object_id, held, "contains"))
                at += 1
        return found

    def _domain(self, entry: Entry) -> list[Match]:
        labels = entry.value.split(".")
        found = [Match(o, entry.value, "same")
                 for o in self.exact.get((DOMAIN, entry.value), [])]
        for i in range(1, len(labels) - 1):
            above = ".".join(labels[i:])
            found += [Match(o, above, "above") for o in self.exact.get((DOMAIN, above), [])]
        at = bisect.bisect_left(self.below, (entry.key + ".",))
        while at < len(self.below) and self.below[at][0] < entry.key + "/":
            _key, held, object_id = self.below[at]
            found.append(Match(object_id, held, "below"))
            at += 1
        return found


_MEMORIES: dict[str, Memory] = {}
_MEMORIES_LOCK = threading.Lock()


def memory_of(db: Session) -> Memory:
    """The in-memory index of ``db``'s database, brought up to date."""
    key = str(db.get_bind().engine.url)
    with _MEMORIES_LOCK:
        memory = _MEMORIES.setdefault(key, Memory())
    memory.refresh(db)
    return memory
