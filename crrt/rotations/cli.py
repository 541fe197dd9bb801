"""``crrt roster``: plan rotations, check a plan without the solver, publish it."""

from __future__ import annotations

import json
import sys
import uuid
from datetime import date
from typing import Annotated

import typer

from crrt.cli_support import SYSTEM, fail, ready_database, refused, unit_of_work
from crrt.rotations import drafting, publishing, service
from crrt.rotations.schemas import MAX_PERIODS, PlanIn, PlanOut

app = typer.Typer(help="Rotations: plan the rapid response teams.", no_args_is_help=True)


def _progress(elapsed: float, objective: float, bound: float) -> None:
    gap = abs(objective - bound) / max(1.0, abs(objective))
    typer.echo(f"  {elapsed:6.1f} s  better plan found: cost {objective:,.0f}, "
               f"within {gap:.2%} of the bound", err=True)


def _table(plan: PlanOut) -> None:
    m = plan.metrics
    typer.echo(f"plan {plan.id} ({plan.state.value}): {plan.status.value}, "
               f"{m.solve_seconds:.1f} s, gap {m.gap:.2%}")
    for r in plan.rotations:
        typer.echo(f"\n{r.label}  {r.start} to {r.end}")
        for member in r.members:
            lead = "  lead" if member.lead else ""
            typer.echo(f"  {member.slot_skill:<26} {member.org:<4} {member.name}{lead}")
    typer.echo("\nnation  seats  target")
    for code, share in m.nations.items():
        typer.echo(f"  {code:<5} {share.assigned:>5}  {share.target:>6.1f}")
    for line in plan.explanation:
        typer.echo(f"! {line}")
    for line in plan.violations:
        typer.echo(f"VIOLATION {line}", err=True)


@app.command("plan")
def plan(
        template: Annotated[str, typer.Option(help="The team template's name.")],
        start: Annotated[str, typer.Option(help="The first period's first day (2027-01-01).")],
        periods: Annotated[int, typer.Option(min=1, max=MAX_PERIODS)] = 2,
        months: Annotated[int, typer.Option(min=1, max=12, help="Months a period.")] = 6,
        seconds: Annotated[float, typer.Option(min=1, max=600,
                                               help="How long the solver may search.")] = 30,
        zone: Annotated[str, typer.Option(help="Where weekly duty hands over.")]
        = "Europe/Brussels",
        as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")]
        = False,
) -> None:
    """Solve a draft plan and print it; exit 2 when some seats or rules stay unmet."""
    try:
        first = date.fromisoformat(start)
    except ValueError:
        raise fail("--start is a date: YYYY-MM-DD.") from None
    database = ready_database()
    try:
        with refused():
            with database.session(read_only=True) as db:
                found = service.template_named(db=db, actor=SYSTEM, name=template)
                template_id = found.public_id
            typer.echo(f"solving {periods} period(s) of {template!r} from {first} "
                       f"(up to {seconds:g} s)...", err=True)
            data = PlanIn.model_validate({"template_id": template_id, "start": first,
                                          "periods": periods, "period_months": months,
                                          "seconds": min(seconds, 60), "zone": zone})
            plan_id = drafting.draft(database=database, actor=SYSTEM, data=data,
                                     progress=_progress)
            with database.session(read_only=True) as db:
                out = drafting.plan_out(db=db, actor=SYSTEM,
                                        row=drafting.get_plan(db=db, actor=SYSTEM,
                                                              plan_id=plan_id))
    finally:
        database.dispose()
    if as_json:
        typer.echo(out.model_dump_json(indent=2))
    else:
        _table(out)
    if out.status.value == "infeasible":
        raise typer.Exit(2)


@app.command("check")
def check(plan_id: uuid.UUID) -> None:
    """Verify every hard rule of a plan again, without the solver; exit 1 on a violation."""
    with unit_of_work() as db:
        found = drafting.check(db=db, actor=SYSTEM, plan_id=plan_id)
    for line in found:
        typer.echo(line)
    if found:
        raise fail(f"{len(found)} violation(s).")
    typer.echo("every hard rule holds.")


@app.command("publish")
def publish(plan_id: uuid.UUID) -> None:
    """Make a draft official; its members and their POCs are told."""
    database = ready_database()
    try:
        with refused():
            made = publishing.publish_apart(database=database, actor=SYSTEM, plan_id=plan_id)
            with database.session(read_only=True) as db:
                said = [f"{r.public_id}  {r.label}  {r.starts_on} to {r.ends_on}  "
                        f"{len(r.members)} members"
                        for r in (service.get_rotation(db=db, actor=SYSTEM, rotation_id=i)
                                  for i in made)]
    finally:
        database.dispose()
    typer.echo("\n".join(said))


@app.command("show")
def show(plan_id: uuid.UUID,
         as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Print a plan."""
    with unit_of_work() as db:
        out = drafting.plan_out(db=db, actor=SYSTEM,
                                row=drafting.get_plan(db=db, actor=SYSTEM, plan_id=plan_id))
    if as_json:
        json.dump(out.model_dump(mode="json"), sys.stdout, indent=2, ensure_ascii=False)
        typer.echo()
    else:
        _table(out)
