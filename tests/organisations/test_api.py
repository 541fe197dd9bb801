"""The organisations API as a client sees it."""

from __future__ import annotations

from datetime import timedelta

from crrt.access.enums import Role
from crrt.core import clock


def test_create_an_eu_institution_and_read_it_back(client, world):
    headers = world.headers(Role.COORDINATOR)
    created = client.post("/api/v1/organisations", headers=headers,
                          json={"code": "enisa", "name": "ENISA", "kind": "eu_institution"})
    assert created.status_code == 201
    assert created.json() == {"code": "enisa", "name": "ENISA", "kind": "eu_institution",
                              "membership": None, "member_since": None, "planned": [],
                              "contact": {"hotline": None, "email": None,
                                          "pgp_fingerprint": None, "messenger": None,
                                          "default_tlp": None}}
    fetched = client.get("/api/v1/organisations/enisa", headers=world.headers(Role.OBSERVER))
    assert fetched.json() == created.json()


def test_a_nation_code_must_be_iso_alpha_2(client, world):
    response = client.post("/api/v1/organisations", headers=world.headers(Role.ADMIN),
                           json={"code": "XX", "name": "Atlantis", "kind": "nation"})
    assert response.status_code == 422
    assert "ISO 3166-1" in response.json()["errors"][0]["msg"]


def test_a_slug_must_be_lowercase(client, world):
    response = client.post("/api/v1/organisations", headers=world.headers(Role.ADMIN),
                           json={"code": "Enisa", "name": "ENISA", "kind": "eu_institution"})
    assert response.status_code == 422


def test_membership_change_and_history_through_the_api(client, world):
    headers = world.headers(Role.COORDINATOR)
    joins, leaves = (str(clock.today() + timedelta(days=d)) for d in (10, 100))
    response = client.patch("/api/v1/organisations/DE", headers=headers,
                            json={"membership": "participant", "effective_on": joins,
                                  "note": "Joined as participant"})
    assert response.status_code == 200
    assert response.json()["membership"] == "observer"  # planned: not in force before its day
    assert [(p["membership"], p["effective_on"], p["planned"])
            for p in response.json()["planned"]] == [("participant", joins, True)]
    left = client.patch("/api/v1/organisations/DE", headers=headers,
                        json={"membership": None, "effective_on": leaves})
    assert left.json()["membership"] == "observer"
    assert [p["membership"] for p in left.json()["planned"]] == ["participant", None]
    on_the_day = client.get("/api/v1/organisations/DE", params={"on": joins}, headers=headers)
    assert (on_the_day.json()["membership"], on_the_day.json()["member_since"]) == (
        "participant", joins)
    history = client.get("/api/v1/organisations/DE/history",
                         headers=world.headers(Role.REQUESTER)).json()
    assert [(h["event"], h["previous"], h["membership"], h["effective_on"], h["planned"])
            for h in history][-2:] == [
        ("role_changed", "observer", "participant", joins, True),
        ("left", "participant", None, leaves, True)]
    assert history[-2]["note"] == "Joined as participant"
    assert history[-1]["recorded_by"] == f"user:{world.users[Role.COORDINATOR]}"


def test_a_patch_without_membership_leaves_it_alone(client, world):
    response = client.patch("/api/v1/organisations/EE", headers=world.headers(Role.ADMIN),
                            json={"name": "Republic of Estonia"})
    assert response.json()["membership"] == "participant"
    assert response.json()["name"] == "Republic of Estonia"


def test_a_second_lead_is_a_409(client, world):
    response = client.patch("/api/v1/organisations/EE", headers=world.headers(Role.ADMIN),
                            json={"membership": "lead"})
    assert response.status_code == 409
    assert response.json()["lead"] == "LT"


