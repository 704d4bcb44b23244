"""The customer list, the dedup check and the import at scale (Customers issue targets).

    .venv/bin/python -m bench.bench_customers                       # 1 M customers, 3 M follow-ups
    .venv/bin/python -m bench.bench_customers --customers 100000 --import-rows 20000

Data (PostgreSQL, generated in SQL with generate_series): the bench org (10 stores x 4 teams x 25 reps),
`--customers` customers spread over the reps of the 10 stores (every 10th in the high seas), levels,
provinces, tags, and `--follow-ups` follow-ups per customer. Measured, through HTTP (session, scope clause,
filters, keyset page of 50, capped count, template or JSON):
1. first page of `/customers?level=a&sort=activity` for a salesperson (self scope) and a store manager
   (store scope), and the same through `GET /api/v1/customers`;
2. the dedup check (`crm.customers.services.find_duplicates` on mobile + WeChat ID);
3. an import of `--import-rows` rows (10 % duplicates of existing customers, skipped) from CSV, run by the
   background job's chunks: rows per second;
4. the search box, `/customers?q=…` (name or company contains the text, mobile number starts with the
   digits) for both actors, with the pg_trgm GIN indexes and again after dropping them, plus the
   store manager's query plan (`--search-only` skips 2 and 3)."""

from __future__ import annotations

import argparse
import io
import os
import time

from flask_migrate import upgrade
from sqlalchemy import text

from bench.common import fmt
from bench.common import fresh_schema
from bench.common import make_app
from bench.common import measure
from bench.generate import Scale
from bench.generate import generate_org

CUSTOMERS_SQL = """
INSERT INTO customer (store_id, owner_id, name, company, mobile, mobile_norm, chat_id, chat_id_norm, province, city,
                      source_platform, level, industry, tags, tags_text, intention, locked, won, last_follow_up_at,
                      next_follow_up_at, owned_since, last_activity_at, created_at, updated_at, lock_version)
SELECT o.store_id,
       CASE WHEN g % 10 = 0 THEN NULL ELSE o.user_id END,
       'Customer ' || g, 'Company ' || (g % 50000),
       '13' || lpad(g::text, 9, '0'), '13' || lpad(g::text, 9, '0'),
       CASE WHEN g % 3 = 0 THEN 'wx_' || g END, CASE WHEN g % 3 = 0 THEN 'wx_' || g END,
       (ARRAY['浙江','江苏','广东','山东','上海'])[1 + g % 5], (ARRAY['杭州','苏州','广州','青岛','上海'])[1 + g % 5],
       (ARRAY['tmall','jd','1688','douyin'])[1 + g % 4], (ARRAY['a','b','c','d'])[1 + g % 4],
       (ARRAY['物流','食品','医药','化工'])[1 + g % 4],
       CASE WHEN g % 7 = 0 THEN '["vip"]'::jsonb ELSE '[]'::jsonb END, CASE WHEN g % 7 = 0 THEN ',vip,' ELSE '' END,
       (ARRAY['high','medium','low','none'])[1 + g % 4], g % 50 = 0, g % 5 = 0,
       now() - (g % 90) * interval '1 day', now() + (g % 20 - 5) * interval '1 day',
       now() - (g % 400) * interval '1 day', now() - (g % 90) * interval '1 day' - (g % 1000) * interval '1 second',
       now() - (g % 400) * interval '1 day', now(), 1
FROM generate_series(1, :n) g
JOIN bench_owner o ON o.idx = g % :owners
"""

