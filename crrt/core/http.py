"""The HTTP edge of the core: the database session dependency and RFC 9457 problem answers."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException

from crrt.core.errors import DomainError, Invalid
from crrt.core.pagination import MAX_LIMIT

log = logging.getLogger("crrt")

PROBLEM_JSON = "application/problem+json"


READING_METHODS = frozenset({"GET", "HEAD"})


def get_db(request: Request) -> Iterator[Session]:
    """One unit of work per request: committed when the route returns, rolled back on error.

    GET and HEAD read: their session writes nothing (see :class:`crrt.core.db.Database`). A
    GET that must write (an export that is audited) asks for :data:`WriteDb` instead.
    """
    read_only = request.method in READING_METHODS
    with request.app.state.database.session(read_only=read_only) as db:
        yield db


def get_write_db(request: Request) -> Iterator[Session]:
    with request.app.state.database.session() as db:
        yield db


# scope="function": commit before the answer is sent, so a failed commit is never a 2xx.
Db = Annotated[Session, Depends(get_db, scope="function")]
WriteDb = Annotated[Session, Depends(get_write_db, scope="function")]

MAX_ID = 2**31 - 1
# Ids are 32-bit on PostgreSQL (and SQLite overflows past 64 bits): a larger one is a 422, not a
# driver error.
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
# A record that may travel between nodes is named by its public id; anything but a UUID is a 422.
PublicIdParam = Annotated[uuid.UUID, Path(description="The record's public id (a UUID).")]
# Page size of every list; the cursor is the opaque ``next_cursor`` of the page before.
Limit = Annotated[int | None, Query(ge=1, le=MAX_LIMIT, description="Items a page (1-200).")]
Cursor = Annotated[str | None, Query(max_length=200, description="The `next_cursor` before.")]


def problem(request: Request, *, status: int, title: str, detail: str, slug: str,
            headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    """An ``application/problem+json`` answer (RFC 9457)."""
    body = {"type": f"/problems/{slug}", "title": title, "status": status, "detail": detail,
            "instance": request.url.path, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _loc(loc: tuple[Any, ...] | list[Any]) -> list[Any]:
    return [part for part in loc if part != "body" or len(loc) == 1] or list(loc)


def domain_problem(request: Request, exc: DomainError) -> JSONResponse:
    extra = dict(exc.extra)
    headers = {}
    if "retry_after" in extra:
        headers["Retry-After"] = str(extra["retry_after"])
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="crrt"'
    if isinstance(exc, Invalid):
        extra["errors"] = [e.as_dict() for e in exc.errors]
    return problem(request, status=exc.status, title=exc.title, detail=exc.detail,
                   slug=exc.slug, headers=headers or None, **extra)


def validation_problem(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 naming every invalid field; 400 when the body is not JSON at all."""
    errors = exc.errors()
    if any(err.get("type") == "json_invalid" for err in errors):
        return problem(request, status=400, title="Malformed request",
                       detail="The request body is not valid JSON.", slug="malformed")
    listed = [{"loc": _loc(err.get("loc", ())), "msg": err.get("msg", ""),
               "type": err.get("type", "value_error")} for err in errors]
    fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in listed)
    return problem(request, status=422, title="Invalid input",
                   detail=f"{len(listed)} invalid field(s): {fields}.", slug="validation",
                   errors=listed)


def http_problem(request: Request, exc: HTTPException) -> JSONResponse:
    titles = {404: "Not found", 405: "Method not allowed", 401: "Not signed in",
              403: "Forbidden", 400: "Bad request", 413: "Too large", 415: "Unsupported type"}
    title = titles.get(exc.status_code, "Error")
    detail = exc.detail if isinstance(exc.detail, str) else title
    if exc.status_code == 404 and detail == "Not Found":
        detail = "Nothing is at this address."
    return problem(request, status=exc.status_code, title=title, detail=detail,
                   slug=title.lower().replace(" ", "-"), headers=getattr(exc, "headers", None))


def data_problem(request: Request, exc: DataError) -> JSONResponse:
    """422 for a value the database refuses (a number out of range, a NUL character): input
    that slipped past validation is still the client's mistake, not a 500."""
    log.warning("database refused a value on %s %s: %s", request.method, request.url.path,
                exc.orig)
    return problem(request, status=422, title="Invalid input", slug="validation",
                   detail="A value cannot be stored: a number out of range or a character "
                          "(such as NUL) the database refuses.", errors=[])


def internal_problem(request: Request, exc: Exception) -> JSONResponse:
    """500 with an id to quote to the operator; the details go to the log, never the client."""
    incident = uuid.uuid4().hex[:12]
    log.error("unhandled error %s on %s %s", incident, request.method, request.url.path,
              exc_info=exc)
    return problem(request, status=500, title="Internal error", slug="internal",
                   detail=f"Something went wrong on our side (reference {incident}).",
                   reference=incident)


def integrity_problem(request: Request, exc: IntegrityError) -> JSONResponse:
    """409 when the database's own constraint catches what a check before it could not: two
    requests creating the same thing at the same moment."""
    log.warning("constraint refused a change on %s %s: %s", request.method, request.url.path,
                exc.orig)
    return problem(request, status=409, title="Conflict", slug="conflict",
                   detail="The change clashes with another one (a duplicate, most likely "
                          "made at the same moment). Reload and try again.")


def busy_problem(request: Request, exc: OperationalError) -> JSONResponse | None:
    """503 with Retry-After when SQLite's write lock stayed taken past the busy timeout;
    None for any other operational error (a real fault, left to the 500 handler)."""
    if "locked" not in str(exc.orig).lower():
        return None
    return problem(request, status=503, title="Busy", slug="busy",
                   detail="The database is busy with another change. Try again in a moment.",
                   headers={"Retry-After": "2"})