def test_a_backdated_change_is_a_422(client, world):
    response = client.patch("/api/v1/organisations/EE", headers=world.headers(Role.ADMIN),
                            json={"membership": "observer", "effective_on": "1999-01-01"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["effective_on"]


def test_a_non_nation_membership_is_a_422(client, world):
    response = client.patch("/api/v1/organisations/cert-eu", headers=world.headers(Role.ADMIN),
                            json={"membership": "participant"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["membership"]


def test_list_filters_kind_and_membership(client, world):
    headers = world.headers(Role.OBSERVER)

    def codes(**params: str) -> set[str]:
        return {o["code"] for o in client.get("/api/v1/organisations", params=params,
                                              headers=headers).json()["items"]}

    assert codes(kind="nation") == {"LT", "EE", "ES", "DE"}
    assert codes(membership="lead") == {"LT"}
    assert codes(kind="nation", membership="observer") == {"DE"}
    assert codes(kind="partner") == set()


def test_institutions_crud_through_the_api(client, world):
    headers = world.headers(Role.NATIONAL_POC)
    created = client.post("/api/v1/organisations/EE/institutions", headers=headers,
                          json={"name": "CERT-EE", "kind": "csirt"})
    assert created.status_code == 201
    inst = created.json()
    assert (inst["org"], inst["name"], inst["kind"]) == ("EE", "CERT-EE", "csirt")
    url = f"/api/v1/organisations/EE/institutions/{inst['id']}"
    assert client.get(url, headers=world.headers(Role.OBSERVER)).json() == inst
    patched = client.patch(url, headers=headers, json={"name": "CERT.EE"})
    assert patched.json()["name"] == "CERT.EE"
    listed = client.get("/api/v1/organisations/EE/institutions", headers=headers).json()
    assert [i["name"] for i in listed] == ["CERT.EE"]
    assert client.delete(url, headers=headers).status_code == 204
    assert client.get(url, headers=headers).status_code == 404


def test_a_poc_may_not_write_another_nations_institutions(client, world):
    spanish = client.post("/api/v1/organisations/ES/institutions",
                          headers=world.headers(Role.ADMIN),
                          json={"name": "INCIBE", "kind": "csirt"}).json()
    headers = world.headers(Role.NATIONAL_POC)
    assert client.post("/api/v1/organisations/ES/institutions", headers=headers,
                       json={"name": "CCN-CERT", "kind": "csirt"}).status_code == 403
    url = f"/api/v1/organisations/ES/institutions/{spanish['id']}"
    assert client.patch(url, headers=headers, json={"name": "X"}).status_code == 403
    assert client.delete(url, headers=headers).status_code == 403
    assert client.get(url, headers=headers).status_code == 200


def test_an_institution_of_another_organisation_is_a_404(client, world):
    spanish = client.post("/api/v1/organisations/ES/institutions",
                          headers=world.headers(Role.ADMIN),
                          json={"name": "INCIBE", "kind": "csirt"}).json()
    response = client.get(f"/api/v1/organisations/EE/institutions/{spanish['id']}",
                          headers=world.headers(Role.ADMIN))
    assert response.status_code == 404


def test_blank_names_are_refused_not_stored_empty(client, world):
    headers = world.headers(Role.ADMIN)
    created = client.post("/api/v1/organisations", headers=headers,
                          json={"code": "enisa", "name": "   ", "kind": "eu_institution"})
    assert created.status_code == 422
    assert created.json()["errors"][0]["loc"] == ["name"]
    renamed = client.patch("/api/v1/organisations/EE", headers=headers, json={"name": " "})
    assert renamed.status_code == 422
    institution = client.post("/api/v1/organisations/EE/institutions", headers=headers,
                              json={"name": "\t", "kind": "csirt"})
    assert institution.status_code == 422
    assert client.get("/api/v1/organisations/EE", headers=headers).json()["name"] == "Estonia"


def test_invisible_and_reversed_names_are_refused(client, world):
    """A name of zero-width characters lists as nothing; a right-to-left override shows
    "ENISA" for a name stored reversed. Neither reaches the database."""
    headers = world.headers(Role.ADMIN)
    created = client.post("/api/v1/organisations", headers=headers,
                          json={"code": "enisa", "name": "\u200b\u200d\ufeff",
                                "kind": "eu_institution"})
    assert created.status_code == 422
    assert created.json()["errors"][0]["loc"] == ["name"]
    renamed = client.patch("/api/v1/organisations/EE", headers=headers,
                           json={"name": "\u202eainotsE"})
    assert renamed.status_code == 422
    institution = client.post("/api/v1/organisations/EE/institutions", headers=headers,
                              json={"name": "CERT\u2066-EE", "kind": "csirt"})
    assert institution.status_code == 422
    assert client.get("/api/v1/organisations/EE", headers=headers).json()["name"] == "Estonia"
    assert client.get("/api/v1/organisations/EE/institutions", headers=headers).json() == []


def test_a_membership_date_far_ahead_or_before_1990_is_a_422_naming_effective_on(client,
                                                                                world):
    from datetime import UTC, datetime

    headers = world.headers(Role.ADMIN)
    with clock.frozen(datetime(2030, 6, 1, 12, tzinfo=UTC)):
        too_late = str(clock.today() + timedelta(days=367))
        for effective_on in ("1989-12-31", too_late, "9999-12-31"):
            created = client.post("/api/v1/organisations", headers=headers,
                                  json={"code": "FI", "name": "Finland", "kind": "nation",
                                        "membership": "participant",
                                        "effective_on": effective_on})
            assert created.status_code == 422, (effective_on, created.text)
            assert created.headers["content-type"] == "application/problem+json"
            assert [e["loc"] for e in created.json()["errors"]] == [["effective_on"]]
            changed = client.patch("/api/v1/organisations/EE", headers=headers,
                                   json={"membership": "observer",
                                         "effective_on": effective_on})
            assert changed.status_code == 422, (effective_on, changed.text)
            assert [e["loc"] for e in changed.json()["errors"]] == [["effective_on"]]
        assert client.get("/api/v1/organisations/FI", headers=headers).status_code == 404
        history = client.get("/api/v1/organisations/EE/history", headers=headers).json()
        assert [h["membership"] for h in history] == ["participant"]
        # the bounds themselves are accepted
        created = client.post("/api/v1/organisations", headers=headers,
                              json={"code": "FI", "name": "Finland", "kind": "nation",
                                    "membership": "participant", "effective_on": "1990-01-01"})
        assert created.status_code == 201, created.text
        changed = client.patch("/api/v1/organisations/EE", headers=headers,
                               json={"membership": "observer",
                                     "effective_on": str(clock.today() + timedelta(days=366))})
        assert changed.status_code == 200, changed.text


CARD = {"hotline": "+372 600 0000", "email": "cert@cert.ee.example",
        "pgp_fingerprint": "3AA5C34371567BD222820F3D26BB7D48D5DF47E1",
        "messenger": "Threema: CERTEE42", "default_tlp": "amber+strict"}


def test_a_poc_patches_its_nations_contact_card_and_everyone_reads_it(client, world):
    patched = client.patch("/api/v1/organisations/EE", json={"contact": CARD},
                           headers=world.headers(Role.NATIONAL_POC))
    assert patched.status_code == 200
    assert patched.json()["contact"] == CARD
    for role in (Role.OBSERVER, Role.REQUESTER, Role.RESPONDER):
        read = client.get("/api/v1/organisations/EE", headers=world.headers(role))
        assert read.json()["contact"] == CARD


def test_a_poc_patching_the_name_or_membership_is_a_403_field_by_field(client, world):
    headers = world.headers(Role.NATIONAL_POC)
    for body in ({"name": "Eesti", "contact": CARD}, {"membership": "observer"},
                 {"contact": CARD, "effective_on": str(clock.today())}):
        response = client.patch("/api/v1/organisations/EE", json=body, headers=headers)
        assert response.status_code == 403, body
        assert response.json()["type"] == "/problems/forbidden"
        assert "contact card" in response.json()["detail"]
    card = client.get("/api/v1/organisations/EE", headers=headers).json()["contact"]
    assert card["hotline"] is None


def test_a_poc_patching_another_nations_card_is_a_403(client, world):
    response = client.patch("/api/v1/organisations/ES", json={"contact": CARD},
                            headers=world.headers(Role.NATIONAL_POC))
    assert response.status_code == 403


def test_a_coordinator_renames_and_sets_the_card_in_one_patch(client, world):
    response = client.patch("/api/v1/organisations/ES", headers=world.headers(Role.COORDINATOR),
                            json={"name": "España", "contact": {"default_tlp": "green"}})
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["contact"]["default_tlp"]) == (
        "España", "green")


def test_a_bad_card_is_a_422_naming_each_field(client, world):
    response = client.patch("/api/v1/organisations/EE", headers=world.headers(Role.ADMIN),
                            json={"contact": {"hotline": "24/7", "pgp_fingerprint": "F00",
                                              "email": "x" * 300, "default_tlp": "white",
                                              "pager": "1"}})
    assert response.status_code == 422
    fields = {tuple(e["loc"][-2:]) for e in response.json()["errors"]}
    assert fields == {("contact", "hotline"), ("contact", "pgp_fingerprint"),
                      ("contact", "email"), ("contact", "default_tlp"), ("contact", "pager")}
