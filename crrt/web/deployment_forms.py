"""The deployment pages' forms: posted fields to the dispatch services' input, and the
services' refusals worded by the page in the viewer's language, each by the field to change.

Times are typed in the viewer's zone (``datetime-local``) and sent with it; amounts stay text
until the schema reads them as decimals, so nothing is rounded on the way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from pydantic import ValidationError
from starlette.datastructures import FormData

from crrt.assistance import dispatch
from crrt.core import clock
from crrt.core.errors import DomainError, FieldError
from crrt.core.http import public_base
from crrt.web import forms
from crrt.web.i18n import N_, _

LOGISTICS = ("location", "starts_at", "ends_at", "logistics")
ARRANGEMENT = ("legal_basis", "scope", "liability", "data_handling", "cost_terms")
COST = ("kind", "amount", "currency", "paid_by", "description")
SHARING = ("policy", "key")
LOCAL_TIME = "%Y-%m-%dT%H:%M"
TOKEN = re.compile(r"[0-9a-f]{64}")

# The page's own words for a field's problem, whichever check found it.
FIELD_MESSAGES = {
    "starts_at": N_("Enter a date and a time."),
    "ends_at": N_("Enter a date and a time."),
    "legal_basis": N_("Name the legal basis, such as the Memorandum of Understanding."),
    "scope": N_("Describe what the team is to do."),
    "liability": N_("Say who is liable for what."),
    "data_handling": N_("Say how the data the team handles is kept, shared and returned."),
    "cost_terms": N_("Say who bears the costs, and on what terms."),
    "summary": N_("Write the final report."),
    "kind": N_("Choose one of the listed options."),
    "amount": N_("Enter an amount such as 1250.00: not below zero, at most two decimals."),
    "currency": N_("Enter a currency's three-letter ISO 4217 code, such as EUR."),
    "paid_by": N_("Choose the nation that paid."),
    "policy": N_("Choose one of the listed options."),
    "key": N_("Give each nation's code and its share, such as EE 2, LT 1."),
    "reason": N_("Say why the deployment is cancelled."),
}
# Checks across fields, and the services' refusals about one field: told by that field.
ACROSS = (
    (re.compile(r"ends after it starts"), "ends_at", N_("The end must come after the start.")),
    (re.compile(r"common budget is split by a key"), "key",
     N_("A common budget is split by a key: give each nation's share.")),
    (re.compile(r"Only a common budget takes a key"), "key",
     N_("Only a common budget takes a key: leave the key empty for this policy.")),
    (re.compile(r"No organisation has the code '(?P<code>[^']*)'"), "key",
     N_("No organisation has the code '%(code)s'.")),
)
# The services' refusals of a step (a state moved on, a condition not met), as the page
# words them.
REFUSALS = (
    (re.compile(r"mission arrangement"),
     N_("An on-site or hybrid deployment starts only once its mission arrangement is "
        "attached.")),
    (re.compile(r"No member has accepted"),
     N_("No member has accepted the call-out yet: a deployment starts with at least one.")),
    (re.compile(r"changes no more"), N_("The deployment is closed: it changes no more.")),
    (re.compile(r"arrangement was settled"),
     N_("The mission arrangement is settled before the team starts: it changes no more.")),
    (re.compile(r"report follows"), N_("The final report follows the deployment's completion.")),
    (re.compile(r"report has been filed"), N_("The final report has been filed already.")),
    (re.compile(r"Consent for this expert"), N_("Consent for this expert was given already.")),
    (re.compile(r"no longer proposed"), N_("This expert is no longer proposed.")),
    (re.compile(r"^The deployment is \w+\.$"),
     N_("The deployment is closed: consent is no longer asked.")),
    (re.compile(r"at most \d+ cost items"), N_("This deployment holds as many cost items as it "
                                                 "may.")),
    # last: the state machine's own words, once the more particular ones are ruled out
    (re.compile(r"cannot go from|already\.$"),
     N_("The deployment has moved on since this page was loaded: this is where it stands "
        "now.")),
)
# An answer to a call-out no longer open, by the state it is in.
ANSWERED = {
    "accepted": N_("You have accepted this call-out already."),
    "declined": N_("You have declined this call-out already."),
    "escalated": N_("This call-out went unanswered in time and was passed on to another "
                    "expert."),
}
NOT_OPEN = N_("This call-out is not open.")
BAD_LINK = N_("This link is not good for this call-out: it is an older one, or it was "
              "altered. Use the link of the latest call-out, or sign in and answer under "
              "Call-outs.")


def links(request: Request) -> dispatch.Links:
    """The notices' links and the call-outs' signing key and wait, from the settings (as the
    API's routes build them)."""
    settings = request.app.state.settings
    return dispatch.Links(base=public_base(request), secret=settings.resolved_secret_key(),
                          callout_minutes=settings.callout_minutes)


def texts(form: FormData, names: Iterable[str], limit: int = 4001) -> dict[str, str]:
    """The posted fields as text, each cut just past what any schema takes."""
    return {name: forms.text(form, name)[:limit] for name in names}


def local_input(moment: datetime | None, zone: str) -> str:
    """An instant as a ``datetime-local`` field shows it, in the viewer's zone."""
    if moment is None:
        return ""
    return clock.as_utc(moment).astimezone(ZoneInfo(zone)).strftime(LOCAL_TIME)


def _moment(value: str, zone: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=ZoneInfo(zone))


def logistics(form: FormData, zone: str) -> tuple[dict[str, str], dict[str, Any],
                                                  dict[str, str]]:
    """The posted logistics as (values to show again, data for ``DeploymentPatch``, the
    times that could not be read); a field left empty stays as it was."""
    shown = texts(form, LOGISTICS, limit=10_001)
    data: dict[str, Any] = {"location": shown["location"], "logistics": shown["logistics"]}
    errors = {}
    for name in ("starts_at", "ends_at"):
        if shown[name]:
            try:
                data[name] = _moment(shown[name], zone)
            except ValueError:
                errors[name] = _(FIELD_MESSAGES[name])
    return shown, data, errors


def sharing_key(text: str) -> dict[str, str] | None:
    """``EE 2, LT 1`` (or ``EE=2; LT=1``, one a line) as a key of shares, or None if a part
    cannot be read."""
    key: dict[str, str] = {}
    for part in re.split(r"[,;\n]+", text):
        if not part.strip():
            continue
        found = re.fullmatch(r"\s*([A-Za-z][\w-]{0,63})\s*[=:\s]\s*(\d+(?:[.,]\d+)?)\s*", part)
        if found is None:
            return None
        key[found.group(1)] = found.group(2).replace(",", ".")
    return key


def messages(exc: ValidationError | DomainError) -> dict[str, str]:
    """A refusal's problems, one message per field, in the page's words where it has them."""
    found: list[FieldError] = []
    if isinstance(exc, ValidationError):
        found = [FieldError(list(e["loc"]), e["msg"], e["type"]) for e in exc.errors()]
    else:
        found = list(getattr(exc, "errors", [])) or [FieldError([], exc.detail)]
    out: dict[str, str] = {}
    for error in found:
        for pattern, field, message in ACROSS:
            if (hit := pattern.search(error.msg)) is not None:
                out.setdefault(field, _(message, **hit.groupdict()))
                break
        else:
            field = next((str(p) for p in error.loc if p not in ("body", "query")), "_form")
            if field in FIELD_MESSAGES:
                out.setdefault(field, _(FIELD_MESSAGES[field]))
            else:
                out.update({k: v for k, v in forms.messages([error]).items() if k not in out})
    return out


def refusal(exc: DomainError) -> str:
    """A service's refusal of a step, as the page words it (else as the service said it)."""
    if (state := exc.extra.get("callout")) is not None:
        return _(ANSWERED.get(str(state), NOT_OPEN))
    for pattern, message in REFUSALS:
        if pattern.search(exc.detail):
            return _(message)
    return _(exc.detail)
