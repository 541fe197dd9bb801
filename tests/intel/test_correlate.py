"""Correlation through the API on both databases: the same value, an address inside a
network and a network around addresses, domains above and below, a URL's host, hashes in any
case; only what the caller may read (its collections, under TLP)."""

from __future__ import annotations

import ipaddress
import threading

from crrt.access.enums import Role
from crrt.intel import correlate
from crrt.intel.observables import Kind
from tests.intel.test_api import _collection

CORRELATE = "/api/v1/intel/correlate"


def _share(client, world, collection: dict, tlp: str, *observed: tuple[str, str],
           role: Role = Role.NATIONAL_POC) -> None:
    shared = client.post("/api/v1/intel/indicators", headers=world.headers(role), json={
        "observables": [{"type": t, "value": v} for t, v in observed],
        "collections": [collection["id"]], "tlp": tlp, "sightings": False})
    assert shared.status_code == 201, shared.text


def _hits(client, world, role: Role, *asked: tuple[str, str]) -> list[set[tuple[str, str]]]:
    answer = client.post(CORRELATE, headers=world.headers(role), json={
        "observables": [{"type": t, "value": v} for t, v in asked]})
    assert answer.status_code == 200, answer.text
    return [{(h["matched"], h["how"]) for h in r["hits"]} for r in answer.json()["results"]]


def test_values_correlate_by_network_domain_host_and_hash(client, world):
    collection = _collection(client, world, readers=["DE"])
    _share(client, world, collection, "green", ("ipv4-addr", "10.0.0.0/8"),
           ("ipv4-addr", "198.51.100.7"), ("domain-name", "evil.example"),
           ("url", "https://cdn.bad.example/payload"), ("sha256", "ab" * 32),
           ("ipv6-addr", "2001:db8::/32"))
    found = _hits(client, world, Role.OBSERVER,
                  ("ipv4-addr", "10.1.2.3"), ("ipv4-addr", "198.51.100.0/24"),
                  ("domain-name", "login.Evil.example"), ("domain-name", "bad.example"),
                  ("url", "http://cdn.bad.example/other"), ("sha256", "AB" * 32),
                  ("ipv6-addr", "2001:db8:1::5"), ("ipv4-addr", "192.0.2.1"))
    assert found == [
        {("10.0.0.0/8", "within")}, {("198.51.100.7", "contains")},
        {("evil.example", "above")}, {("cdn.bad.example", "below")},
        {("cdn.bad.example", "same")}, {("ab" * 32, "same")},
        {("2001:db8::/32", "within")}, set()]


def test_memory_answers_as_the_database_does(client, world, database):
    """The in-memory index the API asks gives exactly the SQL lookups' answers."""
    collection = _collection(client, world)
    _share(client, world, collection, "green", ("ipv4-addr", "10.0.0.0/8"),
           ("ipv4-addr", "10.2.0.0/16"), ("ipv4-addr", "10.2.3.4"), ("ipv4-addr", "10.9.9.9"),
           ("domain-name", "a.b.example"), ("domain-name", "b.example"),
           ("url", "https://x.a.b.example/p"), ("ipv6-addr", "2001:db8::1"))
    probes = [(Kind.IPV4, "10.2.3.4"), (Kind.IPV4, "10.0.0.0/8"), (Kind.IPV4, "10.2.0.0/15"),
              (Kind.DOMAIN, "b.example"), (Kind.DOMAIN, "z.a.b.example"),
              (Kind.URL, "https://x.a.b.example/q"), (Kind.IPV6, "2001:db8::/64"),
              (Kind.SHA1, "a" * 40)]
    with database.session(read_only=True) as db:
        memory = correlate.memory_of(db)
        for kind, value in probes:
            assert sorted(memory.lookup(kind, value), key=repr) == sorted(
                correlate.matches(db, kind, value), key=repr), (kind, value)


