"""``crrt intel peers``, ``peer-add`` and ``sync``: federation peers from the console.

A peer's token never comes from the command line, where the shell's history and the process
list would keep it: it is read from an environment variable, or typed at a hidden prompt.
"""

from __future__ import annotations

import os
import uuid
from typing import Annotated

import typer
from pydantic import SecretStr, ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TaskID, TextColumn
from rich.progress import Progress as Bar

from crrt.access.enums import Tlp
from crrt.cli_support import SYSTEM, fail, invalid, ready_database, refused, unit_of_work
from crrt.core.config import get_settings
from crrt.intel import peers, sync
from crrt.intel.enums import Direction, PeerAuth, SyncOutcome
from crrt.intel.peer_schemas import PeerIn

app = typer.Typer()
TOKEN_ENV = "CRRT_PEER_TOKEN"


@app.command("peers")
def list_peers() -> None:
    """List the federation peers: id, name, direction, TLP ceiling, where, last pulled."""
    with unit_of_work() as db:
        found, _next = peers.list_peers(db=db, actor=SYSTEM, limit=200)
        for peer in found:
            out = peers.peer_out(db, peer)
            state = "" if out.active else "  (inactive)"
            typer.echo(f"{out.id}  {out.name}  {out.direction.value:4}  {out.max_tlp.label:10}  "
                       f"{out.api_root}collections/{out.collection}/ <-> {out.local_collection}"
                       f"  token: {'set' if out.has_token else 'none'}  "
                       f"pulled through: {out.pulled_through or '-'}{state}")


@app.command("peer-add")
def add_peer(
        name: Annotated[str, typer.Argument(help="A name for the peer (unique).")],
        api_root: Annotated[str, typer.Option(help="Its TAXII 2.1 API root URL.")],
        collection: Annotated[str, typer.Option(help="Its collection's id.")],
        local_collection: Annotated[uuid.UUID, typer.Option(
            help="Our collection it syncs with (crrt intel collections).")],
        direction: Annotated[Direction, typer.Option(help="pull, push or both.")]
        = Direction.PULL,
        max_tlp: Annotated[Tlp, typer.Option(help="The highest TLP that may go to it.")]
        = Tlp.GREEN,
        organisation: Annotated[str | None, typer.Option(
            help="The organisation whose node it is (AMBER may go to it).")] = None,
        auth: Annotated[PeerAuth, typer.Option(help="bearer, or basic (with --username).")]
        = PeerAuth.BEARER,
        username: Annotated[str, typer.Option(help="HTTP Basic's user name.")] = "",
        token_env: Annotated[str, typer.Option(
            help="The environment variable holding the token (else it is asked for).")]
        = TOKEN_ENV,
        no_token: Annotated[bool, typer.Option(help="The peer needs no token.")] = False,
) -> None:
    """Add a peer; its token from $CRRT_PEER_TOKEN or a hidden prompt, never an argument."""
    token = None
    if not no_token:
        token = os.environ.get(token_env) or typer.prompt("Token", hide_input=True)
    try:
        data = PeerIn(name=name, api_root=api_root, collection=collection,
                      local_collection=local_collection, direction=direction, max_tlp=max_tlp,
                      organisation=organisation, auth=auth, username=username,
                      token=SecretStr(token) if token else None)
    except ValidationError as exc:
        raise invalid(exc) from exc
    key = get_settings().resolved_secret_key()
    with unit_of_work() as db:
        peer = peers.create_peer(db=db, actor=SYSTEM, data=data, secret_key=key)
        typer.echo(f"{peer.public_id}  {peer.name}")


@app.command("sync")
def sync_peer(peer: Annotated[str, typer.Argument(help="The peer's name or id.")],
              page_size: Annotated[int, typer.Option(min=1, max=1000,
                                                     help="Objects a page or envelope.")]
              = sync.PAGE) -> None:
    """One sync round with a peer now, with a progress bar; exit 1 if it failed."""
    with unit_of_work() as db:
        peer_id = peers.find_peer(db=db, actor=SYSTEM, name_or_id=peer).public_id
    database = ready_database()
    console = Console(stderr=True)
    try:
        with Bar(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                 MofNCompleteColumn(), console=console) as bar, refused():
            tasks: dict[Direction, TaskID] = {}

            def report(progress: sync.Progress) -> None:
                if progress.direction not in tasks:
                    tasks[progress.direction] = bar.add_task(
                        "pulling" if progress.direction is Direction.PULL else "pushing",
                        total=progress.total)
                bar.update(tasks[progress.direction], completed=progress.done,
                           total=progress.total)

            entry = sync.run_round(database=database, actor=SYSTEM, peer_id=peer_id,
                                   settings=get_settings(), page_size=page_size,
                                   progress=report)
    finally:
        database.dispose()
    typer.echo(f"{entry.outcome.value}: {entry.pulled:,} pulled, {entry.pushed:,} pushed, "
               f"{entry.withheld:,} withheld (TLP), {entry.refused:,} refused")
    if entry.outcome is SyncOutcome.FAILED:
        raise fail(entry.error)
