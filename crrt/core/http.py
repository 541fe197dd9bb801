"""The HTTP edge of the core: the database session dependency and RFC 9457 problem answers."""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, TypeVar

import anyio
import anyio.to_thread
from fastapi import Depends, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException

from crrt.core.db import Database, refusal
from crrt.core.errors import DomainError, Invalid
from crrt.core.logs import redacted
from crrt.core.pagination import MAX_LIMIT

log = logging.getLogger("crrt")

PROBLEM_JSON = "application/problem+json"
TAXII_JSON = "application/taxii+json;version=2.1"
TAXII_PREFIX = "/taxii2/"


READING_METHODS = frozenset({"GET", "HEAD"})


@asynccontextmanager
async def _unit_of_work(request: Request, *, read_only: bool) -> AsyncIterator[Session]:
    """A session for the route; only its end (commit or rollback, then close) waits for a
    worker thread. Opening does no I/O, so it costs the request no thread hop; the end is
    shielded, so a client that hangs up cannot leave the transaction open."""
    database: Database = request.app.state.database
    db = database.open(read_only=read_only)
    try:
        yield db
    except BaseException as error:
        with anyio.CancelScope(shield=True):
            await _finish(database, db, error)
        raise
    with anyio.CancelScope(shield=True):
        await _finish(database, db, None)


async def _finish(database: Database, db: Session, error: BaseException | None) -> None:
    """End the session in a thread of its own (a limiter of one, as FastAPI gives a sync
    dependency's exit): with the shared pool full of requests waiting for a connection, the
    commit that would free one must not queue behind them."""
    await anyio.to_thread.run_sync(database.finish, db, error,
                                   limiter=anyio.CapacityLimiter(1))


async def get_db(request: Request) -> AsyncIterator[Session]:
    """One unit of work per request: committed when the route returns, rolled back on error.

    GET and HEAD read: their session writes nothing (see :class:`crrt.core.db.Database`). A
    GET that must write (an export that is audited) asks for :data:`WriteDb` instead.
    """
    async with _unit_of_work(request, read_only=request.method in READING_METHODS) as db:
        yield db


async def get_write_db(request: Request) -> AsyncIterator[Session]:
    async with _unit_of_work(request, read_only=False) as db:
        yield db


# scope="function": commit before the answer is sent, so a failed commit is never a 2xx.
Db = Annotated[Session, Depends(get_db, scope="function")]
WriteDb = Annotated[Session, Depends(get_write_db, scope="function")]


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


# For a route whose service opens its own sessions: reading first, writing only if it must.
AppDatabase = Annotated[Database, Depends(get_database)]

# An organisation is named by its code (a country code, or a slug such as cert-eu).
OrgCodeParam = Annotated[str, Path(max_length=64,
                                   description="The organisation's code (LT, cert-eu).")]


