"""The baseline crrt's reads are measured against: a bare Starlette route that answers the
expert list's page with ONE SQL query and orjson, no authentication, no framework on top.

It runs the same statement as crrt's hot read (compiled once) and turns rows into the same
JSON, so both answer byte-identical pages; what crrt spends beyond this, per request, is the
price of its API layer (routing, the caller's identification, the policy, the session).

Run by ``bench/api_reads.py``: ``python bench/baseline.py --database URL --port N``.
"""

from __future__ import annotations

import argparse

import uvicorn
from sqlalchemy import create_engine, text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from crrt import parts
from crrt.access.enums import Role
from crrt.access.principal import Principal
from crrt.core import clock
from crrt.core.db import normalise_url
from crrt.experts import reads
from crrt.experts.models import Expert
from crrt.experts.schemas import ExpertFilter

EVERYONE = Principal(user_id=0, email="bench", name="bench", role=Role.COORDINATOR, org_id=None,
                     org_code=None)


def make_app(url: str) -> Starlette:
    parts.load()
    engine = create_engine(normalise_url(url))
    with engine.connect() as connection:
        dialect = connection.dialect
        # crrt's page statement for a coordinator with no filter, compiled once to SQL text
        from sqlalchemy.orm import Session

        with Session(connection) as db:
            statement = reads.filtered_statement(db, EVERYONE, ExpertFilter())
        sql = str(statement.order_by(Expert.id).limit(51).compile(
            dialect=dialect, compile_kwargs={"literal_binds": True}))
    query = text(sql).columns(*statement.selected_columns)

    def page(request: Request) -> Response:
        with engine.connect() as connection:
            rows = connection.execute(query).all()
        return Response(reads.encode_page(rows, size=50, now=clock.now()),
                        media_type="application/json")

    return Starlette(routes=[Route("/experts", page)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(make_app(args.database), host="127.0.0.1", port=args.port, access_log=False,
                log_level="warning")


if __name__ == "__main__":
    main()
