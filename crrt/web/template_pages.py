"""Team template pages: every template with its seats, and one form that makes or changes one,
so a coordinator never needs the API for them.

The form's slot rows are numbered; a row without a skill is no slot. The rules a template keeps
as a whole are the schema's (``check_template``); their English refusals are told here in the
viewer's language, beside the field or the slots a person would change.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from crrt.access import policy
from crrt.access.policy import Permission
from crrt.access.principal import Principal
from crrt.core.errors import Conflict, FieldError, Invalid
from crrt.core.http import Db, PublicIdParam
from crrt.experts.enums import Clearance, Skill
from crrt.rotations import service
from crrt.rotations.schemas import MAX_SLOTS, MAX_TEAM, TemplateIn, TemplateOut, TemplatePatch
from crrt.web import forms
from crrt.web.i18n import N_, _
from crrt.web.session import CheckedForm, SignedIn
from crrt.web.templating import render

router = APIRouter(include_in_schema=False)

RULE_FIELDS = ("name", "min_size", "max_size", "min_nations", "max_per_nation", "languages")
NUMBERS = ("min_size", "max_size", "min_nations", "max_per_nation")
SLOT_FIELDS = ("skill", "min_level", "count", "clearance")
ROWS = 12        # slot rows the form shows at least
MAX_COUNT = 12   # seats one row offers
NEW = {"name": "", "min_size": "8", "max_size": "12", "min_nations": "3",
       "max_per_nation": "3", "languages": "en", "consecutive": False}

# The template's checks as a whole (English, for the API) by the field a person would change,
# in the viewer's language, with the numbers they carry.
WHOLE = (
    (re.compile(r"min_size is above max_size"), "max_size",
     N_("The largest team cannot be smaller than the smallest.")),
    (re.compile(r"The slots hold (?P<seats>\d+) seats; the team takes (?P<low>\d+) to "
                r"(?P<high>\d+)"), "slots",
     # Translators: %(seats)s is the sum of the slots' seats, %(low)s and %(high)s the size bounds
     N_("The slots hold %(seats)s seats but the team takes %(low)s to %(high)s: change a "
        "number of seats or the size bounds.")),
    (re.compile(r"one lead seat at most"), "slots",
     N_("A team has one lead seat at most, for one person: tick Lead on one slot of one "
        "seat only.")),
    (re.compile(r"(?P<nations>\d+) nations cannot share (?P<seats>\d+) seats"), "min_nations",
     N_("%(nations)s nations cannot share %(seats)s seats: ask for fewer nations or more "
        "seats.")),
    (re.compile(r"Two slots ask for the same skill"), "slots",
     N_("Two slots ask for the same skill, level and clearance: keep one and give it the "
        "number of seats instead.")),
)


def _whole(raw: str) -> tuple[str, str]:
    for pattern, field, message in WHOLE:
        found = pattern.search(raw)
        if found:
            return field, _(message, **found.groupdict())
    return "slots", _("The slots and the rules do not fit together: check the numbers.")


def _row_values(slot: Any) -> dict[str, Any]:
    return {"skill": slot.skill.value, "min_level": str(slot.min_level),
            "count": str(slot.count), "clearance": slot.clearance.value, "lead": slot.lead}


def _blank_row() -> dict[str, Any]:
    return {"skill": "", "min_level": "1", "count": "1", "clearance": Clearance.NONE.value,
            "lead": False}


def _padded(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return rows + [_blank_row() for _n in range(ROWS - len(rows))]


def _posted(form: FormData) -> tuple[dict[str, Any], dict[str, Any], list[int]]:
    """The posted template as (data for ``TemplateIn``, values to show again, the form row of
    each slot in the data)."""
    shown: dict[str, Any] = {name: forms.text(form, name)[:300] for name in RULE_FIELDS}
    shown["consecutive"] = bool(forms.text(form, "consecutive"))
    rows: list[dict[str, Any]] = []
    slots: list[dict[str, Any]] = []
    numbered: list[int] = []
    for n in range(1, MAX_SLOTS + 1):
        row: dict[str, Any] = {name: forms.text(form, f"slot-{n}-{name}")[:64]
                               for name in SLOT_FIELDS}
        row["lead"] = bool(forms.text(form, f"slot-{n}-lead"))
        if row["skill"]:
            slots.append({**{name: row[name] for name in SLOT_FIELDS},
                          "clearance": row["clearance"] or Clearance.NONE.value,
                          "lead": row["lead"]})
            numbered.append(n)
        rows.append(row if row["skill"] else _blank_row())
    while len(rows) > ROWS and not rows[-1]["skill"]:
        rows.pop()
    shown["rows"] = rows
    data: dict[str, Any] = {name: shown[name] for name in ("name", *NUMBERS)}
    data["languages"] = [code for code in re.split(r"[\s,;]+", shown["languages"]) if code]
    data["consecutive"] = shown["consecutive"]
    data["slots"] = slots
    return data, shown, numbered


def _messages(exc: ValidationError, numbered: list[int]) -> dict[str, str]:
    """Validation errors by the form field's name, in words a person can act on."""
    found: dict[str, str] = {}
    for error in exc.errors():
        loc = [part for part in error["loc"] if part != "body"]
        kind = error["type"]
        if not loc:
            found.setdefault(*_whole(error["msg"]))
        elif loc[0] == "name":
            found.setdefault("name", _("Enter the template's name.")
                             if kind in ("missing", "string_too_short")
                             else _("Enter a name of at most 200 characters, on one line."))
        elif loc[0] in NUMBERS:
            found.setdefault(str(loc[0]), _("Enter a whole number from 1 to %(max)s.",
                                            max=MAX_TEAM))
        elif loc[0] == "slots" and len(loc) >= 3 and isinstance(loc[1], int):
            found.setdefault(f"slot-{numbered[loc[1]]}-{loc[2]}",
                             _("Choose one of the listed options."))
        elif loc[0] == "slots":
            found.setdefault("slots", _("Give the team at least one slot: choose a skill in "
                                        "a row."))
        else:
            for field, message in forms.messages([FieldError(loc, error["msg"], kind)]).items():
                found.setdefault(field, message)
    return found


