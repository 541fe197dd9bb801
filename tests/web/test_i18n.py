"""Pages in every participant's language and in the viewer's time zone.

The catalogue tests keep every later page translatable: a string a page shows that is not
marked for translation fails, and so does a catalogue that misses or fumbles a message.
"""

from __future__ import annotations

import ast
import re
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.dates import format_date
from babel.messages.checkers import checkers
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from jinja2 import Environment, FileSystemLoader, nodes
from jinja2.lexer import TOKEN_BLOCK_BEGIN, TOKEN_DATA, TOKEN_NAME

from crrt.access.enums import Role
from crrt.core.languages import PAGE_LANGUAGES
from crrt.web import i18n
from crrt.web.templating import TEMPLATE_DIR
from tests.support import add_expert

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "crrt" / "web" / "locale"
TRANSLATED = sorted(code for code in PAGE_LANGUAGES if code != "en")
# Text a page may show untranslated: the product's name and typographic marks.
NOT_WORDS = {"crrt"}


def _extracted() -> dict[tuple[str | None, str], str]:
    """Every message the pages mark, extracted as `make messages` does (babel.cfg)."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found = {}
    for _file, _line, message, _comments, context in extract_from_dir(
            str(ROOT), method_map, options_map, comment_tags=("Translators:",)):
        key = message[0] if isinstance(message, tuple) else message
        found[(context, key)] = key
    return found


def _catalogue(code: str):
    with (LOCALE / code / "LC_MESSAGES" / "messages.po").open("rb") as source:
        return read_po(source, locale=code)


def test_the_template_catalogue_holds_every_marked_message():
    """`make messages` has been run: messages.pot lists exactly what the pages mark."""
    with (LOCALE / "messages.pot").open("rb") as source:
        template = read_po(source)
    listed = {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in template if m.id}
    assert set(_extracted()) == listed


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_catalogue_translates_every_message_faithfully(code):
    """Each language has every message, none fuzzy or empty, with the same placeholders
    and as many plural forms as the language has."""
    catalogue = _catalogue(code)
    problems = []
    for context, message in _extracted():
        entry = catalogue.get(message, context=context)
        if entry is None:
            problems.append(f"missing {message!r}")
            continue
        strings = entry.string if isinstance(entry.string, (list, tuple)) else [entry.string]
        if entry.fuzzy or not all(strings):
            problems.append(f"{'fuzzy' if entry.fuzzy else 'untranslated'} {message!r}")
            continue
        for check in checkers:
            try:
                check(catalogue, entry)
            except Exception as exc:  # Babel's TranslationError, reported below
                problems.append(f"{message!r}: {exc}")
    assert problems == [], f"{code}: {len(problems)} problems, e.g. {problems[:5]}"


class _Texts(HTMLParser):
    """The text nodes and human-readable attributes of a page."""

    READABLE = frozenset({"aria-label", "title", "placeholder", "alt"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skipping += 1
        self.found += [value for name, value in attrs if name in self.READABLE and value]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.found.append(data)


def _unmarked_text(source: str) -> list[str]:
    """Text of a template that reaches the page without passing through gettext: the
    template is read as the HTML it makes, with every ``{{ … }}`` a blank (translated or
    data), every tag dropped and every ``{% trans %}`` block left out; what still holds a
    word was written in the template in English."""
    env = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)
    html, in_trans, previous = [], False, None
    for _line, kind, value in env.lex(source):
        if kind == "whitespace":
            continue
        if kind == TOKEN_NAME and previous == TOKEN_BLOCK_BEGIN and value in ("trans",
                                                                             "endtrans"):
            in_trans = value == "trans"
        elif kind == "variable_begin":
            html.append("\x00")
        elif kind == TOKEN_DATA and not in_trans:
            html.append(value)
        previous = kind
    parser = _Texts()
    parser.feed("".join(html))
    parser.close()
    # a macro that writes attributes (aria-describedby="…") leaves them as bare text
    texts = [re.sub(r'[\w-]+="[^"]*"', " ", text) for text in parser.found]
    return [text.strip() for text in texts
            if [w for w in re.findall(r"[^\W\d_]{2,}", text) if w not in NOT_WORDS]]


@pytest.mark.parametrize("name", sorted(p.name for p in Path(TEMPLATE_DIR).glob("*.html")))
def test_no_template_shows_a_word_not_marked_for_translation(name):
    source = (Path(TEMPLATE_DIR) / name).read_text()
    assert _unmarked_text(source) == []


def test_the_unmarked_text_check_finds_what_it_should():
    """The check above is not blind: plain words, a title attribute, a word after a tag."""
    assert _unmarked_text("<p>Hello there</p>") == ["Hello there"]
    assert _unmarked_text('<abbr title="Expert pool">x</abbr>') == ["Expert pool"]
    assert _unmarked_text('{{ _("Fine") }} <b>{{ n }}</b> experts') == ["experts"]
    assert _unmarked_text('{% trans %}Fine{% endtrans %} <span class="x">crrt</span>') == []


def _unmarked_python(source: str) -> list[str]:
    """Prose in a page module's code that is not marked for translation: string constants
    with two words or more, outside docstrings, gettext calls, log calls, comparisons with
    the framework's own English (``detail == "Not Found"``) and patterns that recognise a
    service's English to word it again (``re.compile``)."""
    tree = ast.parse(source)
    skipped: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and \
                isinstance(body[0].value, ast.Constant):
            skipped.add(id(body[0].value))  # a docstring
        called = node.func if isinstance(node, ast.Call) else None
        name = getattr(called, "id", None) or getattr(called, "attr", None)
        owner = getattr(getattr(called, "value", None), "id", None)
        if isinstance(node, ast.Compare) or name in GETTEXT or owner in ("log", "logging") \
                or name in ("startswith", "removeprefix", "endswith", "compile"):
            skipped.update(id(sub) for sub in ast.walk(node))
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in skipped and re.search(r"[^\W\d_]{2,} [^\W\d_]{2,}", node.value)]