def public_base(request: Request, *, or_request: bool = True) -> str:
    """Where links point: CRRT_PUBLIC_URL; else (when ``or_request``) this request's own
    address, else nothing (a notice then carries no link)."""
    configured = request.app.state.settings.public_url
    if configured or not or_request:
        return configured or ""
    return str(request.base_url).rstrip("/")


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
    """An ``application/problem+json`` answer (RFC 9457); under ``/taxii2/`` a TAXII 2.1
    error message instead, as TAXII clients expect."""
    if request.url.path.startswith(TAXII_PREFIX):
        return JSONResponse(taxii_error(status, title, detail, slug, extra), status_code=status,
                            media_type=TAXII_JSON, headers=headers)
    body = {"type": f"/problems/{slug}", "title": title, "status": status, "detail": detail,
            "instance": request.url.path, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def taxii_error(status: int, title: str, detail: str, slug: str,
                extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """A TAXII 2.1 error message (section 3.6.1)."""
    return {"title": title, "description": detail, "error_code": slug,
            "http_status": str(status), **({"details": extra} if extra else {})}


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


# A 422 names at most this many errors, each cut short: its size never grows with the input.
MAX_ERRORS = 20
MAX_MESSAGE = 200
MAX_LOC_PARTS = 6
MAX_LOC_PART = 64


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


def _bounded_loc(loc: tuple[Any, ...] | list[Any]) -> list[Any]:
    """A location cut short: an unknown key sent in a body is the client's text, any length."""
    parts = [part if isinstance(part, int) else _clip(str(part), MAX_LOC_PART)
             for part in _loc(loc)]
    return parts if len(parts) <= MAX_LOC_PARTS else [*parts[:MAX_LOC_PARTS - 1], "\u2026"]


def validation_problem(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 naming the invalid fields; 400 when the body is not JSON at all.

    At most :data:`MAX_ERRORS` errors are listed, each message and location cut short and the
    input never echoed, so a hostile body of a megabyte gets an answer of a few kilobytes.
    """
    errors = exc.errors()
    if any(err.get("type") == "json_invalid" for err in errors):
        return problem(request, status=400, title="Malformed request",
                       detail="The request body is not valid JSON.", slug="malformed")
    listed = [{"loc": _bounded_loc(err.get("loc", ())),
               "msg": _clip(str(err.get("msg", "")), MAX_MESSAGE),
               "type": _clip(str(err.get("type", "value_error")), MAX_LOC_PART)}
              for err in errors[:MAX_ERRORS]]
    fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in listed)
    more = f" (the first {MAX_ERRORS} listed)" if len(errors) > MAX_ERRORS else ""
    return problem(request, status=422, title="Invalid input",
                   detail=f"{len(errors)} invalid field(s){more}: {fields}.", slug="validation",
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
    log.warning("database refused a value on %s %s: %s", request.method, redacted(request.url.path),
                refusal(exc))
    return problem(request, status=422, title="Invalid input", slug="validation",
                   detail="A value cannot be stored: a number out of range or a character "
                          "(such as NUL) the database refuses.", errors=[])


def internal_problem(request: Request, exc: Exception) -> JSONResponse:
    """500 with an id to quote to the operator; the details go to the log, never the client."""
    incident = uuid.uuid4().hex[:12]
    log.error("unhandled error %s on %s %s", incident, request.method, redacted(request.url.path),
              exc_info=exc)
    return problem(request, status=500, title="Internal error", slug="internal",
                   detail=f"Something went wrong on our side (reference {incident}).",
                   reference=incident)


def integrity_problem(request: Request, exc: IntegrityError) -> JSONResponse:
    """409 when the database's own constraint catches what a check before it could not: two
    requests creating the same thing at the same moment."""
    log.warning("constraint refused a change on %s %s: %s", request.method,
                redacted(request.url.path), refusal(exc))
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


class _Refused(Exception):
    """The body grew past the limit while streaming; the 413 has been sent already."""


BODY_LIMIT_ATTRIBUTE = "crrt_body_limit"

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def body_limit(size: int) -> Callable[[Endpoint], Endpoint]:
    """Give one route a request-body limit of its own (an upload), instead of the default."""

    def mark(endpoint: Endpoint) -> Endpoint:
        setattr(endpoint, BODY_LIMIT_ATTRIBUTE, size)
        return endpoint

    return mark


class BodyLimit:
    """Refuse request bodies past a size before anything reads them (413 problem, never cached,
    with the security ``headers`` the application's own answers carry).

    The declared Content-Length is checked first; a body sent without one is counted as it
    streams, and once past the limit the 413 is sent and whatever the app does next is
    dropped. A route marked with :func:`body_limit` gets its own limit; the table of those is
    read from the application's routes on the first request.
    """

    def __init__(self, app: Any, *, default: int,
                 headers: dict[str, str] | None = None) -> None:
        self.app, self.default = app, default
        self.headers = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        self._routes: list[tuple[re.Pattern[str], frozenset[str], int]] | None = None

    def _route_limits(self, scope: Any) -> list[tuple[re.Pattern[str], frozenset[str], int]]:
        if self._routes is None:
            from fastapi.routing import iter_route_contexts

            found = []
            for route in iter_route_contexts(scope["app"].routes):
                size = getattr(route.endpoint, BODY_LIMIT_ATTRIBUTE, None)
                regex = getattr(route, "path_regex", None)
                if size is not None and regex is not None:
                    found.append((regex, frozenset(route.methods or ()), size))
            self._routes = found
        return self._routes

    def limit_for(self, scope: Any) -> int:
        for regex, methods, size in self._route_limits(scope):
            if scope["method"] in methods and regex.match(scope["path"]):
                return size
        return self.default

    async def _refuse(self, scope: Any, send: Any, limit: int) -> None:
        detail = f"The request body is larger than {limit // 1024} KiB."
        if scope["path"].startswith(TAXII_PREFIX):
            body = json.dumps(taxii_error(413, "Too large", detail, "too-large")).encode()
            media_type = TAXII_JSON
        elif scope["path"].startswith("/api/"):
            body = json.dumps({"type": "/problems/too-large", "title": "Too large",
                               "status": 413, "detail": detail,
                               "instance": scope["path"]}).encode()
            media_type = PROBLEM_JSON
        else:  # a person's browser: a plain page (no session is read for an oversized post)
            body = (f'<!doctype html><html lang="en"><meta charset="utf-8"><title>Too large - '
                    f'crrt</title><h1>Too large</h1><p>{detail}</p><p><a href="/">Back to '
                    f'crrt</a></p></html>').encode()
            media_type = "text/html; charset=utf-8"
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", media_type.encode()),
                                (b"content-length", str(len(body)).encode()),
                                (b"cache-control", b"no-store"),
                                (b"connection", b"close"), *self.headers]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, send, limit)
            return
        received, started, refused = 0, False, False

        async def counted() -> Any:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit and not refused:
                    refused = True
                    if not started:
                        await self._refuse(scope, send, limit)
                    raise _Refused
            return message

        async def watched(message: Any) -> None:
            nonlocal started
            if refused:
                return  # the 413 went out; the app's own answer to the broken read is dropped
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except Exception:
            if not refused:  # an error of the app's own: not ours to hide
                raise
