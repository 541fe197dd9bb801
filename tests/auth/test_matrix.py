"""The authorization matrix (DESIGN §6): every route and every role has an expected answer.

The API routes come from the OpenAPI document and the web pages from the application's routes,
so a new route without a row in :data:`RULES` fails the suite, and so does a row whose route is
gone. Each role (and an anonymous caller) makes one valid request to every route, on a fresh
world per run: an allowed caller must get a 2xx (pages: 200 or the redirect the page makes), a
refused one 401 (anonymous), 403 or 404 (a role), and a page sends an anonymous visitor to sign
in. The EE expert the requests use is the responder's own record, so the responder's rights on
its own record are checked here, and the cross-nation refusals are checked below the matrix.
"""

from __future__ import annotations

import functools
import itertools
import json
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from crrt.access.enums import Role
from crrt.auth import passwords, tokens
from crrt.auth import service as auth_service
from crrt.auth.identify import CSRF_COOKIE, SESSION_COOKIE
from crrt.auth.models import User
from crrt.auth.schemas import TokenIn
from crrt.core import clock
from crrt.core.db import Database
from crrt.organisations import service as org_service
from crrt.organisations.enums import Membership
from crrt.organisations.schemas import OrganisationPatch
from tests.conftest import SYSTEM, World
from tests.support import add_expert, add_institution, add_unavailability, open_web_session

# --- outcomes -----------------------------------------------------------------------------------
OK = "2xx"              # allowed (API)
NO = "refused"          # anonymous: 401; a role: 403 or 404
PAGE = "page 200"       # a page shown
FORBIDDEN = "page 403"  # a page refused to a signed-in role
MISSING = "page 404"    # a page of a record out of the role's reach (a draft plan)
LOGIN = "303 /login"    # sent to sign in (or back to it after signing out)
AWAY = "303 onward"     # a redirect elsewhere: signed in, or a form done

ANON = None
COLUMNS: tuple[Role | None, ...] = (ANON, Role.ADMIN, Role.COORDINATOR, Role.NATIONAL_POC,
                                    Role.RESPONDER, Role.REQUESTER, Role.OBSERVER)

