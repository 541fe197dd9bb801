"""``crrt intel``: importing a file into a collection and exporting one, by hand.

``import`` finds the format from the content (:mod:`crrt.intel.imports`, which the import page
shares): a STIX bundle (or TAXII envelope), a MISP event, or CSV of values; it adds in batches,
each its own transaction, with a progress bar, and reports what went in and what was refused,
and why.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import uuid
from pathlib import Path
from typing import Annotated

import typer

from crrt.access.enums import Role, Tlp
from crrt.access.principal import Principal
from crrt.cli_support import SYSTEM, fail, ready_database, refused, unit_of_work
from crrt.intel import imports, peer_cli, service
from crrt.organisations import service as organisations

app = typer.Typer(help="Intel: import into and export from collections; federation peers.",
                 no_args_is_help=True)
app.add_typer(peer_cli.app)  # peers, peer-add, sync
BATCH = 500
MAX_BYTES = 64 * 1024 * 1024


def _operator(code: str) -> Principal:
    """The operator at the console, sharing for ``code``'s organisation with the coordination
    cell's rights (it runs on the node itself)."""
    with unit_of_work() as db:
        org = organisations.get(db=db, actor=SYSTEM, code=code)
        return Principal(user_id=None, email="cli@crrt", name="crrt intel (command line)",
                         role=Role.COORDINATOR, org_id=org.id, org_code=org.code)


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
        kind, objects = imports.objects_of(content, code=actor.org_code or org, name=org,
                                           tlp=tlp)
    except imports.NotImportable as exc:
        raise fail(f"{file.name}: {exc}") from exc
    typer.echo(f"{file.name}: {kind}, {len(objects):,} objects", err=True)
    tally = imports.Tally()
    database = ready_database()
    try:
        with typer.progressbar(length=len(objects), label="adding", file=sys.stderr) as bar:
            for start in range(0, len(objects), BATCH):
                batch = objects[start:start + BATCH]
                with database.session() as db, refused():
                    tally += imports.add(db=db, actor=actor, collection_id=collection,
                                         objects=batch, default_tlp=tlp)
                bar.update(len(batch))
    finally:
        database.dispose()
    typer.echo(f"{tally.added:,} added, {tally.refused:,} refused"
               + (f", {tally.already:,} already there" if tally.already else ""))
    for failure in tally.failures[:50]:
        typer.echo(f"refused {failure.id or '(no id)'}: {failure.message}", err=True)
    if tally.refused:
        raise fail(f"{tally.refused:,} object(s) refused (the rest went in).")


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
