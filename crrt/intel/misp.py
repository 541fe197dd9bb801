"""MISP events both ways: an event (as MISP exports it, with its attributes, objects, tags and
distribution) becomes a STIX report with an indicator for each attribute a pattern can say
(a note for the rest), and a collection becomes one MISP event.

Nothing of the event is lost on the way: each STIX object keeps its MISP attribute (type,
value, category, to_ids, comment, tags, its object) in ``x_misp_attribute`` and the report
keeps the event's own fields in ``x_misp_event``, so an event imported and exported again
is the same event. TLP travels as MISP's ``tlp:`` tags and as STIX markings; without a tag,
the event's distribution decides (your organisation only: AMBER+STRICT; this community or a
sharing group: AMBER; connected communities or all: GREEN).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from crrt.access.enums import Tlp
from crrt.intel import markings, observables, stix
from crrt.intel.observables import Kind

NAMESPACE = uuid.UUID("0b8f7c1e-5d5a-5b9e-8f51-3c2f1e4d9a10")
MAX_ATTRIBUTES = 10_000
TLP_TAGS = {"tlp:clear": Tlp.CLEAR, "tlp:white": Tlp.CLEAR, "tlp:green": Tlp.GREEN,
            "tlp:amber": Tlp.AMBER, "tlp:amber+strict": Tlp.AMBER_STRICT, "tlp:red": Tlp.RED}
BY_DISTRIBUTION = {"0": Tlp.AMBER_STRICT, "1": Tlp.AMBER, "2": Tlp.GREEN, "3": Tlp.GREEN,
                   "4": Tlp.AMBER}
DISTRIBUTION_OF = {Tlp.CLEAR: "3", Tlp.GREEN: "2", Tlp.AMBER: "1", Tlp.AMBER_STRICT: "0",
                   Tlp.RED: "0"}
KIND_OF = {"ip-src": None, "ip-dst": None, "domain": Kind.DOMAIN, "hostname": Kind.DOMAIN,
           "url": Kind.URL, "link": Kind.URL, "email": Kind.EMAIL, "email-src": Kind.EMAIL,
           "email-dst": Kind.EMAIL, "md5": Kind.MD5, "sha1": Kind.SHA1, "sha256": Kind.SHA256,
           "sha512": Kind.SHA512}
BACK = {Kind.IPV4: ("ip-dst", "Network activity"), Kind.IPV6: ("ip-dst", "Network activity"),
        Kind.DOMAIN: ("domain", "Network activity"), Kind.URL: ("url", "Network activity"),
        Kind.EMAIL: ("email-src", "Payload delivery"), Kind.MD5: ("md5", "Payload delivery"),
        Kind.SHA1: ("sha1", "Payload delivery"), Kind.SHA256: ("sha256", "Payload delivery"),
        Kind.SHA512: ("sha512", "Payload delivery")}
VALUE_PATTERN = re.compile(r"^\[(ipv4-addr|ipv6-addr|domain-name|url|email-addr):value = "
                           r"'((?:[^'\\]|\\.)*)'\]$")
HASH_PATTERN = re.compile(r"^\[file:hashes\.'?(MD5|SHA-1|SHA-256|SHA-512)'? = '([0-9a-fA-F]+)'\]$")


class NotAnEvent(ValueError):
    """JSON that is not a MISP event."""


def _tags(holder: dict[str, Any]) -> list[str]:
    found = holder.get("Tag") or []
    if not isinstance(found, list):
        raise NotAnEvent("`Tag` is a list")
    return [str(t.get("name")) for t in found if isinstance(t, dict) and t.get("name")]


def _tlp(tags: list[str]) -> Tlp | None:
    found = [TLP_TAGS[t.lower()] for t in tags if t.lower() in TLP_TAGS]
    return max(found, key=lambda t: t.rank) if found else None


def _uuid(text: object, *seed: object) -> str:
    try:
        return str(uuid.UUID(str(text)))
    except ValueError:
        return str(uuid.uuid5(NAMESPACE, "|".join(str(s) for s in seed)))


def _when(event: dict[str, Any]) -> datetime:
    stamp = event.get("timestamp")
    if stamp is not None and str(stamp).isdigit():
        return datetime.fromtimestamp(int(stamp), UTC)
    day = event.get("date")
    if isinstance(day, str):
        try:
            return datetime.fromisoformat(day).replace(tzinfo=UTC)
        except ValueError as exc:
            raise NotAnEvent(f"`date` {day!r} is not a date") from exc
    return datetime(2000, 1, 1, tzinfo=UTC)


def _kind(misp_type: str, value: str) -> Kind | None:
    if misp_type in ("ip-src", "ip-dst"):
        return Kind.IPV6 if ":" in value else Kind.IPV4
    return KIND_OF.get(misp_type)


def event_of(document: object) -> dict[str, Any]:
    """The event of a MISP export (``{"Event": {...}}``) or of PyMISP's JSON (the event)."""
    if not isinstance(document, dict):
        raise NotAnEvent("a MISP event is a JSON object")
    event = document.get("Event", document)
    if not isinstance(event, dict) or not isinstance(event.get("info", ""), str) or \
            ("Attribute" not in event and "Object" not in event and "info" not in event):
        raise NotAnEvent("no MISP event here: expected `Event` with `info` and `Attribute`")
    for key in ("Attribute", "Object", "Tag"):
        if not isinstance(event.get(key) or [], list):
            raise NotAnEvent(f"`{key}` is a list")
    for obj in event.get("Object") or []:
        if not isinstance(obj, dict) or not isinstance(obj.get("Attribute") or [], list):
            raise NotAnEvent("each of `Object` is an object with a list of `Attribute`")
    return event


