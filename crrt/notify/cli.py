"""``crrt webhook``: an organisation's signed-webhook endpoints, from the command line."""

from __future__ import annotations

import uuid
from typing import Annotated

import typer

from crrt.cli_support import SYSTEM, fail, ready_database, unit_of_work
from crrt.core.config import get_settings
from crrt.notify import webhooks

app = typer.Typer(help="Signed webhook endpoints (Standard Webhooks).", no_args_is_help=True)


def _public_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise fail(f"{value!r} is not an endpoint id (see `crrt webhook list`)") from exc


@app.command("add")
def add(org: Annotated[str, typer.Argument(help="The organisation's code (EE, cert-eu).")],
        url: Annotated[str, typer.Argument(help="https://… (http:// only to this machine).")],
        name: Annotated[str, typer.Option(help="What the endpoint is (SOC ticketing).")],
        ) -> None:
    """Add an endpoint for ORG; its signing secret is the last line printed, shown only once."""
    from crrt.organisations import service as organisations

    with unit_of_work() as db:
        organisation = organisations.get_by_code(db, org)
        endpoint, secret = webhooks.add_endpoint(
            db=db, actor=SYSTEM, organisation_id=organisation.id, name=name, url=url,
            secret_key=get_settings().resolved_secret_key())
        typer.echo(f"webhook endpoint {endpoint.public_id} ({endpoint.name}) for "
                   f"{organisation.code}: {endpoint.url}", err=True)
    typer.echo(secret)


@app.command("list")
def list_endpoints() -> None:
    """List the endpoints: id, organisation, name, state, secret version, URL (no secrets)."""
    from crrt.organisations import service as organisations

    with ready_database().session(read_only=True) as db:
        codes = {o.id: o.code for o in organisations.all_organisations(db=db, actor=SYSTEM)}
        for e in webhooks.list_endpoints(db=db, actor=SYSTEM):
            state = "active" if e.active else "inactive"
            typer.echo(f"{e.public_id}\t{codes.get(e.organisation_id, '?')}\t{e.name}\t"
                       f"{state}\tv{e.secret_version}\t{e.url}")


@app.command("rotate")
def rotate(endpoint_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Give endpoint ID a new secret (the last line printed); the old one stops verifying."""
    public_id = _public_id(endpoint_id)
    with unit_of_work() as db:
        endpoint, secret = webhooks.rotate_secret(
            db=db, actor=SYSTEM, public_id=public_id,
            secret_key=get_settings().resolved_secret_key())
        typer.echo(f"webhook endpoint {public_id}: secret version {endpoint.secret_version}",
                   err=True)
    typer.echo(secret)


@app.command("remove")
def remove(endpoint_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Deactivate endpoint ID: nothing more is sent to it, what is queued is given up."""
    public_id = _public_id(endpoint_id)
    with unit_of_work() as db:
        webhooks.deactivate(db=db, actor=SYSTEM, public_id=public_id)
    typer.echo(f"webhook endpoint {public_id} deactivated")
