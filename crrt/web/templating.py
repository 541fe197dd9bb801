"""Rendering pages: one Jinja2 environment, and what every page's layout needs to know."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from crrt import __version__
from crrt.access import policy
from crrt.access.principal import Principal
from crrt.web import i18n, session, viewpoint
from crrt.web.i18n import N_

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"

templates = Jinja2Templates(directory=TEMPLATE_DIR)

LABELS = {
    "lead": N_("Lead nation"),
    "participant": N_("Participant"),
    "observer": N_("Observer"),
    "none": N_("No membership"),
    "nation": N_("Nation"),
    "eu_institution": N_("EU institution"),
    "partner": N_("Partner"),
    "joined": N_("Joined"),
    "role_changed": N_("Role changed"),
    "left": N_("Left"),
    "remote": N_("Remote"),
    "on_site": N_("On site"),
    "admin": N_("Administrator"),
    "coordinator": N_("Coordinator"),
    "national_poc": N_("National point of contact"),
    "responder": N_("Responder"),
    "requester": N_("Requester"),
    "csirt": N_("CSIRT"),
    "military": N_("Military"),
    "police": N_("Police"),
    "intelligence": N_("Intelligence"),
    "academia": N_("Academia"),
    "other": N_("Other"),
    "team_lead": N_("Team lead"),
    "incident_handling": N_("Incident handling"),
    "digital_forensics": N_("Digital forensics"),
    "malware_analysis": N_("Malware analysis"),
    "network_forensics": N_("Network forensics"),
    "threat_intelligence": N_("Threat intelligence"),
    "vulnerability_assessment": N_("Vulnerability assessment"),
    "ot_ics": N_("OT / ICS"),
    "cloud": N_("Cloud"),
    "legal_advisor": N_("Legal advice"),
    "communications": N_("Communications"),
    "draft": N_("Draft"),
    "published": N_("Published"),
    "discarded": N_("Discarded"),
    # Translators: the solver proved no plan is better
    "optimal": N_("Optimal"),
    # Translators: every seat filled; the solver did not prove it the best
    "feasible": N_("Every seat filled"),
    # Translators: some seats or rules could not be met
    "infeasible": N_("Partly filled"),
    # requests for assistance
    "member_state": N_("Other EU member state"),
    "csdp_mission": N_("CSDP mission"),
    "incident_response": N_("Incident response"),
    "election_support": N_("Election support"),
    "training": N_("Training"),
    "hybrid": N_("Hybrid"),
    "nato": N_("NATO"),
    "eu_cybersecurity_reserve": N_("EU Cybersecurity Reserve"),
    "csirts_network": N_("CSIRTs Network"),
    "bilateral": N_("Bilateral"),
    "phone": N_("Phone"),
    "email": N_("E-mail"),
    "web": N_("Web form"),
    "api": N_("API"),
    "submitted": N_("Submitted"),
    # Translators: a request's state: before the CRRT Council
    "council": N_("Before the Council"),
    "activated": N_("Activated"),
    "declined": N_("Declined"),
    "withdrawn": N_("Withdrawn"),
    "support": N_("Support"),
    # Translators: a nation's position in the CRRT Council: it objects to the activation
    "object": N_("Objection"),
    "abstain": N_("Abstain"),
    "activate": N_("Activate"),
    "decline": N_("Decline"),
    "triage": N_("Triage"),
    "decision": N_("Decision"),
    # Translators: the SLA clock of a team on its way (72 hours)
    "response": N_("Response"),
    "running": N_("Running"),
    "due_soon": N_("Due soon"),
    "breached": N_("Breached"),
    "met": N_("Met"),
    "met_late": N_("Met late"),
    "stopped": N_("Stopped"),
    # deployments
    "planned": N_("Planned"),
    # Translators: a deployment's state: the team is travelling or setting up
    "deploying": N_("On its way"),
    # Translators: a deployment's state: the team is at work
    "deployed": N_("In the field"),
    "completed": N_("Completed"),
    "cancelled": N_("Cancelled"),
    # Translators: a nation's consent or a call-out not given or answered yet
    "pending": N_("Pending"),
    "confirmed": N_("Confirmed"),
    # Translators: a call-out's state: sent, not answered yet
    "sent": N_("Sent"),
    "accepted": N_("Accepted"),
    # Translators: a call-out's state: unanswered in time, passed on to another expert
    "escalated": N_("Passed on"),
    # Translators: where a proposed member came from: the team on duty
    "rotation": N_("Team on duty"),
    # Translators: where a proposed member came from: the wider pool of experts
    "pool": N_("Pool"),
    "travel": N_("Travel"),
    "accommodation": N_("Accommodation"),
    "per_diem": N_("Per diem"),
    "equipment": N_("Equipment"),
    "licences": N_("Licences"),
    "requester_pays": N_("The requester pays"),
    "lie_where_they_fall": N_("Costs lie where they fall"),
    "common_budget": N_("A common budget, split by a key"),
}

LEVELS = {1: N_("working"), 2: N_("advanced"), 3: N_("expert")}


def label(value: Any) -> str:
    """A closed-set value as people read it, in their language (``on_site`` -> ``On site``)."""
    if value is None:
        return "—"
    key = getattr(value, "value", value)
    known = LABELS.get(str(key))
    return i18n.gettext(known) if known else str(key).replace("_", " ").capitalize()


def inline_label(value: Any) -> str:
    """A label inside a sentence ("Joined as participant"): its first letter small, except in
    German, whose nouns keep their capital."""
    text = label(value)
    return text if i18n.current().language == "de" else text[:1].lower() + text[1:]


def level(value: int) -> str:
    """A skill level's name (1 working, 2 advanced, 3 expert), in the viewer's language."""
    return i18n.gettext(LEVELS[value]) if value in LEVELS else str(value)


templates.env.add_extension("jinja2.ext.i18n")
templates.env.install_gettext_callables(  # type: ignore[attr-defined]
    gettext=i18n.raw_gettext, ngettext=i18n.raw_ngettext, pgettext=i18n.raw_pgettext,
    newstyle=True)
templates.env.filters["label"] = label
templates.env.filters["level"] = level
templates.env.filters["inline_label"] = inline_label
templates.env.filters["moment"] = i18n.format_moment
templates.env.filters["day"] = i18n.format_day
templates.env.filters["count"] = i18n.format_count
templates.env.filters["money"] = i18n.format_money
templates.env.filters["place"] = i18n.place_name
templates.env.filters["language"] = i18n.language_name
templates.env.globals["LEVELS"] = LEVELS
templates.env.globals["LANGUAGES"] = i18n.LANGUAGES
templates.env.globals["version"] = __version__


def layout(request: Request) -> dict[str, Any]:
    """What the shared layout shows: who is signed in, the menu they may use, the CSRF token."""
    me: Principal | None = getattr(request.state, "principal", None)
    nav = []
    if me is not None:
        nav = [("/", i18n.gettext("Dashboard")), ("/organisations", i18n.gettext("Organisations"))]
        if policy.may(me, policy.Permission.EXPERTS_READ):
            nav.append(("/experts", i18n.gettext("Expert pool")))
        if policy.may(me, policy.Permission.REQUESTS_READ):
            nav.append(("/requests", i18n.gettext("Requests")))
        if policy.may(me, policy.Permission.DEPLOYMENTS_READ):
            nav.append(("/deployments", i18n.gettext("Deployments")))
        if policy.may(me, policy.Permission.CALLOUTS_ANSWER):
            nav.append(("/callouts", i18n.gettext("Call-outs")))
        if policy.may(me, policy.Permission.ROTATIONS_READ):
            nav.append(("/rotations", i18n.gettext("Rotations")))
        if policy.may(me, policy.Permission.CALENDAR_OWN):
            nav.append(("/duty", i18n.gettext("My duty")))
        if policy.may(me, policy.Permission.INTEL_READ):
            nav.append(("/intel", i18n.gettext("Intel")))
        if policy.may(me, policy.Permission.AUDIT_READ):
            nav.append(("/audit", i18n.gettext("Audit log")))
        if policy.may(me, policy.Permission.USERS_MANAGE):
            nav.append(("/users", i18n.gettext("Users")))
    path = request.url.path
    current = next((href for href, _ in reversed(nav)
                    if path == href or (href != "/" and path.startswith(href + "/"))), None)
    view = i18n.current()
    return {"request": request, "me": me, "nav": nav, "current": current,
            "csrf_token": session.csrf_token_for(request), "lang": view.language,
            "zone": view.zone}


def render(request: Request, template: str, context: dict[str, Any] | None = None, *,
           status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    """A page in the viewer's language and zone, with the CSRF nonce cookie handed out if the
    browser had none."""
    i18n.use(viewpoint.of(request))
    response = templates.TemplateResponse(request, template, {**layout(request),
                                                              **(context or {})},
                                          status_code=status, headers=headers)
    response.headers.setdefault("Cache-Control", "no-store")
    session.keep_csrf(request, response)
    return response
