"""Web pages: signing in and out and the dashboard; the other pages' routers are included here.

Routes here only parse, call services and render; what a viewer may see is decided by the
services and :mod:`crrt.access.policy`, exactly as for the API.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from crrt.access import policy
from crrt.access.enums import Role
from crrt.access.policy import Permission
from crrt.access.principal import Principal
from crrt.auth import service as auth_service
from crrt.auth.identify import client_address, session_secret
from crrt.core import clock
from crrt.core.errors import TooManyRequests
from crrt.core.http import Db
from crrt.experts import service as expert_service
from crrt.experts.enums import Clearance
from crrt.experts.schemas import ExpertFilter
from crrt.organisations import service as org_service
from crrt.organisations.enums import Membership, OrgKind
from crrt.web import forms, session
from crrt.web.account_pages import router as account_router
from crrt.web.audit_pages import router as audit_router
from crrt.web.callout_pages import router as callout_router
from crrt.web.charts import bar_chart
from crrt.web.deployment_pages import router as deployment_router
from crrt.web.expert_edit_pages import router as expert_edit_router
from crrt.web.expert_pages import router as expert_router
from crrt.web.i18n import _, place_name
from crrt.web.import_pages import router as import_router
from crrt.web.intel_import_pages import router as intel_import_router
from crrt.web.intel_pages import router as intel_router
from crrt.web.intel_peer_pages import router as intel_peer_router
from crrt.web.organisation_pages import router as organisation_router
from crrt.web.privacy_pages import router as privacy_router
from crrt.web.request_pages import router as request_router
from crrt.web.rotation_pages import router as rotation_router
from crrt.web.session import CheckedForm, PageLanguage, SignedIn, SignInForm, Viewer
from crrt.web.template_pages import router as template_router
from crrt.web.templating import label, render
from crrt.web.user_pages import router as user_router

router = APIRouter(include_in_schema=False)

MEMBERSHIPS = [*(m.value for m in Membership), "none"]
KINDS = [kind.value for kind in OrgKind]


# --- signing in and out -----------------------------------------------------------------------

@router.get("/login")
def login_page(request: Request, me: Viewer, next: str | None = None,
               ended: str | None = None) -> Response:
    """Sign in; ``ended`` says a form was posted after the session ended (nothing was saved,
    and the browser keeps what was typed for the form page to put back)."""
    if me is not None:
        return RedirectResponse(session.safe_next(next), status_code=303)
    return render(request, "login.html", {"next": session.safe_next(next), "email": "",
                                          "ended": ended == "1"})


@router.post("/login")
def login(request: Request, form: SignInForm, _language: PageLanguage) -> Response:
    """Sign in; a failure is recorded (committed by the service) so throttling can count it.

    No request session is opened: the service checks the password with no transaction open
    and writes the attempt and the session in a short one of its own.
    """
    settings = session.settings_of(request)
    email, password = forms.text(form, "email"), form.get("password")
    target = session.safe_next(forms.text(form, "next"))
    context = {"next": target, "email": email}
    if not email or not isinstance(password, str) or not password:
        return render(request, "login.html", {**context, "error": _("Enter your email address "
                                                "and your password.")}, status=401)
    try:
        result = auth_service.login(
            database=request.app.state.database, email=email, password=password,
            address=client_address(request), session_hours=settings.session_hours,
            max_failures=settings.login_max_failures,
            window=timedelta(minutes=settings.login_window_minutes),
            # signing in again replaces the browser's old session, never adds to it
            replaces=session_secret(request))
    except TooManyRequests as exc:
        busy = _("Too many failed sign-ins. Wait a few minutes and try again.")
        return render(request, "login.html", {**context, "error": busy}, status=429,
                      headers={"Retry-After": str(exc.extra.get("retry_after", 60))})
    if result is None:
        return render(request, "login.html", {**context, "error": _("The email address or the "
                                                "password is not right.")}, status=401)
    _user, secret = result
    response = RedirectResponse(target, status_code=303)
    session.set_session_cookie(request, response, secret)
    session.renew_csrf(request, response)  # the token of the sign-in page stops working
    return response


@router.post("/logout")
def logout(request: Request, db: Db, form: CheckedForm) -> Response:
    secret = session_secret(request)
    if secret:
        auth_service.logout(db=db, secret=secret)
    response = RedirectResponse("/login", status_code=303)
    session.clear_session_cookie(request, response)
    return response


# --- dashboard --------------------------------------------------------------------------------

@router.get("/")
def dashboard(request: Request, db: Db, me: SignedIn) -> Response:
    """The project at a glance: organisations for everyone, the pool for those who manage it."""
    orgs = org_service.all_organisations(db=db, actor=me)
    memberships = Counter(o.membership.value if o.membership else "none" for o in orgs)
    kinds = Counter(o.kind.value for o in orgs)
    charts = [
        bar_chart("chart-membership", _("Organisations by membership"),
                  [(label(m), memberships[m], f"/organisations?membership={m}")
                   for m in MEMBERSHIPS]),
        bar_chart("chart-kind", _("Organisations by kind"),
                  [(label(k), kinds[k], f"/organisations?kind={k}") for k in KINDS]),
    ]
    pool_charts = []
    experts_total = pool_of = None
    if policy.may(me, Permission.DASHBOARD_POOL):
        by_nation = expert_service.counts_by_nation(db=db, actor=me)
        by_skill = expert_service.counts_by_skill(db=db, actor=me)
        experts_total = sum(count for _, _, count in by_nation)
        pool_of = by_nation[0][1] if len(by_nation) == 1 else None
        pool_charts = [
            bar_chart("chart-nation", _("Experts by nation"),
                      sorted(((f"{place_name(name, code)} ({code})", count,
                               _pool_link(org=code)) for code, name, count in by_nation),
                             key=lambda row: row[0].casefold())),  # in the page's words
            bar_chart("chart-skill", _("Experts by skill"),
                      [(label(skill), count, _pool_link(skill=skill.value))
                       for skill, count in by_skill]),
        ]
    members = sum(memberships[m.value] for m in (Membership.LEAD, Membership.PARTICIPANT))
    return render(request, "dashboard.html", {
        "charts": charts, "pool_charts": pool_charts, "organisations_total": len(orgs),
        "members_total": members, "observers_total": memberships["observer"],
        "experts_total": experts_total, "pool_of": pool_of, **_to_decide_from(db, me)})


READY_DAYS = 3    # a team deploys within 72 hours
AWAY_DAYS = 30    # the absences a coordinator plans around


def _pool_link(**criteria: str) -> str:
    return "/experts?" + urlencode(criteria)


def _to_decide_from(db: Session, me: Principal) -> dict[str, Any]:
    """What the dashboard puts first: for those who manage the pool, who is free to deploy in
    the next 72 hours, skill by skill (each count a link to that list), and who will be away
    in the next 30 days; for a responder, their own record."""
    today = clock.today()
    last = today + timedelta(days=READY_DAYS - 1)
    span = {"available_on": today.isoformat(), "available_until": last.isoformat()}
    context: dict[str, Any] = {"ready_first": today, "ready_last": last, "ready": [],
                               "away": [], "own": None, "stale": None}
    if policy.may(me, Permission.DASHBOARD_POOL):
        context["stale"] = expert_service.stale_count(db=db, actor=me)
        context["ready"] = [
            (row, {"any": _pool_link(skill=row.skill.value, **span),
                   "expert": _pool_link(skill=row.skill.value, min_level="3", **span),
                   "on_site": _pool_link(skill=row.skill.value, deployability="on_site",
                                         **span),
                   "cleared": _pool_link(skill=row.skill.value,
                                         clearance=Clearance.RESTREINT_UE.value, **span)})
            for row in expert_service.deployable_by_skill(db=db, actor=me, first=today,
                                                          last=last)]
    if policy.may(me, Permission.EXPERTS_READ):
        context["away"] = expert_service.unavailability_starting(
            db=db, actor=me, first=today, last=today + timedelta(days=AWAY_DAYS))
    if me.role is Role.RESPONDER:
        mine, _next = expert_service.list_experts(db=db, actor=me, filters=ExpertFilter(),
                                                  limit=1, cursor=None)
        context["own"] = expert_service.expert_out(db, me, mine[0]) if mine else None
    return context


router.include_router(organisation_router)
router.include_router(import_router)  # before /experts/{expert_id}, which "import" is not
router.include_router(privacy_router)
router.include_router(expert_router)
router.include_router(expert_edit_router)
router.include_router(account_router)
router.include_router(request_router)  # /requests/new before /requests/{request_id}
router.include_router(deployment_router)
router.include_router(callout_router)
router.include_router(template_router)  # before /rotations/{rotation_id}
router.include_router(rotation_router)
router.include_router(audit_router)
router.include_router(intel_import_router)
router.include_router(intel_peer_router)
router.include_router(intel_router)
router.include_router(user_router)
