"""Users administration in the browser: the list and its filters, a new account, one account's
role, organisation, state and password, its API tokens; admins only."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from crrt.access.enums import Role
from crrt.auth import passwords
from crrt.auth import service as auth_service
from crrt.auth.models import ApiToken, User, WebSession
from crrt.auth.schemas import TokenIn, UserIn, UserPatch
from tests.conftest import SYSTEM
from tests.web.conftest import csrf_of, open_session, post_form

OTHERS = [Role.COORDINATOR, Role.NATIONAL_POC, Role.RESPONDER, Role.REQUESTER, Role.OBSERVER]
NEW_PASSWORD = "a brand new password 2031"


def add_user(database, email: str, *, role: Role = Role.OBSERVER, org: str = "DE",
             name: str = "Some One") -> int:
    with database.session() as db:
        return auth_service.create_user(db=db, actor=SYSTEM, data=UserIn(
            email=email, name=name, role=role, org=org)).id


def add_token(database, user_id: int, name: str = "script") -> int:
    with database.session() as db:
        user = db.get(User, user_id)
        token, _secret = auth_service.create_token(db=db, actor=SYSTEM, user=user,
                                                   data=TokenIn(name=name))
        return token.id


def account(database, user_id: int) -> User:
    with database.session(read_only=True) as db:
        user = db.get(User, user_id)
        db.expunge(user)
        return user


def standing_tokens(database, user_id: int) -> int:
    with database.session(read_only=True) as db:
        return len(db.scalars(select(ApiToken).where(ApiToken.user_id == user_id,
                                                     ApiToken.revoked_at.is_(None))).all())


def open_sessions(database, user_id: int) -> int:
    with database.session(read_only=True) as db:
        return len(db.scalars(select(WebSession).where(WebSession.user_id == user_id,
                                                       WebSession.ended_at.is_(None))).all())


def listed_emails(page: str) -> list[str]:
    return [html.unescape(e) for e in re.findall(r'<td class="user-email">([^<]*)</td>', page)]


def error_of(page: str, field: str) -> str | None:
    found = re.search(rf'<p class="field-error" id="{field}-error">(.*?)</p>', page, re.S)
    if found is None:
        return None
    message = re.sub(r'<span class="visually-hidden">.*?</span>', "", found.group(1))
    return html.unescape(message)


MY_PASSWORD = "the admin's own password 2031"


def admin_with_password(browser, database):
    """A signed-in admin who can give their own password again (setting another account's
    password asks for it)."""
    import re

    from sqlalchemy import update

    admin = browser(Role.ADMIN)
    email = re.search(r"web\d+-admin@test\.example", admin.get("/account").text)[0]
    with database.session() as db:  # the hash alone: a reset would end this very session
        db.execute(update(User).where(User.email == email)
                   .values(password_hash=passwords.hash_password(MY_PASSWORD)))
    return admin


def change(client, user_id: int, data: dict[str, str]):
    return post_form(client, f"/users/{user_id}", f"/users/{user_id}", data)


# --- the list -----------------------------------------------------------------------------------

def test_the_list_shows_every_account_with_its_role_organisation_state_and_last_sign_in(
        browser, database, world):
    admin = browser(Role.ADMIN)
    gone = add_user(database, "gone@test.example", name="Gone Person")
    with database.session() as db:
        auth_service.update_user(db=db, actor=SYSTEM, user_id=gone,
                                 data=UserPatch(is_active=False))
    page = admin.get("/users")
    assert page.status_code == 200
    emails = listed_emails(page.text)
    assert {"admin@test.example", "observer@test.example", "gone@test.example"} <= set(emails)
    row = re.search(rf'<tr>\s*<th scope="row"><a href="/users/{gone}">Gone Person</a>(.*?)</tr>',
                    page.text, re.S)
    assert row, page.text
    assert "Observer" in row.group(1) and ">DE</abbr>" in row.group(1)
    assert "status--off" in row.group(1) and "Never" in row.group(1)
    assert re.search(r'<a href="/users" aria-current="page">', page.text)


def test_filters_narrow_by_role_organisation_and_state(browser, database):
    admin = browser(Role.ADMIN)
    add_user(database, "gone@test.example", role=Role.RESPONDER, org="EE")
    with database.session() as db:
        user = auth_service.find_by_email(db=db, actor=SYSTEM, email="gone@test.example")
        user.is_active = False

    def shown(**params: str) -> set[str]:
        page = admin.get("/users", params=params)
        assert page.status_code == 200, page.text
        return set(listed_emails(page.text))

    assert shown(role="responder") == {"responder@test.example", "gone@test.example"}
    assert shown(role="responder", active="yes") == {"responder@test.example"}
    assert shown(active="no") == {"gone@test.example"}
    assert shown(org="EE", role="national_poc") == {"national-poc@test.example"}
    assert shown(org="cert-eu") == {"requester@test.example"}
    page = admin.get("/users", params={"org": "DE", "role": "admin"})
    assert listed_emails(page.text) == []
    assert '<option value="DE" selected>' in page.text


@pytest.mark.parametrize(("params", "field"), [
    ({"role": "emperor"}, "role"), ({"org": "XX"}, "org"), ({"active": "maybe"}, "active")])
def test_a_bad_filter_is_told_beside_its_field(browser, params, field):
    page = browser(Role.ADMIN).get("/users", params=params)
    assert page.status_code == 422
    assert error_of(page.text, field) == "Choose one of the listed options."
    assert "<tbody>" not in page.text


def test_the_list_pages_with_the_services_cursor(browser, database):
    admin = browser(Role.ADMIN)
    for i in range(55):
        add_user(database, f"many-{i:02}@test.example", org="ES")
    first = admin.get("/users", params={"org": "ES"})
    assert len(listed_emails(first.text)) == 50
    following = re.search(r'<a href="([^"]+)" rel="next">', first.text)
    assert following
    second = admin.get(html.unescape(following.group(1)))
    assert len(listed_emails(second.text)) == 5
    assert set(listed_emails(first.text)).isdisjoint(listed_emails(second.text))
    assert 'href="/users?org=ES">First page</a>' in second.text


# --- a new account ------------------------------------------------------------------------------

def test_an_admin_adds_a_user_without_a_password(browser, database):
    admin = browser(Role.ADMIN)
    done = post_form(admin, "/users/new", "/users/new", {
        "email": "New.Person@Test.example", "name": "New Person", "role": "national_poc",
        "org": "EE", "password": "", "password_again": ""})
    assert done.status_code == 303
    user_id = int(re.fullmatch(r"/users/(\d+)\?saved=created", done.headers["location"])[1])
    made = account(database, user_id)
    assert (made.email, made.role, made.password_hash) == ("new.person@test.example",
                                                           Role.NATIONAL_POC, None)
    page = admin.get(done.headers["location"])
    assert "The account is created." in page.text and "New Person" in page.text


def test_an_admin_adds_a_user_with_a_password_who_can_then_sign_in(browser, database):
    admin = admin_with_password(browser, database)
    fields = {"email": "pw@test.example", "name": "With Password", "role": "observer",
              "org": "DE", "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
    for mine, message in (("", "Give your own password to set a password."),
                          ("not mine at all", "Your own password is not right.")):
        refused = post_form(admin, "/users/new", "/users/new", fields | {"my_password": mine})
        assert refused.status_code == 422 and error_of(refused.text, "my_password") == message
    done = post_form(admin, "/users/new", "/users/new", fields | {"my_password": MY_PASSWORD})
    assert done.status_code == 303
    with database.session(read_only=True) as db:
        made = auth_service.find_by_email(db=db, actor=SYSTEM, email="pw@test.example")
        assert passwords.verify_password(made.password_hash, NEW_PASSWORD)


def test_the_new_user_form_tells_each_problem_and_keeps_what_was_typed(browser, database):
    admin = browser(Role.ADMIN)
    page = post_form(admin, "/users/new", "/users/new", {
        "email": "not an address", "name": "", "role": "emperor", "org": "DE",
        "password": "short", "password_again": "short"})
    assert page.status_code == 422
    assert error_of(page.text, "email") == "Enter an email address such as name@example.org."
    assert error_of(page.text, "name") == "Enter the user's full name."
    assert error_of(page.text, "role") == "Choose one of the listed options."
    assert error_of(page.text, "password") == "Use at least 12 characters."
    assert 'value="not an address"' in page.text
    assert '<option value="DE" selected>' in page.text
    assert 'value="short"' not in page.text
    assert 'name="password" value=""' in page.text
    mismatch = post_form(admin, "/users/new", "/users/new", {
        "email": "x@test.example", "name": "X", "role": "observer", "org": "DE",
        "password": NEW_PASSWORD, "password_again": NEW_PASSWORD + "!"})
    assert mismatch.status_code == 422
    assert error_of(mismatch.text, "password_again") == "The two passwords are not the same."
    assert NEW_PASSWORD not in mismatch.text
    missing = post_form(admin, "/users/new", "/users/new", {"email": "", "name": "X"})
    assert error_of(missing.text, "email") == "Enter the user's email address."
    assert error_of(missing.text, "role") == "Choose a role."
    assert error_of(missing.text, "org") == "Choose an organisation."


def test_a_duplicate_email_and_a_poc_outside_a_nation_are_told_beside_their_field(browser):
    admin = browser(Role.ADMIN)
    taken = post_form(admin, "/users/new", "/users/new", {
        "email": "OBSERVER@test.example", "name": "Twin", "role": "observer", "org": "DE"})
    assert taken.status_code == 422
    assert error_of(taken.text, "email") == "An account with this email address exists already."
    assert 'value="OBSERVER@test.example"' in taken.text
    poc = post_form(admin, "/users/new", "/users/new", {
        "email": "poc@test.example", "name": "Poc", "role": "national_poc", "org": "cert-eu"})
    assert poc.status_code == 422
    assert error_of(poc.text, "org") == "A national point of contact belongs to a nation."


# --- one account --------------------------------------------------------------------------------

def test_an_admin_changes_a_users_name_role_and_organisation(browser, database, world):
    admin = browser(Role.ADMIN)
    observer = world.users[Role.OBSERVER]
    page = admin.get(f"/users/{observer}")
    assert page.status_code == 200
    assert 'id="name" name="name" value="Observer"' in page.text
    done = change(admin, observer, {"action": "details", "name": "Renamed Person",
                                    "role": "coordinator", "org": "LT"})
    assert done.status_code == 303
    assert done.headers["location"] == f"/users/{observer}?saved=details"
    changed = account(database, observer)
    assert (changed.name, changed.role) == ("Renamed Person", Role.COORDINATOR)
    assert "The changes are saved." in admin.get(done.headers["location"]).text
    wrong = change(admin, observer, {"action": "details", "name": "Renamed Person",
                                     "role": "national_poc", "org": "cert-eu"})
    assert wrong.status_code == 422
    assert error_of(wrong.text, "org") == "A national point of contact belongs to a nation."
    assert '<option value="national_poc" selected>' in wrong.text
    assert account(database, observer).role is Role.COORDINATOR


@pytest.mark.parametrize("keep", [False, True])
def test_deactivating_ends_the_sessions_and_revokes_the_tokens_unless_kept(
        browser, database, world, keep):
    admin = browser(Role.ADMIN)
    observer = world.users[Role.OBSERVER]
    add_token(database, observer)
    open_session(database, "observer@test.example")
    data = {"action": "deactivate"} | ({"keep_tokens": "1"} if keep else {})
    done = change(admin, observer, data)
    assert done.status_code == 303
    assert done.headers["location"] == \
        f"/users/{observer}?saved={'deactivated_kept' if keep else 'deactivated'}"
    assert not account(database, observer).is_active
    assert open_sessions(database, observer) == 0
    assert standing_tokens(database, observer) == (2 if keep else 0)
    page = admin.get(done.headers["location"])
    assert "status--off" in page.text and 'value="reactivate"' in page.text
    again = change(admin, observer, {"action": "reactivate"})
    assert again.headers["location"] == f"/users/{observer}?saved=reactivated"
    assert account(database, observer).is_active
    assert standing_tokens(database, observer) == (2 if keep else 0)


def test_the_last_active_admin_is_kept(browser, database, world):
    admin = browser(Role.ADMIN)
    with database.session() as db:
        auth_service.update_user(db=db, actor=SYSTEM, user_id=world.users[Role.ADMIN],
                                 data=UserPatch(is_active=False))
        me = auth_service.find_by_email(db=db, actor=SYSTEM, email="web1-admin@test.example").id
    refused = change(admin, me, {"action": "deactivate"})
    assert refused.status_code == 422
    assert error_of(refused.text, "status") == \
        "This is the last active admin: make another user admin first."
    demoted = change(admin, me, {"action": "details", "name": "Web Admin",
                                 "role": "coordinator", "org": "LT"})
    assert demoted.status_code == 422
    assert error_of(demoted.text, "role") == \
        "This is the last active admin: make another user admin first."
    assert '<option value="coordinator" selected>' in demoted.text
    still = account(database, me)
    assert still.is_active and still.role is Role.ADMIN


@pytest.mark.parametrize("keep", [False, True])
def test_an_admin_sets_a_new_password_for_a_user(browser, database, world, keep):
    admin = admin_with_password(browser, database)
    observer = world.users[Role.OBSERVER]
    open_session(database, "observer@test.example")
    data = {"action": "password", "password": NEW_PASSWORD, "password_again": NEW_PASSWORD,
            "my_password": MY_PASSWORD}
    refused = change(admin, observer, data | {"my_password": "a guess"})
    assert refused.status_code == 422
    assert error_of(refused.text, "my_password") == "Your own password is not right."
    assert not passwords.verify_password(account(database, observer).password_hash,
                                         NEW_PASSWORD)
    done = change(admin, observer, data | ({"keep_tokens": "1"} if keep else {}))
    assert done.status_code == 303
    assert done.headers["location"] == \
        f"/users/{observer}?saved={'password_kept' if keep else 'password'}"
    assert passwords.verify_password(account(database, observer).password_hash, NEW_PASSWORD)
    assert open_sessions(database, observer) == 0
    assert standing_tokens(database, observer) == (1 if keep else 0)
    page = admin.get(done.headers["location"])
    assert NEW_PASSWORD not in page.text


def test_a_new_password_typed_badly_is_told_and_never_shown_again(browser, database, world):
    admin = browser(Role.ADMIN)
    observer = world.users[Role.OBSERVER]
    for data, field, message in [
        ({"password": "", "password_again": ""}, "password", "Enter the new password."),
        ({"password": "short one", "password_again": "short one"}, "password",
         "Use at least 12 characters."),
        ({"password": NEW_PASSWORD, "password_again": "something else entirely"},
         "password_again", "The two passwords are not the same.")]:
        page = change(admin, observer, {"action": "password", **data})
        assert page.status_code == 422
        assert error_of(page.text, field) == message
        assert all(value not in page.text for value in data.values() if value)
    assert account(database, observer).password_hash is None


def test_revoking_a_token_stops_it(browser, database, world):
    admin = browser(Role.ADMIN)
    observer = world.users[Role.OBSERVER]
    token = add_token(database, observer, name="nightly export")
    page = admin.get(f"/users/{observer}")
    assert "nightly export" in page.text
    assert f'action="/users/{observer}/tokens/{token}/revoke"' in page.text
    done = post_form(admin, f"/users/{observer}", f"/users/{observer}/tokens/{token}/revoke", {})
    assert done.status_code == 303
    assert done.headers["location"] == f"/users/{observer}?saved=revoked#tokens"
    assert standing_tokens(database, observer) == 1  # the world's own token stands
    page = admin.get(done.headers["location"])
    assert "The token is revoked." in page.text
    assert f"/tokens/{token}/revoke" not in page.text
    other = world.users[Role.RESPONDER]
    elsewhere = post_form(admin, f"/users/{observer}",
                          f"/users/{other}/tokens/{token}/revoke", {})
    assert elsewhere.status_code == 404


def test_an_unknown_user_is_a_404_page(browser):
    assert browser(Role.ADMIN).get("/users/999999").status_code == 404


# --- who may ------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", OTHERS)
def test_other_roles_get_the_403_page_and_no_menu_entry(browser, database, world, role):
    client = browser(role)
    observer = world.users[Role.OBSERVER]
    token = add_token(database, observer)
    assert 'href="/users"' not in client.get("/").text
    for path in ("/users", "/users?role=emperor", "/users/new", f"/users/{observer}"):
        page = client.get(path)
        assert page.status_code == 403, path
        assert "<tbody>" not in page.text and "observer@test.example" not in page.text
    token_field = csrf_of(client.get("/").text)
    for action, data in [
        ("/users/new", {"email": "x@test.example", "name": "X", "role": "admin",
                        "org": "LT"}),
        (f"/users/{observer}", {"action": "details", "name": "X", "role": "admin",
                                "org": "LT"}),
        (f"/users/{observer}", {"action": "password", "password": NEW_PASSWORD,
                                "password_again": NEW_PASSWORD}),
        (f"/users/{observer}/tokens/{token}/revoke", {})]:
        answer = client.post(action, data={"csrf_token": token_field, **data},
                             follow_redirects=False)
        assert answer.status_code == 403, action
    observed = account(database, observer)
    assert (observed.name, observed.role, observed.password_hash) == \
        ("Observer", Role.OBSERVER, None)
    assert standing_tokens(database, observer) == 2


def test_a_form_without_its_csrf_token_is_refused(browser, database, world):
    admin = browser(Role.ADMIN)
    observer = world.users[Role.OBSERVER]
    token = add_token(database, observer)
    for action, data in [
        ("/users/new", {"email": "x@test.example", "name": "X", "role": "observer",
                        "org": "DE"}),
        (f"/users/{observer}", {"action": "deactivate"}),
        (f"/users/{observer}/tokens/{token}/revoke", {}),
        (f"/users/{observer}", {"action": "details", "csrf_token": "forged", "name": "X",
                                "role": "admin", "org": "LT"})]:
        answer = admin.post(action, data=data, follow_redirects=False)
        assert answer.status_code == 403, action
    assert account(database, observer).is_active
    assert standing_tokens(database, observer) == 2


def test_an_admin_changes_their_own_password_only_under_my_account(browser, database):
    import re

    admin = admin_with_password(browser, database)
    email = re.search(r"web\d+-admin@test\.example", admin.get("/account").text)[0]
    with database.session(read_only=True) as db:
        me = auth_service.find_by_email(db=db, actor=SYSTEM, email=email).id
    page = change(admin, me, {"action": "password", "password": NEW_PASSWORD,
                              "password_again": NEW_PASSWORD, "my_password": MY_PASSWORD})
    assert page.status_code == 422
    assert "My account" in error_of(page.text, "password")
    assert passwords.verify_password(account(database, me).password_hash, MY_PASSWORD)
