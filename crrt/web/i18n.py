"""Pages in the viewer's language and time zone.

Every page string is marked for gettext (``_()`` in Python, ``{% trans %}`` or ``_()`` in
templates) and extracted with Babel into ``locale/messages.pot``; each language's catalogue is
``locale/<code>/LC_MESSAGES/messages.po``, read once per process (no compiled files to keep in
step). The request's language and zone live in a context variable set by :func:`use`, so the
templates, the charts and the forms all translate without being handed a translator.

The language is the account's choice, else the one picked on the sign-in page (a cookie),
else the browser's ``Accept-Language``, else English. The zone is the account's choice, else
the linked expert's, else UTC. The API stays in English and UTC: it is for programs.
"""

from __future__ import annotations

import io
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from babel import Locale
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from crrt.core import clock
from crrt.core.languages import PAGE_LANGUAGES
from crrt.core.zones import known_zones, time_zone_problem

Form = Literal["full", "long", "medium", "short"]
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DEFAULT_LANGUAGE = "en"
DEFAULT_ZONE = "UTC"
LANGUAGE_COOKIE = "crrt_lang"

LANGUAGES = PAGE_LANGUAGES


@dataclass(frozen=True)
class Viewpoint:
    """Whose eyes a page is rendered for: a language and a time zone."""

    language: str = DEFAULT_LANGUAGE
    zone: str = DEFAULT_ZONE

    @property
    def locale(self) -> Locale:
        return _locale(self.language)

    @property
    def tzinfo(self) -> ZoneInfo:
        return ZoneInfo(self.zone)


ENGLISH_UTC = Viewpoint()
_viewpoint: ContextVar[Viewpoint] = ContextVar("crrt_viewpoint")


def use(viewpoint: Viewpoint) -> None:
    """Render what follows, in this request, for ``viewpoint``."""
    _viewpoint.set(viewpoint)


def current() -> Viewpoint:
    return _viewpoint.get(ENGLISH_UTC)


@cache
def _locale(language: str) -> Locale:
    return Locale.parse(language)


@cache
def catalogue(language: str) -> NullTranslations:
    """The language's translations, read from its ``.po`` file once per process."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if language == DEFAULT_LANGUAGE or not path.exists():
        return NullTranslations()
    with path.open("rb") as source:
        parsed = read_po(source, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, parsed, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled)


def gettext(message: str, **values: Any) -> str:
    """``message`` in the viewer's language; ``%(name)s`` placeholders filled from ``values``."""
    text = raw_gettext(message)
    return text % values if values else text


def ngettext(singular: str, plural: str, n: int, **values: Any) -> str:
    return raw_ngettext(singular, plural, n) % {"num": n, **values}


_ = gettext


# Jinja's i18n extension (newstyle) fills the placeholders and escapes itself: it gets the
# bare lookups.
def raw_gettext(message: str) -> str:
    return str(catalogue(current().language).gettext(message))


def raw_ngettext(singular: str, plural: str, n: int) -> str:
    return str(catalogue(current().language).ngettext(singular, plural, n))


def raw_pgettext(context: str, message: str) -> str:
    return str(catalogue(current().language).pgettext(context, message))


def N_(message: str) -> str:
    """Mark ``message`` for extraction only; it is translated where it is shown."""
    return message


# --- choosing ---------------------------------------------------------------------------------

def supported(language: str | None) -> str | None:
    """``language`` if crrt has pages in it (``lt``, ``lt-LT`` and ``LT`` alike), else None."""
    if not language:
        return None
    code = language.replace("_", "-").split("-")[0].lower()
    return code if code in LANGUAGES else None


def negotiate(*choices: str | None, accept_language: str | None = None) -> str:
    """The first supported of ``choices`` (the account's, the sign-in page's), else the best
    of the browser's ``Accept-Language`` by its weights, else English."""
    for choice in choices:
        if (found := supported(choice)) is not None:
            return found
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "")[:1000].split(",")[:32]):
        tag, _sep, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                continue
        if (found := supported(tag.strip())) is not None and weight > 0:
            weighted.append((-weight, position, found))
    return min(weighted)[2] if weighted else DEFAULT_LANGUAGE


def valid_zone(zone: str | None) -> str | None:
    """``zone`` if it is an IANA time zone this machine knows, else None."""
    return zone if zone and time_zone_problem(zone) is None else None


@cache
def zones() -> list[str]:
    """Every IANA zone, for the picker (any may be chosen, not a fixed list)."""
    return sorted(z for z in known_zones() if "/" in z or z == "UTC")


# --- formatting -------------------------------------------------------------------------------

def format_moment(moment: datetime | None, form: Form = "medium") -> str:
    """An instant in the viewer's zone and language, naming the zone (``Europe/Vilnius``)."""
    if moment is None:
        return "—"
    view = current()
    local = clock.as_utc(moment).astimezone(view.tzinfo)
    # The day as the language writes it, the time to the minute (seconds are noise here),
    # joined the language's way ("{1}, {0}", "{1} {0}").
    day = babel_dates.format_date(local, format=form, locale=view.locale)
    time = babel_dates.format_time(local, format="short", tzinfo=view.tzinfo,
                                   locale=view.locale)
    joined = str(babel_dates.get_datetime_format(form, locale=view.locale))
    return f"{joined.replace('{1}', day).replace('{0}', time)} ({view.zone})"


def format_day(day: date | datetime | None, form: Form = "medium") -> str:
    """A calendar day in the viewer's language (a day has no zone)."""
    if day is None:
        return "—"
    if isinstance(day, datetime):
        day = clock.as_utc(day).astimezone(current().tzinfo).date()
    return babel_dates.format_date(day, format=form, locale=current().locale)


def format_count(number: int | float) -> str:
    return babel_numbers.format_decimal(number, locale=current().locale)


def format_money(amount: Decimal, currency: str) -> str:
    """An amount in its own currency, written the viewer's way (``€1,250.00``, ``1 250,00 €``):
    money is never converted, so every sum names its currency."""
    return babel_numbers.format_currency(amount, currency, locale=current().locale)


def language_name(code: str) -> str:
    """A language (ISO 639-1) named in the page's language (Babel's names), else its code."""
    try:
        return current().locale.languages.get(code) or code
    except (KeyError, ValueError):  # pragma: no cover - an unknown code in the catalogue
        return code


def place_name(name: str, code: str) -> str:
    """A nation's name in the page's language (Babel's names of countries); an English page,
    and an organisation that is not a nation (its code a lowercase slug), keep the name on
    record."""
    language = current().language
    if language == "en" or len(code) != 2 or not code.isalpha() or not code.isupper():
        return name
    return str(_locale(language).territories.get(code, name))
