"""The quick check agrees with OASIS's library: whatever it vouches for, ``stix2`` accepts;
and it does vouch for the common objects, so the quick path is the one taken."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import stix2
import stix2.exceptions
from hypothesis import given, settings
from hypothesis import strategies as st
from stix2patterns.validator import run_validator

from crrt.intel import validation

IDENTITY = "identity--" + str(uuid.uuid4())
WHEN = "2026-11-27T10:00:00.000Z"


def _samples() -> list[dict[str, Any]]:
    ip = stix2.IPv4Address(value="198.51.100.7")
    indicator = stix2.Indicator(
        pattern="[ipv4-addr:value = '198.51.100.7'] OR [domain-name:value = 'evil.example']",
        pattern_type="stix", valid_from=WHEN, created_by_ref=IDENTITY, name="C2",
        indicator_types=["malicious-activity"], created=WHEN, modified=WHEN,
        object_marking_refs=[str(stix2.TLP_GREEN.id)])
    made = [
        indicator,
        stix2.Indicator(pattern="[file:hashes.'SHA-256' = '" + "ab" * 32 + "']",
                        pattern_type="stix", valid_from=WHEN),
        stix2.Indicator(pattern="rule x { condition: true }", pattern_type="yara",
                        valid_from=WHEN),
        stix2.Identity(id=IDENTITY, name="CERT-EE", identity_class="organization"),
        stix2.Report(name="Wave", published=WHEN, object_refs=[indicator.id]),
        stix2.Note(content="seen at the border", object_refs=[indicator.id]),
        stix2.AttackPattern(name="Phishing"),
        stix2.CourseOfAction(name="Block"),
        stix2.Vulnerability(name="CVE-2026-0001"),
        stix2.ObservedData(first_observed=WHEN, last_observed=WHEN, number_observed=3,
                           object_refs=[ip.id]),
        stix2.Relationship(source_ref=indicator.id, target_ref=IDENTITY,
                           relationship_type="related-to"),
        stix2.Sighting(sighting_of_ref=indicator.id, where_sighted_refs=[IDENTITY],
                       first_seen=WHEN, last_seen=WHEN),
        ip, stix2.IPv6Address(value="2001:db8::1"), stix2.DomainName(value="evil.example"),
        stix2.URL(value="https://evil.example/a"), stix2.EmailAddress(value="a@evil.example"),
    ]
    return [json.loads(m.serialize()) for m in made]


def _library_accepts(raw: dict[str, Any]) -> bool:
    try:
        stix2.parse(raw, allow_custom=True, version="2.1")
    except (stix2.exceptions.STIXError, ValueError, TypeError, KeyError):
        return False
    return True


MUTATIONS = [
    lambda o: o.pop("created", None),
    lambda o: o.pop("id"),
    lambda o: o.update(created="2026-02-30T10:00:00Z"),
    lambda o: o.update(modified="yesterday"),
    lambda o: o.update(created_by_ref="indicator--" + str(uuid.uuid4())),
    lambda o: o.update(valid_until="2020-01-01T00:00:00Z"),
    lambda o: o.update(valid_until=o.get("valid_from")),
    lambda o: o.update(pattern="[ipv4-addr:value = '1.2.3.4'"),
    lambda o: o.update(pattern="[file:hashes.MD5 = 'abc']"),
    lambda o: o.update(pattern="[file:hashes.'SHA-256' = 'zz']"),
    lambda o: o.update(pattern="[true:value = 'x']"),
    lambda o: o.update(pattern_version="9"),
    lambda o: o.update(last_seen="2000-01-01T00:00:00Z"),
    lambda o: o.update(last_observed="2000-01-01T00:00:00Z"),
    lambda o: o.update(stop_time="2000-01-01T00:00:00Z", start_time=WHEN),
    lambda o: o.update(number_observed=0),
    lambda o: o.update(object_refs=[]),
    lambda o: o.update(value=7),
    lambda o: o.update(name=["a"]),
    lambda o: o.update(labels="one"),
    lambda o: o.update(object_marking_refs=["tlp:green"]),
    lambda o: o.update(external_references=[{"url": "x"}]),
    lambda o: o.update(granular_markings=[{"selectors": ["name"]}]),
    lambda o: o.update(identity_class=5),
    lambda o: o.update(where_sighted_refs=["indicator--" + str(uuid.uuid4())]),
    lambda o: o.update(source_ref="nothing"),
    lambda o: o.update(spec_version="2.0"),
    lambda o: o.update(sighting_of_ref="ipv4-addr--" + str(uuid.uuid4())),
    lambda o: o.update(object_refs=["indicator--" + str(uuid.uuid4())]),
    lambda o: o.update(target_ref="sighting--" + str(uuid.uuid4())),
    lambda o: o.update(observed_data_refs=[IDENTITY]),
    lambda o: o.update(extensions={"x": 1}),
    lambda o: o.update(revoked="no"),
    lambda o: o.update(confidence=101),
    lambda o: o.update(lang=5),
    lambda o: o.update(resolves_to_refs=[IDENTITY]),
    lambda o: o.update(belongs_to_refs=[IDENTITY], belongs_to_ref=IDENTITY),
    lambda o: o.update(value="not an address") if o["type"] == "ipv4-addr" else None,
    lambda o: o.update(type="indicator") if o["type"] != "indicator" else o.update(type="x"),
]


def test_the_common_objects_take_the_quick_path():
    samples = _samples()
    assert {s["type"] for s in samples} == set(validation.TYPES)
    assert [s["type"] for s in samples if not validation.vouches(s)] == []


@pytest.mark.parametrize("mutate", range(len(MUTATIONS)))
def test_what_the_quick_check_vouches_for_the_library_accepts(mutate):
    for sample in _samples():
        broken = json.loads(json.dumps(sample))
        MUTATIONS[mutate](broken)
        if validation.vouches(broken):
            assert _library_accepts(broken), (mutate, broken)


PIECES = st.sampled_from([
    "[", "]", " ", "ipv4-addr", "file", "x-thing", "true", ":", "value", "hashes", ".",
    "'SHA-256'", "MD5", " = ", " AND ", " OR ", "'1.2.3.4'", "'it\\'s'", "'a\\b'", "'",
    "\\", "=", "FOLLOWEDBY", "'" + "ab" * 32 + "'", "'" + "0" * 32 + "'", "_x", "9a",
])


@settings(max_examples=1500, deadline=None)
@given(st.lists(PIECES, min_size=1, max_size=16))
def test_every_simple_pattern_is_in_the_grammar(pieces):
    pattern = "".join(pieces)
    if validation._pattern_holds(pattern):
        assert run_validator(pattern, stix_version="2.1") == [], pattern


def test_simple_patterns_are_recognised():
    for pattern in ("[ipv4-addr:value = '10.0.0.1']",
                    "[url:value = 'https://a.example/it\\'s']",
                    "[file:hashes.'SHA-256' = '" + "ab" * 32 + "'] OR [file:name = 'x']",
                    "[email-addr:value = 'a@b.example' AND email-addr:display_name = 'A']"):
        assert validation._pattern_holds(pattern), pattern
        assert run_validator(pattern, stix_version="2.1") == []
