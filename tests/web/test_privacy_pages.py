"""An expert's personal data in the browser: seeing it, downloading it, erasing it."""

from __future__ import annotations

import json

from sqlalchemy import select

from crrt.access.enums import Role
from crrt.audit.models import AuditEvent
from crrt.auth.models import User
from crrt.experts import service as expert_service
from tests.conftest import SYSTEM
from tests.web.conftest import csrf_of, nominate


def _erase(client, expert_id, typed: str):
    token = csrf_of(client.get(f"/experts/{expert_id}/erase").text)
    return client.post(f"/experts/{expert_id}/erase",
                       data={"csrf_token": token, "confirmation": typed},
                       follow_redirects=False)


def _record(database, expert_id):
    with database.session() as db:
        return expert_service.expert_out(db, SYSTEM, expert_service.get(
            db=db, actor=SYSTEM, expert_id=expert_id))


def test_the_expert_page_offers_download_and_erasure_to_who_may(browser, database):
    estonian = nominate(database, "EE", "Kadri Tamm")
    for role in (Role.ADMIN, Role.COORDINATOR, Role.NATIONAL_POC):
        page = browser(role).get(f"/experts/{estonian}").text
        assert f'href="/experts/{estonian}/personal-data.json"' in page, role
        assert f'href="/experts/{estonian}/erase"' in page, role
    responder = browser(Role.RESPONDER)
    with database.session() as db:  # the responder's own record: it reads it, but not this
        expert = expert_service.get(db=db, actor=SYSTEM, expert_id=estonian)
        expert.user_id = db.scalars(select(User.id).where(User.role == Role.RESPONDER)
                                    .order_by(User.id.desc())).first()
    own = responder.get(f"/experts/{estonian}")
    assert own.status_code == 200 and "personal-data.json" not in own.text
    assert responder.get(f"/experts/{estonian}/erase").status_code == 403


def test_the_download_is_the_apis_document_as_an_attachment(browser, database, world):
    estonian = nominate(database, "EE", "Kadri Tamm")
    client = browser(Role.NATIONAL_POC)
    download = client.get(f"/experts/{estonian}/personal-data.json")
    assert download.status_code == 200
    assert download.headers["content-disposition"] == \
        f'attachment; filename="expert-{estonian}.json"'
    assert download.headers["cache-control"] == "no-store"
    document = json.loads(download.text)
    api = client.get(f"/api/v1/experts/{estonian}/personal-data",
                     headers=world.headers(Role.NATIONAL_POC)).json()
    assert document["format"] == api["format"] == "crrt.personal-data/2"
    assert document["parts"]["experts"][0]["name"] == "Kadri Tamm"
    assert {k: v for k, v in document["parts"]["experts"][0].items() if k != "audit"} == \
        {k: v for k, v in api["parts"]["experts"][0].items() if k != "audit"}


def test_the_personal_data_page_shows_what_is_held_and_is_audited(browser, database):
    estonian = nominate(database, "EE", "Kadri Tamm")
    page = browser(Role.COORDINATOR).get(f"/experts/{estonian}/personal-data")
    assert page.status_code == 200
    assert "kadri.tamm@ee.example" in page.text and "<code>email</code>" in page.text
    assert f'href="/experts/{estonian}/personal-data.json"' in page.text
    with database.session() as db:
        exports = db.scalars(select(AuditEvent).where(AuditEvent.action == "expert.export",
                                                      AuditEvent.object_id == str(estonian)))
        assert len(list(exports)) == 1


def test_erasure_says_what_goes_and_what_stays_and_asks_for_the_name(browser, database):
    estonian = nominate(database, "EE", "Kadri Tamm")
    page = browser(Role.NATIONAL_POC).get(f"/experts/{estonian}/erase")
    assert page.status_code == 200
    assert 'id="erased-heading"' in page.text and 'id="kept-heading"' in page.text
    assert '<label for="confirmation">' in page.text
    assert 'aria-describedby="confirmation-hint"' in page.text


def test_a_wrong_or_missing_name_changes_nothing_and_is_told_by_the_field(browser, database):
    estonian = nominate(database, "EE", "Kadri Tamm")
    client = browser(Role.NATIONAL_POC)
    for typed in ("", "Kadri", "erase"):
        page = _erase(client, estonian, typed)
        assert page.status_code == 422
        assert 'id="confirmation-error"' in page.text and 'aria-invalid="true"' in page.text
        assert 'href="#confirmation"' in page.text
    assert not _record(database, estonian).erased


def test_the_typed_name_erases_the_record_and_the_page_says_so(browser, database):
    estonian = nominate(database, "EE", "Kadri Tamm")
    client = browser(Role.NATIONAL_POC)
    done = _erase(client, estonian, "  kadri   TAMM ")
    assert done.status_code == 303
    assert done.headers["location"] == f"/experts/{estonian}?saved=erased"
    record = _record(database, estonian)
    assert record.erased and record.email is None and record.name.startswith("Erased expert")
    page = client.get(done.headers["location"]).text
    assert "The personal data is erased" in page
    assert f'href="/experts/{estonian}/erase"' not in page  # nothing more to erase
    assert client.get(f"/experts/{estonian}/erase").status_code == 409
    with database.session() as db:
        erasures = db.scalars(select(AuditEvent).where(AuditEvent.action == "expert.erase"))
        assert [e.object_id for e in erasures] == [str(estonian)]


def test_a_poc_cannot_see_or_erase_another_nations_expert(browser, database):
    spanish = nominate(database, "ES", "Lucia Garcia")
    client = browser(Role.NATIONAL_POC)
    assert client.get(f"/experts/{spanish}/erase").status_code in (403, 404)
    assert client.get(f"/experts/{spanish}/personal-data.json").status_code in (403, 404)
    token = csrf_of(client.get("/experts/import").text)
    refused = client.post(f"/experts/{spanish}/erase", follow_redirects=False,
                          data={"csrf_token": token,
                                "confirmation": "Lucia Garcia"})
    assert refused.status_code in (403, 404)
    assert not _record(database, spanish).erased
