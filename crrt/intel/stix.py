"""STIX 2.1 on the way in: each object validated, then reduced to the fields the store
indexes. The common types pass OASIS's JSON schemas quickly (:mod:`crrt.intel.validation`);
everything else, and anything that check does not vouch for, goes to OASIS's own library
(``stix2``: required properties, types, references, indicator patterns), which decides. A bad
object is refused with the library's reason; the rest of its envelope goes on.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, NamedTuple

import stix2
import stix2.exceptions

from crrt.access.enums import Tlp
from crrt.intel import markings, validation

MAX_OBJECTS = 10_000  # an envelope (TAXII) or a bundle
MAX_ID = 120
ID = re.compile(r"[a-z0-9][a-z0-9-]{0,60}--[0-9a-fA-F-]{36}")


REFS = ("source_ref", "target_ref", "sighting_of_ref")  # where relationships and sightings point


def refs_of(body: dict[str, Any]) -> list[str]:
    """The ids a relationship or a sighting points to (nothing for other objects)."""
    if body.get("type") not in ("relationship", "sighting"):
        return []
    return [body[ref] for ref in REFS if isinstance(body.get(ref), str) and ID.fullmatch(body[ref])]


class Refused(ValueError):
    """An object the store does not take, and why."""


class Parsed(NamedTuple):
    """A valid object and its indexed fields. ``version`` orders and names the object's
    versions: its ``modified`` (else ``created``) at microsecond precision, or "" for an
    object that has neither (a cyber observable, which never changes). A named tuple: a bulk
    load makes one an object, and a frozen dataclass costs three times as much to make."""

    stix_id: str
    type: str
    spec_version: str
    created: str | None
    modified: str | None
    version: str
    created_by_ref: str | None
    marking_refs: tuple[str, ...]
    tlp: Tlp
    body: dict[str, Any]


def stamp(moment: datetime) -> str:
    """A STIX timestamp, fixed at microseconds, so that text order is time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


UTC_TEXT = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?Z")


def parse_stamp(text: str) -> str:
    """A timestamp as a client writes it (any precision), in :func:`stamp`'s form."""
    plain = UTC_TEXT.fullmatch(text)
    if plain:  # the usual form: checked as a date, then padded (no formatting needed)
        try:
            datetime.fromisoformat(plain.group(1))
        except ValueError as exc:
            raise Refused(f"{text!r} is not a timestamp (YYYY-MM-DDTHH:MM:SS[.s]Z)") from exc
        return f"{plain.group(1)}.{(plain.group(2) or '').ljust(6, '0')}Z"
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise Refused(f"{text!r} is not a timestamp (YYYY-MM-DDTHH:MM:SS[.s]Z)") from exc
    if moment.tzinfo is None:
        raise Refused(f"{text!r} has no time zone: STIX timestamps are in UTC (…Z)")
    return stamp(moment)


def parse(raw: object, *, default_tlp: Tlp = Tlp.AMBER) -> Parsed:
    """Validate one object; :class:`Refused` with the reason if it is not valid STIX 2.1."""
    if not isinstance(raw, dict):
        raise Refused("an object is a JSON object")
    stix_id = raw.get("id")
    if not isinstance(stix_id, str) or len(stix_id) > MAX_ID or not ID.fullmatch(stix_id):
        raise Refused("the object has no valid id (type--UUID)")
    if raw.get("spec_version", "2.1") != "2.1" and raw.get("type") != "marking-definition":
        raise Refused(f"{stix_id}: spec_version {raw.get('spec_version')!r} is not 2.1")
    if validation.vouches(raw):
        created_s = parse_stamp(raw["created"]) if "created" in raw else None
        modified_s = parse_stamp(raw["modified"]) if "modified" in raw else None
        obj: Any = raw
    else:
        try:
            obj = stix2.parse(raw, allow_custom=True, version="2.1")
        except (stix2.exceptions.STIXError, ValueError, TypeError, KeyError) as exc:
            raise Refused(f"{stix_id}: {exc}") from exc
        if obj.get("type") != stix_id.split("--", 1)[0]:
            raise Refused(f"{stix_id}: the id's type is not the object's type")
        created, modified = obj.get("created"), obj.get("modified")
        created_s = stamp(created) if isinstance(created, datetime) else None
        modified_s = stamp(modified) if isinstance(modified, datetime) else None
    refs = tuple(str(r) for r in obj.get("object_marking_refs", ()) or ())
    tlp = markings.TLP_OF_ID.get(stix_id) if markings.is_tlp_definition(stix_id) else None
    return Parsed(
        stix_id=stix_id, type=stix_id.split("--", 1)[0],
        spec_version=str(raw.get("spec_version", "2.1")), created=created_s,
        modified=modified_s, version=modified_s or created_s or "",
        created_by_ref=str(obj["created_by_ref"]) if obj.get("created_by_ref") else None,
        marking_refs=refs, tlp=tlp or markings.tlp_of(refs, default_tlp), body=dict(raw))


def objects_of(envelope: object) -> list[object]:
    """The objects of a STIX bundle or a TAXII envelope (``{"objects": [...]}``)."""
    if not isinstance(envelope, dict):
        raise Refused("send a STIX bundle or a TAXII envelope: a JSON object with `objects`")
    objects = envelope.get("objects")
    if objects is None:
        objects = []
    if not isinstance(objects, list):
        raise Refused("`objects` is a list")
    if len(objects) > MAX_OBJECTS:
        raise Refused(f"at most {MAX_OBJECTS:,} objects at a time ({len(objects):,} sent)")
    return objects
