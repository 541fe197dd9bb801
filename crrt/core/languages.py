"""The languages crrt's pages speak: English and the official languages of the participating
and observer nations. The catalogues live with the pages (``crrt/web/locale``); the codes are
here, below every part, because an account stores its choice."""

from __future__ import annotations

from typing import Literal

# Each named in itself: a person looks for their own language's name.
PAGE_LANGUAGES: dict[str, str] = {
    "en": "English",
    "de": "Deutsch",
    "el": "Ελληνικά",
    "es": "Español",
    "et": "Eesti",
    "fi": "Suomi",
    "fr": "Français",
    "hr": "Hrvatski",
    "lt": "Lietuvių",
    "nl": "Nederlands",
    "pl": "Polski",
    "ro": "Română",
    "sl": "Slovenščina",
}

PageLanguage = Literal["en", "de", "el", "es", "et", "fi", "fr", "hr", "lt", "nl", "pl", "ro",
                       "sl"]
