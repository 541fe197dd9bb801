"""The quick check of the objects that arrive by the thousand: OASIS's own STIX 2.1 JSON
schemas (shipped with ``stix2-validator``), compiled once by a Rust validator; the indicator
patterns of the common simple form read by a regular expression that accepts only what the
STIX pattern grammar accepts; and the order of the times the ``stix2`` library also checks.

It only ever says "valid": anything it cannot vouch for (a type it does not know, a pattern
of another form, a schema error) goes to the ``stix2`` library, which decides and gives the
reason. So the quick check changes how fast an object is accepted, never whether it is.
A test holds the two to agreement on valid and broken objects of every type listed here.
"""

from __future__ import annotations

import importlib.util
import json
import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs

# found, not imported: importing stix2validator builds grammars that take seconds
_PACKAGE = importlib.util.find_spec("stix2validator")
assert _PACKAGE is not None and _PACKAGE.origin is not None, "stix2-validator is not installed"
SCHEMAS = Path(_PACKAGE.origin).parent / "schemas-2.1" / "schemas"
SDO, SCO, SRO = "sdos", "observables", "sros"
SDOS = frozenset(path.stem for path in (SCHEMAS / SDO).glob("*.json"))
SCOS = frozenset(path.stem for path in (SCHEMAS / SCO).glob("*.json"))
ANY_OBJECT = SDOS | SCOS | {"relationship", "sighting"}
# the types checked here: the folder of their schema, the pairs of times that must be in
# order (and whether the second must be strictly later), and what each reference may point
# to, as the stix2 library checks them
TYPES: dict[str, tuple[str, tuple[tuple[str, str, bool], ...], dict[str, frozenset[str]]]] = {
    "indicator": (SDO, (("valid_from", "valid_until", True),), {}),
    "identity": (SDO, (), {}),
    "report": (SDO, (), {"object_refs": ANY_OBJECT}),
    "note": (SDO, (), {"object_refs": ANY_OBJECT}),
    "attack-pattern": (SDO, (), {}),
    "course-of-action": (SDO, (), {}),
    "vulnerability": (SDO, (), {}),
    "observed-data": (SDO, (("first_observed", "last_observed", False),),
                      {"object_refs": SCOS | {"relationship"}}),
    "relationship": (SRO, (("start_time", "stop_time", True),),
                     {"source_ref": SDOS | SCOS, "target_ref": SDOS | SCOS}),
    "sighting": (SRO, (("first_seen", "last_seen", False),),
                 {"sighting_of_ref": SDOS, "where_sighted_refs": frozenset({"identity",
                                                                            "location"}),
                  "observed_data_refs": frozenset({"observed-data"})}),
    "ipv4-addr": (SCO, (), {"resolves_to_refs": frozenset({"mac-addr"}),
                            "belongs_to_refs": frozenset({"autonomous-system"})}),
    "ipv6-addr": (SCO, (), {"resolves_to_refs": frozenset({"mac-addr"}),
                            "belongs_to_refs": frozenset({"autonomous-system"})}),
    "domain-name": (SCO, (), {"resolves_to_refs": frozenset({"ipv4-addr", "ipv6-addr",
                                                             "domain-name"})}),
    "url": (SCO, (), {}),
    "email-addr": (SCO, (), {"belongs_to_ref": frozenset({"user-account"})}),
}
COMMON_REFS = {"created_by_ref": frozenset({"identity"}),
               "object_marking_refs": frozenset({"marking-definition"})}
# what the library checks in ways a schema does not say, left to it
LEFT_TO_THE_LIBRARY = ("granular_markings", "extensions")

# The simple form of a STIX pattern: observations of comparisons with "=" of a quoted
# string, joined by AND or OR, a single space apart. Every string it matches is in the
# grammar's language (STIXPattern.g4): a type name is an identifier (not the literals true or
# false), a path's steps are identifiers or quoted keys, a string escapes only ' and \.
_LITERAL = r"'(?:[^'\\]|\\['\\])*'"
_STEP = r"(?!(?:true|false)\b)[a-z_][a-z0-9_]*"
_PATH = rf"(?!(?:true|false)\b)[a-z_][a-z0-9_-]*:{_STEP}(?:\.(?:{_STEP}|'[A-Za-z0-9-]+'))*"
_COMPARISON = rf"{_PATH} = {_LITERAL}"
_OBSERVATION = rf"\[{_COMPARISON}(?: (?:AND|OR) {_COMPARISON})*\]"
SIMPLE_PATTERN = re.compile(rf"{_OBSERVATION}(?: (?:AND|OR) {_OBSERVATION})*")
# a hash in a pattern must look like its algorithm's (the grammar's checker says so)
HASH_PATH = re.compile(rf"[a-z_][a-z0-9_-]*:hashes\.('?)([A-Za-z0-9-]+)\1 = ({_LITERAL})")
HASH_LENGTHS = {"MD5": 32, "SHA1": 40, "SHA256": 64, "SHA512": 128}
HEX = re.compile(r"[0-9a-fA-F]+")


@cache
def _validator(kind: str) -> Any:
    """The compiled schema of one type, its references resolved within OASIS's set."""
    registry = jsonschema_rs.Registry([
        (schema["$id"], schema) for schema in
        (json.loads(path.read_text(encoding="utf-8")) for path in SCHEMAS.rglob("*.json"))])
    folder = TYPES[kind][0]
    schema = json.loads((SCHEMAS / folder / f"{kind}.json").read_text(encoding="utf-8"))
    return jsonschema_rs.validator_for(schema, registry=registry)


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _refs_hold(raw: dict[str, Any], allowed: dict[str, frozenset[str]]) -> bool:
    for name, kinds in allowed.items():
        value = raw.get(name)
        if value is None:
            continue
        for ref in value if isinstance(value, list) else [value]:
            if not isinstance(ref, str) or ref.split("--", 1)[0] not in kinds:
                return False
    return True


def _pattern_holds(pattern: object) -> bool:
    if not isinstance(pattern, str) or not SIMPLE_PATTERN.fullmatch(pattern):
        return False
    if ":hashes." in pattern:
        for match in HASH_PATH.finditer(pattern):
            length = HASH_LENGTHS.get(match.group(2).upper().replace("-", ""))
            value = match.group(3)[1:-1]
            if length is None or len(value) != length or not HEX.fullmatch(value):
                return False
    return True


def vouches(raw: dict[str, Any]) -> bool:
    """True when ``raw`` is certainly a valid STIX 2.1 object of a type listed here; False
    means "ask the stix2 library", not "invalid"."""
    kind = raw.get("type")
    if kind not in TYPES or raw.get("spec_version") != "2.1" or \
            not raw.keys().isdisjoint(LEFT_TO_THE_LIBRARY):
        return False
    _folder, times, refs = TYPES[str(kind)]
    if not _validator(str(kind)).is_valid(raw) or not _refs_hold(raw, COMMON_REFS) \
            or not _refs_hold(raw, refs):
        return False
    created, modified = _moment(raw.get("created")), _moment(raw.get("modified"))
    if ("created" in raw and created is None) or ("modified" in raw and modified is None):
        return False
    if created and modified and modified < created:
        return False
    for first, last, strictly in times:
        start, end = _moment(raw.get(first)), _moment(raw.get(last))
        if (first in raw and start is None) or (last in raw and end is None):
            return False
        if start and end and (end <= start if strictly else end < start):
            return False
    if kind == "indicator" and raw.get("pattern_type") == "stix":
        return raw.get("pattern_version", "2.1") == "2.1" and _pattern_holds(raw.get("pattern"))
    return True
