from tests.conftest import csrf


def test_login_page_renders(client):
    resp = client.get("/login")
    assert resp.status_code == 200
    assert "csrf_token" in resp.get_data(as_text=True)


def test_login_and_home(client, org):
    token = csrf(client)
    resp = client.post("/login", data={"identifier": org.a_rep1.mobile, "password": "Secret#123", "csrf_token": token})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert "A Rep One" in client.get("/").get_data(as_text=True)


def test_login_as_fixture(login_as, org):
    client = login_as(org.a_rep1)
    assert client.get("/").status_code == 200
