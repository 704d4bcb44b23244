from crm.extensions import db
from crm.sales.order_models import OrderStatus
from crm.workflow import runtime
from tests.sales.order_support import approved_quote, order_from_quote, open_task, candidates

def test_quick(org, products, customers, quote_process, staff):
    q = approved_quote(org, products, customers)
    order = order_from_quote(org, q, "prepay")
    assert order.status == OrderStatus.CONTRACTING, order.status
    t = open_task(order, "op_sign")
    assert candidates(t) == {org.a_rep1.id}
    runtime.complete_task(t.id, {"contract_no": "C-1"}, actor_id=org.a_rep1.id); db.session.commit()
    db.session.refresh(order)
    assert order.status == OrderStatus.PENDING_COLLECTION
