"""The FastAPI application: every part's router under ``/api/v1``, and the web pages."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException

from crrt import __version__, parts
from crrt.assistance import api as assistance_api
from crrt.audit import service as audit
from crrt.audit.api import router as audit_router
from crrt.auth.api import router as auth_router
from crrt.auth.identify import identify
from crrt.core import migrations
from crrt.core.config import Settings, get_settings
from crrt.core.db import Database, is_sqlite
from crrt.core.errors import DomainError
from crrt.core.http import (
    BodyLimit,
    Db,
    busy_problem,
    data_problem,
    domain_problem,
    http_problem,
    integrity_problem,
    internal_problem,
    validation_problem,
)
from crrt.experts.api import router as experts_router
from crrt.intel import api as intel_api
from crrt.intel import peer_api, taxii
from crrt.organisations.api import router as organisations_router
from crrt.rotations import api as rotations_api
from crrt.web import errors as web_errors
from crrt.web.pages import router as web_router
from crrt.web.static import mount_static
from crrt.worker import EmbeddedWorker

API_PREFIX = "/api/v1"
MACHINE_PREFIXES = (API_PREFIX, "/taxii2")

health_router = APIRouter(tags=["health"])


@health_router.get("/health")
def health(db: Db) -> dict[str, Any]:
    """Liveness and readiness: the database answers, at the schema revision it reports."""
    return {"status": "ok", "version": __version__, "database": db.get_bind().dialect.name,
            "schema": migrations.database_revision(db)}


def _for_machines(request: Request) -> bool:
    return request.url.path.startswith(MACHINE_PREFIXES)


PageOf = Callable[[Any], tuple[int, str, str]]

# Each error: its problem answer for machines, and how it reads as a page for people.
PAGES: list[tuple[type[Exception], Callable[..., Response], PageOf]] = [
    (DomainError, domain_problem, lambda exc: (exc.status, exc.title, exc.detail)),
    (RequestValidationError, validation_problem,
     lambda exc: (400, "Bad request", "The form or address was not understood.")),
    (HTTPException, http_problem, lambda exc: (exc.status_code, "Error", str(exc.detail))),
    (DataError, data_problem, lambda exc: (400, "Bad request", "A value could not be stored.")),
    (IntegrityError, integrity_problem,
     lambda exc: (409, "Conflict", "The change clashes with another one. Try again.")),
]


def _install_error_handlers(app: FastAPI, headers: dict[str, str]) -> None:
    """Problem JSON for the API; the same errors as pages (or a sign-in redirect) for people."""

    def handler(problem_of: Callable[..., Response], page_of: PageOf) -> Callable[..., Any]:
        async def handle(request: Request, exc: Exception) -> Response:
            response = problem_of(request, exc)
            if _for_machines(request):
                return response
            status, title, detail = page_of(exc)
            return web_errors.page_for(request, status=status, title=title, detail=detail)
        return handle

    async def on_crash(request: Request, exc: Exception) -> Response:
        # Runs outside the middleware stack, so the security headers are added here.
        busy = busy_problem(request, exc) if isinstance(exc, OperationalError) else None
        response: Response = busy or internal_problem(request, exc)
        if not _for_machines(request):
            response = web_errors.page_for(request, status=response.status_code,
                                           title="Busy" if busy else "Internal error",
                                           detail="Something went wrong on our side."
                                           if busy is None else "Try again in a moment.")
        response.headers.update(headers)
        return response

    for exc_class, problem_of, page_of in PAGES:
        app.add_exception_handler(exc_class, handler(problem_of, page_of))
    app.add_exception_handler(Exception, on_crash)


# Every request body, JSON and forms; a route that takes files declares its own limit
# (``@body_limit(...)``: the spreadsheet import).
MAX_BODY = 1024 * 1024

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                               "style-src 'self'; script-src 'self'; frame-ancestors 'none'; "
                               "form-action 'self'; base-uri 'none'",
}
# Two years (what hstspreload.org recommends); sent only when cookies are secure (over HTTPS).
HSTS = "max-age=63072000; includeSubDomains"


def security_headers(settings: Settings) -> dict[str, str]:
    """The headers of every answer; HSTS too behind HTTPS (``secure_cookies``), so a browser
    that has seen crrt never again sends its session cookie's request over plain HTTP."""
    if settings.secure_cookies:
        return {**SECURITY_HEADERS, "Strict-Transport-Security": HSTS}
    return dict(SECURITY_HEADERS)


