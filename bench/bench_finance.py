"""The finance centre at scale (issue 20 targets): the ledger's first page and filtered pages for a store's
finance user and for HQ finance, and recording + verifying a collection through HTTP, on PostgreSQL.

    .venv/bin/python -m bench.bench_finance                          # 1 M orders, 3 M collections
    .venv/bin/python -m bench.bench_finance --orders 20000 --runs 30 # a quick look

Data: the generator's org (10 stores, 1,000 salespeople), 500 k customers (bench_customers' generator),
`--orders` signed orders spread over two years and the stores' salespeople, `--per-order` collections each
(orders older than 90 days collected in full; newer ones 80 % verified, 15 % waiting for verification, 5 %
rejected; six methods; paid over two years) and a refund for every 50th order; the orders' `paid_amount` is
the sum of their verified collections, so the receivables hold the recent orders that still owe. Measured through Flask's test client (the whole request: session, scope, queries,
template): `/finance/ledger` and `/api/v1/payments` first pages and filtered pages, and the receivables'
ageing (`/finance/receivables`). Then `--cycles` real
orders waiting for their money in store 1 (made through the services, so their pipelines run) each get a
collection recorded by the salesperson (multipart, with a voucher) and verified by finance (the task's
completion), both over HTTP: p50/p95 of each."""

from __future__ import annotations

import argparse
import io
import time
from typing import Any

from flask_migrate import upgrade
from sqlalchemy import text

from bench.bench_customers import CUSTOMERS_SQL
from bench.common import fmt
from bench.common import fresh_schema
from bench.common import make_app
from bench.common import measure
from bench.common import signed_in_client
from bench.generate import Scale
from bench.generate import generate_org

ORDERS_SQL = """
INSERT INTO sales_order (store_id, owner_id, customer_id, number, delivery_note_no, status, payment_mode, terminal,
                         ship_name, ship_phone, ship_address, list_total, total, paid_amount, refunded_amount, make_up_amount,
                         after_sales_open,
                         signed_at, receipt_auto, lock_version, created_at, updated_at, created_by_id)
SELECT c.store_id, c.owner_id, c.id, 'SO-B-' || g, 'DN-B-' || g,
       (ARRAY['pending_collection','pending_outbound','completed','completed','completed'])[1 + g % 5],
       CASE WHEN g % 3 = 0 THEN 'arrears' ELSE 'prepay' END, (ARRAY['pc','mobile','app','mini_program'])[1 + g % 4],
       'Consignee ' || g, '1390000' || lpad((g % 10000)::text, 4, '0'), 'Address ' || g,
       3000 + (g % 97) * 10, 3000 + (g % 97) * 10, 0, 0, 0, 0,
       now() - (g % 730) * interval '1 day', false, 1,
       now() - (g % 730) * interval '1 day', now(), c.owner_id
FROM generate_series(1, :n) g
JOIN customer c ON c.id = (SELECT min(id) FROM customer) + (g % :customers)
WHERE c.owner_id IS NOT NULL
"""

PAYMENTS_SQL = """
INSERT INTO finance_payment (store_id, order_id, customer_id, owner_id, direction, kind, status, amount, method,
                             paid_on, payer, reference, recorded_by_id, recorded_at, decided_by_id, decided_at,
                             lock_version)
SELECT o.store_id, o.id, o.customer_id, o.owner_id, 'in', 'collection',
       CASE WHEN o.created_at < now() - interval '90 days' THEN 'verified'
            WHEN (o.id + k) % 20 = 0 THEN 'rejected' WHEN (o.id + k) % 20 < 4 THEN 'recorded' ELSE 'verified' END,
       CASE WHEN k = :k THEN o.total - (:k - 1) * round(o.total / :k, 2) ELSE round(o.total / :k, 2) END,
       (ARRAY['bank_transfer','alipay','wechat_pay','platform_settlement','cash','other'])[1 + (o.id + k) % 6],
       (o.created_at + k * interval '3 days')::date, 'Payer ' || o.customer_id, 'TX-' || o.id || '-' || k,
       o.owner_id, o.created_at + k * interval '3 days', o.owner_id, o.created_at + k * interval '4 days', 1
FROM sales_order o CROSS JOIN generate_series(1, :k) k
ORDER BY o.created_at, o.id, k
"""