FOLLOW_UPS_SQL = """
INSERT INTO customer_follow_up (store_id, customer_id, author_id, kind, content, occurred_at, next_contact_at,
                                reminder_sent_at, attachments)
SELECT c.store_id, c.id, c.owner_id, (ARRAY['phone','email','visit','sms','wechat'])[1 + (c.id + k) % 5],
       'Follow-up ' || k || ' of customer ' || c.id, c.last_activity_at - k * interval '3 days',
       CASE WHEN k = 1 THEN c.next_follow_up_at END, CASE WHEN k = 1 AND c.next_follow_up_at < now() THEN now() END,
       '[]'::jsonb
FROM customer c CROSS JOIN generate_series(1, :k) k
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--follow-ups", type=int, default=3, help="per customer")
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--search-only", action="store_true", help="only the list and search measurements")
    args = parser.parse_args()
    with fresh_schema() as url:
        app = make_app(url)
        with app.app_context():
            upgrade()
            from crm.auth.services import create_token
            from crm.auth.services import hash_password
            from crm.extensions import db
            from crm.org.models import User

            scale = generate_org(Scale(), hash_password("Bench#2026"))
            db.session.commit()
            db.session.execute(text("CREATE TABLE bench_owner AS SELECT row_number() OVER (ORDER BY id) - 1 AS idx, "
                                    "store_id, id AS user_id FROM \"user\" WHERE id = ANY(:ids)"),
                               {"ids": scale.users["salesperson"]})
            owners = db.session.scalar(text("SELECT count(*) FROM bench_owner"))
            started = time.perf_counter()
            db.session.execute(text(CUSTOMERS_SQL), {"n": args.customers, "owners": owners})
            db.session.commit()
            t_customers = time.perf_counter() - started
            started = time.perf_counter()
            db.session.execute(text(FOLLOW_UPS_SQL), {"k": args.follow_ups})
            db.session.commit()
            t_follow = time.perf_counter() - started
            db.session.remove()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE customer"))
                conn.execute(text("VACUUM ANALYZE customer_follow_up"))
            n_cust = db.session.scalar(text("SELECT count(*) FROM customer"))
            n_fu = db.session.scalar(text("SELECT count(*) FROM customer_follow_up"))
            rep_id = db.session.scalar(text("SELECT user_id FROM bench_owner WHERE idx = 7"))
            store_id = db.session.scalar(text("SELECT store_id FROM bench_owner WHERE idx = 7"))
            manager_id = next(uid for uid in scale.users["store_manager"]
                              if db.session.get(User, uid).store_id == store_id)
            actors = {"salesperson (self)": rep_id, "store manager (store)": manager_id}
            tokens, stamps = {}, {}
            for label, uid in actors.items():
                user = db.session.get(User, uid)
                for role in user.roles:
                    role.permissions = sorted({*role.permissions, "api.use"})
                tokens[label] = create_token(user, "bench")[1]
                stamps[label] = user.get_id()
            db.session.commit()
            print(f"customers: {n_cust} (inserted in {t_customers:.0f} s), follow-ups: {n_fu} ({t_follow:.0f} s)")
            rep_rows = db.session.scalar(text("SELECT count(*) FROM customer WHERE owner_id = :u"), {"u": rep_id})
            store_rows = db.session.scalar(text("SELECT count(*) FROM customer WHERE store_id = :s"), {"s": store_id})
            print(f"salesperson owns {rep_rows}; the store has {store_rows}")

        query = "level=a&sort=activity"
        for label in actors:
            client = app.test_client()
            with client.session_transaction() as sess:
                sess["_user_id"] = stamps[label]

            def page(c=client) -> None:
                resp = c.get(f"/customers?{query}")
                assert resp.status_code == 200, resp.status_code

            def api(c=client, t=tokens[label]) -> None:
                resp = c.get(f"/api/v1/customers?limit=50&{query}", headers={"Authorization": f"Bearer {t}"})
                assert resp.status_code == 200, resp.status_code

            def plain(c=client) -> None:
                resp = c.get("/customers")
                assert resp.status_code == 200, resp.status_code

            if os.environ.get("BENCH_PROFILE_PAGE") and "manager" in label:
                import cProfile
                import pstats
                prof = cProfile.Profile()
                prof.enable()
                for _ in range(20):
                    page()
                prof.disable()
                pstats.Stats(prof).sort_stats("tottime").print_stats(25)
            print(f"{label:<24} page /customers?{query}  {fmt(measure(page, runs=args.runs))}")
            print(f"{label:<24} page /customers (no filter)     {fmt(measure(plain, runs=args.runs))}")
            print(f"{label:<24} GET /api/v1/customers?{query}  {fmt(measure(api, runs=args.runs))}")

        search(app, args, actors, stamps, store_id)
        if args.search_only:
            return

        with app.app_context():
            from crm.customers import services

            counter = iter(range(10**9))

            def dedup() -> None:
                g = next(counter) * 37 % args.customers + 1
                services.find_duplicates(store_id, f"13{g:09d}", f"wx_{g}")

            print(f"dedup check (mobile + WeChat ID)                 {fmt(measure(dedup, runs=args.runs * 5))}")
            db.session.remove()

        with app.app_context():
            import tempfile

            from crm.customers import imports
            from crm.extensions import db

            manager = db.session.get(User, manager_id)
            out = io.StringIO()
            out.write("name,mobile,wechat,province,level\n")
            for i in range(args.import_rows):
                if i % 10 == 0:  # an existing customer of this store
                    out.write(f"Dup {i},13{(i // 10 * owners + 7) % args.customers:09d},,浙江,a\n")
                else:
                    out.write(f"Imported {i},16{i:09d},,江苏,b\n")
            app.config["TASK_ATTACHMENT_DIR"] = tempfile.mkdtemp()
            job = imports.upload("bench.csv", io.BytesIO(out.getvalue().encode()), actor=manager)
            imports.confirm(job, job.mapping, "skip", manager.id, actor=manager)
            db.session.commit()
            started = time.perf_counter()
            if os.environ.get("BENCH_PROFILE"):
                import cProfile
                import pstats
                prof = cProfile.Profile()
                prof.enable()
            while imports.run_imports(max_chunks=5):
                pass
            if os.environ.get("BENCH_PROFILE"):
                prof.disable()
                pstats.Stats(prof).sort_stats("cumulative").print_stats(40)
            elapsed = time.perf_counter() - started
            db.session.refresh(job)
            print(f"import of {args.import_rows} rows: {elapsed:.1f} s = {args.import_rows / elapsed:.0f} rows/s "
                  f"(created {job.created}, skipped {job.skipped}, failed {job.failed}, status {job.status.value}"
                  f"{': ' + job.last_error if job.last_error else ''})")


# "Customer …" / "Company …" share their word with every row (the worst case for trigrams); "12345" is a
# fragment (name, company and mobile-prefix arms); "zzz" matches nothing.
SEARCHES = {"name": "Customer 12345", "company": "Company 4242", "fragment": "12345", "mobile prefix": "1300012",
            "no match": "zzz"}


def search(app, args, actors, stamps, store_id) -> None:  # noqa: ANN001 — the bench's locals
    """The search box with and without the trigram indexes (dropped in the middle)."""
    from crm.customers import queries
    from crm.extensions import db
    from crm.org.models import User

    clients = {}
    for label in actors:
        clients[label] = app.test_client()
        with clients[label].session_transaction() as sess:
            sess["_user_id"] = stamps[label]

    def run(tag: str) -> None:
        for what, term in SEARCHES.items():
            for label, c in clients.items():
                def page(c=c, term=term) -> None:
                    resp = c.get("/customers", query_string={"q": term})
                    assert resp.status_code == 200, resp.status_code

                print(f"search {tag:<8} {what:<13} {label:<24} {fmt(measure(page, runs=max(args.runs // 4, 20)))}")

    def plans(tag: str) -> None:
        with app.app_context():
            for label, uid in actors.items():
                user = db.session.get(User, uid)
                for what in ("name", "fragment"):
                    f = queries.parse_filters({"q": SEARCHES[what]})
                    stmt = queries.filtered(user, f).order_by(*[k.column.desc() for k in queries.sort_keys(f)]).limit(51)
                    sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True})).replace("%%", "%")
                    plan = db.session.execute(text("EXPLAIN (ANALYZE, COSTS OFF) " + sql)).scalars().all()
                    print(f"plan {tag} {what} {label}:\n  " + "\n  ".join(plan))
            db.session.remove()

    plans("indexed")
    run("indexed")
    with app.app_context():
        for name in ("ix_customer_name_trgm", "ix_customer_company_trgm"):
            db.session.execute(text(f"DROP INDEX {name}"))
        db.session.commit()
        db.session.remove()
    plans("no index")
    run("no index")
    print(f"(store {store_id})")


if __name__ == "__main__":
    main()
