"""The ``crrt`` command: set-up, serving, accounts, tokens, audit, and each part's group."""

from __future__ import annotations

import sys
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from crrt import parts
from crrt.access.enums import Role
from crrt.cli_support import (
    SYSTEM,
    database,
    fail,
    ready_database,
    refused,
    settings_checked,
    unit_of_work,
)
from crrt.core import clock, logs, migrations
from crrt.core.config import get_settings
from crrt.experts.cli import app as experts_app
from crrt.intel.cli import app as intel_app
from crrt.organisations.enums import Membership, OrgKind
from crrt.rotations.cli import app as roster_app

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from crrt.audit.service import Checkpoint, Verification

app = typer.Typer(help="crrt: coordination platform for the EU Cyber Rapid Response Teams.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
user_app = typer.Typer(help="User accounts.", no_args_is_help=True)
org_app = typer.Typer(help="Organisations and their project membership.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
audit_app = typer.Typer(help="The keyed, hash-chained audit log.", no_args_is_help=True)
demo_app = typer.Typer(help="Demo data.", no_args_is_help=True)
jobs_app = typer.Typer(help="The workers' jobs.", no_args_is_help=True)
webhook_app = typer.Typer(help="Signed webhook endpoints (Standard Webhooks).",
                          no_args_is_help=True)
for sub, name in ((db_app, "db"), (org_app, "org"), (user_app, "user"), (token_app, "token"),
                  (audit_app, "audit"), (demo_app, "demo"), (experts_app, "experts"),
                  (jobs_app, "jobs"), (webhook_app, "webhook"),
                  (roster_app, "roster"), (intel_app, "intel")):
    app.add_typer(sub, name=name)


@app.callback()
def main() -> None:
    """Every command sees valid settings and every part (its tables and what it registers)."""
    settings_checked()
    parts.load()


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Migrate the database to the code's schema (or to REVISION)."""
    url = get_settings().database_url
    with refused():  # a migration that refuses (a broken audit chain) says why
        migrations.upgrade(url, revision)
    typer.echo(f"database at {migrations.current_revision(database().engine)}")


@db_app.command("current")
def db_current() -> None:
    """Show the database's schema revision and the code's."""
    typer.echo(f"database: {migrations.current_revision(database().engine) or 'empty'}")
    typer.echo(f"code:     {migrations.head_revision()}")


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000,
          workers: Annotated[int, typer.Option(min=1)] = 1) -> None:
    """Serve the web pages and the API; on SQLite, run the jobs too (CRRT_EMBEDDED_WORKER).

    The access log keeps the method, path, status and time of each request, never its query
    string (a search names people) nor the client's address.
    """
    import uvicorn

    ready_database().dispose()
    uvicorn.run("crrt.api:serve_app", factory=True, host=host, port=port, workers=workers,
                proxy_headers=True, log_level="info", log_config=logs.uvicorn_config())


@app.command()
def worker(once: Annotated[bool, typer.Option(help="Run what is due, then stop.")] = False,
           interval: Annotated[float, typer.Option(min=0.1)] = 1.0) -> None:
    """Run the jobs (outbox delivery, timers) as they fall due; several workers may run."""
    from crrt.worker import run

    run(ready_database(), get_settings(), once=once, interval=interval)


@org_app.command("add")
def org_add(code: str,
            name: Annotated[str, typer.Option(help="Its name (Lithuania, CERT-EU).")],
            kind: Annotated[OrgKind, typer.Option(help="nation, eu_institution or partner.")],
            membership: Annotated[Membership | None, typer.Option(
                help="A nation's role in the project.")] = None) -> None:
    """Add an organisation (the first one, before any account exists, comes from here)."""
    from crrt.organisations import service
    from crrt.organisations.schemas import OrganisationIn

    with refused():
        data = OrganisationIn(code=code, name=name, kind=kind, membership=membership)
    with unit_of_work() as db:
        org = service.create(db=db, actor=SYSTEM, data=data)
        typer.echo(f"organisation {org.code} ({org.name}, {org.kind.value}) created")


@org_app.command("list")
def org_list() -> None:
    """List the organisations, their membership today and any change planned for later."""
    from crrt.organisations import service

    with ready_database().session(read_only=True) as db:
        for org in service.all_organisations(db=db, actor=SYSTEM):
            planned = "; ".join(f"{c.membership or 'none'} from {c.effective_on.isoformat()}"
                                for c in org.planned)
            typer.echo(f"{org.code}\t{org.kind.value}\t{org.membership or '-'}\t{org.name}"
                       + (f"\t(planned: {planned})" if planned else ""))


@user_app.command("add")
def user_add(email: str,
             role: Annotated[Role, typer.Option(help="What the user does.")],
             org: Annotated[str, typer.Option(help="The organisation's code (LT, cert-eu).")],
             name: Annotated[str | None,
                             typer.Option(help="Full name; the email if unset.")] = None,
             password_stdin: Annotated[bool, typer.Option(
                 "--password-stdin", help="Read the password from standard input.")] = False,
             ) -> None:
    """Open an account."""
    from crrt.auth import service
    from crrt.auth.schemas import UserIn

    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    with refused():
        data = UserIn(email=email, name=name or email, role=role, org=org, password=password)
    with unit_of_work() as db:
        user = service.create_user(db=db, actor=SYSTEM, data=data)
        typer.echo(f"user {user.id} {user.email} ({user.role.value}, {org}) created")


@user_app.command("password")
def user_password(email: str,
                  keep_tokens: Annotated[bool, typer.Option(
                      "--keep-tokens", help="Keep the user's API tokens (a reset revokes "
                                            "them).")] = False) -> None:
    """Set a user's password, read from standard input; its sessions end and its API tokens
    are revoked, unless --keep-tokens."""
    from crrt.auth import service

    password = sys.stdin.readline().rstrip("\n")
    with unit_of_work() as db:
        _user, revoked = service.set_password(db=db, actor=SYSTEM, email=email,
                                              password=password, keep_tokens=keep_tokens)
    tokens = "its tokens kept" if keep_tokens else \
        f"{revoked} token{'' if revoked == 1 else 's'} revoked"
    typer.echo(f"password of {email} set; its sessions were ended, {tokens}")


@token_app.command("create")
def token_create(email: str, name: str = "cli",
                 expires_in_days: Annotated[int | None, typer.Option(min=1)] = None) -> None:
    """Issue an API token for EMAIL; the token is the last line printed, and shown only once."""
    from crrt.auth import service
    from crrt.auth.schemas import TokenIn

    expires = clock.now() + timedelta(days=expires_in_days) if expires_in_days else None
    with ready_database().session() as db:
        user = service.find_by_email(db=db, actor=SYSTEM, email=email)
        if user is None:
            raise fail(f"no user has the email {email}")
        token, secret = service.create_token(db=db, actor=SYSTEM, user=user,
                                             data=TokenIn(name=name, expires_at=expires))
        typer.echo(f"token {token.id} for {user.email}"
                   + (f", expires {expires:%Y-%m-%d %H:%M} UTC" if expires else ""), err=True)
    typer.echo(secret)


@token_app.command("list")
def token_list(email: str) -> None:
    """List EMAIL's tokens (never their secrets)."""
    from crrt.auth import service

    with ready_database().session() as db:
        user = service.find_by_email(db=db, actor=SYSTEM, email=email)
        if user is None:
            raise fail(f"no user has the email {email}")
        for t in service.list_tokens(db=db, actor=SYSTEM, user=user):
            state = "revoked" if t.revoked_at else "active"
            typer.echo(f"{t.id}\t{t.prefix}…\t{t.name}\t{state}\t"
                       f"expires {t.expires_at or 'never'}\tlast used {t.last_used_at or 'never'}")


@token_app.command("revoke")
def token_revoke(token_id: int) -> None:
    """Revoke token TOKEN_ID (see `crrt token list`); it stops working at once."""
    from crrt.auth import service

    with unit_of_work() as db:
        service.revoke_token(db=db, actor=SYSTEM, token_id=token_id)
    typer.echo(f"token {token_id} revoked")


@audit_app.command("verify")
def audit_verify(checkpoint: Annotated[list[Path] | None, typer.Option(
        metavar="FILE", help="A checkpoint from `crrt audit checkpoint` that the chain must "
                             "still hold; may be given more than once.")] = None) -> None:
    """Recompute the keyed hash chain and its head; exit 1 naming the first event that does
    not match, or the checkpoint the chain no longer holds."""
    from crrt.audit import service

    database = ready_database()
    try:
        with database.session(read_only=True) as db:
            kept = [_checkpoint_in(db, path) for path in checkpoint or []]
            result = service.verify(db=db, checkpoints=kept)
    finally:
        database.dispose()
    if not result.ok:
        raise _broken(result)
    typer.echo(f"audit chain intact: {result.events} events verified")
    for one in sorted(kept, key=lambda c: c.seq):
        typer.echo(f"checkpoint of {one.time}: event {one.seq} is in the chain, unchanged")


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Verify the chain, then print its head signed with the audit key (JSON: seq, hash,
    time, hmac); keep it away from this server, to give `crrt audit verify --checkpoint`."""
    from crrt.audit import service

    database = ready_database()
    try:
        with database.session(read_only=True) as db:
            result, made = service.checkpoint(db=db)
    finally:
        database.dispose()
    if made is None:
        raise _broken(result)
    typer.echo(made.as_json())


def _broken(result: Verification) -> typer.Exit:
    return fail(f"audit chain BROKEN at event {result.first_bad_seq}: {result.reason} "
                f"({result.events} events before it verified)")


def _checkpoint_in(db: Session, path: Path) -> Checkpoint:
    """The checkpoint in ``path``, or a clear exit naming the file and what is wrong."""
    from crrt.audit import service
    from crrt.core.errors import Invalid

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"checkpoint {path}: cannot be read ({exc.__class__.__name__})") from exc
    try:
        return service.read_checkpoint(db=db, text=text)
    except Invalid as exc:
        raise fail(f"checkpoint {path}: {exc.detail}") from exc


@demo_app.command("load")
def demo_load(if_empty: Annotated[bool, typer.Option(
        "--if-empty", help="Only into a database that holds no organisation yet.")] = False,
              ) -> None:
    """Load the demo picture of the project (idempotent) and print the demo logins."""
    from crrt.demo.load import is_empty, load, logins

    with ready_database().session() as db:
        if if_empty and not is_empty(db):
            typer.echo("the database holds data already: demo not loaded")
        else:
            typer.echo(load(db))
    typer.echo(logins())


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC" if moment is not None else "-"


@jobs_app.command("list")
def jobs_list() -> None:
    """One line per job: name, period (or task), next run, lease or failures, last error."""
    from crrt.jobs import registry, service

    with ready_database().session(read_only=True) as db:
        jobs = service.status(db=db)
    for job in jobs:
        if job.kind == "periodic":
            spec = registry.PERIODIC.get(job.name)
            kind = ("each worker's every pass" if spec.shared else f"every {spec.every}") \
                if spec else "periodic (not registered)"
            state = (f"running on {job.leased_by} until {_when(job.leased_until)}"
                     if job.leased_until else f"{job.failures} failure(s) in a row")
        else:
            kind = "task" if job.registered else "task (not registered)"
            state = f"{job.queued} queued, {job.failed} failed"
        error = job.last_error.splitlines()[0][:200] if job.last_error else "-"
        typer.echo(f"{job.name}\t{kind}\tnext {_when(job.next_run_at)}\t{state}\t{error}")


def _endpoint_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise fail(f"{value!r} is not an endpoint id (see `crrt webhook list`)") from exc


@webhook_app.command("add")
def webhook_add(
        org: Annotated[str, typer.Argument(help="The organisation's code (EE, cert-eu).")],
        url: Annotated[str, typer.Argument(help="https://… (http:// only to this machine).")],
        name: Annotated[str, typer.Option(help="What the endpoint is (SOC ticketing).")],
) -> None:
    """Add an endpoint for ORG; its signing secret is the last line printed, shown only once."""
    from crrt.notify import webhooks
    from crrt.organisations import service as organisations

    with unit_of_work() as db:
        organisation = organisations.get(db=db, actor=SYSTEM, code=org)
        endpoint, secret = webhooks.add_endpoint(
            db=db, actor=SYSTEM, organisation_id=organisation.id,
            organisation_code=organisation.code, name=name, url=url,
            secret_key=get_settings().resolved_secret_key())
        typer.echo(f"webhook endpoint {endpoint.public_id} ({endpoint.name}) for "
                   f"{organisation.code}: {endpoint.url}", err=True)
    typer.echo(secret)


@webhook_app.command("list")
def webhook_list() -> None:
    """List the endpoints: id, organisation, name, state, secret version, URL (no secrets)."""
    from crrt.notify import webhooks
    from crrt.organisations import service as organisations

    with ready_database().session(read_only=True) as db:
        codes = {o.id: o.code for o in organisations.all_organisations(db=db, actor=SYSTEM)}
        for e in webhooks.list_endpoints(db=db, actor=SYSTEM):
            state = "active" if e.active else "inactive"
            typer.echo(f"{e.public_id}\t{codes.get(e.organisation_id, '?')}\t{e.name}\t"
                       f"{state}\tv{e.secret_version}\t{e.url}")


@webhook_app.command("rotate")
def webhook_rotate(endpoint_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Give endpoint ID a new secret (the last line printed); the old one stops verifying."""
    from crrt.notify import webhooks

    public_id = _endpoint_id(endpoint_id)
    with unit_of_work() as db:
        endpoint, secret = webhooks.rotate_secret(
            db=db, actor=SYSTEM, public_id=public_id,
            secret_key=get_settings().resolved_secret_key())
        typer.echo(f"webhook endpoint {public_id}: secret version {endpoint.secret_version}",
                   err=True)
    typer.echo(secret)


@webhook_app.command("remove")
def webhook_remove(endpoint_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Deactivate endpoint ID: nothing more is sent to it, what is queued is given up."""
    from crrt.notify import webhooks

    public_id = _endpoint_id(endpoint_id)
    with unit_of_work() as db:
        webhooks.deactivate(db=db, actor=SYSTEM, public_id=public_id)
    typer.echo(f"webhook endpoint {public_id} deactivated")
