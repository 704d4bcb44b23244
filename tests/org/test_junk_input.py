"""No admin page answers 500 to junk in its forms or query strings (DESIGN §11)."""

from __future__ import annotations

import pytest

from crm.extensions import db
from tests.conftest import post

JUNK = ["", "0", "-1", "abc", "1.5", "٣", "\x00", "' OR 1=1 --", "%_", "9" * 40]


@pytest.fixture(autouse=True)
def _saved(org):
    db.session.commit()


@pytest.mark.parametrize("junk", JUNK)
def test_junk_never_answers_500(login_as, org, junk):
    client = login_as(org.a_admin)
    j = junk
    sales, rep = org.roles["salesperson"].id, org.a_rep1.id
    requests = [
        ("get", f"/admin/users?unit_id={j}&role_id={j}&active={j}&q={j}&cursor={j}", None),
        ("get", f"/admin/units/new?kind={j}&parent_id={j}", None),
        ("get", f"/admin/units/{org.a_sales.id}/move?parent_id={j}", None),
        ("post", "/admin/units/new", {"kind": "department", "parent_id": j, "name": j, "code": j}),
        ("post", f"/admin/units/{org.a_sales.id}/edit", {"name": j, "code": j, "head_id": j}),
        ("post", f"/admin/units/{org.a_sales.id}/move", {"parent_id": j}),
        ("post", "/admin/users/new", {"name": j, "mobile": j, "email": j, "gender": j, "org_unit_id": j,
                                      "supervisor_id": j, "role_ids": [j], "password": j}),
        ("post", f"/admin/users/{rep}/edit", {"name": j, "mobile": j, "org_unit_id": j, "supervisor_id": j, "role_ids": [j]}),
        ("post", f"/admin/users/{rep}/disable", {"transfer_to_id": j}),
        ("post", f"/admin/users/{rep}/reset-password", {"password": j, "confirm_password": j}),
        ("post", "/admin/roles", {"role": [j], f"scope-{sales}": j, f"perm-{sales}": [j]}),
        ("post", "/admin/roles/new", {"key": j, "name": j, "data_scope": j, "permissions": [j]}),
    ]
    failures = []
    for method, path, data in requests:
        resp = post(client, path, data) if method == "post" else client.get(path)
        if resp.status_code >= 500:
            failures.append((method, path, resp.status_code))
        db.session.commit()  # keep the fixture data for the next request whatever this one did
    assert not failures
