"""The data kanban at scale (issue 22 targets), on PostgreSQL:

    .venv/bin/python -m bench.bench_kanban                                  # 1 M orders, 500 k customers
    .venv/bin/python -m bench.bench_kanban --orders 100000 --customers 50000 --runs 30   # a quick look

Data: the generator's org (10 stores, 1,000 salespeople), `--customers` customers (bench_customers'
generator), `--orders` orders (bench_finance's generator: signed over two years, a fifth of them completed,
every terminal) with one line each of 20 products, a rating on the completed ones, a paid day on two
thirds, two years of platform enquiries per store; then `flask crm kanban rebuild` fills the summaries
(timed). Measured through Flask's test client (the whole page: session, scope, every card, every chart's
data, the salesperson table, the template): `/kanban/?window=last30` for an HQ manager and a store
manager, a one-year custom window for both, and HQ's drill-down of the repurchase rate (the customers
behind it, first page and count) for both windows. Then the order lifecycle's CPU with and without the
summaries' maintenance in one run: `--cycles` real orders created through the services and signed through
their pipeline's task, alternately with the maintenance on and off (`session.info["kanban_maintenance"]`),
process CPU time of each."""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask_migrate import upgrade
from sqlalchemy import text

from bench.bench_finance import seed_customers_and_orders
from bench.common import fmt
from bench.common import fresh_schema
from bench.common import make_app
from bench.common import measure
from bench.common import signed_in_client
from bench.generate import Scale
from bench.generate import generate_org

PRODUCTS_SQL = """
INSERT INTO product (sku, name, unit, list_price, on_shelf, lock_version, created_at, updated_at)
SELECT 'KB-' || g, 'Pallet ' || g, 'piece', 100 + g, true, 1, now(), now() FROM generate_series(1, 20) g
"""

LINES_SQL = """
INSERT INTO sales_order_line (order_id, store_id, customer_id, product_id, position, quantity, list_price,
                              unit_price, signed_at)
SELECT o.id, o.store_id, o.customer_id, p.id, 0, 10, o.total / 10, o.total / 10, o.signed_at
FROM sales_order o JOIN product p ON p.sku = 'KB-' || (1 + o.id % 20)
"""

LIFECYCLE_SQL = """
UPDATE sales_order SET completed_at = CASE WHEN status = 'completed' THEN signed_at + interval '6 days' END,
                       received_at = CASE WHEN status = 'completed' THEN signed_at + interval '5 days' END,
                       rating = CASE WHEN status = 'completed' THEN 1 + id % 5 END,
                       paid_at = CASE WHEN id % 3 > 0 THEN signed_at + interval '1 day' END
"""

ENQUIRIES_SQL = """
INSERT INTO enquiry_daily (store_id, day, enquiries, new_enquiries, updated_at)
SELECT s.id, (now() - d * interval '1 day')::date, 40 + (s.id + d) % 30, 10 + (s.id + d) % 10, now()
FROM org_unit s CROSS JOIN generate_series(0, 729) d WHERE s.kind = 'store'
"""


def _managers(scale: Scale) -> dict[str, Any]:
    from sqlalchemy import select

    from crm.auth.models import Role
    from crm.extensions import db
    from crm.org import services as org_services
    from crm.org.models import User

    system = User(id=0, name="system")
    people = {}
    for key, unit, role_key in (("hq", scale.units["hq"][0], "hq_manager"),
                                ("store", scale.units["store"][0], "store_manager"),
                                ("admin", scale.units["hq"][0], "super_admin")):
        role = db.session.scalar(select(Role).where(Role.key == role_key))
        people[key] = org_services.create_user({"mobile": f"1391239{len(people):04d}", "name": f"Bench {key}",
                                                "org_unit_id": unit}, password_hash="x", roles=[role], actor=system)
    db.session.flush()
    return people


def _existing_managers() -> dict[str, Any]:
    """The bench's managers in a kept schema that already holds generated data, else {}."""
    from sqlalchemy import inspect
    from sqlalchemy import select

    from crm.extensions import db
    from crm.org.models import User

    if not inspect(db.session.connection()).has_table("user"):
        return {}
    rows = db.session.execute(select(User.name, User.id).where(User.name.like("Bench %"))).all()
    return {name.removeprefix("Bench "): user_id for name, user_id in rows}


