"""A Python client generated from the OpenAPI document by openapi-python-client (issue 27) drives one order's
life: a quote at list price (approved at once), the order made from it, the signing task completed from
the inbox, the order read back with its money as decimal strings, then cancelled with a reason — through
the generated models and functions only, against the app itself."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import openapi_python_client  # noqa: F401  (the generator, run below as a command)
import pytest

from tests.conftest import isolated_wsgi

# The generated client's lifecycle does not depend on the database: one run (SQLite) is enough for CI.
pytestmark = [pytest.mark.usefixtures("quote_process"),
              pytest.mark.skipif(bool(os.environ.get("CRM_TEST_DATABASE_URL")),
                                 reason="run once, on SQLite: the generated client does not depend on the database")]


@pytest.fixture(scope="module")
def crm_client(tmp_path_factory: pytest.TempPathFactory, app: Any) -> Iterator[Any]:
    """The generated package, imported from a temporary folder."""
    folder = tmp_path_factory.mktemp("client")
    spec = folder / "openapi.json"
    spec.write_text(json.dumps(app.test_client().get("/api/v1/openapi.json").get_json()))
    config = folder / "config.yaml"
    config.write_text("post_hooks: []\nproject_name_override: crm_client\npackage_name_override: crm_client\n")
    done = subprocess.run([sys.executable, "-m", "openapi_python_client", "generate", "--path", str(spec),
                           "--output-path", str(folder / "out"), "--config", str(config)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert (folder / "out" / "crm_client" / "client.py").exists(), done.stdout + done.stderr
    sys.path.insert(0, str(folder / "out"))
    try:
        yield importlib.import_module("crm_client")
    finally:
        sys.path.remove(str(folder / "out"))
        for name in [n for n in sys.modules if n == "crm_client" or n.startswith("crm_client.")]:
            del sys.modules[name]



def test_an_order_lifecycle_through_the_generated_client(crm_client: Any, app: Any, org: Any, token: Any,
                                                         products: Any, customers: Any) -> None:
    models = importlib.import_module("crm_client.models")
    from crm_client.api.orders import get_api_v1_orders_order_id
    from crm_client.api.orders import get_api_v1_orders_order_id_tasks
    from crm_client.api.orders import post_api_v1_orders
    from crm_client.api.orders import post_api_v1_orders_order_id_cancel
    from crm_client.api.quotes import post_api_v1_quotes
    from crm_client.api.quotes import post_api_v1_quotes_quote_id_submit
    from crm_client.api.tasks import post_api_v1_tasks_task_id_complete

    client = crm_client.AuthenticatedClient(base_url="http://crm.test", token=token(org.a_rep1),
                                            httpx_args={"transport": httpx.WSGITransport(app=isolated_wsgi(app))})
    with client:
        quote = post_api_v1_quotes.sync(client=client, body=models.QuoteWrite(
            customer_id=customers["a"].id,
            lines=[models.QuoteLineWrite(product_id=products["p100"].id, quantity=10, unit_price="100.00")]))
        assert isinstance(quote, models.Quote), quote
        assert quote.total == "1000.00"
        quote = post_api_v1_quotes_quote_id_submit.sync(quote.id, client=client)
        assert isinstance(quote, models.Quote) and quote.status == "approved", quote

        order = post_api_v1_orders.sync(client=client, idempotency_key=f"quote-{quote.id}-order", body=models.OrderWrite(
            quote_id=quote.id, payment_mode=models.OrderWritePaymentMode("prepay"), ship_address="宁波"))
        assert isinstance(order, models.OrderDetail), order
        assert order.status == "contracting" and order.total == "1000.00"
        # The retry of a lost answer is the same order, not a second one.
        again = post_api_v1_orders.sync_detailed(client=client, idempotency_key=f"quote-{quote.id}-order",
                                                 body=models.OrderWrite(quote_id=quote.id,
                                                                        payment_mode=models.OrderWritePaymentMode("prepay"),
                                                                        ship_address="宁波"))
        assert again.status_code == 201 and again.parsed.id == order.id

        page = get_api_v1_orders_order_id_tasks.sync(order.id, client=client)
        [sign] = page.items
        assert sign.bpmn_id == "op_sign" and page.next_cursor is None
        done = post_api_v1_tasks_task_id_complete.sync_detailed(sign.id, client=client, body=models.Complete.from_dict(
            {"data": {"contract_no": "C-2026-1"}}))
        assert done.status_code == 200, done.content

        read = get_api_v1_orders_order_id.sync(order.id, client=client)
        assert read.status == "pending_collection" and read.paid_amount == "0.00"

        cancelled = post_api_v1_orders_order_id_cancel.sync(order.id, client=client,
                                                            body=models.Cancel(reason="客户改主意了"))
        assert isinstance(cancelled, models.OrderDetail), cancelled
        refused = post_api_v1_orders_order_id_cancel.sync_detailed(order.id, client=client,
                                                                   body=models.Cancel(reason="again"))
        assert refused.status_code == 409 and isinstance(refused.parsed, models.Problem)
        assert refused.parsed.title == "Conflict"
