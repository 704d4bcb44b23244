"""The high seas at scale (issue 7 targets): the recycle sweep over `--customers` customers in 10 stores,
checked against a plain SQL recomputation of the rules, and the first page of the pool list.

    .venv/bin/python -m bench.bench_highseas                       # 1 M customers
    .venv/bin/python -m bench.bench_highseas --customers 100000

Data: bench_customers' generator (every 10th customer in the pool, last follow-up 0–89 days ago, owned
since 0–399 days, every 5th won, every 50th locked). Pools: 30 days without follow-up (60 for level a),
won customers exempt, no reminder. Measured: `crm.highseas.sweep.sweep()` (all 10 stores, committed),
then `/high-seas/` first page for a salesperson of a store (HTTP through the test client)."""

from __future__ import annotations

import argparse
import time
from datetime import timedelta
from typing import Any

from flask_migrate import upgrade
from sqlalchemy import text

from bench.bench_customers import CUSTOMERS_SQL
from bench.common import fmt
from bench.common import fresh_schema
from bench.common import make_app
from bench.common import measure
from bench.generate import Scale
from bench.generate import generate_org

# The rules in plain SQL, independent of the service: owned, unlocked, not won, and the later of the last
# follow-up and owned_since (created_at when NULL) older than 30 days (60 for level a).
EXPECTED_SQL = """
SELECT id FROM customer
WHERE owner_id IS NOT NULL AND NOT locked AND NOT won
  AND greatest(coalesce(last_follow_up_at, coalesce(owned_since, created_at)), coalesce(owned_since, created_at))
      + (CASE WHEN level = 'a' THEN 60 ELSE 30 END) * interval '1 day' <= :now
"""


def _statement_timer(engine: Any) -> dict[str, Any]:
    """Seconds per statement (by its first line) until "remove" is called."""
    from sqlalchemy import event

    spent: dict[str, Any] = {}

    def before(conn: Any, *_: Any) -> None:
        conn.info["bench_t0"] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        key = statement.strip().split("\n")[0][:80]
        calls, secs = spent.get(key, (0, 0.0))
        spent[key] = (calls + 1, secs + time.perf_counter() - conn.info["bench_t0"])

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)

    def remove() -> None:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)

    spent["remove"] = remove
    return spent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--statements", action="store_true", help="print where each sweep spends its time")
    args = parser.parse_args()
    with fresh_schema() as url:
        app = make_app(url)
        with app.app_context():
            upgrade()
            from crm.auth.services import hash_password
            from crm.core.clock import utcnow
            from crm.extensions import db
            from crm.highseas import rules
            from crm.highseas import sweep as recycling
            from crm.highseas.models import HighSeasMove

            scale = generate_org(Scale(), hash_password("Bench#2026"))
            db.session.commit()
            db.session.execute(text("CREATE TABLE bench_owner AS SELECT row_number() OVER (ORDER BY id) - 1 AS idx, "
                                    "store_id, id AS user_id FROM \"user\" WHERE id = ANY(:ids)"),
                               {"ids": scale.users["salesperson"]})
            owners = db.session.scalar(text("SELECT count(*) FROM bench_owner"))
            db.session.execute(text(CUSTOMERS_SQL), {"n": args.customers, "owners": owners})
            db.session.commit()
            for store_id in db.session.scalars(text("SELECT DISTINCT store_id FROM bench_owner")):
                pool = rules.pool_for(store_id)
                pool.follow_up_days, pool.level_days, pool.deal_days = 30, {"a": 60}, None
                pool.remind_days, pool.exempt_won = None, True
            db.session.commit()
            db.session.remove()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE customer"))
            import time_machine

            def night(label: str, at: Any) -> None:
                """One sweep at `at` (committed), timed, and compared with the plain SQL recomputation."""
                with time_machine.travel(at, tick=False):  # the sweep and the recomputation see the same now
                    now = utcnow()
                    db.session.execute(text("DROP TABLE IF EXISTS bench_expected"))
                    db.session.execute(text("CREATE TABLE bench_expected AS " + EXPECTED_SQL), {"now": now})
                    before = db.session.scalar(text("SELECT coalesce(max(id), 0) FROM highseas_move"))
                    db.session.commit()
                    spent = _statement_timer(db.engine) if args.statements else None
                    started = time.perf_counter()
                    result = recycling.sweep()
                    db.session.commit()
                    elapsed = time.perf_counter() - started
                moved = "SELECT customer_id FROM highseas_move WHERE kind = 'recycled' AND id > :before"
                expected = db.session.scalar(text("SELECT count(*) FROM bench_expected"))
                missing = db.session.scalar(text(f"SELECT count(*) FROM (SELECT id FROM bench_expected EXCEPT {moved}) x"),
                                            {"before": before})
                extra = db.session.scalar(text(f"SELECT count(*) FROM ({moved} EXCEPT SELECT id FROM bench_expected) x"),
                                          {"before": before})
                same = "IDENTICAL" if not missing and not extra else f"DIFFERENT ({missing} missing, {extra} extra)"
                if spent is not None:
                    spent.pop("remove")()
                    for line, (calls, secs) in sorted(spent.items(), key=lambda kv: -kv[1][1])[:8]:
                        print(f"    {secs:6.2f} s {calls:3d}× {line}")
                print(f"customers: {args.customers}; {label} sweep: {elapsed:.1f} s, recycled {result['recycled']}; "
                      f"plain SQL says {expected}: {same}", flush=True)

            first = utcnow()
            night("catch-up night", first)
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE customer"))  # what autovacuum does after a big night
            night("steady-state night (+1 day)", first + timedelta(days=1))
            assert HighSeasMove
            rep_id = db.session.scalar(text("SELECT user_id FROM bench_owner WHERE idx = 7"))
            from crm.org.models import User

            stamp = db.session.get(User, rep_id).get_id()
            db.session.remove()
        client = app.test_client()
        with client.session_transaction() as sess:
            sess["_user_id"] = stamp

        def page() -> None:
            resp = client.get("/high-seas/")
            assert resp.status_code == 200, resp.status_code

        with app.app_context():
            spent = _statement_timer(db.engine) if args.statements else None
        print(f"salesperson page /high-seas/ (first page)   {fmt(measure(page, runs=args.runs))}")
        if spent is not None:
            spent.pop("remove")()
            for line, (calls, secs) in sorted(spent.items(), key=lambda kv: -kv[1][1])[:6]:
                print(f"    {secs * 1000 / calls:6.2f} ms a call, {calls:3d}× {line}")


if __name__ == "__main__":
    main()
