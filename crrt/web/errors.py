"""Errors shown to people as pages; a page that needs a session sends the visitor to sign in."""

from __future__ import annotations

import logging

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.exc import SQLAlchemyError

from crrt.auth import service as auth_service
from crrt.auth.identify import session_secret
from crrt.web import i18n, session, viewpoint
from crrt.web.i18n import N_, _
from crrt.web.templating import render

log = logging.getLogger("crrt")

FRIENDLY = {
    404: (N_("Page not found"), N_("Nothing is at this address. Check the link, or start "
                                   "again from the dashboard.")),
    405: (N_("Not allowed here"), N_("This page cannot be used that way.")),
}


def _remember_viewer(request: Request, status: int) -> None:
    """Who is signed in, for the layout, when the error came before any page looked.

    An address no route serves (404) never resolved the session; the menu should still show.
    After a crash (500) the database is not asked again.
    """
    if hasattr(request.state, "principal"):
        return
    request.state.principal = None
    secret = session_secret(request)
    if not secret or status >= 500:
        return
    try:
        with request.app.state.database.session(read_only=True) as db:
            request.state.principal = auth_service.session_principal(db, secret)
    except SQLAlchemyError:
        log.warning("could not read the session for an error page", exc_info=True)


def page_for(request: Request, *, status: int, title: str, detail: str) -> Response:
    """The error as a page in the site's layout (a 401 becomes a sign-in redirect)."""
    if status == 401:
        return RedirectResponse(session.login_url(request), status_code=303)
    if status in FRIENDLY and title in ("Error", "Not found") and \
            detail in ("Not Found", "Method Not Allowed"):
        title, detail = FRIENDLY[status]
    _remember_viewer(request, status)
    i18n.use(viewpoint.of(request))
    # The title and detail come from the services in English; a catalogue that has them
    # gives them in the viewer's language.
    return render(request, "error.html", {"status": status, "title": _(title),
                                          "detail": _(detail)}, status=status)