_ = NO
EXPERTS = "/api/v1/experts"
ORGS = "/api/v1/organisations"
TEMPLATES = "/api/v1/team-templates"
ROTATIONS = "/api/v1/rotations"
REQUESTS = "/api/v1/requests"
DEPLOYMENTS = "/api/v1/deployments"
DEPLOYMENT = f"{DEPLOYMENTS}/{{deployment_id}}"
INTEL = "/api/v1/intel/collections"
TAXII_ROOT = "/taxii2/{api_root}/"
TAXII_COLLECTION = f"{TAXII_ROOT}collections/{{collection_id}}/"
TAXII_OBJECT = f"{TAXII_COLLECTION}objects/{{object_id}}/"
TAXII_JSON = "application/taxii+json;version=2.1"
COLLECTION = f"{INTEL}/{{collection_id}}"
PEERS = "/api/v1/intel/peers"
PEER = f"{PEERS}/{{peer_id}}"
RULES: dict[tuple[str, str], tuple[str, ...]] = {
    #                                                     anon  admin coord poc   resp  req   obs
    ("GET", "/api/v1/health"):                           (OK,   OK,   OK,   OK,   OK,   OK,   OK),
    ("GET", "/api/v1/me"):                               (_,    OK,   OK,   OK,   OK,   OK,   OK),
    ("GET", "/api/v1/me/tokens"):                        (_,    OK,   OK,   OK,   OK,   OK,   OK),
    ("POST", "/api/v1/me/tokens"):                       (_,    OK,   OK,   OK,   OK,   OK,   OK),
    ("DELETE", "/api/v1/me/tokens/{token_id}"):          (_,    OK,   OK,   OK,   OK,   OK,   OK),
    ("GET", "/api/v1/users"):                            (_,    OK,   _,    _,    _,    _,    _),
    ("POST", "/api/v1/users"):                           (_,    OK,   _,    _,    _,    _,    _),
    ("GET", "/api/v1/users/{user_id}"):                  (_,    OK,   _,    _,    _,    _,    _),
    ("PATCH", "/api/v1/users/{user_id}"):                (_,    OK,   _,    _,    _,    _,    _),
    # another user's tokens (the spare user's): only an admin reaches them
    ("GET", "/api/v1/users/{user_id}/tokens"):           (_,    OK,   _,    _,    _,    _,    _),
    ("DELETE", "/api/v1/users/{user_id}/tokens/{token_id}"):
                                                         (_,    OK,   _,    _,    _,    _,    _),
    # rotations: read by the participating nations' people (not requesters, not observers);
    # planned centrally
    ("GET", TEMPLATES):                                  (_,    OK,   OK,   OK,   OK,   _,    _),
    ("POST", TEMPLATES):                                 (_,    OK,   OK,   _,    _,    _,    _),
    ("GET", f"{TEMPLATES}/{{template_id}}"):             (_,    OK,   OK,   OK,   OK,   _,    _),
    ("PATCH", f"{TEMPLATES}/{{template_id}}"):           (_,    OK,   OK,   _,    _,    _,    _),
    ("GET", "/api/v1/commitments"):                      (_,    OK,   OK,   OK,   OK,   _,    _),
    # Estonia's commitment: its POC states it
    ("PUT", "/api/v1/commitments/{code}"):               (_,    OK,   OK,   OK,   _,    _,    _),
    ("DELETE", "/api/v1/commitments/{code}"):            (_,    OK,   OK,   OK,   _,    _,    _),
    ("POST", f"{ROTATIONS}/plan"):                       (_,    OK,   OK,   _,    _,    _,    _),
    ("GET", f"{ROTATIONS}/plans"):                       (_,    OK,   OK,   OK,   OK,   _,    _),
    # a draft: only those who plan see it
    ("GET", f"{ROTATIONS}/plans/{{plan_id}}"):           (_,    OK,   OK,   _,    _,    _,    _),
    ("GET", f"{ROTATIONS}/plans/{{plan_id}}/check"):     (_,    OK,   OK,   _,    _,    _,    _),
    ("POST", f"{ROTATIONS}/plans/{{plan_id}}/publish"):  (_,    OK,   OK,   _,    _,    _,    _),
    ("POST", f"{ROTATIONS}/plans/{{plan_id}}/discard"):  (_,    OK,   OK,   _,    _,    _,    _),
    ("GET", ROTATIONS):                                  (_,    OK,   OK,   OK,   OK,   _,    _),
    ("GET", f"{ROTATIONS}/current"):                     (_,    OK,   OK,   OK,   OK,   _,    _),
    ("GET", f"{ROTATIONS}/{{rotation_id}}"):             (_,    OK,   OK,   OK,   OK,   _,    _),
    ("GET", f"{ROTATIONS}/{{rotation_id}}/duty"):        (_,    OK,   OK,   OK,   OK,   _,    _),
    ("GET", f"{ROTATIONS}/{{rotation_id}}/calendar.ics"):
                                                         (_,    OK,   OK,   OK,   OK,   _,    _),
    ("POST", f"{ROTATIONS}/{{rotation_id}}/replace"):    (_,    OK,   OK,   _,    _,    _,    _),
    # one's own duty and calendar address: only the responder has an expert record
    ("GET", "/api/v1/me/duty"):                          (_,    _,    _,    _,    OK,   _,    _),
    ("POST", "/api/v1/me/calendar"):                     (_,    _,    _,    _,    OK,   _,    _),
    ("DELETE", "/api/v1/me/calendar"):                   (_,    _,    _,    _,    OK,   _,    _),
    ("GET", "/api/v1/calendars/nations/{code}.ics"):     (_,    OK,   OK,   OK,   OK,   _,    _),
    # the secret address is the credential
    ("GET", "/api/v1/calendars/{token}.ics"):            (OK,   OK,   OK,   OK,   OK,   OK,   OK),
    # requests for assistance: a requester for its own organisation, a coordinator on its
    # behalf; read under the request's TLP (an AMBER one reaches the participants' people)
    ("POST", REQUESTS):                                  (_,    _,    OK,   _,    _,    OK,   _),
    ("GET", REQUESTS):                                   (_,    OK,   OK,   OK,   _,    OK,   _),
    ("GET", f"{REQUESTS}/{{request_id}}"):               (_,    OK,   OK,   OK,   _,    OK,   _),
    ("GET", f"{REQUESTS}/{{request_id}}/timeline"):      (_,    OK,   OK,   OK,   _,    OK,   _),
    ("POST", f"{REQUESTS}/{{request_id}}/withdraw"):     (_,    _,    OK,   _,    _,    OK,   _),
    # the Council: the coordination cell triages and decides, each participant's POC
    # records its nation's position
    ("POST", f"{REQUESTS}/{{request_id}}/triage"):       (_,    _,    OK,   _,    _,    _,    _),
    ("POST", f"{REQUESTS}/{{request_id}}/priority"):     (_,    _,    OK,   _,    _,    _,    _),
    ("POST", f"{REQUESTS}/{{request_id}}/attachments"):  (_,    _,    OK,   _,    _,    OK,   _),
    ("GET", f"{REQUESTS}/{{request_id}}/attachments"):   (_,    OK,   OK,   OK,   _,    OK,   _),
    ("GET", f"{REQUESTS}/{{request_id}}/attachments/{{attachment_id}}"):
                                                         (_,    OK,   OK,   OK,   _,    OK,   _),
    ("GET", f"{REQUESTS}/{{request_id}}/positions"):     (_,    OK,   OK,   OK,   _,    OK,   _),
    ("POST", f"{REQUESTS}/{{request_id}}/positions"):    (_,    _,    _,    OK,   _,    _,    _),
    ("POST", f"{REQUESTS}/{{request_id}}/decision"):     (_,    _,    OK,   _,    _,    _,    _),
    # deployments: read under their marking (the Council's nations, the team, the requester);
    # the coordination cell runs them, a nation's POC consents for its own experts, the
    # called-out responder answers (a signed link answers without signing in)
    ("GET", DEPLOYMENTS):                                (_,    OK,   OK,   OK,   OK,   OK,   _),
    ("GET", DEPLOYMENT):                                 (_,    OK,   OK,   OK,   OK,   OK,   _),
    ("PATCH", DEPLOYMENT):                               (_,    _,    OK,   _,    _,    _,    _),
    ("POST", f"{DEPLOYMENT}/status"):                    (_,    _,    OK,   _,    _,    _,    _),
    ("PUT", f"{DEPLOYMENT}/arrangement"):                (_,    _,    OK,   _,    _,    _,    _),
    ("POST", f"{DEPLOYMENT}/report"):                    (_,    _,    OK,   _,    _,    _,    _),
    ("POST", f"{DEPLOYMENT}/consents"):                  (_,    _,    _,    OK,   _,    _,    _),
    ("POST", f"{DEPLOYMENT}/callouts/{{expert_id}}/answer"):
                                                         (_,    _,    _,    _,    OK,   _,    _),
    ("GET", f"{DEPLOYMENT}/costs"):                      (_,    OK,   OK,   OK,   OK,   OK,   _),
    ("POST", f"{DEPLOYMENT}/costs"):                     (_,    _,    OK,   OK,   _,    _,    _),
    ("DELETE", f"{DEPLOYMENT}/costs/{{item_id}}"):       (_,    _,    OK,   OK,   _,    _,    _),
    ("PUT", f"{DEPLOYMENT}/cost-sharing"):               (_,    _,    OK,   _,    _,    _,    _),
    ("GET", "/api/v1/callouts"):                         (_,    _,    _,    _,    OK,   _,    _),
    # intel: the scene's collection has Lithuania and Estonia writing, CERT-EU and Germany
    # reading; the coordination cell makes collections
    ("GET", INTEL):                                      (_,    OK,   OK,   OK,   OK,   OK,   OK),
    ("POST", INTEL):                                     (_,    OK,   OK,   _,    _,    _,    _),
    ("GET", COLLECTION):                                 (_,    OK,   OK,   OK,   OK,   OK,   OK),
    ("GET", f"{COLLECTION}/objects"):                    (_,    OK,   OK,   OK,   OK,   OK,   OK),
    ("POST", f"{COLLECTION}/objects"):                   (_,    OK,   OK,   OK,   OK,   _,    _),
    ("POST", "/api/v1/intel/indicators"):                (_,    OK,   OK,   OK,   OK,   _,    _),
    ("POST", "/api/v1/intel/correlate"):                 (_,    OK,   OK,   OK,   OK,   OK,   OK),
    ("POST", f"{COLLECTION}/misp"):                      (_,    OK,   OK,   OK,   OK,   _,    _),
    ("GET", f"{COLLECTION}/misp"):                       (_,    OK,   OK,   OK,   OK,   OK,   OK),
    ("GET", f"{COLLECTION}/bundle"):                     (_,    OK,   OK,   OK,   OK,   OK,   OK),
    ("GET", f"{COLLECTION}/values.csv"):                 (_,    OK,   OK,   OK,   OK,   OK,   OK),
    # federation peers: the coordination cell (a round with the scene's peer fails to
    # connect, and answers its log entry)
    ("GET", PEERS):                                      (_,    OK,   OK,   _,    _,    _,    _),
    ("POST", PEERS):                                     (_,    OK,   OK,   _,    _,    _,    _),
    ("GET", PEER):                                       (_,    OK,   OK,   _,    _,    _,    _),
    ("PATCH", PEER):                                     (_,    OK,   OK,   _,    _,    _,    _),
    ("DELETE", PEER):                                    (_,    OK,   OK,   _,    _,    _,    _),
    ("POST", f"{PEER}/sync"):                            (_,    OK,   OK,   _,    _,    _,    _),
    ("GET", f"{PEER}/log"):                              (_,    OK,   OK,   _,    _,    _,    _),
    # TAXII 2.1: the same collections; an object is taken out by the organisation that shared
    # it (Estonia's, here) or the coordination cell; a status is its sender's
    ("GET", "/taxii2/"):                                 (_,    OK,   OK,   OK,   OK,   OK,   OK),
    ("GET", TAXII_ROOT):                                 (_,    OK,   OK,   OK,   OK,   OK,   OK),
    ("GET", f"{TAXII_ROOT}status/{{status_id}}/"):       (_,    OK,   OK,   OK,   OK,   OK,   OK),
    ("GET", f"{TAXII_ROOT}collections/"):                (_,    OK,   OK,   OK,   OK,   OK,   OK),
    ("GET", TAXII_COLLECTION):                           (_,    OK,   OK,   OK,   OK,   OK,   OK),
    ("GET", f"{TAXII_COLLECTION}manifest/"):             (_,    OK,   OK,   OK,   OK,   OK,   OK),
    ("GET", f"{TAXII_COLLECTION}objects/"):              (_,    OK,   OK,   OK,   OK,   OK,   OK),
    ("POST", f"{TAXII_COLLECTION}objects/"):             (_,    OK,   OK,   OK,   OK,   _,    _),
    ("GET", TAXII_OBJECT):                               (_,    OK,   OK,   OK,   OK,   OK,   OK),
    ("DELETE", TAXII_OBJECT):                            (_,    _,    OK,   OK,   OK,   _,    _),
    ("GET", f"{TAXII_OBJECT}versions/"):                 (_,    OK,   OK,   OK,   OK,   OK,   OK),
    ("GET", f"{ORGS}/{{code}}/arrangements"):            (_,    OK,   OK,   _,    _,    _,    _),
    ("POST", f"{ORGS}/{{code}}/arrangements"):           (_,    OK,   OK,   _,    _,    _,    _),
    ("GET", ORGS):                                       (_,    OK,   OK,   OK,   OK,   OK,   OK),
    ("POST", ORGS):                                      (_,    OK,   OK,   _,    _,    _,    _),
    ("GET", f"{ORGS}/{{code}}"):                         (_,    OK,   OK,   OK,   OK,   OK,   OK),
    ("PATCH", f"{ORGS}/{{code}}"):                       (_,    OK,   OK,   _,    _,    _,    _),
    ("GET", f"{ORGS}/{{code}}/history"):                 (_,    OK,   OK,   OK,   OK,   OK,   OK),
    ("DELETE", f"{ORGS}/{{code}}/history/{{change_id}}"):
                                                         (_,    OK,   OK,   _,    _,    _,    _),
    ("GET", f"{ORGS}/{{code}}/institutions"):            (_,    OK,   OK,   OK,   OK,   OK,   OK),
    ("POST", f"{ORGS}/{{code}}/institutions"):           (_,    OK,   OK,   OK,   _,    _,    _),
    ("GET", f"{ORGS}/{{code}}/institutions/{{institution_id}}"):
                                                         (_,    OK,   OK,   OK,   OK,   OK,   OK),
    ("PATCH", f"{ORGS}/{{code}}/institutions/{{institution_id}}"):
                                                         (_,    OK,   OK,   OK,   _,    _,    _),
    ("DELETE", f"{ORGS}/{{code}}/institutions/{{institution_id}}"):
                                                         (_,    OK,   OK,   OK,   _,    _,    _),
    ("GET", EXPERTS):                                    (_,    OK,   OK,   OK,   OK,   _,    _),
    ("POST", EXPERTS):                                   (_,    OK,   OK,   OK,   _,    _,    _),
    # the empty template holds no one's data: any signed-in user may fetch it
    ("GET", f"{EXPERTS}/import/template.csv"):           (_,    OK,   OK,   OK,   OK,   OK,   OK),
    ("GET", f"{EXPERTS}/import/template.xlsx"):          (_,    OK,   OK,   OK,   OK,   OK,   OK),
    ("POST", f"{EXPERTS}/import"):                       (_,    OK,   OK,   OK,   _,    _,    _),
    ("GET", f"{EXPERTS}/{{expert_id}}"):                 (_,    OK,   OK,   OK,   OK,   _,    _),
    ("PATCH", f"{EXPERTS}/{{expert_id}}"):               (_,    OK,   OK,   OK,   _,    _,    _),
    ("POST", f"{EXPERTS}/{{expert_id}}/confirm"):        (_,    OK,   OK,   OK,   _,    _,    _),
    ("DELETE", f"{EXPERTS}/{{expert_id}}"):              (_,    OK,   OK,   OK,   _,    _,    _),
    ("GET", f"{EXPERTS}/{{expert_id}}/unavailability"):  (_,    OK,   OK,   OK,   OK,   _,    _),
    ("POST", f"{EXPERTS}/{{expert_id}}/unavailability"): (_,    OK,   OK,   OK,   OK,   _,    _),
    ("DELETE", f"{EXPERTS}/{{expert_id}}/unavailability/{{unavailability_id}}"):
                                                         (_,    OK,   OK,   OK,   OK,   _,    _),
    ("GET", f"{EXPERTS}/{{expert_id}}/personal-data"):   (_,    OK,   OK,   OK,   _,    _,    _),
    ("POST", f"{EXPERTS}/{{expert_id}}/erase"):          (_,    OK,   OK,   OK,   _,    _,    _),
    ("GET", "/api/v1/audit"):                            (_,    OK,   OK,   _,    _,    _,    _),
    # --- web pages (session cookie; forms carry the CSRF token) ---
    ("GET", "/"):                                 (LOGIN, PAGE, PAGE, PAGE, PAGE, PAGE, PAGE),
    ("GET", "/login"):                            (PAGE,  AWAY, AWAY, AWAY, AWAY, AWAY, AWAY),
    ("POST", "/login"):                           (AWAY,  AWAY, AWAY, AWAY, AWAY, AWAY, AWAY),
    ("POST", "/logout"):                          (LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN,
                                                   LOGIN),
    ("GET", "/organisations"):                    (LOGIN, PAGE, PAGE, PAGE, PAGE, PAGE, PAGE),
    ("GET", "/organisations/{code}"):             (LOGIN, PAGE, PAGE, PAGE, PAGE, PAGE, PAGE),
    # adding an organisation: admins and coordinators
    ("GET", "/organisations/new"):                (LOGIN, PAGE, PAGE, FORBIDDEN, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    ("POST", "/organisations/new"):               (LOGIN, AWAY, AWAY, FORBIDDEN, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    # the contact card (EE): central roles, and the POC of its own nation
    ("GET", "/organisations/{code}/edit"):        (LOGIN, PAGE, PAGE, PAGE, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    ("POST", "/organisations/{code}/edit"):       (LOGIN, AWAY, AWAY, AWAY, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    # membership changes: central roles only
    ("POST", "/organisations/{code}/membership"): (LOGIN, AWAY, AWAY, FORBIDDEN, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    ("POST", "/organisations/{code}/history/{change_id}/cancel"):
                                                  (LOGIN, AWAY, AWAY, FORBIDDEN, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    # institutions (EE's): central roles, and the POC of its own nation
    ("GET", "/organisations/{code}/institutions/new"):
                                                  (LOGIN, PAGE, PAGE, PAGE, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    ("POST", "/organisations/{code}/institutions/new"):
                                                  (LOGIN, AWAY, AWAY, AWAY, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    ("GET", "/organisations/{code}/institutions/{institution_id}/edit"):
                                                  (LOGIN, PAGE, PAGE, PAGE, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    ("POST", "/organisations/{code}/institutions/{institution_id}/edit"):
                                                  (LOGIN, AWAY, AWAY, AWAY, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    ("POST", "/organisations/{code}/institutions/{institution_id}/delete"):
                                                  (LOGIN, AWAY, AWAY, AWAY, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    ("GET", "/experts"):                          (LOGIN, PAGE, PAGE, PAGE, PAGE, FORBIDDEN,
                                                   FORBIDDEN),
    ("GET", "/experts/new"):                      (LOGIN, PAGE, PAGE, PAGE, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    ("POST", "/experts/new"):                     (LOGIN, AWAY, AWAY, AWAY, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    # the spreadsheet import: who may write some nation's experts (the check is a page)
    ("GET", "/experts/import"):                   (LOGIN, PAGE, PAGE, PAGE, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    ("POST", "/experts/import"):                  (LOGIN, PAGE, PAGE, PAGE, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    ("POST", "/experts/import/confirm"):          (LOGIN, AWAY, AWAY, AWAY, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    # personal data: as the API; a responder not even on its own record
    ("GET", "/experts/{expert_id}/personal-data"):
                                                  (LOGIN, PAGE, PAGE, PAGE, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    ("GET", "/experts/{expert_id}/personal-data.json"):
                                                  (LOGIN, PAGE, PAGE, PAGE, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    ("GET", "/experts/{expert_id}/erase"):        (LOGIN, PAGE, PAGE, PAGE, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    ("POST", "/experts/{expert_id}/erase"):       (LOGIN, AWAY, AWAY, AWAY, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    ("GET", "/experts/{expert_id}"):              (LOGIN, PAGE, PAGE, PAGE, PAGE, FORBIDDEN,
                                                   FORBIDDEN),
    # editing and withdrawing: who may write the record; a responder only reads its own
    ("GET", "/experts/{expert_id}/edit"):         (LOGIN, PAGE, PAGE, PAGE, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    ("POST", "/experts/{expert_id}/edit"):        (LOGIN, AWAY, AWAY, AWAY, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    ("POST", "/experts/{expert_id}/confirm"):     (LOGIN, AWAY, AWAY, AWAY, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    ("GET", "/experts/{expert_id}/withdraw"):     (LOGIN, PAGE, PAGE, PAGE, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    ("POST", "/experts/{expert_id}/withdraw"):    (LOGIN, AWAY, AWAY, AWAY, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    # unavailability: a responder on its own record too
    ("POST", "/experts/{expert_id}/unavailability"):
                                                  (LOGIN, AWAY, AWAY, AWAY, AWAY, FORBIDDEN,
                                                   FORBIDDEN),
    ("POST", "/experts/{expert_id}/unavailability/{unavailability_id}/remove"):
                                                  (LOGIN, AWAY, AWAY, AWAY, AWAY, FORBIDDEN,
                                                   FORBIDDEN),
    # rotations: read by every role but requesters; plans and replacements central; a draft
    # is out of reach of those who do not plan
    ("GET", "/rotations"):                        (LOGIN, PAGE, PAGE, PAGE, PAGE, FORBIDDEN,
                                                   FORBIDDEN),
    ("GET", "/rotations/plan"):                   (LOGIN, PAGE, PAGE, FORBIDDEN, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    ("POST", "/rotations/plan"):                  (LOGIN, AWAY, AWAY, FORBIDDEN, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    ("GET", "/rotations/plans/{plan_id}"):        (LOGIN, PAGE, PAGE, MISSING, MISSING,
                                                   FORBIDDEN, FORBIDDEN),
    ("POST", "/rotations/plans/{plan_id}/publish"):
                                                  (LOGIN, AWAY, AWAY, MISSING, MISSING,
                                                   FORBIDDEN, FORBIDDEN),
    ("POST", "/rotations/plans/{plan_id}/discard"):
                                                  (LOGIN, AWAY, AWAY, MISSING, MISSING,
                                                   FORBIDDEN, FORBIDDEN),
    ("GET", "/rotations/templates"):              (LOGIN, PAGE, PAGE, PAGE, PAGE, FORBIDDEN,
                                                   FORBIDDEN),
    ("GET", "/rotations/templates/new"):          (LOGIN, PAGE, PAGE, FORBIDDEN, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    ("POST", "/rotations/templates/new"):         (LOGIN, AWAY, AWAY, FORBIDDEN, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    ("GET", "/rotations/templates/{template_id}/edit"):
                                                  (LOGIN, PAGE, PAGE, FORBIDDEN, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    ("POST", "/rotations/templates/{template_id}/edit"):
                                                  (LOGIN, AWAY, AWAY, FORBIDDEN, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    ("GET", "/rotations/{rotation_id}"):          (LOGIN, PAGE, PAGE, PAGE, PAGE, FORBIDDEN,
                                                   FORBIDDEN),
    ("POST", "/rotations/{rotation_id}/replace"): (LOGIN, PAGE, PAGE, FORBIDDEN, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    # one's own duty: the page says so to an account without an expert record
    ("GET", "/duty"):                             (LOGIN, PAGE, PAGE, PAGE, PAGE, FORBIDDEN,
                                                   FORBIDDEN),
    ("POST", "/duty/calendar"):                   (LOGIN, MISSING, MISSING, MISSING, PAGE,
                                                   FORBIDDEN, FORBIDDEN),
    ("POST", "/duty/calendar/revoke"):            (LOGIN, MISSING, MISSING, MISSING, PAGE,
                                                   FORBIDDEN, FORBIDDEN),
    # requests for assistance: as the API's
    ("GET", "/requests"):                         (LOGIN, PAGE, PAGE, PAGE, FORBIDDEN, PAGE,
                                                   FORBIDDEN),
    ("GET", "/requests/new"):                     (LOGIN, FORBIDDEN, PAGE, FORBIDDEN, FORBIDDEN,
                                                   PAGE, FORBIDDEN),
    ("POST", "/requests/new"):                    (LOGIN, FORBIDDEN, AWAY, FORBIDDEN, FORBIDDEN,
                                                   AWAY, FORBIDDEN),
    ("GET", "/requests/{request_id}"):            (LOGIN, PAGE, PAGE, PAGE, FORBIDDEN, PAGE,
                                                   FORBIDDEN),
    ("POST", "/requests/{request_id}/withdraw"):  (LOGIN, FORBIDDEN, AWAY, FORBIDDEN, FORBIDDEN,
                                                   AWAY, FORBIDDEN),
    ("POST", "/requests/{request_id}/triage"):    (LOGIN, FORBIDDEN, AWAY, FORBIDDEN, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    ("POST", "/requests/{request_id}/position"):  (LOGIN, FORBIDDEN, FORBIDDEN, AWAY, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    ("POST", "/requests/{request_id}/decision"):  (LOGIN, FORBIDDEN, AWAY, FORBIDDEN, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    # deployments: read as the API's; the coordination cell's forms, a nation's consent (EE's
    # POC for its expert awaiting it), a cost as a POC for its own nation
    ("GET", "/deployments"):                      (LOGIN, PAGE, PAGE, PAGE, PAGE, PAGE, FORBIDDEN),
    ("GET", "/deployments/{deployment_id}"):      (LOGIN, PAGE, PAGE, PAGE, PAGE, PAGE, FORBIDDEN),
    ("POST", "/deployments/{deployment_id}/consent"):
                                                  (LOGIN, FORBIDDEN, FORBIDDEN, AWAY, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    ("POST", "/deployments/{deployment_id}/status"):
                                                  (LOGIN, FORBIDDEN, AWAY, FORBIDDEN, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    ("POST", "/deployments/{deployment_id}/logistics"):
                                                  (LOGIN, FORBIDDEN, AWAY, FORBIDDEN, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    ("POST", "/deployments/{deployment_id}/arrangement"):
                                                  (LOGIN, FORBIDDEN, AWAY, FORBIDDEN, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    ("POST", "/deployments/{deployment_id}/report"):
                                                  (LOGIN, FORBIDDEN, AWAY, FORBIDDEN, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    ("POST", "/deployments/{deployment_id}/costs"):
                                                  (LOGIN, FORBIDDEN, AWAY, AWAY, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    ("POST", "/deployments/{deployment_id}/sharing"):
                                                  (LOGIN, FORBIDDEN, AWAY, FORBIDDEN, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    # call-outs: one's own in the app (the responder's expert record); the e-mail's signed
    # link answers for whoever holds it, signed in or not
    ("GET", "/callouts"):                         (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, PAGE,
                                                   FORBIDDEN, FORBIDDEN),
    ("POST", "/callouts/{deployment_id}/{expert_id}/answer"):
                                                  (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, AWAY,
                                                   FORBIDDEN, FORBIDDEN),
    ("GET", "/callouts/{deployment_id}/{expert_id}"):
                                                  (PAGE,  PAGE, PAGE, PAGE, PAGE, PAGE, PAGE),
    ("POST", "/callouts/{deployment_id}/{expert_id}"):
                                                  (PAGE,  PAGE, PAGE, PAGE, PAGE, PAGE, PAGE),
    ("GET", "/account"):                          (LOGIN, PAGE, PAGE, PAGE, PAGE, PAGE, PAGE),
    ("POST", "/account"):                         (LOGIN, AWAY, AWAY, AWAY, AWAY, AWAY, AWAY),
    # one's own password and API tokens (the password given again): every role
    ("GET", "/account/password"):                 (LOGIN, PAGE, PAGE, PAGE, PAGE, PAGE, PAGE),
    ("POST", "/account/password"):                (LOGIN, AWAY, AWAY, AWAY, AWAY, AWAY, AWAY),
    ("GET", "/account/tokens"):                   (LOGIN, PAGE, PAGE, PAGE, PAGE, PAGE, PAGE),
    ("POST", "/account/tokens"):                  (LOGIN, PAGE, PAGE, PAGE, PAGE, PAGE, PAGE),
    ("POST", "/account/tokens/{token_id}/revoke"):
                                                  (LOGIN, AWAY, AWAY, AWAY, AWAY, AWAY, AWAY),
    # the sign-in page's language links: a cookie and back, for anyone
    ("GET", "/language"):                         (AWAY,  AWAY, AWAY, AWAY, AWAY, AWAY, AWAY),
    ("GET", "/audit"):                            (LOGIN, PAGE, PAGE, FORBIDDEN, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    # the chain's check: a button (POST), for the log's readers
    ("POST", "/audit"):                           (LOGIN, PAGE, PAGE, FORBIDDEN, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    # intel pages: every role reads what its organisation reads (the scene's collection: LT
    # and EE write, CERT-EU and DE read); the cell makes collections; writers import
    ("GET", "/intel"):                            (LOGIN, PAGE, PAGE, PAGE, PAGE, PAGE, PAGE),
    ("POST", "/intel"):                           (LOGIN, AWAY, AWAY, FORBIDDEN, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    ("GET", "/intel/collections/{collection_id}"):
                                                  (LOGIN, PAGE, PAGE, PAGE, PAGE, PAGE, PAGE),
    ("GET", "/intel/objects/{stix_id}"):          (LOGIN, PAGE, PAGE, PAGE, PAGE, PAGE, PAGE),
    ("GET", "/intel/correlate"):                  (LOGIN, PAGE, PAGE, PAGE, PAGE, PAGE, PAGE),
    ("POST", "/intel/correlate"):                 (LOGIN, PAGE, PAGE, PAGE, PAGE, PAGE, PAGE),
    # federation peers and their sync log: the coordination cell only (the scene's peer)
    ("GET", "/intel/peers"):                      (LOGIN, PAGE, PAGE, FORBIDDEN, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    ("GET", "/intel/peers/{peer_id}"):            (LOGIN, PAGE, PAGE, FORBIDDEN, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    # CERT-EU shares intel but only reads the scene's collection: its import is refused
    ("GET", "/intel/import"):                     (LOGIN, PAGE, PAGE, PAGE, PAGE, PAGE,
                                                   FORBIDDEN),
    ("POST", "/intel/import"):                    (LOGIN, PAGE, PAGE, PAGE, PAGE, FORBIDDEN,
                                                   FORBIDDEN),
    # users administration: admins only (the spare user and its tokens)
    ("GET", "/users"):                            (LOGIN, PAGE, FORBIDDEN, FORBIDDEN, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    ("GET", "/users/new"):                        (LOGIN, PAGE, FORBIDDEN, FORBIDDEN, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    ("POST", "/users/new"):                       (LOGIN, AWAY, FORBIDDEN, FORBIDDEN, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    ("GET", "/users/{user_id}"):                  (LOGIN, PAGE, FORBIDDEN, FORBIDDEN, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    ("POST", "/users/{user_id}"):                 (LOGIN, AWAY, FORBIDDEN, FORBIDDEN, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
    ("POST", "/users/{user_id}/tokens/{token_id}/revoke"):
                                                  (LOGIN, AWAY, FORBIDDEN, FORBIDDEN, FORBIDDEN,
                                                   FORBIDDEN, FORBIDDEN),
}

SKIPPED_ROUTES = {("GET", "/api/v1/openapi.json")}  # the document itself: public by design


# --- the routes of the application ----------------------------------------------------------------

def _flat_routes(app: Any) -> list[Any]:
    try:  # FastAPI >= 0.16x keeps included routers as nodes; this walks through them
        from fastapi.routing import iter_route_contexts
    except ImportError:  # pragma: no cover - older FastAPI lists the routes flat
        return list(app.routes)
    return list(iter_route_contexts(app.routes))


def api_operations(client: TestClient) -> set[tuple[str, str]]:
    document = client.get("/api/v1/openapi.json").json()
    return {(method.upper(), path) for path, item in document["paths"].items()
            for method in item if method in {"get", "post", "put", "patch", "delete"}}


def web_operations(app: Any) -> set[tuple[str, str]]:
    found = set()
    for route in _flat_routes(app):
        path, methods = getattr(route, "path", None), getattr(route, "methods", None)
        if not path or not methods or getattr(route, "include_in_schema", True):
            continue
        if path.startswith(("/static", "/api/")):
            continue
        found |= {(method, path) for method in methods if method != "HEAD"}
    return found


def all_operations(client: TestClient) -> set[tuple[str, str]]:
    return (api_operations(client) | web_operations(client.app)) - SKIPPED_ROUTES


def test_every_route_has_a_rule_and_every_rule_a_route(client):
    operations = all_operations(client)
    missing = sorted(operations - set(RULES))
    stale = sorted(set(RULES) - operations)
    assert not missing, "routes without a row in RULES (add one): " + ", ".join(
        f"{m} {p}" for m, p in missing)
    assert not stale, "RULES rows for routes that no longer exist: " + ", ".join(
        f"{m} {p}" for m, p in stale)
    assert all(len(row) == len(COLUMNS) for row in RULES.values())


NIL = uuid.UUID(int=0)

# --- the scene each run acts on -------------------------------------------------------------------

PASSWORD = "matrix password 2030"


@functools.cache
def _password_hash() -> str:
    return passwords.hash_password(PASSWORD)


@dataclass
class Scene:
    """The world plus what the requests point at; fresh objects for destructive calls."""

    database: Database
    world: World
    secret_key: str
    ee_expert: uuid.UUID = NIL
    ee_institution: uuid.UUID = NIL
    spare_user: int = 0
    template: uuid.UUID = NIL
    rotation: uuid.UUID = NIL
    seated: uuid.UUID = NIL  # the member a replacement withdraws
    request: uuid.UUID = NIL  # the requester's request for assistance
    deployment: uuid.UUID = NIL  # its deployment: the responder called out, an EE expert
    pending: uuid.UUID = NIL  # the EE expert awaiting consent on the freshest deployment
    attachment: uuid.UUID = NIL  # a file sent with the requester's request
    collection: uuid.UUID = NIL  # a sharing group: LT and EE write, CERT-EU and DE read
    stix_object: str = ""  # an indicator Estonia shared in it
    peer: uuid.UUID = NIL  # a federation peer of that collection, at a port nobody serves
    files: Path = field(default_factory=lambda: Path(tempfile.mkdtemp()) / "files")
    role: Role | None = None  # whose run this is (an import's confirmation is sealed for it)
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))

    def n(self) -> int:
        return next(self.counter)

    def fresh_expert(self) -> int:
        return add_expert(self.database, "EE", name=f"Fresh Expert {self.n()}")

    def fresh_institution(self) -> int:
        return add_institution(self.database, "EE", f"Fresh Institution {self.n()}")

    def fresh_unavailability(self) -> int:
        return add_unavailability(self.database, self.ee_expert,
                                  starts_on=date(2040, 1, 1) + timedelta(days=10 * self.n()))

    def fresh_token(self, user_id: int) -> int:
        with self.database.session() as db:
            user = db.get(User, user_id)
            token, _secret = auth_service.create_token(
                db=db, actor=auth_service.principal_of(db, user), user=user,
                data=TokenIn(name="x"))
            return token.id

    def fresh_draft(self) -> uuid.UUID:
        """A draft of one month of the scene's template, years ahead (each its own month, so
        published ones never overlap)."""
        from crrt.rotations import drafting
        from crrt.rotations.drafting import add_months
        from crrt.rotations.schemas import PlanIn

        return drafting.draft(database=self.database, actor=SYSTEM, data=PlanIn(
            template_id=self.template, start=add_months(date(2040, 1, 1), self.n()), periods=1,
            period_months=1, seconds=5))  # solved in ms; room under load

    def fresh_rotation(self) -> tuple[uuid.UUID, uuid.UUID]:
        """A published rotation and the public id of its one member."""
        from crrt.rotations import publishing

        plan_id = self.fresh_draft()
        with self.database.session() as db:
            rotation = publishing.publish(db=db, actor=SYSTEM, plan_id=plan_id)[0]
            return rotation.public_id, _member_of(db, rotation)

    def fresh_feed(self, user_id: int) -> str:
        from crrt.rotations import feeds

        with self.database.session() as db:
            user = db.get(User, user_id)
            return feeds.new_feed(db=db, actor=auth_service.principal_of(db, user))[0]

    def fresh_request(self) -> uuid.UUID:
        """A request for assistance of the requester's organisation (AMBER)."""
        from crrt.assistance import service as assistance
        from crrt.assistance.enums import Channel
        from crrt.assistance.schemas import RequestIn

        with self.database.session() as db:
            return assistance.submit(db=db, actor=self.world.principals[Role.REQUESTER],
                                     data=RequestIn.model_validate(ASK),
                                     channel=Channel.API).public_id

    def fresh_council_request(self) -> uuid.UUID:
        """A request before the Council (triaged by the coordinator)."""
        from crrt.assistance import service as assistance

        request_id = self.fresh_request()
        with self.database.session() as db:
            assistance.triage(db=db, actor=self.world.principals[Role.COORDINATOR],
                              request_id=request_id)
        return request_id

    def fresh_deployment(self, *, completed: bool = False) -> uuid.UUID:
        """An activated request's deployment: the responder's own expert called out (accepted
        and the deployment completed, if ``completed``), a fresh EE expert awaiting consent."""
        from crrt.assistance import deployments, dispatch, team
        from crrt.assistance.enums import Callout, Consent, Source
        from crrt.assistance.models import DeploymentMember
        from crrt.assistance.schemas import DecisionIn, StatusIn
        from crrt.experts import service as experts
        from crrt.experts.enums import Skill

        request_id = self.fresh_council_request()
        pending = self.fresh_expert()
        links = dispatch.Links(base="", secret=self.secret_key, callout_minutes=30)
        coordinator = self.world.principals[Role.COORDINATOR]
        with self.database.session() as db:
            request, deployment = dispatch.decide(
                db=db, actor=coordinator, request_id=request_id, links=links,
                data=DecisionIn(outcome="activate", team_size=1), rule="no_objection")
            assert deployment is not None
            own = experts.by_public_id(db=db, expert_id=self.ee_expert)
            # the responder's own expert is on every scene's deployment: the earlier ones
            # let go of it (an expert is held by one open deployment at a time)
            db.execute(update(DeploymentMember).where(DeploymentMember.expert_id == own.id)
                       .values(engaged=False))
            member = team.add(db, deployment, team.Candidate(own, Source.POOL),
                              Skill.INCIDENT_HANDLING)
            member.consent = Consent.CONFIRMED
            dispatch.call_out(db, request, deployment, member, links)
            team.add(db, deployment, team.Candidate(
                experts.by_public_id(db=db, expert_id=pending), Source.POOL),
                Skill.INCIDENT_HANDLING)
            deployments.name_readers(db, deployment)
            if completed:
                member.callout = Callout.ACCEPTED
                for status in ("deploying", "deployed", "completed"):
                    deployments.move(db=db, actor=coordinator,
                                     deployment_id=deployment.public_id,
                                     data=StatusIn(status=status))
            self.pending = pending
            return deployment.public_id

    def fresh_object(self) -> str:
        """A GREEN indicator Estonia's POC shares in the scene's collection."""
        from crrt.intel import service as intel

        made = _matrix_indicator()
        with self.database.session() as db:
            outcome = intel.add_objects(db=db, actor=self.world.principals[Role.NATIONAL_POC],
                                        collection_id=self.collection, envelope={
                                            "objects": [made]})
        assert outcome.success_count == 1, outcome
        return str(made["id"])

    def fresh_peer(self) -> uuid.UUID:
        from crrt.intel import peers
        from crrt.intel.peer_schemas import PeerIn
        from tests.support import free_port

        with self.database.session() as db:
            return peers.create_peer(db=db, actor=SYSTEM, secret_key=self.secret_key,
                                     data=PeerIn(
                                         name=f"Matrix peer {self.n()}",
                                         api_root=f"http://127.0.0.1:{free_port()}/taxii2/crrt/",
                                         collection="matrix", local_collection=self.collection,
                                         direction="both", token="matrix-token")).public_id

    def fresh_status(self, role: Role | None) -> uuid.UUID:
        """The status of an (empty) envelope sent by ``role``'s user: a status is its
        sender's."""
        from crrt.intel import service as intel
        from crrt.intel.schemas import AddOut

        actor = self.world.principals[role or Role.OBSERVER]
        with self.database.session() as db:
            return intel.record_status(db=db, actor=actor, collection_id=self.collection,
                                       outcome=AddOut(total_count=0, success_count=0,
                                                      failure_count=0, successes=[],
                                                      failures=[])).public_id

    def fresh_attachment(self) -> uuid.UUID:
        from crrt.assistance import attachments
        from crrt.core.files import FileStore

        with self.database.session() as db:
            return attachments.add(
                db=db, actor=self.world.principals[Role.REQUESTER], request_id=self.request,
                filename="iocs.txt", content_type="text/plain", content=b"198.51.100.7",
                store=FileStore(self.files)).public_id

    def fresh_cost(self, deployment_id: uuid.UUID) -> uuid.UUID:
        """A cost Estonia paid on the deployment."""
        from crrt.assistance import costs
        from crrt.assistance.schemas import CostIn

        with self.database.session() as db:
            return costs.add(db=db, actor=self.world.principals[Role.COORDINATOR],
                             deployment_id=deployment_id, data=CostIn(
                                 kind="travel", amount="12.50", currency="EUR",
                                 paid_by="EE")).public_id

    def fresh_planned_change(self) -> uuid.UUID:
        """A membership change of Estonia planned for a later day, the last of its history."""
        with self.database.session() as db:
            latest = org_service.get(db=db, actor=SYSTEM, code="EE").latest
            flipped = Membership.OBSERVER if latest is Membership.PARTICIPANT \
                else Membership.PARTICIPANT
            org = org_service.update(db=db, actor=SYSTEM, code="EE", data=OrganisationPatch(
                membership=flipped, effective_on=clock.today() + timedelta(days=self.n())))
            return org.history[-1].public_id


def build_scene(database: Database, world: World, secret_key: str,
                files: Path | None = None) -> Scene:
    """The scene; ``files`` is the application's file store, where the sent files go."""
    scene = Scene(database, world, secret_key)
    if files is not None:
        scene.files = files
    scene.ee_expert = add_expert(database, "EE", name="Responder Own",
                                 user_id=world.users[Role.RESPONDER])
    scene.ee_institution = add_institution(database, "EE", "CERT-EE")
    with database.session() as db:
        # everyone has a password: the observer signs in with it (POST /login), and each role
        # gives it again to change it or to create a token in My account; hashed once per run
        for user_id in world.users.values():
            db.get(User, user_id).password_hash = _password_hash()
        spare = auth_service.create_user(db=db, actor=auth_service.principal_of(
            db, db.get(User, world.users[Role.ADMIN])), data=_spare_user())
        scene.spare_user = spare.id
    _rotation_scene(scene)
    scene.request = scene.fresh_request()
    scene.deployment = scene.fresh_deployment()
    scene.attachment = scene.fresh_attachment()
    scene.collection = _collection_scene(database, world)
    scene.stix_object = scene.fresh_object()
    scene.peer = scene.fresh_peer()
    return scene


def _matrix_indicator() -> dict[str, Any]:
    return {"type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}",
            "created": "2026-11-27T10:00:00.000Z", "modified": "2026-11-27T10:00:00.000Z",
            "pattern": "[ipv4-addr:value = '198.51.100.7']", "pattern_type": "stix",
            "valid_from": "2026-11-27T10:00:00Z",
            "object_marking_refs": ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]}


def _collection_scene(database: Database, world: World) -> uuid.UUID:
    from crrt.intel import service as intel
    from crrt.intel.schemas import CollectionIn

    with database.session() as db:
        return intel.create_collection(
            db=db, actor=world.principals[Role.COORDINATOR], data=CollectionIn(
                title="Matrix community", members=["LT", "EE"], readers=["cert-eu", "DE"],
                max_tlp="amber")).public_id


ASK = {"contact_name": "Matrix Contact", "contact_email": "contact@cert-eu.example",
       "affected_entity": "An agency", "sector": "public administration",
       "description": "Phishing with credential theft.", "severity": 2,
       "services": ["incident_response"], "mode": "remote"}


def _member_of(db: Any, rotation: Any) -> uuid.UUID:
    from crrt.experts import service as experts

    cards = experts.team_cards(db=db, expert_ids=[rotation.members[0].expert_id])
    return next(iter(cards.values())).public_id


def _rotation_scene(scene: Scene) -> None:
    """A one-seat template drawn from two Lithuanian experts, and a rotation on duty today."""
    from crrt.rotations import drafting, publishing
    from crrt.rotations import service as rotations
    from crrt.rotations.schemas import PlanIn, TemplateIn

    for n in (1, 2):
        add_expert(scene.database, "LT", name=f"Lithuanian Responder {n}")
    with scene.database.session() as db:
        scene.template = rotations.create_template(db=db, actor=SYSTEM, data=TemplateIn(
            name="Matrix team", min_size=1, max_size=1, min_nations=1, max_per_nation=1,
            languages=[], slots=[{"skill": "incident_handling"}])).public_id
        plan = drafting.draft_in(db=db, actor=SYSTEM, data=PlanIn(
            template_id=scene.template, start=clock.today() - timedelta(days=3), periods=1,
            period_months=1, seconds=5))  # solved in ms; room under load
        scene.rotation = publishing.publish(db=db, actor=SYSTEM,
                                          plan_id=plan.public_id)[0].public_id


def _spare_user():
    from crrt.auth.schemas import UserIn

    return UserIn(email="spare@test.example", name="Spare", role=Role.OBSERVER, org="DE")


# --- one valid request per route ------------------------------------------------------------------

Request = dict[str, Any]
DESTRUCTIVE_EXPERT = {("DELETE", f"{EXPERTS}/{{expert_id}}"),
                      ("POST", f"{EXPERTS}/{{expert_id}}/erase"),
                      ("POST", "/experts/{expert_id}/withdraw"),
                      ("POST", "/experts/{expert_id}/erase")}


def path_params(scene: Scene, method: str, path: str, role: Role | None) -> dict[str, Any]:
    params: dict[str, Any] = {"code": "EE", "user_id": scene.spare_user}
    if "{expert_id}" in path:
        # a destructive call takes a fresh expert, but the responder is asked about its own
        # record: that it may not withdraw or erase even that is the refusal that matters
        destroys = (method, path) in DESTRUCTIVE_EXPERT and role is not Role.RESPONDER
        params["expert_id"] = scene.fresh_expert() if destroys else scene.ee_expert
    if "{institution_id}" in path:
        removes = method == "DELETE" or path.endswith("/delete")
        params["institution_id"] = (scene.fresh_institution() if removes
                                    else scene.ee_institution)
    if "{unavailability_id}" in path:
        params["unavailability_id"] = scene.fresh_unavailability()
    if "{token_id}" in path:  # the caller's own token, or the spare user's under its path
        params["token_id"] = scene.fresh_token(
            scene.spare_user if "{user_id}" in path else scene.world.users[role or Role.OBSERVER])
    if "{change_id}" in path:
        params["change_id"] = scene.fresh_planned_change()
    if "{template_id}" in path:
        params["template_id"] = scene.template
    if "{request_id}" in path:
        if method == "POST" and path.endswith(("/positions", "/position", "/decision")):
            params["request_id"] = scene.fresh_council_request()
        elif method == "POST":
            params["request_id"] = scene.fresh_request()
        else:
            params["request_id"] = scene.request
    if "{deployment_id}" in path:
        if path.endswith("/report"):
            params["deployment_id"] = scene.fresh_deployment(completed=True)
        elif method == "GET":
            params["deployment_id"] = scene.deployment
        else:
            params["deployment_id"] = scene.fresh_deployment()
        if "{item_id}" in path:
            params["item_id"] = scene.fresh_cost(params["deployment_id"])
    if "{attachment_id}" in path:
        params["attachment_id"] = scene.attachment
    if "{collection_id}" in path:
        params["collection_id"] = scene.collection
    if "{api_root}" in path:
        params["api_root"] = "crrt"
    if "{stix_id}" in path:
        params["stix_id"] = scene.stix_object
    if "{object_id}" in path:
        params["object_id"] = scene.fresh_object() if method == "DELETE" else scene.stix_object
    if "{peer_id}" in path:
        params["peer_id"] = scene.fresh_peer() if method == "DELETE" else scene.peer
    if "{status_id}" in path:
        params["status_id"] = scene.fresh_status(role)
    if "{plan_id}" in path:
        params["plan_id"] = scene.fresh_draft()
    if "{rotation_id}" in path:
        if path.endswith("/replace"):
            params["rotation_id"], scene.seated = scene.fresh_rotation()
        else:
            params["rotation_id"] = scene.rotation
    if "{token}" in path:
        params["token"] = scene.fresh_feed(scene.world.users[Role.RESPONDER])
    if (method, path) in {("DELETE", "/api/v1/me/calendar"), ("POST", "/duty/calendar/revoke")} \
            and role is Role.RESPONDER:
        scene.fresh_feed(scene.world.users[role])
    return params


def _template_csv() -> bytes:
    from crrt.experts import importer

    return importer.template().encode()


def _import_confirmation(scene: Scene) -> dict[str, str]:
    import hashlib
    import hmac

    user = str(scene.world.users[scene.role]) if scene.role else ""
    digest = hashlib.sha256(_template_csv()).hexdigest()
    message = "\0".join(("expert-import", user, "EE", digest, "experts.csv"))
    return {"org": "EE", "upload": digest, "filename": "experts.csv", "seal": hmac.new(
        scene.secret_key.encode(), message.encode(), hashlib.sha256).hexdigest()}


def _callout_token(scene: Scene, deployment_id: uuid.UUID | None = None) -> str:
    """The signed link's token of the responder's call-out on ``deployment_id`` (else on the
    deployment made last, for the call that just made it), as its e-mail carries it."""
    from crrt.assistance import dispatch
    from crrt.assistance.models import Deployment, DeploymentMember
    from crrt.experts.models import Expert

    with scene.database.session(read_only=True) as db:
        found = select(DeploymentMember).join(
            Deployment, Deployment.id == DeploymentMember.deployment_id).join(
            Expert, Expert.id == DeploymentMember.expert_id).where(
            Expert.public_id == scene.ee_expert)
        if deployment_id is not None:
            found = found.where(Deployment.public_id == deployment_id)
        member = db.scalars(found.order_by(DeploymentMember.id.desc())).first()
        assert member is not None
        return dispatch.Links(base="", secret=scene.secret_key, callout_minutes=30).token(member)


def _newest_expert_name(scene: Scene) -> str:
    """The name of the fresh expert an erasure was just given: typed to confirm it."""
    from crrt.experts.models import Expert

    with scene.database.session(read_only=True) as db:
        return db.scalars(select(Expert.name).order_by(Expert.id.desc())).first() or ""


BODIES: dict[tuple[str, str], Callable[[Scene], Request]] = {
    ("POST", PEERS): lambda s: {"json": {
        "name": f"Matrix node {s.n()}", "api_root": "https://node.example/taxii2/crrt/",
        "collection": "matrix", "local_collection": str(s.collection)}},
    ("PATCH", PEER): lambda s: {"json": {"name": f"Matrix peer renamed {s.n()}"}},
    ("POST", INTEL): lambda s: {"json": {"title": f"Matrix group {s.n()}", "members": ["EE"]}},
    ("POST", f"{COLLECTION}/misp"): lambda s: {"json": {"Event": {
        "info": "Matrix event", "distribution": "2", "Attribute": [
            {"type": "ip-dst", "value": "198.51.100.8", "to_ids": True}]}}},
    ("POST", "/api/v1/intel/correlate"): lambda s: {"json": {
        "observables": [{"type": "ipv4-addr", "value": "198.51.100.7"}]}},
    ("POST", "/api/v1/intel/indicators"): lambda s: {"json": {
        "observables": [{"type": "ipv4-addr", "value": "198.51.100.9"}],
        "collections": [str(s.collection)], "tlp": "green"}},
    ("POST", f"{TAXII_COLLECTION}objects/"): lambda s: {"content": json.dumps({"objects": [
        _matrix_indicator()]})},
    ("POST", f"{COLLECTION}/objects"): lambda s: {"json": {"type": "bundle", "objects": [{
        "type": "ipv4-addr", "spec_version": "2.1", "value": "198.51.100.7",
        "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd",
        "object_marking_refs": ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]}]}},
    ("POST", f"{REQUESTS}/{{request_id}}/attachments"): lambda s: {
        "files": {"file": ("iocs.txt", b"198.51.100.7", "text/plain")}},
    ("POST", f"{REQUESTS}/{{request_id}}/priority"): lambda s: {"json": {
        "priority": 500, "rationale": "An election in three days."}},
    ("PATCH", DEPLOYMENT): lambda s: {"json": {"location": "Tallinn"}},
    ("POST", f"{DEPLOYMENT}/status"): lambda s: {"json": {"status": "cancelled",
                                                          "reason": "Restored from backups."}},
    ("PUT", f"{DEPLOYMENT}/arrangement"): lambda s: {"json": {
        "scope": "Remote forensics.", "liability": "Each nation its own.",
        "data_handling": "Evidence stays with the requester.",
        "cost_terms": "Costs lie where they fall."}},
    ("POST", f"{DEPLOYMENT}/report"): lambda s: {"json": {"summary": "Contained."}},
    ("POST", f"{DEPLOYMENT}/consents"): lambda s: {"json": {"expert_id": str(s.pending),
                                                            "consent": True}},
    ("POST", f"{DEPLOYMENT}/callouts/{{expert_id}}/answer"): lambda s: {"json": {
        "accept": True}},
    ("POST", f"{DEPLOYMENT}/costs"): lambda s: {"json": {
        "kind": "travel", "amount": "10.00", "currency": "EUR", "paid_by": "EE"}},
    ("PUT", f"{DEPLOYMENT}/cost-sharing"): lambda s: {"json": {"policy": "requester_pays"}},
    ("POST", "/api/v1/me/tokens"): lambda s: {"json": {"name": f"matrix {s.n()}"}},
    ("POST", "/api/v1/users"): lambda s: {"json": {
        "email": f"made-{s.n()}@test.example", "name": "Made", "role": "observer",
        "org": "DE"}},
    ("PATCH", "/api/v1/users/{user_id}"): lambda s: {"json": {"name": f"Spare {s.n()}"}},
    ("POST", ORGS): lambda s: {"json": {"code": f"partner-{s.n()}", "name": "A partner",
                                        "kind": "partner"}},
    ("PATCH", f"{ORGS}/{{code}}"): lambda s: {"json": {"name": "Estonia"}},
    ("POST", f"{ORGS}/{{code}}/institutions"): lambda s: {"json": {
        "name": f"Institution {s.n()}", "kind": "csirt"}},
    ("PATCH", f"{ORGS}/{{code}}/institutions/{{institution_id}}"): lambda s: {"json": {
        "kind": "academia"}},
    ("POST", "/organisations/new"): lambda s: {"data": {
        "kind": "partner", "code": f"web-partner-{s.n()}", "name": "Web partner",
        "membership": "none"}},
    ("POST", "/organisations/{code}/edit"): lambda s: {"data": {
        "name": "Estonia", "hotline": "+372 600 0000", "email": "cert@cert.ee.example",
        "pgp_fingerprint": "3AA5 C343 7156 7BD2 2282 0F3D 26BB 7D48 D5DF 47E1",
        "messenger": "Signal: +372 600 0001", "default_tlp": "amber"}},
    # leaving, planned after every change the run plans (each differs from what EE holds)
    ("POST", "/organisations/{code}/membership"): lambda s: {"data": {
        "membership": "none", "effective_on": (clock.today() + timedelta(days=300)).isoformat(),
        "note": "matrix"}},
    ("POST", "/organisations/{code}/institutions/new"): lambda s: {"data": {
        "name": f"Web institution {s.n()}", "kind": "csirt"}},
    ("POST", "/organisations/{code}/institutions/{institution_id}/edit"): lambda s: {"data": {
        "name": "CERT-EE", "kind": "academia"}},
    ("POST", EXPERTS): lambda s: {"json": {
        "org": "EE", "name": f"Nominee {s.n()}", "email": f"nominee-{s.n()}@ee.example",
        "skills": [{"skill": "incident_handling", "level": 2}], "languages": ["et", "en"]}},
    ("PATCH", f"{EXPERTS}/{{expert_id}}"): lambda s: {"json": {"notes": f"Note {s.n()}"}},
    ("POST", REQUESTS): lambda s: {"json": ASK | (
        {"org": "cert-eu", "channel": "phone"} if s.role is Role.COORDINATOR else {})},
    ("POST", f"{REQUESTS}/{{request_id}}/triage"): lambda s: {"json": {"note": "matrix"}},
    ("POST", "/requests/new"): lambda s: {"data": {
        **{k: v for k, v in ASK.items() if k != "services"}, "services": ["incident_response"],
        **({"org": "cert-eu", "channel": "phone"} if s.role is Role.COORDINATOR else {})}},
    ("POST", "/requests/{request_id}/position"): lambda s: {"data": {"position": "support"}},
    ("POST", "/requests/{request_id}/decision"): lambda s: {"data": {"outcome": "activate"}},
    ("POST", "/deployments/{deployment_id}/consent"): lambda s: {"data": {
        "expert_id": str(s.pending), "consent": "confirm", "caveat": "remote only"}},
    ("POST", "/deployments/{deployment_id}/status"): lambda s: {"data": {
        "status": "cancelled", "reason": "Restored from backups."}},
    ("POST", "/deployments/{deployment_id}/logistics"): lambda s: {"data": {
        "location": "Tallinn", "starts_at": "2030-05-01T09:00", "logistics": "By air."}},
    ("POST", "/deployments/{deployment_id}/arrangement"): lambda s: {"data": {
        "scope": "Remote forensics.", "liability": "Each nation its own.",
        "data_handling": "Evidence stays with the requester.",
        "cost_terms": "Costs lie where they fall."}},
    ("POST", "/deployments/{deployment_id}/report"): lambda s: {"data": {
        "summary": "Contained."}},
    ("POST", "/deployments/{deployment_id}/costs"): lambda s: {"data": {
        "kind": "travel", "amount": "10.00", "currency": "EUR", "paid_by": "EE"}},
    ("POST", "/deployments/{deployment_id}/sharing"): lambda s: {"data": {
        "policy": "common_budget", "key": "EE 1, LT 1"}},
    ("POST", "/callouts/{deployment_id}/{expert_id}/answer"): lambda s: {"data": {
        "answer": "accept"}},
    ("GET", "/callouts/{deployment_id}/{expert_id}"): lambda s: {"params": {
        "token": _callout_token(s, s.deployment)}},
    ("POST", "/callouts/{deployment_id}/{expert_id}"): lambda s: {"data": {
        "token": _callout_token(s), "answer": "accept"}},
    ("POST", f"{REQUESTS}/{{request_id}}/positions"): lambda s: {"json": {
        "position": "support"}},
    ("POST", f"{REQUESTS}/{{request_id}}/decision"): lambda s: {"json": {
        "outcome": "activate"}},
    ("POST", f"{ORGS}/{{code}}/arrangements"): lambda s: {"json": {
        "reference": f"Arrangement {s.n()}", "signed_on": "2026-01-01"}},
    ("POST", TEMPLATES): lambda s: {"json": {
        "name": f"Team {s.n()}", "min_size": 1, "min_nations": 1,
        "slots": [{"skill": "team_lead"}, {"skill": "cloud", "count": 2}]}},
    ("PATCH", f"{TEMPLATES}/{{template_id}}"): lambda s: {"json": {"max_per_nation": 1}},
    ("PUT", "/api/v1/commitments/{code}"): lambda s: {"json": {"seats_per_year": 2}},
    ("POST", f"{ROTATIONS}/plan"): lambda s: {"json": {
        "template_id": str(s.template), "start": "2039-01-01", "periods": 1,
        "period_months": 1, "seconds": 1}},
    ("POST", f"{ROTATIONS}/{{rotation_id}}/replace"): lambda s: {"json": {
        "expert_id": str(s.seated), "reason": "matrix"}},
    ("POST", "/rotations/{rotation_id}/replace"): lambda s: {"data": {
        "expert": str(s.seated), "reason": "matrix"}},
    ("POST", "/rotations/templates/new"): lambda s: {"data": {
        "name": f"Web team {s.n()}", "min_size": "1", "max_size": "3", "min_nations": "1",
        "max_per_nation": "3", "languages": "en", "slot-1-skill": "cloud",
        "slot-1-min_level": "1", "slot-1-count": "2", "slot-1-clearance": "none"}},
    ("POST", "/rotations/templates/{template_id}/edit"): lambda s: {"data": {
        "name": "Matrix team", "min_size": "1", "max_size": "1", "min_nations": "1",
        "max_per_nation": "1", "languages": "", "slot-1-skill": "incident_handling",
        "slot-1-min_level": "1", "slot-1-count": "1", "slot-1-clearance": "none"}},
    ("POST", "/rotations/plan"): lambda s: {"data": {
        "template": str(s.template), "start": f"{2101 + s.n() % 90}-01-01", "periods": "1",
        "period_months": "1", "seconds": "1", "zone": "Europe/Vilnius"}},
    ("POST", f"{EXPERTS}/{{expert_id}}/unavailability"): lambda s: {"json": {
        "starts_on": (date(2050, 1, 1) + timedelta(days=10 * s.n())).isoformat(),
        "ends_on": (date(2050, 1, 3) + timedelta(days=10 * s.n())).isoformat(),
        "reason": "training"}},
    ("POST", f"{EXPERTS}/import"): lambda s: {
        "files": {"file": ("experts.csv", _template_csv(), "text/csv")},
        "data": {"org": "EE", "dry_run": "true"}},
    ("POST", "/login"): lambda s: {"data": {"email": "observer@test.example",
                                            "password": PASSWORD, "next": "/"}},
    # the same password again (POST /login signs in with it later in the run), tokens kept
    # (the API rows use them)
    ("POST", "/account/password"): lambda s: {"data": {
        "current_password": PASSWORD, "new_password": PASSWORD,
        "new_password_again": PASSWORD, "keep_tokens": "1"}},
    ("POST", "/account/tokens"): lambda s: {"data": {"name": f"matrix {s.n()}", "days": "30",
                                                     "password": PASSWORD}},
    ("POST", "/account"): lambda s: {"data": {"name": f"Renamed {s.n()}", "language": "lt",
                                              "time_zone": "Europe/Vilnius"}},
    ("GET", "/language"): lambda s: {"params": {"lang": "lt", "next": "/dashboard"}},
    ("POST", "/experts/new"): lambda s: {"data": {
        "org": "EE", "name": f"Web Nominee {s.n()}", "email": f"web-{s.n()}@ee.example",
        "skill.incident_handling": "2", "deployability": "remote", "languages": "et en",
        "time_zone": "Europe/Tallinn", "clearance": "none"}},
    ("POST", "/experts/import"): lambda s: {
        "files": {"file": ("experts.csv", _template_csv(), "text/csv")}, "data": {"org": "EE"}},
    # the file the dry run just before stored (the routes run in sorted order), sealed for
    # the caller as the check's page seals it
    ("POST", "/experts/import/confirm"): lambda s: {"data": _import_confirmation(s)},
    ("POST", "/experts/{expert_id}/erase"): lambda s: {"data": {
        "confirmation": _newest_expert_name(s)}},
    ("POST", "/experts/{expert_id}/edit"): lambda s: {"data": {
        "name": "Responder Own", "email": "responder.own@ee.example",
        "skill.incident_handling": "3", "deployability": "remote", "languages": "et",
        "time_zone": "Europe/Tallinn", "clearance": "none", "notes": f"Edited {s.n()}"}},
    ("POST", "/experts/{expert_id}/unavailability"): lambda s: {"data": {
        "starts_on": (date(2060, 1, 1) + timedelta(days=10 * s.n())).isoformat(),
        "ends_on": (date(2060, 1, 3) + timedelta(days=10 * s.n())).isoformat(),
        "reason": "training"}},
    ("POST", "/intel"): lambda s: {"data": {"title": f"Web group {s.n()}", "members": ["EE"],
                                           "max_tlp": "green"}},
    ("POST", "/intel/import"): lambda s: {
        "files": {"file": ("values.csv", b"198.51.100.7\n", "text/csv")},
        "data": {"collection": str(s.collection), "tlp": "green"}},
    ("POST", "/intel/correlate"): lambda s: {"data": {"values": "198.51.100.7"}},
    ("POST", "/users/new"): lambda s: {"data": {
        "email": f"web-made-{s.n()}@test.example", "name": "Web Made", "role": "observer",
        "org": "DE"}},
    ("POST", "/users/{user_id}"): lambda s: {"data": {
        "action": "details", "name": f"Spare {s.n()}", "role": "observer", "org": "DE"}},
}


def is_page(path: str) -> bool:
    return not path.startswith(("/api/", "/taxii2/"))


def call(client: TestClient, scene: Scene, method: str, path: str,
         role: Role | None) -> tuple[int, str]:
    """Make the one request; returns the status and the redirect target, if any."""
    url = path.format(**path_params(scene, method, path, role))
    scene.role = role
    kwargs: Request = BODIES.get((method, path), lambda s: {})(scene)
    headers: dict[str, str] = {}
    client.cookies.clear()
    if is_page(path):
        nonce, session = f"nonce-{scene.n()}", None
        client.cookies.set(CSRF_COOKIE, nonce)
        if role is not None:
            # a separate session for signing out, so the run's own session stays valid
            session = open_web_session(scene.database, scene.world.users[role])
            client.cookies.set(SESSION_COOKIE, session)
        if method == "POST":
            # a signed-in browser's forms carry its session's token; the sign-in form, and an
            # anonymous browser's, the token of its nonce
            binding = tokens.session_binding(session) if session and path != "/login" \
                else tokens.nonce_binding(nonce)
            kwargs.setdefault("data", {})["csrf_token"] = tokens.csrf_token(scene.secret_key,
                                                                            binding)
    elif role is not None:
        headers = scene.world.headers(role)
    if path.startswith("/taxii2/"):
        headers |= {"Accept": TAXII_JSON, "Content-Type": TAXII_JSON}
    response = client.request(method, url, headers=headers, follow_redirects=False, **kwargs)
    client.cookies.clear()
    return response.status_code, response.headers.get("location", "")


def meets(outcome: str, role: Role | None, status: int, location: str) -> bool:
    if outcome == OK:
        return 200 <= status < 300
    if outcome == NO:
        return status == 401 if role is None else status in (403, 404)
    if outcome == PAGE:
        return status == 200
    if outcome == FORBIDDEN:
        return status == 403
    if outcome == MISSING:
        return status == 404
    target = urlsplit(location).path
    if outcome == LOGIN:
        return status == 303 and target == "/login"
    if outcome == AWAY:
        return status == 303 and target not in ("", "/login")
    raise AssertionError(f"unknown outcome {outcome}")


@pytest.mark.parametrize("role", COLUMNS, ids=lambda r: r.value if r else "anonymous")
def test_matrix(client, database, world, settings, role):
    operations = all_operations(client)
    missing = sorted(operations - set(RULES))
    assert not missing, f"routes without a row in RULES: {missing}"
    scene = build_scene(database, world, settings.resolved_secret_key(),
                        settings.data_dir / "files")
    column = COLUMNS.index(role)
    wrong = []
    for method, path in sorted(operations):
        expected = RULES[(method, path)][column]
        status, location = call(client, scene, method, path, role)
        if not meets(expected, role, status, location):
            wrong.append(f"{method} {path}: expected {expected}, got {status}"
                         + (f" -> {location}" if location else ""))
    who = role.value if role else "anonymous"
    assert not wrong, f"{who}:\n  " + "\n  ".join(wrong)


# --- across nations and records -------------------------------------------------------------------

# the expert's own routes (a call-out's answer is checked with the deployment's routes)
EXPERT_ROUTES = [(m, p) for (m, p) in RULES if "{expert_id}" in p and p.startswith("/api/")
                 and "{deployment_id}" not in p]


def test_a_poc_reaches_no_route_of_another_nations_expert(client, database, world, settings):
    scene = build_scene(database, world, settings.resolved_secret_key(),
                        settings.data_dir / "files")
    wrong = []
    for method, path in EXPERT_ROUTES:
        spanish = add_expert(database, "ES", name=f"Spanish Expert {scene.n()}")
        params = {"expert_id": spanish}
        if "{unavailability_id}" in path:
            params["unavailability_id"] = add_unavailability(database, spanish,
                                                             starts_on=date(2041, 1, 1))
        kwargs = BODIES.get((method, path), lambda s: {})(scene)
        response = client.request(method, path.format(**params),
                                  headers=world.headers(Role.NATIONAL_POC), **kwargs)
        if response.status_code not in (403, 404):
            wrong.append(f"{method} {path}: {response.status_code}")
    assert not wrong, "a POC of EE reached a Spanish expert: " + ", ".join(wrong)


def test_a_poc_nominates_imports_and_writes_institutions_only_for_its_nation(client, world):
    headers = world.headers(Role.NATIONAL_POC)
    nominee = {"org": "ES", "name": "Lucia", "email": "lucia@es.example",
               "skills": [{"skill": "cloud", "level": 1}]}
    assert client.post(EXPERTS, json=nominee, headers=headers).status_code == 403
    imported = client.post(f"{EXPERTS}/import", headers=headers,
                           files={"file": ("x.csv", _template_csv(), "text/csv")},
                           data={"org": "ES", "dry_run": "true"})
    assert imported.status_code == 403
    assert client.post(f"{ORGS}/ES/institutions", json={"name": "INCIBE", "kind": "csirt"},
                       headers=headers).status_code == 403


def test_a_poc_sees_only_its_nations_experts_in_the_list(client, database, world):
    add_expert(database, "EE", name="Kaja Kask")
    add_expert(database, "ES", name="Lucia Garcia")
    items = client.get(EXPERTS, headers=world.headers(Role.NATIONAL_POC)).json()["items"]
    assert {e["org"] for e in items} == {"EE"}


def test_a_responder_reaches_no_other_experts_record(client, database, world):
    colleague = add_expert(database, "EE", name="A Colleague")
    period = add_unavailability(database, colleague, starts_on=date(2041, 1, 1))
    headers = world.headers(Role.RESPONDER)
    wrong = []
    for method, path in EXPERT_ROUTES:
        if (method, path) in DESTRUCTIVE_EXPERT or "personal-data" in path:
            continue  # refused to a responder even on its own record (see the matrix)
        url = path.format(expert_id=colleague, unavailability_id=period)
        kwargs = BODIES.get((method, path), lambda s: {})(Scene(database, world, ""))
        response = client.request(method, url, headers=headers, **kwargs)
        if response.status_code not in (403, 404):
            wrong.append(f"{method} {path}: {response.status_code}")
    assert not wrong, "a responder reached a colleague's record: " + ", ".join(wrong)
    add_expert(database, "EE", name="Responder Own", user_id=world.users[Role.RESPONDER])
    listed = client.get(EXPERTS, headers=headers).json()["items"]
    assert [e["name"] for e in listed] == ["Responder Own"]
