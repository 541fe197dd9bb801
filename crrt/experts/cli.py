"""``crrt experts``: spreadsheet import and the data-subject rights, from the command line."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Annotated

import typer

from crrt.cli_support import SYSTEM, fail, ready_database, refused, unit_of_work
from crrt.experts import importer, service
from crrt.experts.schemas import ImportReport

app = typer.Typer(help="The expert pool.", no_args_is_help=True)


def _print_report(report: ImportReport) -> None:
    verb = "" if report.applied else "would be "
    typer.echo(f"{report.created} expert(s) {verb}created, {report.updated} {verb}updated"
               + (" (dry run: nothing written)" if report.dry_run else ""))
    for rejection in report.rejected:
        typer.echo(f"row {rejection.row} ({rejection.email or 'no email'}): "
                   + "; ".join(rejection.errors), err=True)
    if not report.complete:
        typer.echo(f"checking stopped after {len(report.rejected)} rejected rows", err=True)


@app.command("import")
def import_file(
        file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                             help="A .csv or .xlsx sheet.")],
        org: Annotated[str, typer.Option(help="The nominating nation's code (EE).")],
        dry_run: Annotated[bool, typer.Option(
            "--dry-run", help="Validate and report; write nothing.")] = False,
) -> None:
    """Import experts from a sheet: every row or none; exit 1 if any row is rejected."""
    with file.open("rb") as sheet:  # one byte past the limit says it is too large
        content = sheet.read(importer.MAX_BYTES + 1)
    database = ready_database()
    try:
        with refused():
            report = importer.import_experts(database=database, actor=SYSTEM, org=org,
                                             filename=file.name, content=content,
                                             dry_run=dry_run)
    finally:
        database.dispose()
    _print_report(report)
    if report.rejected:
        raise fail(f"{len(report.rejected)} row(s) rejected: nothing was imported.")


@app.command("export")
def export(expert_id: uuid.UUID) -> None:
    """Print everything held about one expert as JSON (the right of access)."""
    with unit_of_work() as db:
        document = service.export_personal_data(db=db, actor=SYSTEM, expert_id=expert_id)
    typer.echo(json.dumps(document, ensure_ascii=False, indent=2))


@app.command("erase")
def erase(expert_id: uuid.UUID,
          yes: Annotated[bool, typer.Option("--yes", help="Confirm: this cannot be undone.")]
          = False) -> None:
    """Anonymise one expert in place (the right to erasure); needs --yes."""
    if not yes:
        raise fail("Erasure cannot be undone: add --yes to confirm.")
    with unit_of_work() as db:
        expert = service.erase(db=db, actor=SYSTEM, expert_id=expert_id)
        typer.echo(f"expert {expert.public_id} erased")