GETTEXT = frozenset({"_", "N_", "gettext", "ngettext", "pgettext"})


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "crrt" / "web").glob("*.py")))
def test_no_page_module_words_a_message_not_marked_for_translation(name):
    assert _unmarked_python((ROOT / "crrt" / "web" / name).read_text()) == []


def test_the_unmarked_python_check_finds_what_it_should():
    assert _unmarked_python('error = "Enter your name."') == ["Enter your name."]
    assert _unmarked_python('error = _("Enter your name.")\nok = x == "Not Found"') == []
    assert _unmarked_python('seen = re.compile(r"one lead seat at most")') == []


def test_the_templates_compile_with_the_i18n_extension():
    env = Environment(loader=FileSystemLoader(TEMPLATE_DIR), extensions=["jinja2.ext.i18n"],
                      autoescape=True)
    for name in env.list_templates():
        assert isinstance(env.parse(env.loader.get_source(env, name)[0]), nodes.Template)


# --- choosing the language and the zone -------------------------------------------------------

@pytest.mark.parametrize(("choices", "accept", "expected"), [
    ((None, None), None, "en"),
    ((None, None), "lt-LT,lt;q=0.9,en;q=0.8", "lt"),
    ((None, None), "ja,de;q=0.5,fr;q=0.7", "fr"),
    ((None, None), "xx, yy;q=0.2", "en"),
    ((None, "pl"), "lt", "pl"),            # the sign-in page's choice outranks the browser
    (("et", "pl"), "lt", "et"),            # the account's outranks both
    (("zz", None), "de;q=0", "en"),        # q=0 means "not this one"
    ((None, None), "de;q=nonsense, el", "el"),
])
def test_the_language_is_the_accounts_then_the_chosen_then_the_browsers(choices, accept,
                                                                        expected):
    assert i18n.negotiate(*choices, accept_language=accept) == expected


def test_a_huge_accept_language_is_read_only_so_far():
    assert i18n.negotiate(accept_language="x," * 100_000 + "lt") == "en"


def test_the_languages_an_account_may_store_are_the_pages_languages():
    from typing import get_args

    from crrt.core.languages import PageLanguage

    assert set(get_args(PageLanguage)) == set(PAGE_LANGUAGES)
    assert {p.name for p in LOCALE.iterdir() if p.is_dir()} == set(TRANSLATED)


# --- the pages ---------------------------------------------------------------------------------

def _save_account(page_client, **values: str):
    form = page_client.get("/account")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    return page_client.post("/account", data={"csrf_token": token, "name": "Vardenis",
                                              "language": "", "time_zone": "", **values},
                            follow_redirects=False)