def to_stix(document: object, *, default_tlp: Tlp = Tlp.AMBER) -> list[dict[str, Any]]:
    """A MISP event as STIX 2.1: a report naming an object for each attribute."""
    event = event_of(document)
    event_tags = _tags(event)
    tlp = _tlp(event_tags) or BY_DISTRIBUTION.get(str(event.get("distribution")), default_tlp)
    when = stix.stamp(_when(event))
    event_id = _uuid(event.get("uuid"), "event", event.get("info"), when)
    report_id = f"report--{event_id}"
    attributes: list[tuple[dict[str, Any], dict[str, Any] | None]] = [
        (a, None) for a in event.get("Attribute") or [] if isinstance(a, dict)]
    for obj in event.get("Object") or []:
        if isinstance(obj, dict):
            shell = {k: v for k, v in obj.items() if k != "Attribute"}
            attributes += [(a, shell) for a in obj.get("Attribute") or [] if isinstance(a, dict)]
    if len(attributes) > MAX_ATTRIBUTES:
        raise NotAnEvent(f"at most {MAX_ATTRIBUTES:,} attributes an event")
    made = [_attribute(a, shell, event_id, tlp, when, report_id) for a, shell in attributes]
    report = {"type": "report", "spec_version": "2.1", "id": report_id, "created": when,
              "modified": when, "name": event.get("info") or "MISP event", "published": when,
              "report_types": ["threat-report"],
              "object_refs": [o["id"] for o in made] or [markings.TLP2_IDS[tlp]],
              "object_marking_refs": [markings.TLP2_IDS[tlp]],
              "x_misp_event": {k: v for k, v in event.items()
                               if k not in ("Attribute", "Object")}}
    labels = [t for t in event_tags if t.lower() not in TLP_TAGS]
    if labels:
        report["labels"] = labels
    return [report, *made]


