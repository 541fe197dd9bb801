"""Which language and time zone a request's pages are rendered in (see :mod:`crrt.web.i18n`).

Found once per request and kept in ``request.state``: from the account's choices once the
session is read (:func:`crrt.web.session.viewer`), from the sign-in page's language cookie and
the browser's ``Accept-Language`` before.
"""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session

from crrt.access.principal import Principal
from crrt.auth import service as auth_service
from crrt.experts import service as expert_service
from crrt.web import i18n
from crrt.web.i18n import LANGUAGE_COOKIE, Viewpoint


def _browser_language(request: Request, chosen: str | None = None) -> str:
    return i18n.negotiate(chosen, request.cookies.get(LANGUAGE_COOKIE),
                          accept_language=request.headers.get("accept-language"))


def of(request: Request) -> Viewpoint:
    """The request's viewpoint: the one found with its session, else the browser's language
    in UTC."""
    found: Viewpoint | None = getattr(request.state, "viewpoint", None)
    if found is None:
        found = Viewpoint(language=_browser_language(request))
        request.state.viewpoint = found
    return found


def for_account(request: Request, db: Session, principal: Principal | None) -> Viewpoint:
    """The signed-in person's choices (language, zone), else the linked expert's zone, else
    the browser's language in UTC; kept for the rest of the request."""
    language = zone = None
    if principal is not None and principal.user_id is not None:
        language, zone = auth_service.page_preferences(db, principal.user_id)
        if zone is None:
            zone = expert_service.zone_of_user(db=db, user_id=principal.user_id)
    found = Viewpoint(language=_browser_language(request, language),
                      zone=i18n.valid_zone(zone) or i18n.DEFAULT_ZONE)
    request.state.viewpoint = found
    return found
