"""Who is calling an API route: the ``Me`` dependency every part's routes take.

How a caller is identified (a bearer token, a browser session) belongs to the accounts part;
the application wires it in as ``app.state.identify`` so that every part, the accounts part
included, can take ``Me`` from here, below them all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from crrt.access.principal import Principal
from crrt.core.errors import Unauthenticated
from crrt.core.http import READING_METHODS, Db

Identify = Callable[[Request, Session, HTTPAuthorizationCredentials | None], Principal | None]

bearer = HTTPBearer(auto_error=False, description="An API token from `crrt token create`.")


def optional_principal(request: Request, db: Db,
                       credentials: Annotated[HTTPAuthorizationCredentials | None,
                                              Depends(bearer)] = None) -> Principal | None:
    """The caller if it identified itself; a bad credential is a 401, not anonymity.

    A read identifies its caller in its own (reading) session. A write does it in a short
    reading session of its own, so that the request's writing session begins at the route's
    first statement: on SQLite that is when the write lock is taken (``BEGIN IMMEDIATE``),
    and a route that first reads and checks its input (an uploaded sheet) holds no lock;
    on either database, a route that works long before it writes (a solver, an import, a
    sync round) holds no connection meanwhile.
    """
    identify: Identify = request.app.state.identify
    if request.method in READING_METHODS:
        return identify(request, db, credentials)
    with request.app.state.database.session(read_only=True) as reading:
        return identify(request, reading, credentials)


async def current_principal(principal: Annotated[Principal | None,
                                                 Depends(optional_principal)]) -> Principal:
    """The caller, who must have identified itself (401 otherwise). It does no I/O, so it is
    a coroutine: FastAPI runs it on the event loop instead of sending it to a thread."""
    if principal is None:
        raise Unauthenticated()
    return principal


Me = Annotated[Principal, Depends(current_principal)]


T = TypeVar("T")


class Reader:
    """A hot read's whole unit of work in one worker thread: the caller's identification, the
    read and the end of its reading transaction.

    A route built from ``Db`` and ``Me`` sends the identification, the route and the commit to
    a worker thread each, and every hop costs about as much CPU as the SQL of a small page;
    the reads that are made most often (lists, one record) take ``Read`` instead, and are
    ``async`` routes that hand their service function to it.
    """

    def __init__(self, request: Request, credentials: HTTPAuthorizationCredentials | None) -> None:
        self.request, self.credentials = request, credentials

    async def __call__(self, read: Callable[..., T], /, **arguments: Any) -> T:
        """``read(db=..., actor=..., **arguments)`` in a reading session, as the caller."""
        return await run_in_threadpool(self._run, read, arguments)

    def _run(self, read: Callable[..., T], arguments: dict[str, Any]) -> T:
        identify: Identify = self.request.app.state.identify
        with self.request.app.state.database.session(read_only=True) as db:
            principal = identify(self.request, db, self.credentials)
            if principal is None:
                raise Unauthenticated()
            return read(db=db, actor=principal, **arguments)


async def reader(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None,
                                                          Depends(bearer)] = None) -> Reader:
    """The hot read's unit of work. A caller with no credential (no token, no cookie) or with
    an ``Authorization`` that is not a bearer token is a 401 here, before the route's
    parameters are checked, as with ``Me``. A credential is checked in the worker thread,
    with the read, so a wrong token with a malformed query is told of the query (422) first.
    """
    if request.method not in READING_METHODS:
        raise RuntimeError("Read is for GET and HEAD routes; a write takes Db and Me")
    if credentials is None and request.headers.get("authorization"):
        raise Unauthenticated("Send the token as 'Authorization: Bearer <token>'.")
    if credentials is None and not request.cookies:
        raise Unauthenticated()
    return Reader(request, credentials)


Read = Annotated[Reader, Depends(reader)]