def _attribute(attribute: dict[str, Any], shell: dict[str, Any] | None, event_id: str,
               event_tlp: Tlp, when: str, report_id: str) -> dict[str, Any]:
    misp_type, value = str(attribute.get("type", "")), str(attribute.get("value", ""))
    tags = _tags(attribute)
    own = _tlp(tags)
    tlp = own if own is not None and own.rank > event_tlp.rank else event_tlp
    key = _uuid(attribute.get("uuid"), event_id, misp_type, value)
    kept = {"x_misp_attribute": attribute | ({"Object": shell} if shell else {})}
    common = {"spec_version": "2.1", "created": when, "modified": when,
              "object_marking_refs": [markings.TLP2_IDS[tlp]], **kept}
    labels = [t for t in tags if t.lower() not in TLP_TAGS]
    if labels:
        common["labels"] = labels
    kind = _kind(misp_type, value)
    if kind is not None:
        try:
            normal = observables.normalise(kind, value)
        except observables.NotAnObservable:
            kind = None
    if kind is None:
        return {"type": "note", "id": f"note--{key}", "abstract": misp_type or "attribute",
                "content": value or "(empty)", "object_refs": [report_id], **common}
    out = {"type": "indicator", "id": f"indicator--{key}", "name": f"{misp_type} {value}",
           "pattern": observables.pattern(kind, normal), "pattern_type": "stix",
           "valid_from": when,
           "indicator_types": ["malicious-activity"] if attribute.get("to_ids") else ["unknown"],
           **common}
    if attribute.get("comment"):
        out["description"] = str(attribute["comment"])
    return out


# --- a collection as a MISP event ---------------------------------------------------------------

def _misp_tlp(tlp: Tlp) -> str:
    return "tlp:amber+strict" if tlp is Tlp.AMBER_STRICT else f"tlp:{tlp.value}"


def to_misp(objects: list[dict[str, Any]], *, title: str, event_id: str) -> dict[str, Any]:
    """The objects as one MISP event (``{"Event": {...}}``): the event and attributes that
    came from MISP as they came; crrt's own indicators as attributes of their pattern."""
    reports = [o for o in objects if o.get("type") == "report" and "x_misp_event" in o]
    tlps = [markings.tlp_of(o.get("object_marking_refs", []), Tlp.AMBER) for o in objects]
    worst = max(tlps, key=lambda t: t.rank) if tlps else Tlp.AMBER
    base: dict[str, Any] = dict(reports[0]["x_misp_event"]) if len(reports) == 1 else {
        "uuid": event_id, "info": title, "date": datetime.now(UTC).date().isoformat(),
        "threat_level_id": "4", "analysis": "2", "distribution": DISTRIBUTION_OF[worst],
        "Tag": [{"name": _misp_tlp(worst)}]}
    attributes: list[dict[str, Any]] = []
    grouped: dict[str, dict[str, Any]] = {}
    for obj in objects:
        kept = obj.get("x_misp_attribute")
        if isinstance(kept, dict):
            attribute = {k: v for k, v in kept.items() if k != "Object"}
            shell = kept.get("Object")
            if isinstance(shell, dict):
                key = str(shell.get("uuid") or id(shell))
                grouped.setdefault(key, dict(shell) | {"Attribute": []})["Attribute"].append(
                    attribute)
            else:
                attributes.append(attribute)
        elif obj.get("type") == "indicator":
            made = _from_pattern(obj)
            if made is not None:
                attributes.append(made)
    return {"Event": base | {"Attribute": attributes, "Object": list(grouped.values())}}


def _from_pattern(indicator: dict[str, Any]) -> dict[str, Any] | None:
    text = str(indicator.get("pattern", ""))
    simple = VALUE_PATTERN.match(text)
    hashed = HASH_PATTERN.match(text)
    if simple:
        kind = Kind(simple.group(1))
        value = simple.group(2).replace("\\'", "'").replace("\\\\", "\\")
    elif hashed:
        kind = {"MD5": Kind.MD5, "SHA-1": Kind.SHA1, "SHA-256": Kind.SHA256,
                "SHA-512": Kind.SHA512}[hashed.group(1)]
        value = hashed.group(2).lower()
    else:
        return None  # a pattern MISP has no one attribute for
    misp_type, category = BACK[kind]
    tlp = markings.tlp_of(indicator.get("object_marking_refs", []), Tlp.AMBER)
    return {"uuid": str(indicator["id"]).split("--", 1)[1], "type": misp_type,
            "category": category, "value": value, "to_ids": True,
            "comment": str(indicator.get("description", "")),
            "Tag": [{"name": _misp_tlp(tlp)}] + [{"name": str(label)}
                                                 for label in indicator.get("labels", [])]}