REFUNDS_SQL = """
INSERT INTO finance_payment (store_id, order_id, customer_id, owner_id, direction, kind, status, amount, method,
                             paid_on, reference, reason, recorded_by_id, recorded_at, decided_by_id, decided_at,
                             lock_version)
SELECT o.store_id, o.id, o.customer_id, o.owner_id, 'out', 'refund', 'refunded', round(o.total / 3, 2),
       'bank_transfer', (o.created_at + interval '20 days')::date, 'RF-' || o.id, 'Returned',
       o.owner_id, o.created_at + interval '20 days', o.owner_id, o.created_at + interval '20 days', 1
FROM sales_order o WHERE o.id % 50 = 0
"""

# The orders keep the sums of their money (`paid_amount`, `refunded_amount`), as the services maintain them.
SUMS_SQL = """
UPDATE sales_order o SET paid_amount = s.paid, refunded_amount = s.refunded
FROM (SELECT order_id, coalesce(sum(amount) FILTER (WHERE direction = 'in' AND status = 'verified'), 0) AS paid,
             coalesce(sum(amount) FILTER (WHERE direction = 'out'), 0) AS refunded
      FROM finance_payment GROUP BY order_id) s
WHERE o.id = s.order_id
"""


def _finance_users(scale: Scale) -> dict[str, Any]:
    """A finance user of the first store, a second one (the verifier), and HQ finance (scope: all)."""
    from sqlalchemy import select

    from crm.auth.models import Role
    from crm.auth.permissions import DataScope
    from crm.extensions import db
    from crm.org import services as org_services
    from crm.org.models import User

    finance = db.session.scalar(select(Role).where(Role.key == "finance"))
    finance.permissions = sorted({*finance.permission_list, "api.use"})
    salesperson = db.session.scalar(select(Role).where(Role.key == "salesperson"))
    salesperson.permissions = sorted({*salesperson.permission_list, "api.use"})
    hq_role = Role(key="hq_finance", name="HQ finance", data_scope=DataScope.ALL, permissions=finance.permission_list,
                   offered_permissions=[])
    db.session.add(hq_role)
    db.session.flush()
    store_id = scale.units["store"][0]
    hq_id = scale.units["hq"][0]
    system = User(id=0, name="system")
    admin = db.session.scalar(select(Role).where(Role.key == "super_admin"))
    people = {}
    for key, unit, role in (("store", store_id, finance), ("verifier", store_id, finance), ("hq", hq_id, hq_role),
                            ("admin", hq_id, admin)):
        people[key] = org_services.create_user({"mobile": f"1391234{len(people):04d}", "name": f"Bench {key}",
                                                "org_unit_id": unit}, password_hash="x", roles=[role], actor=system)
    db.session.flush()
    return people


