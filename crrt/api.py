"""The FastAPI application: every part's router under ``/api/v1``, and the web pages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException

from crrt import __version__
from crrt.audit.api import router as audit_router
from crrt.auth.api import router as auth_router
from crrt.core import migrations
from crrt.core.config import Settings, get_settings
from crrt.core.db import Database
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
from crrt.organisations.api import router as organisations_router
from crrt.web import errors as web_errors
from crrt.web.pages import router as web_router
from crrt.web.static import mount_static

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


def _install_error_handlers(app: FastAPI) -> None:
    """Problem JSON for the API; the same errors as pages (or a sign-in redirect) for people."""

    async def on_domain(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        if _for_machines(request):
            return domain_problem(request, exc)
        return web_errors.page_for(request, status=exc.status, title=exc.title,
                                   detail=exc.detail)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if _for_machines(request):
            return validation_problem(request, exc)
        return web_errors.page_for(request, status=400, title="Bad request",
                                   detail="The form or address was not understood.")

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if _for_machines(request):
            return http_problem(request, exc)
        return web_errors.page_for(request, status=exc.status_code, title="Error",
                                   detail=str(exc.detail))

    async def on_data(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DataError)
        response = data_problem(request, exc)
        if _for_machines(request):
            return response
        return web_errors.page_for(request, status=400, title="Bad request",
                                   detail="A value could not be stored.")

    async def on_integrity(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, IntegrityError)
        response = integrity_problem(request, exc)
        if _for_machines(request):
            return response
        return web_errors.page_for(request, status=409, title="Conflict",
                                   detail="The change clashes with another one. Try again.")

    async def on_crash(request: Request, exc: Exception) -> Response:
        # Runs outside the middleware stack, so the security headers are added here.
        busy = busy_problem(request, exc) if isinstance(exc, OperationalError) else None
        response = busy or internal_problem(request, exc)
        if not _for_machines(request):
            response = web_errors.page_for(request, status=response.status_code,
                                           title="Busy" if busy else "Internal error",
                                           detail="Something went wrong on our side."
                                           if busy is None else "Try again in a moment.")
        response.headers.update(SECURITY_HEADERS)
        return response

    app.add_exception_handler(DomainError, on_domain)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(DataError, on_data)
    app.add_exception_handler(IntegrityError, on_integrity)
    app.add_exception_handler(Exception, on_crash)


MAX_BODY = 1024 * 1024  # JSON and forms
MAX_UPLOAD = 6 * 1024 * 1024  # a spreadsheet import (the importer itself stops at 5 MiB)

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                               "style-src 'self'; script-src 'self'; frame-ancestors 'none'; "
                               "form-action 'self'; base-uri 'none'",
}


def create_app(settings: Settings | None = None, *, database: Database | None = None,
               check_schema: bool = True) -> FastAPI:
    """Build the application; refuse (SchemaBehind) if the database needs ``crrt db upgrade``."""
    settings = settings or get_settings()
    database = database or Database(settings.database_url)
    if check_schema:
        migrations.check_current(database.engine)

    app = FastAPI(title="crrt", version=__version__,
                  summary="Coordination platform for the EU Cyber Rapid Response Teams",
                  openapi_url=f"{API_PREFIX}/openapi.json", docs_url=None,
                  redoc_url=None)
    app.state.settings = settings
    app.state.database = database

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        for header, value in SECURITY_HEADERS.items():
            response.headers.setdefault(header, value)
        if request.url.path.startswith(API_PREFIX):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    app.add_middleware(BodyLimit, default=MAX_BODY, larger={"/experts/import": MAX_UPLOAD},
                       headers=SECURITY_HEADERS)

    api = APIRouter(prefix=API_PREFIX)
    for router in (health_router, auth_router, organisations_router, experts_router,
                   audit_router):
        api.include_router(router)
    app.include_router(api)
    app.include_router(web_router)
    mount_static(app)
    _install_error_handlers(app)
    return app


