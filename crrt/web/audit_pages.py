"""The audit log in the browser: its events with the API's filters, oldest first, and the
chain's check, run only when asked (it reads every event)."""

from __future__ import annotations

import json
import threading
import unicodedata
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from crrt.access import policy
from crrt.access.policy import Permission
from crrt.access.principal import Principal
from crrt.audit import service as audit_service
from crrt.audit.schemas import AuditEventOut
from crrt.core.db import Database
from crrt.core.errors import Invalid, TooManyRequests
from crrt.core.http import AppDatabase, Db
from crrt.web import forms, i18n
from crrt.web.i18n import N_, _, ngettext
from crrt.web.session import CheckedForm, SignedIn
from crrt.web.templating import render

router = APIRouter(prefix="/audit", include_in_schema=False)

PAGE_SIZE = 50
# The API's bounds (crrt/audit/api.py): a longer value cannot match anything.
TEXT_FILTERS = {"actor": 320, "action": 64, "object_type": 64, "object_id": 64}
DAY_FILTERS = ("since", "until")
FILTERS = (*TEXT_FILTERS, *DAY_FILTERS)
KEYS_SHOWN = 12   # the fields of one event's changes shown; the rest are counted
KEY_CHARS = 64
VALUE_CHARS = 120
HIDDEN = frozenset({"Cc", "Cf"})  # control and format characters (bidi overrides, zero-width)


def _bounded(text: str, limit: int) -> str:
    """``text`` as one visible line of at most ``limit`` characters, cut with an ellipsis;
    control and format characters become U+FFFD, so a stored value cannot reorder or hide
    what the page shows."""
    text = "".join("\ufffd" if unicodedata.category(ch) in HIDDEN else ch for ch in text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _value(value: Any) -> str:
    """A changed field's value as people read it: text as it is, anything else as JSON."""
    if isinstance(value, str):
        return _bounded(value, VALUE_CHARS)
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    except (ValueError, RecursionError):
        return "…"
    return _bounded(text, VALUE_CHARS)


def _row(event: AuditEventOut) -> dict[str, Any]:
    fields = list(event.changes.items())
    return {"event": event,
            "changes": [(_bounded(key, KEY_CHARS), _value(value))
                        for key, value in fields[:KEYS_SHOWN]],
            "more": max(len(fields) - KEYS_SHOWN, 0),
            # the service says why in English; a catalogue that has the words translates them
            "unreadable": _(event.unreadable) if event.unreadable else None}


def _filters(values: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The form's values as the service's filters, and a message for each value refused.
    Days are the viewer's: ``since`` from the start of its day, ``until`` to the end of it."""
    found: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, bound in TEXT_FILTERS.items():
        if len(values[name]) > bound:
            errors[name] = ngettext("Enter at most %(num)s character.",
                                    "Enter at most %(num)s characters.", bound)
        elif values[name]:
            found["who" if name == "actor" else name] = values[name]
    zone = i18n.current().tzinfo
    for name in DAY_FILTERS:
        if not values[name]:
            continue
        try:
            day = date.fromisoformat(values[name])
        except ValueError:
            errors[name] = _("Enter a date as YYYY-MM-DD.")
            continue
        if name == "until":
            try:
                day += timedelta(days=1)
            except OverflowError:
                continue  # to the end of the calendar: no bound
        found[name] = datetime.combine(day, time.min, tzinfo=zone)
    return found, errors


# The check reads every event: one runs at a time in a process, and another asked for
# meanwhile is told to wait rather than queued behind it.
_CHECKING = threading.Lock()


def _verification(database: Database, me: Principal) -> dict[str, Any]:
    if not _CHECKING.acquire(blocking=False):
        raise TooManyRequests(N_("A check of the chain is already running. Try again in a "
                                 "moment."), retry_after=5)
    try:
        result = audit_service.verify_for(database=database, actor=me)
    finally:
        _CHECKING.release()
    return {"ok": result.ok, "events": result.events, "seq": result.first_bad_seq,
            "reason": _(result.reason) if result.reason else ""}


def _audit_page(request: Request, db: Session, me: Principal, cursor: str | None,
                verification: dict[str, Any] | None) -> Response:
    """One page of events narrowed by the query, and the chain's check if one was run."""
    values = {name: forms.text(request.query_params, name) for name in FILTERS}
    filters, errors = _filters(values)
    rows: list[dict[str, Any]] = []
    next_cursor = None
    if not errors:
        try:
            events, next_cursor = audit_service.list_events(
                db=db, actor=me, limit=PAGE_SIZE, cursor=cursor or None, **filters)
        except Invalid as exc:
            errors = forms.messages(exc.errors) or {"_form": _(exc.detail)}
        else:
            rows = [_row(event) for event in events]
    query = {k: v for k, v in values.items() if v}
    here = {**query, "cursor": cursor} if cursor else query
    return render(request, "audit.html", {
        "rows": rows, "values": values, "errors": errors, "filtered": bool(query),
        **forms.page_links("/audit", query, cursor, next_cursor),
        "verify_url": f"/audit?{urlencode(here)}" if here else "/audit",
        "verification": verification}, status=422 if errors else 200)


@router.get("")
def audit_log(request: Request, db: Db, me: SignedIn, cursor: str | None = None) -> Response:
    """One page of events narrowed by the GET form."""
    policy.require_some(me, Permission.AUDIT_READ)  # before the form is read: 403, not 422
    return _audit_page(request, db, me, cursor, None)


@router.post("")
def verify_chain(request: Request, db: Db, database: AppDatabase, me: SignedIn,
                 form: CheckedForm, cursor: str | None = None) -> Response:
    """The chain's check, asked for with the page's button (a POST: it reads every event, so
    no link or prefetch runs it), shown above the same page of events."""
    policy.require_some(me, Permission.AUDIT_READ)
    return _audit_page(request, db, me, cursor, _verification(database, me))