def test_a_coordinator_switched_to_lithuanian_reads_the_pages_in_lithuanian(browser, database,
                                                                           world):
    coordinator = browser(Role.COORDINATOR)
    assert _save_account(coordinator, language="lt").status_code == 303
    dashboard = coordinator.get("/")
    assert '<html lang="lt">' in dashboard.text
    lithuanian = i18n.catalogue("lt")
    for page, english in (("/", "Dashboard"), ("/experts", "Expert pool"),
                          ("/experts/new", "Nominate an expert")):
        text = coordinator.get(page).text
        translated = lithuanian.gettext(english)
        assert translated != english and translated in text, page
    organisations = coordinator.get("/organisations").text
    assert format_date(date.today(), format="medium", locale="lt") in organisations
    # nations by their Lithuanian names (Babel's), organisations that are not nations as named
    form = coordinator.get("/experts/new").text
    assert ">Estija (EE)</option>" in form and ">Ispanija (ES)</option>" in form
    assert "Estonia" not in form


def test_a_nation_keeps_its_recorded_name_in_english_and_a_slug_everywhere():
    i18n.use(i18n.Viewpoint("fr"))
    assert i18n.place_name("Estonia", "EE") == "Estonie"
    assert i18n.place_name("CERT-EU", "cert-eu") == "CERT-EU"
    i18n.use(i18n.Viewpoint("en"))
    assert i18n.place_name("The Netherlands", "NL") == "The Netherlands"


def test_the_browsers_language_serves_until_the_account_chooses(browser):
    observer = browser(Role.OBSERVER)
    page = observer.get("/", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert '<html lang="fr">' in page.text
    assert i18n.catalogue("fr").gettext("Sign out") in page.text


def test_the_sign_in_page_switches_language_with_a_cookie(client):
    answer = client.get("/language", params={"lang": "el", "next": "/login"},
                        follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    assert "crrt_lang=el" in answer.headers["set-cookie"]
    page = client.get("/login")
    assert '<html lang="el">' in page.text
    assert 'hreflang="lt"' in page.text and "Lietuvių" in page.text


def test_the_language_switch_goes_only_to_this_site(client):
    answer = client.get("/language", params={"lang": "de", "next": "//evil.example/"},
                        follow_redirects=False)
    assert answer.headers["location"] == "/"
    ignored = client.get("/language", params={"lang": "klingon", "next": "/login"},
                         follow_redirects=False)
    assert "set-cookie" not in ignored.headers


def test_times_show_in_the_chosen_zone_and_say_which(browser, database, world):
    responder = browser(Role.RESPONDER)
    assert _save_account(responder, time_zone="America/Argentina/Buenos_Aires").status_code \
        == 303
    page = responder.get("/")
    assert "America/Argentina/Buenos_Aires" in page.text  # the footer names the zone
    i18n.use(i18n.Viewpoint(zone="America/Argentina/Buenos_Aires"))
    shown = i18n.format_moment(datetime(2027, 1, 15, 10, 30, tzinfo=UTC))
    assert "7:30" in shown and shown.endswith("(America/Argentina/Buenos_Aires)")


def test_without_a_choice_the_zone_is_the_linked_experts(browser, database, world):
    from sqlalchemy import select, update

    from crrt.auth.models import User
    from crrt.experts.models import Expert

    responder = browser(Role.RESPONDER)
    email = re.search(r"web\d+-responder@test\.example", responder.get("/account").text)[0]
    with database.session(read_only=True) as db:
        user_id = db.scalar(select(User.id).where(User.email == email))
    expert = add_expert(database, "EE", name="Zoned Expert", user_id=user_id)
    with database.session() as db:
        db.execute(update(Expert).where(Expert.public_id == expert)
                   .values(time_zone="Europe/Tallinn"))
    page = responder.get("/")
    assert "Europe/Tallinn" in page.text


def test_a_bad_zone_is_told_by_its_field_and_changes_nothing(browser, database, world):
    poc = browser(Role.NATIONAL_POC)
    answer = _save_account(poc, time_zone="Mars/Olympus_Mons", language="et")
    assert answer.status_code == 422
    assert 'id="time_zone-error"' in answer.text
    assert re.search(r'id="time_zone"[^>]*aria-invalid="true"', answer.text)
    assert '<html lang="en">' in poc.get("/").text  # the language was not saved either