def test_hits_name_where_and_by_whom_as_far_as_the_caller_may_know(client, world):
    shared = _collection(client, world, title="Shared", readers=["DE"])
    own = _collection(client, world, title="Estonia only", members=["EE"],
                      max_tlp="amber+strict")
    _share(client, world, shared, "amber", ("domain-name", "c2.example"))
    _share(client, world, own, "amber+strict", ("domain-name", "c2.example"))
    answer = client.post(CORRELATE, headers=world.headers(Role.NATIONAL_POC), json={
        "observables": [{"type": "domain-name", "value": "c2.example"}]}).json()
    hits = answer["results"][0]["hits"]
    assert sorted(c["title"] for h in hits for c in h["collections"]) == ["Estonia only",
                                                                           "Shared"]
    assert {o for h in hits for o in h["organisations"]} == {"EE"}
    observer = client.post(CORRELATE, headers=world.headers(Role.OBSERVER), json={
        "observables": [{"type": "domain-name", "value": "c2.example"}]}).json()
    assert [c["title"] for h in observer["results"][0]["hits"] for c in h["collections"]] == [
        "Shared"]  # Germany reads the shared one, not Estonia's own
    assert _hits(client, world, Role.REQUESTER, ("domain-name", "c2.example")) == [set()]
    bad = client.post(CORRELATE, headers=world.headers(Role.OBSERVER), json={
        "observables": [{"type": "ipv4-addr", "value": "c2.example"}]}).json()
    assert "not an IP" in bad["results"][0]["error"]


def test_an_address_read_the_quick_way_is_indexed_as_ipaddress_has_it():
    samples = ["0.0.0.0",  # noqa: S104 - a value to index, not an address to bind
               "255.255.255.255", " 10.0.0.1 ", "192.168.001.1", "01.2.3.4",
               "256.1.1.1", "1.2.3", "1.2.3.4.5", "1.2.3.04", "99.199.249.250", "1.2.3.4\n",
               "\u0661.2.3.4", "+1.2.3.4", "1..3.4", ""]  # an Arabic-Indic digit one
    samples += [f"{n >> 24}.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
                for n in range(0, 2**32, 7_654_321)]
    for value in samples:
        try:
            address = ipaddress.IPv4Address(value.strip())
            expected = [correlate.Entry(correlate.IP, str(address), f"4:{int(address):08x}")]
        except ValueError:
            expected = []
        assert correlate.entries(Kind.IPV4, value) == expected, value


def _indicator(address: str) -> dict[str, str]:
    return {"type": "indicator", "pattern_type": "stix",
            "pattern": f"[ipv4-addr:value = '{address}']"}


def test_a_load_that_commits_late_is_still_read_into_memory(database):
    """Two loads at once: the one that began first commits last. The memory follows the table
    by the last id it read, so the first load's values must not hold lower ids than the
    second's: they are written at its commit, after those of every load that committed
    before it (were they written as the load went, they would never be read)."""
    first = database.open()
    try:
        correlate.index(first, [(1, _indicator("192.0.2.1"))])
        failed: list[BaseException] = []

        def second_load() -> None:
            try:
                with database.session() as second:
                    correlate.index(second, [(2, _indicator("192.0.2.2"))])
            except BaseException as exc:  # handed to the test's thread
                failed.append(exc)

        other = threading.Thread(target=second_load)
        other.start()
        other.join(timeout=10)
        assert not other.is_alive(), "the second load waited for the first one's commit"
        assert not failed, failed
        memory = correlate.Memory()
        with database.session(read_only=True) as db:  # a lookup meanwhile: the second load's
            assert memory.refresh(db) == 1
    finally:
        database.finish(first)
    with database.session(read_only=True) as db:
        assert memory.refresh(db) == 1
    assert [m.value for m in memory.lookup(Kind.IPV4, "192.0.2.0/24")] == ["192.0.2.1",
                                                                          "192.0.2.2"]


def test_values_indexed_in_a_savepoint_rolled_back_are_never_written(database):
    with database.session() as db:
        correlate.index(db, [(1, _indicator("192.0.2.1"))])
        with db.begin_nested() as savepoint:
            correlate.index(db, [(2, _indicator("192.0.2.2"))])
            savepoint.rollback()
    with database.session() as db:
        correlate.index(db, [(3, _indicator("192.0.2.3"))])
        db.rollback()
    memory = correlate.Memory()
    with database.session(read_only=True) as db:
        memory.refresh(db)
    assert [m.value for m in memory.lookup(Kind.IPV4, "192.0.2.0/24")] == ["192.0.2.1"]
