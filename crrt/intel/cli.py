"""``crrt intel``: importing a file into a collection and exporting one, by hand.

``import`` finds the format from the content: a STIX bundle (or TAXII envelope), a MISP event,
or CSV of values (``type,value[,description]`` with a header, or one value a line, its type
recognised); it adds in batches, each its own transaction, with a progress bar, and reports
what went in and what was refused, and why.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import json
import re
import sys
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer

from crrt.access.enums import Role, Tlp
from crrt.access.principal import Principal
from crrt.cli_support import SYSTEM, fail, ready_database, refused, unit_of_work
from crrt.core import clock
from crrt.intel import misp, observables, service
from crrt.intel.observables import Kind
from crrt.organisations import service as organisations

app = typer.Typer(help="Intel: import into and export from collections.", no_args_is_help=True)
BATCH = 500
MAX_BYTES = 64 * 1024 * 1024
HEX = re.compile(r"[0-9a-fA-F]+")
HASH_BY_LENGTH = {32: Kind.MD5, 40: Kind.SHA1, 64: Kind.SHA256, 128: Kind.SHA512}


def _operator(code: str) -> Principal:
    """The operator at the console, sharing for ``code``'s organisation with the coordination
    cell's rights (it runs on the node itself)."""
    with unit_of_work() as db:
        org = organisations.get(db=db, actor=SYSTEM, code=code)
        return Principal(user_id=None, email="cli@crrt", name="crrt intel (command line)",
                         role=Role.COORDINATOR, org_id=org.id, org_code=org.code)


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


def _csv_observables(text: str) -> list[observables.Sighted]:
    rows = [r for r in csv.reader(io.StringIO(text)) if r and any(c.strip() for c in r)]
    header = [c.strip().lower() for c in rows[0]] if rows else []
    out = []
    if "value" in header:
        at_value, at_type = header.index("value"), header.index("type") if "type" in header \
            else None
        at_note = header.index("description") if "description" in header else None
        for row in rows[1:]:
            value = row[at_value].strip()
            kind = Kind(row[at_type].strip()) if at_type is not None and row[at_type].strip() \
                else guess(value)
            out.append(observables.Sighted(kind, value, row[at_note].strip()
                                           if at_note is not None else ""))
    else:
        out = [observables.Sighted(guess(r[0]), r[0].strip()) for r in rows]
    return out


def objects_of(content: bytes, *, code: str, name: str, tlp: Tlp) -> tuple[str, list[Any]]:
    """(the format found, the STIX objects to add)."""
    text = content.decode("utf-8-sig")
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if isinstance(document, dict) and ("Event" in document or "Attribute" in document):
        return "MISP event", misp.to_stix(document, default_tlp=tlp)
    if isinstance(document, dict) and isinstance(document.get("objects"), list):
        return "STIX bundle", list(document["objects"])
    if document is not None:
        raise ValueError("JSON, but neither a STIX bundle nor a MISP event")
    found = _csv_observables(text)
    for n, item in enumerate(found, start=1):
        try:
            observables.normalise(item.kind, item.value)
        except observables.NotAnObservable as exc:
            raise ValueError(f"line {n}: {exc}") from exc
    return "CSV of values", observables.intel_of(
        found, code=code, name=name, tlp=tlp, now=clock.now(),
        indicator_types=["malicious-activity"], sighted=False)


@app.command("collections")
def collections() -> None:
    """List the collections: id, the highest TLP each carries, title, members."""
    with unit_of_work() as db:
        for found in service.list_collections(db=db, actor=SYSTEM):
            out = service.collection_out(db, SYSTEM, found)
            members = ", ".join(m.org + ("" if m.can_write else " (reads)") for m in out.members)
            typer.echo(f"{out.id}  {out.max_tlp.label:16}  {out.title}  [{members}]")


@app.command("import")
def import_file(
        file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                             help="A STIX bundle, a MISP event or CSV.")],
        collection: Annotated[uuid.UUID, typer.Option(help="The collection's id.")],
        org: Annotated[str, typer.Option(help="The sharing organisation's code (EE).")],
        tlp: Annotated[Tlp, typer.Option(help="For CSV: the values' TLP; for the rest: "
                                              "what an unmarked object is read as.")]
        = Tlp.AMBER,
) -> None:
    """Add a file's objects to a collection; exit 1 if any was refused."""
    with file.open("rb") as handle:
        content = handle.read(MAX_BYTES + 1)
    if len(content) > MAX_BYTES:
        raise fail(f"{file.name} is larger than {MAX_BYTES // 1024 // 1024} MiB.")
    actor = _operator(org)
    try:
        kind, objects = objects_of(content, code=actor.org_code or org, name=org, tlp=tlp)
    except (ValueError, UnicodeDecodeError, misp.NotAnEvent) as exc:
        raise fail(f"{file.name}: {exc}") from exc
    typer.echo(f"{file.name}: {kind}, {len(objects):,} objects", err=True)
    added = refused_count = 0
    failures: list[str] = []
    database = ready_database()
    try:
        with typer.progressbar(length=len(objects), label="adding", file=sys.stderr) as bar:
            for start in range(0, len(objects), BATCH):
                batch = objects[start:start + BATCH]
                with database.session() as db, refused():
                    outcome = service.add_objects(db=db, actor=actor, collection_id=collection,
                                                  envelope={"objects": batch}, default_tlp=tlp)
                added += outcome.success_count
                refused_count += outcome.failure_count
                failures += [f"{f.id or '(no id)'}: {f.message}" for f in outcome.failures]
                bar.update(len(batch))
    finally:
        database.dispose()
    typer.echo(f"{added:,} added, {refused_count:,} refused")
    for line in failures[:50]:
        typer.echo(f"refused {line}", err=True)
    if refused_count:
        raise fail(f"{refused_count:,} object(s) refused (the rest went in).")


@app.command("export")
def export(collection: Annotated[uuid.UUID, typer.Argument(help="The collection's id.")],
           format: Annotated[str, typer.Option(
               "--format", help="bundle (STIX 2.1), misp (a MISP event) or csv.")] = "bundle",
           ) -> None:
    """Print a collection: a STIX bundle, a MISP event, or CSV of its values."""
    if format not in ("bundle", "misp", "csv"):
        raise fail("--format is bundle, misp or csv.")
    with unit_of_work() as db:
        if format == "bundle":
            typer.echo(json.dumps(service.export_bundle(db=db, actor=SYSTEM,
                                                        collection_id=collection), indent=1))
        elif format == "misp":
            typer.echo(json.dumps(service.export_misp(db=db, actor=SYSTEM,
                                                      collection_id=collection), indent=1))
        else:
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(service.CSV_COLUMNS)
            writer.writerows(service.export_rows(db=db, actor=SYSTEM, collection_id=collection))
            typer.echo(out.getvalue(), nl=False)