class SecurityHeaders:
    """Add the security headers to every answer (and ``Cache-Control: no-store`` under
    ``no_store``) unless the answer set them itself: a plain ASGI middleware, which costs
    nothing per request, where Starlette's ``BaseHTTPMiddleware`` wraps each in a task."""

    def __init__(self, app: Any, *, headers: dict[str, str], no_store: str) -> None:
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        self.no_store = no_store

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = list(self.headers)
        if scope["path"].startswith(self.no_store):
            extra.append((b"cache-control", b"no-store"))

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *(h for h in extra if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, with_headers)


class InFlight:
    """At most ``limit`` requests inside the application at once; the others wait their turn
    on the event loop, holding neither a thread nor a connection.

    A sync route's session keeps its connection from its first statement to the commit, and
    between the two FastAPI hops to a worker thread again (to validate the answer). With more
    requests in flight than the pool has connections, the threads fill with requests waiting
    for a connection while those holding one wait for a thread, until the pool's 30-second
    timeout answers 500. With no more requests inside than connections (each holds one at a
    time), nobody waits for a connection.
    """

    def __init__(self, app: Any, *, limit: int) -> None:
        self.app = app
        self.slots = asyncio.Semaphore(limit)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        async with self.slots:
            await self.app(scope, receive, send)


def pool_capacity(database: Database) -> int | None:
    """How many connections the pool lends at once, or None when it sets no bound."""
    pool = database.engine.pool
    size = getattr(pool, "size", None)
    overflow = getattr(pool, "_max_overflow", None)
    if not callable(size) or overflow is None or overflow < 0:
        return None
    return int(size()) + int(overflow)


def create_app(settings: Settings | None = None, *, database: Database | None = None,
               check_schema: bool = True) -> FastAPI:
    """Build the application; refuse (SchemaBehind) if the database needs ``crrt db upgrade``.

    While it runs, it runs an embedded worker too when ``settings`` say so (by default on
    SQLite), so one ``crrt serve`` delivers mail and fires timers.
    """
    parts.load()
    settings = settings or get_settings()
    database = database or Database(settings.database_url)
    if check_schema:
        migrations.check_current(database.engine)
    audit.bind_key(database, settings.resolved_audit_key())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        running: Settings = app.state.settings
        db: Database = app.state.database
        if running.runs_embedded_worker(sqlite=is_sqlite(db.engine)):
            app.state.worker = EmbeddedWorker(db, running)
            app.state.worker.start()
        try:
            yield
        finally:
            if app.state.worker is not None:
                await asyncio.to_thread(app.state.worker.stop)
                app.state.worker = None

    # No slash redirects: Starlette builds their absolute URL from the Host header, which the
    # client chooses; an address with a stray slash is simply not found.
    app = FastAPI(title="crrt", version=__version__,
                  summary="Coordination platform for the EU Cyber Rapid Response Teams",
                  openapi_url=f"{API_PREFIX}/openapi.json", docs_url=None,
                  redoc_url=None, lifespan=lifespan, redirect_slashes=False)
    app.state.settings = settings
    app.state.database = database
    app.state.identify = identify
    app.state.worker = None

    headers = security_headers(settings)
    app.add_middleware(SecurityHeaders, headers=headers, no_store=API_PREFIX)
    app.add_middleware(BodyLimit, default=MAX_BODY, headers=headers)
    capacity = pool_capacity(database)
    if capacity is not None:  # one connection kept for the embedded worker
        app.add_middleware(InFlight, limit=max(1, capacity - 1))

    api = APIRouter(prefix=API_PREFIX)
    for router in (health_router, auth_router, organisations_router, experts_router,
                   audit_router, rotations_api.templates, rotations_api.router,
                   rotations_api.other, assistance_api.router, assistance_api.arrangements,
                   assistance_api.deployment_routes, assistance_api.callouts,
                   intel_api.router, peer_api.router):
        api.include_router(router)
    # TAXII first: machines page through it a thousand objects a request, and a router tries
    # its routes in turn (the paths are disjoint, so the order changes no answer)
    app.include_router(taxii.router)
    app.include_router(api)
    app.include_router(web_router)
    mount_static(app)
    _install_error_handlers(app, headers)
    return app




def serve_app() -> FastAPI:
    """The app ``crrt serve`` runs: loaded, then everything alive so far (modules, the
    routes, the libraries' grammars and schemas) frozen out of the garbage collector, whose
    full passes would otherwise walk those millions of objects again and again while a
    request builds its thousands of rows."""
    app = create_app()
    gc.collect()
    gc.freeze()
    return app
