"""Users list through HTTP at scale: the data-scope clause (including the recursive supervisor chain)
plus keyset pagination, for a store manager, a supervisor and an HQ manager, pages and API.

    .venv/bin/python -m bench.bench_users_list            # PostgreSQL (CRM_BENCH_DATABASE_URL)
    .venv/bin/python -m bench.bench_users_list --reps 250 # 10 stores x 4 teams x 250 reps = 10 k users
"""

from __future__ import annotations

import argparse

from flask_migrate import upgrade

from bench.common import fmt
from bench.common import fresh_schema
from bench.common import make_app
from bench.common import measure
from bench.generate import Scale
from bench.generate import generate_org


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=250, help="salespeople per team")
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    with fresh_schema() as url:
        app = make_app(url)
        with app.app_context():
            upgrade()
            from crm.auth.services import create_token
            from crm.auth.services import hash_password
            from crm.extensions import db
            from crm.org.models import User

            scale = generate_org(Scale(reps_per_team=args.reps), hash_password("Bench#2026"))
            total = sum(len(v) for v in scale.users.values())
            actors = {
                "store manager (store scope)": scale.users["store_manager"][3],
                "supervisor (self and subordinates)": scale.users["supervisor"][5],
                "HQ manager (all)": scale.users["hq_manager"][0],
            }
            tokens = {}
            for label, uid in actors.items():
                user = db.session.get(User, uid)
                if "api.use" not in user.permissions:
                    for role in user.roles:
                        role.permissions = sorted({*role.permissions, "api.use"})
                tokens[label] = create_token(user, "bench")[1]
            db.session.commit()
            stamps = {label: db.session.get(User, uid).get_id() for label, uid in actors.items()}
        print(f"users: {total}, stores: {len(scale.units['store'])}")
        for label in actors:
            client = app.test_client()
            with client.session_transaction() as sess:
                sess["_user_id"] = stamps[label]

            def page(c=client) -> None:
                resp = c.get("/admin/users?active=yes")
                assert resp.status_code == 200, resp.status_code

            def api(c=client, t=tokens[label]) -> None:
                resp = c.get("/api/v1/users?limit=50", headers={"Authorization": f"Bearer {t}"})
                assert resp.status_code == 200, resp.status_code

            print(f"{label:<38} page /admin/users   {fmt(measure(page, runs=args.runs))}")
            print(f"{label:<38} GET /api/v1/users   {fmt(measure(api, runs=args.runs))}")


if __name__ == "__main__":
    main()