def seed_customers_and_orders(scale: Scale, customers: int, orders: int) -> None:
    """`customers` customers spread over the generator's salespeople (`bench_owner`: their index, store and
    id) and `orders` orders of theirs, with SQL (the finance and kanban benchmarks' data)."""
    from crm.extensions import db

    db.session.execute(text("CREATE TABLE bench_owner AS SELECT row_number() OVER (ORDER BY id) - 1 AS idx, "
                            "store_id, id AS user_id FROM \"user\" WHERE id = ANY(:ids)"),
                       {"ids": scale.users["salesperson"]})
    owners = db.session.scalar(text("SELECT count(*) FROM bench_owner"))
    db.session.execute(text(CUSTOMERS_SQL), {"n": customers, "owners": owners})
    db.session.execute(text(ORDERS_SQL), {"n": orders, "customers": customers})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--per-order", type=int, default=3)
    parser.add_argument("--customers", type=int, default=500_000)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--cycles", type=int, default=40, help="collections recorded and verified over HTTP")
    parser.add_argument("--receivables-only", action="store_true",
                        help="measure only the receivables (the ageing from the orders vs from the due rows)")
    args = parser.parse_args()
    with fresh_schema() as url:
        app = make_app(url)
        with app.app_context():
            from crm.auth.services import create_token
            from crm.auth.services import hash_password
            from crm.extensions import db
            from crm.org.models import User

            upgrade()
            started = time.perf_counter()
            scale = generate_org(Scale(), hash_password("Bench#2026"))
            db.session.commit()
            seed_customers_and_orders(scale, args.customers, args.orders)
            db.session.execute(text(PAYMENTS_SQL), {"k": args.per_order})
            db.session.execute(text(REFUNDS_SQL))
            db.session.execute(text(SUMS_SQL))
            people = {key: user.id for key, user in _finance_users(scale).items()}
            db.session.commit()
            # The orders above were written around the ORM: the due rows the flush hook keeps are built once.
            from crm.finance.ledger.dues import rebuild

            built = time.perf_counter()
            due_rows = rebuild(db.session.connection())
            db.session.commit()
            print(f"receivables' due rows: {due_rows:,} rebuilt in {time.perf_counter() - built:.1f} s", flush=True)
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                for table in ("customer", "sales_order", "finance_payment", "finance_receivable_due"):
                    conn.execute(text(f"VACUUM ANALYZE {table}"))
            counts = {t: db.session.scalar(text(f"SELECT count(*) FROM {t}"))
                      for t in ("sales_order", "finance_payment")}
            owing = db.session.scalar(text("SELECT count(*) FROM sales_order WHERE total > paid_amount"))
            print(f"data: {counts['sales_order']:,} orders ({owing:,} still owing), {counts['finance_payment']:,} "
                  f"payments in {time.perf_counter() - started:.0f} s", flush=True)
            store_user, hq_user = db.session.get(User, people["store"]), db.session.get(User, people["hq"])
            order_number = db.session.scalar(text("SELECT number FROM sales_order WHERE store_id = :s ORDER BY id "
                                                  "DESC LIMIT 1 OFFSET 1000"), {"s": store_user.store_id})
            tokens = {key: create_token(db.session.get(User, people[key]), "bench")[1] for key in ("store", "hq")}
            db.session.commit()
            clients = {"store": signed_in_client(app, store_user), "hq": signed_in_client(app, hq_user)}
            db.session.remove()

        pages = {
            "first page": "",
            "waiting for verification": "?status=recorded",
            "Alipay in a quarter": "?method=alipay&date_from=2026-01-01&date_to=2026-03-31",
            "amount 1,200–1,210": "?amount_min=1200&amount_max=1210",
            "an order number": f"?q={order_number}",
            "refunds": "?direction=out",
        }
        if args.receivables_only:
            pages = {}
        for who in ("store", "hq"):
            _ageing_sources(app, people[who], who, args.runs)
            for label, query in pages.items():
                def page(client: Any = clients[who], query: str = query) -> None:
                    resp = client.get(f"/finance/ledger{query}")
                    assert resp.status_code == 200, resp.status_code

                print(f"{who:5} /finance/ledger {label:26} {fmt(measure(page, runs=args.runs))}", flush=True)
            api = app.test_client()

            def api_page(who: str = who, api: Any = api) -> None:
                resp = api.get("/api/v1/payments?status=verified", headers={"Authorization": f"Bearer {tokens[who]}"})
                assert resp.status_code == 200, resp.status_code

            print(f"{who:5} GET /api/v1/payments?status=verified   {fmt(measure(api_page, runs=args.runs))}", flush=True)

            def receivables(client: Any = clients[who]) -> None:
                resp = client.get("/finance/receivables")
                assert resp.status_code == 200, resp.status_code

            print(f"{who:5} /finance/receivables (ageing)           {fmt(measure(receivables, runs=args.runs))}",
                  flush=True)

        if not args.receivables_only:
            _cycles(app, args.cycles, people, scale)