def _form(request: Request, values: dict[str, Any], errors: dict[str, str], *,
          template: TemplateOut | None = None, status: int = 200) -> Response:
    return render(request, "template_form.html", {
        "values": values, "errors": errors, "anchors": {name: name for name in errors},
        "template": template, "skills": list(Skill), "clearances": list(Clearance),
        "levels": (1, 2, 3), "counts": range(1, MAX_COUNT + 1), "max_team": MAX_TEAM},
        status=status)


def _saved(template_id: uuid.UUID) -> Response:
    return RedirectResponse(f"/rotations/templates?saved={template_id}", status_code=303)


def _taken(name: str) -> dict[str, str]:
    return {"name": _("A team template is named '%(name)s' already: choose another name.",
                      name=name)}


# --- the list ----------------------------------------------------------------------------------

@router.get("/rotations/templates")
def templates_page(request: Request, db: Db, me: SignedIn,
                   saved: str | None = None) -> Response:
    listed = [service.template_out(t) for t in service.list_templates(db=db, actor=me)]
    return render(request, "templates.html", {
        "templates": listed, "saved": next((t for t in listed if str(t.id) == saved), None),
        "may_plan": policy.may(me, Permission.ROTATIONS_PLAN)})


# --- a new template ----------------------------------------------------------------------------

@router.get("/rotations/templates/new")
def new_form(request: Request, me: SignedIn) -> Response:
    policy.require(me, Permission.ROTATIONS_PLAN)
    return _form(request, {**NEW, "rows": _padded([])}, {})


@router.post("/rotations/templates/new")
def create(request: Request, db: Db, me: SignedIn, form: CheckedForm) -> Response:
    policy.require(me, Permission.ROTATIONS_PLAN)
    data, shown, numbered = _posted(form)
    try:
        template = service.create_template(db=db, actor=me,
                                           data=TemplateIn.model_validate(data))
    except ValidationError as exc:
        return _form(request, shown, _messages(exc, numbered), status=422)
    except Conflict:
        db.rollback()
        return _form(request, shown, _taken(shown["name"]), status=409)
    return _saved(template.public_id)


# --- changing one ------------------------------------------------------------------------------

def _editable(db: Session, me: Principal, template_id: uuid.UUID) -> TemplateOut:
    policy.require(me, Permission.ROTATIONS_PLAN)
    return service.template_out(service.get_template(db=db, actor=me,
                                                     template_id=template_id))


@router.get("/rotations/templates/{template_id}/edit")
def edit_form(request: Request, db: Db, me: SignedIn, template_id: PublicIdParam) -> Response:
    template = _editable(db, me, template_id)
    values = {"name": template.name, "min_size": str(template.min_size),
              "max_size": str(template.max_size), "min_nations": str(template.min_nations),
              "max_per_nation": str(template.max_per_nation),
              "languages": ", ".join(template.languages), "consecutive": template.consecutive,
              "rows": _padded([_row_values(s) for s in template.slots])}
    return _form(request, values, {}, template=template)


@router.post("/rotations/templates/{template_id}/edit")
def save(request: Request, db: Db, me: SignedIn, template_id: PublicIdParam,
         form: CheckedForm) -> Response:
    """Every field is sent, so the whole template is checked as a new one would be, then
    changed through the service (which checks it again, with the name)."""
    template = _editable(db, me, template_id)
    data, shown, numbered = _posted(form)
    try:
        TemplateIn.model_validate(data)
        service.update_template(db=db, actor=me, template_id=template_id,
                                data=TemplatePatch.model_validate(data))
    except ValidationError as exc:
        return _form(request, shown, _messages(exc, numbered), template=template, status=422)
    except Invalid as exc:
        db.rollback()
        return _form(request, shown, dict([_whole(exc.detail)]), template=template,
                     status=422)
    except Conflict:
        db.rollback()
        return _form(request, shown, _taken(shown["name"]), template=template, status=409)
    return _saved(template_id)
