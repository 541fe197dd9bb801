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
from crrt.core.http import Db

Identify = Callable[[Request, Session, HTTPAuthorizationCredentials | None], Principal | None]

bearer = HTTPBearer(auto_error=False, description="An API token from `crrt token create`.")


def optional_principal(request: Request, db: Db,
                       credentials: Annotated[HTTPAuthorizationCredentials | None,
                                              Depends(bearer)] = None) -> Principal | None:
    """The caller if it identified itself; a bad credential is a 401, not anonymity."""
    identify: Identify = request.app.state.identify
    return identify(request, db, credentials)


def current_principal(principal: Annotated[Principal | None,
                                           Depends(optional_principal)]) -> Principal:
    if principal is None:
        raise Unauthenticated()
    return principal


Me = Annotated[Principal, Depends(current_principal)]