def _ageing_sources(app: Any, user_id: int, who: str, runs: int) -> None:
    """The ageing aggregate from the owing orders and their instalments vs from the maintained due rows,
    measured in one run (the ratio is the finding on a noisy machine); both must give the same sums."""
    from crm.extensions import db
    from crm.finance.ledger import receivables
    from crm.finance.ledger.receivables import ReceivableFilters
    from crm.org.models import User

    with app.app_context():
        user, today, filters = db.session.get(User, user_id), receivables.local_today(), ReceivableFilters()
        results: dict[str, Any] = {}

        def source(name: str) -> Any:
            def run() -> None:
                stmt = getattr(receivables, name)(user, filters, today)
                results[name] = sorted((s, o, int(r), a) for s, o, r, a in db.session.execute(stmt))
            return run

        timings = {name: measure(source(name), runs=runs) for name in ("grouped_from_orders", "grouped_from_dues")}
        assert results["grouped_from_orders"] == results["grouped_from_dues"], "the due rows differ from the orders"
        for name, figures in timings.items():
            print(f"{who:5} ageing aggregate {name:22} {fmt(figures)}", flush=True)
        db.session.remove()


def _cycles(app: Any, cycles: int, people: dict[str, Any], scale: Scale) -> None:
    """Record + verify, each over HTTP, on real orders (with their pipelines) waiting for money."""
    import statistics

    from sqlalchemy import select

    from crm.extensions import db
    from crm.finance.demo import VOUCHER
    from crm.org.models import User
    from crm.sales.catalog import services as product_services
    from crm.sales.orders import services as order_services
    from crm.workflow import runtime
    from crm.workflow.deploy import deploy_directory
    from crm.workflow.models import HumanTask
    from crm.workflow.models import TaskStatus
    from tests.factories import make_customer

    with app.app_context():
        deploy_directory()
        store_id = db.session.get(User, people["store"]).store_id
        rep = db.session.scalar(select(User).where(User.store_id == store_id, User.id.in_(scale.users["salesperson"])))
        admin = db.session.get(User, people["admin"])
        product = product_services.create_product({"sku": "BENCH-F", "name": "Bench pallet", "list_price": "100"},
                                                  actor=admin)
        customer = make_customer(rep, name="Bench finance customer")
        order_ids = []
        for _ in range(cycles):
            order = order_services.create_direct({"customer_id": customer.id, "payment_mode": "prepay", "lines": [
                {"product_id": product.id, "quantity": 10, "unit_price": "95.00"}], "ship_address": "x"}, actor=rep)
            task = db.session.scalar(select(HumanTask).where(HumanTask.object_type == "order",
                                                             HumanTask.object_id == order.id))
            runtime.complete_task(task.id, {}, actor_id=rep.id)
            order_ids.append(order.id)
        db.session.commit()
        recorder, verifier = signed_in_client(app, rep), signed_in_client(app, db.session.get(User, people["verifier"]))
        db.session.remove()
    record_ms, verify_ms = [], []
    for order_id in order_ids:
        started = time.perf_counter()
        resp = recorder.post(f"/finance/orders/{order_id}/collections/new", data={
            "amount": "950.00", "method": "bank_transfer", "vouchers": (io.BytesIO(VOUCHER), "slip.png")},
            content_type="multipart/form-data")
        record_ms.append((time.perf_counter() - started) * 1000)
        assert resp.status_code == 303, resp.get_data(as_text=True)[:500]
        payment_url = resp.headers["Location"]
        with app.app_context():
            task = db.session.scalar(select(HumanTask).where(
                HumanTask.object_type == "collection", HumanTask.object_id == int(payment_url.rsplit("/", 1)[1]),
                HumanTask.status == TaskStatus.OPEN))
            assert task is not None
            db.session.remove()
        started = time.perf_counter()
        resp = verifier.post(f"{payment_url}/decide", data={"decision": "verify"})
        verify_ms.append((time.perf_counter() - started) * 1000)
        assert resp.status_code == 303
    for label, samples in (("record a collection (HTTP, multipart)", record_ms),
                           ("verify it (HTTP, the task's step)", verify_ms)):
        samples.sort()
        p95 = samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))]
        print(f"{label:40} p50 {statistics.median(samples):6.1f} ms  p95 {p95:6.1f} ms  ({len(samples)} runs)")


if __name__ == "__main__":
    main()
