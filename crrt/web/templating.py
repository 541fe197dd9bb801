"""Rendering pages: one Jinja2 environment, and what every page's layout needs to know."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from crrt import __version__
from crrt.access import policy
from crrt.access.principal import Principal
from crrt.core import clock
from crrt.web import session

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"

templates = Jinja2Templates(directory=TEMPLATE_DIR)

LABELS = {
    "lead": "Lead nation",
    "participant": "Participant",
    "observer": "Observer",
    "none": "No membership",
    "nation": "Nation",
    "eu_institution": "EU institution",
    "partner": "Partner",
    "joined": "Joined",
    "role_changed": "Role changed",
    "left": "Left",
    "remote": "Remote",
    "on_site": "On site",
    "admin": "Administrator",
    "coordinator": "Coordinator",
    "national_poc": "National point of contact",
    "responder": "Responder",
    "requester": "Requester",
    "csirt": "CSIRT",
    "military": "Military",
    "police": "Police",
    "intelligence": "Intelligence",
    "academia": "Academia",
    "other": "Other",
    "team_lead": "Team lead",
    "incident_handling": "Incident handling",
    "digital_forensics": "Digital forensics",
    "malware_analysis": "Malware analysis",
    "network_forensics": "Network forensics",
    "threat_intelligence": "Threat intelligence",
    "vulnerability_assessment": "Vulnerability assessment",
    "ot_ics": "OT / ICS",
    "cloud": "Cloud",
    "legal_advisor": "Legal advice",
    "communications": "Communications",
}

LEVELS = {1: "working", 2: "advanced", 3: "expert"}


def label(value: Any) -> str:
    """A closed-set value as people read it (``on_site`` -> ``On site``)."""
    if value is None:
        return "—"
    key = getattr(value, "value", value)
    return LABELS.get(str(key), str(key).replace("_", " ").capitalize())


def utc(moment: datetime | date | None) -> str:
    """A time as shown until pages learn the viewer's zone: UTC, and saying so."""
    if moment is None:
        return "—"
    if isinstance(moment, datetime):
        return clock.as_utc(moment).strftime("%Y-%m-%d %H:%M UTC")
    return moment.isoformat()


templates.env.filters["label"] = label
templates.env.filters["utc"] = utc
templates.env.globals["LEVELS"] = LEVELS
templates.env.globals["version"] = __version__


def layout(request: Request) -> dict[str, Any]:
    """What the shared layout shows: who is signed in, the menu they may use, the CSRF token."""
    me: Principal | None = getattr(request.state, "principal", None)
    nav = []
    if me is not None:
        nav = [("/", "Dashboard"), ("/organisations", "Organisations")]
        if policy.may(me, policy.Permission.EXPERTS_READ):
            nav.append(("/experts", "Expert pool"))
    path = request.url.path
    current = next((href for href, _ in reversed(nav)
                    if path == href or (href != "/" and path.startswith(href + "/"))), None)
    return {"request": request, "me": me, "nav": nav, "current": current,
            "csrf_token": session.csrf_token_for(request)}


def render(request: Request, template: str, context: dict[str, Any] | None = None, *,
           status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    """A page, with the CSRF nonce cookie handed out if the browser had none."""
    response = templates.TemplateResponse(request, template, {**layout(request),
                                                              **(context or {})},
                                          status_code=status, headers=headers)
    response.headers.setdefault("Cache-Control", "no-store")
    session.keep_csrf(request, response)
    return response
