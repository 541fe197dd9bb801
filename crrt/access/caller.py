"""Who is calling an API route: the ``Me`` dependency every part's routes take.

How a caller is identified (a bearer token, a browser session) belongs to the accounts part;
the application wires it in as ``app.state.identify`` so that every part, the accounts part
included, can take ``Me`` from here, below them all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

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
    and a route that first reads and checks its input (an uploaded sheet) holds no lock.
    """
    identify: Identify = request.app.state.identify
    if request.method in READING_METHODS:
        return identify(request, db, credentials)
    with request.app.state.database.session(read_only=True) as reading:
        return identify(request, reading, credentials)


def current_principal(principal: Annotated[Principal | None,
                                           Depends(optional_principal)]) -> Principal:
    if principal is None:
        raise Unauthenticated()
    return principal


Me = Annotated[Principal, Depends(current_principal)]
