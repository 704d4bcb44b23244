"""Demo pipelines, opportunities and quotes."""

from __future__ import annotations

from typing import Any

STAGES = [("初步接触", "10"), ("需求确认", "25"), ("寄样测试", "40"), ("报价谈判", "60"), ("签约", "90")]


def seed_opportunities_and_quotes(users: dict[str, Any], per_store: int = 8) -> None:
    """A pipeline per store with a few open opportunities across its stages, and some approved quotes
    (the price history shown beside quote lines). The demo quotes are approved directly: seed-demo runs
    before the processes are deployed; real quotes are approved by `quote_approval`."""
    from decimal import Decimal

    from sqlalchemy import select

    from crm.customers.models import Customer
    from crm.extensions import db
    from crm.sales.catalog.models import Product
    from crm.sales.opportunities import services as opportunity_services
    from crm.sales.quotes import services as quote_services

    admin = users["13800000001"]
    products = list(db.session.scalars(select(Product).where(Product.on_shelf).order_by(Product.id)))
    reps_by_store: dict[int, list[Any]] = {}
    for user in users.values():
        if user.store_id and any(r.key == "salesperson" for r in user.roles):
            reps_by_store.setdefault(user.store_id, []).append(user)
    for store_id, reps in sorted(reps_by_store.items()):
        pipeline = opportunity_services.save_pipeline(None, {"name": "标准销售流程", "store_id": store_id, "stages": [
            {"name": n, "win_rate": r} for n, r in STAGES]}, actor=admin)
        owned = list(db.session.scalars(select(Customer).where(Customer.store_id == store_id,
                                                               Customer.owner_id.is_not(None)).order_by(Customer.id)
                                        .limit(per_store)))
        reps_by_id = {r.id: r for r in reps}
        for i, customer in enumerate(owned):
            rep = reps_by_id.get(customer.owner_id or 0)
            if rep is None:
                continue
            product = products[i % len(products)]
            opportunity_services.create_opportunity({
                "customer_id": customer.id, "pipeline_id": pipeline.id,
                "stage_id": pipeline.stages[i % len(STAGES)].id, "name": f"{customer.company or customer.name} 托盘采购",
                "amount": str(product.list_price * (200 + 100 * i)),
                "products": [{"product_id": product.id, "quantity": 200 + 100 * i}]}, actor=rep)
            if i < 4:  # an approved quote: its prices become the history
                rate = Decimal(("0.95", "0.92", "0.90", "0.88")[i])
                quote = quote_services.create_quote({"customer_id": customer.id, "lines": [
                    {"product_id": product.id, "quantity": 100 * (i + 1),
                     "unit_price": str((product.list_price * rate).quantize(Decimal("0.01")))}]}, actor=rep)
                quote_services.set_quote_status(quote.id, "approved")
