"""Importing a file into a collection, for the command and the page alike: the format found
from the content (a STIX bundle or TAXII envelope, a MISP event, CSV of values), and the
objects added with a tally of what was new, what the collection held already and what was
refused, and why.

CSV is ``type,value[,description]`` with a header, or one value a line (its type recognised);
its values become Indicators of the importing organisation, marked with the TLP given.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from crrt.access.enums import Tlp
from crrt.access.principal import Principal
from crrt.core import clock
from crrt.intel import misp, observables, service
from crrt.intel.models import Collection, CollectionObject, StixObject
from crrt.intel.observables import Kind
from crrt.intel.schemas import Failure

HEX = re.compile(r"[0-9a-fA-F]+")
HASH_BY_LENGTH = {32: Kind.MD5, 40: Kind.SHA1, 64: Kind.SHA256, 128: Kind.SHA512}
STIX, MISP, CSV = "STIX bundle", "MISP event", "CSV of values"


class NotImportable(ValueError):
    """Content that is none of the formats, or CSV with a value that is not its type."""


def guess(value: str) -> Kind:
    """The type of a bare value: an address or network, a hash by its length, a URL, an
    e-mail address, else a domain."""
    text = value.strip()
    try:
        network = ipaddress.ip_network(text, strict=False)
        return Kind.IPV4 if network.version == 4 else Kind.IPV6
    except ValueError:
        pass
    if HEX.fullmatch(text) and len(text) in HASH_BY_LENGTH:
        return HASH_BY_LENGTH[len(text)]
    if "://" in text:
        return Kind.URL
    return Kind.EMAIL if "@" in text else Kind.DOMAIN


def csv_observables(text: str) -> list[tuple[int, observables.Sighted]]:
    """The values of CSV, each with its line in the file: with a header naming ``value``
    (and ``type``, ``description``), or one value a line."""
    reader = csv.reader(io.StringIO(text))
    try:
        rows = [(reader.line_num, r) for r in reader if r and any(c.strip() for c in r)]
    except csv.Error as exc:  # a field past the reader's limit, a NUL, a stray quote
        raise NotImportable(f"not CSV: {exc}") from exc
    header = [c.strip().lower() for c in rows[0][1]] if rows else []
    if "value" not in header:
        return [(n, observables.Sighted(guess(r[0]), r[0].strip())) for n, r in rows]
    at_value = header.index("value")
    at_type = header.index("type") if "type" in header else None
    at_note = header.index("description") if "description" in header else None
    out = []
    for n, row in rows[1:]:
        value, kind = _cell(row, at_value), _cell(row, at_type)
        try:
            found = Kind(kind) if kind else guess(value)
        except ValueError as exc:
            raise NotImportable(f"line {n}: {kind!r} is not a type of value") from exc
        out.append((n, observables.Sighted(found, value, _cell(row, at_note))))
    return out


def _cell(row: list[str], at: int | None) -> str:
    return row[at].strip() if at is not None and at < len(row) else ""


def objects_of(content: bytes, *, code: str, name: str, tlp: Tlp,
               max_objects: int | None = None) -> tuple[str, list[Any]]:
    """(the format found, the STIX objects to add); :class:`NotImportable` if none fits or
    it holds more than ``max_objects`` (CSV counted before its indicators are made)."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotImportable("the file is not UTF-8 text") from exc
    try:  # orjson: nesting bounded (a file of brackets is refused, not a RecursionError)
        document = orjson.loads(text)
    except orjson.JSONDecodeError:
        document = None
        if text.lstrip()[:1] in ("{", "["):
            raise NotImportable("the file starts as JSON but is not JSON (or nests too "
                                "deeply)") from None
    if isinstance(document, dict) and ("Event" in document or "Attribute" in document):
        try:
            made = misp.to_stix(document, default_tlp=tlp)
        except ValueError as exc:  # misp.NotAnEvent, or a value MISP did not check
            raise NotImportable(str(exc)) from exc
        return MISP, _bounded(made, max_objects)
    if isinstance(document, dict) and isinstance(document.get("objects"), list):
        return STIX, _bounded(list(document["objects"]), max_objects)
    if document is not None:
        raise NotImportable("JSON, but neither a STIX bundle nor a MISP event")
    lines = csv_observables(text)
    if not lines:
        raise NotImportable("the file holds no values")
    found = [item for _n, item in lines]
    _bounded(found, None if max_objects is None else max_objects - 1)  # and its identity
    for n, item in lines:
        try:
            observables.normalise(item.kind, item.value)
        except observables.NotAnObservable as exc:
            raise NotImportable(f"line {n}: {exc}") from exc
    return CSV, observables.intel_of(
        found, code=code, name=name, tlp=tlp, now=clock.now(),
        indicator_types=["malicious-activity"], sighted=False)


def _bounded(items: list[Any], limit: int | None) -> list[Any]:
    if limit is not None and len(items) > limit:
        raise NotImportable(f"more than {limit:,} objects")
    return items


@dataclass
class Tally:
    """What an import did: objects new to the collection, ones it held already, and the
    refused with their reasons."""

    added: int = 0
    already: int = 0
    failures: list[Failure] = field(default_factory=list)

    @property
    def refused(self) -> int:
        return len(self.failures)

    def __iadd__(self, other: Tally) -> Tally:
        self.added += other.added
        self.already += other.already
        self.failures += other.failures
        return self


def _held(db: Session, collection_id: uuid.UUID, ids: list[str]) -> set[tuple[str, str]]:
    """The versions of these objects the collection holds (by its public id)."""
    held: set[tuple[str, str]] = set()
    for start in range(0, len(ids), 500):
        held |= {(row[0], row[1]) for row in db.execute(
            select(StixObject.stix_id, StixObject.version)
            .join(CollectionObject, CollectionObject.object_id == StixObject.id)
            .join(Collection, Collection.id == CollectionObject.collection_id)
            .where(Collection.public_id == collection_id,
                   StixObject.stix_id.in_(ids[start:start + 500])))}
    return held


def add(*, db: Session, actor: Principal, collection_id: uuid.UUID, objects: list[Any],
        default_tlp: Tlp) -> Tally:
    """Add one batch (at most ``stix.MAX_OBJECTS``) through the store, each object on its own,
    and tell the new from what the collection held already."""
    ids = sorted({o["id"] for o in objects
                  if isinstance(o, dict) and isinstance(o.get("id"), str)})
    before = _held(db, collection_id, ids)
    outcome = service.add_objects(db=db, actor=actor, collection_id=collection_id,
                                  envelope={"objects": objects}, default_tlp=default_tlp,
                                  expect_new=not before)
    already = sum(1 for s in outcome.successes if (s.id, s.version) in before)
    return Tally(added=outcome.success_count - already, already=already,
                 failures=list(outcome.failures))