def _generate(args: argparse.Namespace) -> dict[str, Any]:
    from crm.auth.services import hash_password
    from crm.dashboard.kanban import rebuild
    from crm.extensions import db

    upgrade()
    started = time.perf_counter()
    scale = generate_org(Scale(), hash_password("Bench#2026"))
    db.session.commit()
    seed_customers_and_orders(scale, args.customers, args.orders)
    db.session.execute(text(PRODUCTS_SQL))
    db.session.execute(text(LINES_SQL))
    db.session.execute(text(LIFECYCLE_SQL))
    db.session.execute(text(ENQUIRIES_SQL))
    people = {key: user.id for key, user in _managers(scale).items()}
    db.session.commit()
    print(f"data: {args.orders:,} orders, {args.customers:,} customers in "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("customer", "sales_order", "sales_order_line", "product"):
            conn.execute(text(f"VACUUM ANALYZE {table}"))  # the rebuild reads them by id batches
    started = time.perf_counter()
    db.session.info["kanban_maintenance"] = False
    counts = rebuild.rebuild(db.session.connection())
    db.session.commit()
    print(f"flask crm kanban rebuild: {time.perf_counter() - started:.0f} s; rows: "
          + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())), flush=True)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("kanban_sales_day", "kanban_product_day", "kanban_dim_day", "kanban_customer_day",
                      "kanban_customer", "kanban_churn", "kanban_owned", "enquiry_daily"):
            conn.execute(text(f"VACUUM ANALYZE {table}"))
    return people


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=500_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--cycles", type=int, default=40, help="orders created and signed (half with maintenance)")
    parser.add_argument("--schema", help="keep the data in this schema; a later run with the same name reuses it "
                                         "(drop it by hand when done)")
    args = parser.parse_args()
    with fresh_schema(kept=args.schema) as url:
        app = make_app(url)
        with app.app_context():
            from crm.extensions import db
            from crm.org.models import User

            people = _existing_managers()
            if people:
                print(f"data: reused from schema {args.schema}", flush=True)
            else:
                people = _generate(args)
            clients = {key: signed_in_client(app, db.session.get(User, people[key])) for key in ("hq", "store")}
            engine = db.engine
            db.session.remove()

        year = "window=custom&date_from=" + time.strftime("%Y-%m-%d", time.localtime(time.time() - 364 * 86400)) + \
            "&date_to=" + time.strftime("%Y-%m-%d")
        def bare(client: Any = clients["hq"]) -> None:
            resp = client.get("/notifications/")
            assert resp.status_code == 200, resp.status_code

        print(f"a bare page (/notifications/, HQ)  {fmt(measure(bare, runs=args.runs))}", flush=True)
        for label, who, query in (("HQ, last 30 days", "hq", "window=last30"),
                                  ("store, last 30 days", "store", "window=last30"),
                                  ("HQ, a custom year", "hq", year),
                                  ("store, a custom year", "store", year),
                                  ("HQ, repurchasers, 30 days", "hq", "drill/repurchase_rate?window=last30"),
                                  ("HQ, repurchasers, a year", "hq", "drill/repurchase_rate?" + year)):
            def page(client: Any = clients[who], query: str = query) -> None:
                resp = client.get(f"/kanban/{query}" if query.startswith("drill/") else f"/kanban/?{query}")
                assert resp.status_code == 200, resp.status_code

            stats = measure(page, runs=args.runs)
            with counted(engine) as seen:
                page()
            print(f"/kanban/ {label:26} {fmt(stats)}, {len(seen)} statements", flush=True)
        _lifecycle(app, args.cycles, people)


def _lifecycle(app: Any, cycles: int, people: dict[str, Any]) -> None:
    """Create an order through the services and sign it through its pipeline's task, with the summaries'
    maintenance on and off alternately; the process CPU time of each (the database's own work excluded)."""
    from sqlalchemy import select

    from crm.auth.models import Role
    from crm.extensions import db
    from crm.org.models import User
    from crm.sales.catalog import services as product_services
    from crm.sales.orders import services as order_services
    from crm.workflow import runtime
    from crm.workflow.deploy import deploy_directory
    from crm.workflow.models import HumanTask
    from tests.factories import make_customer

    with app.app_context():
        deploy_directory()
        store_id = db.session.get(User, people["store"]).store_id
        rep = db.session.scalar(select(User).where(User.store_id == store_id, User.roles.any(Role.key == "salesperson"))
                                .order_by(User.id).limit(1))
        admin = db.session.get(User, people["admin"])
        product = product_services.create_product({"sku": f"BENCH-K-{time.time_ns()}", "name": "Bench pallet", "list_price": "100"},
                                                  actor=admin)
        # A mobile of its own: a kept schema already holds the customer of an earlier run.
        customer = make_customer(rep, name="Bench kanban customer", mobile=f"136{time.time_ns() % 10**8:08d}")
        db.session.commit()
        product_id, customer_id, rep_id = product.id, customer.id, rep.id
        db.session.remove()
    cpu: dict[bool, list[float]] = {True: [], False: []}
    sql: dict[bool, list[int]] = {True: [], False: []}
    for i in range(cycles + 4):
        maintained = i % 2 == 0
        with app.app_context(), counted(db.engine) as seen:
            db.session.info["kanban_maintenance"] = maintained
            rep = db.session.get(User, rep_id)
            started = time.process_time()
            order = order_services.create_direct({"customer_id": customer_id, "payment_mode": "prepay", "lines": [
                {"product_id": product_id, "quantity": 10, "unit_price": "95.00"}], "ship_address": "x"}, actor=rep)
            task = db.session.scalar(select(HumanTask).where(HumanTask.object_type == "order",
                                                             HumanTask.object_id == order.id))
            runtime.complete_task(task.id, {}, actor_id=rep.id)
            db.session.commit()
            spent = (time.process_time() - started) * 1000
            db.session.remove()
        if i >= 4:  # the first cycles warm the caches
            cpu[maintained].append(spent)
            sql[maintained].append(len(seen))
    on, off = statistics.median(cpu[True]), statistics.median(cpu[False])
    print(f"order lifecycle (create + sign) CPU: with maintenance p50 {on:.1f} ms, without {off:.1f} ms "
          f"({len(cpu[True])} + {len(cpu[False])} runs): maintenance adds {100 * (on - off) / off:.1f} %; "
          f"statements {statistics.median(sql[True]):.0f} vs {statistics.median(sql[False]):.0f}", flush=True)


@contextmanager
def counted(engine: Any) -> Iterator[list[str]]:
    """The SQL statements sent inside the block (counted work beside the times)."""
    from sqlalchemy import event

    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


if __name__ == "__main__":
    main()
