from crrt.access.enums import Role


def test_health_answers_without_a_token(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_organisations_list_carries_membership(client, world):
    response = client.get("/api/v1/organisations", headers=world.headers(Role.NATIONAL_POC))
    assert response.status_code == 200
    by_code = {o["code"]: o for o in response.json()["items"]}
    assert by_code["LT"]["membership"] == "lead"
    assert by_code["cert-eu"]["kind"] == "eu_institution"
