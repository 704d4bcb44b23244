"""Orders through HTTP on PostgreSQL vs. SpiffWorkflow alone (issue 9 targets).

    .venv/bin/python -m bench.bench_orders                       # CRM_BENCH_DATABASE_URL, default .../test
    .venv/bin/python -m bench.bench_orders --create 300 --lifecycles 400 --workers 3 --clients 12
    .venv/bin/python -m bench.bench_orders --trace        # each request's SQL statements, one lifecycle
    .venv/bin/python -m bench.bench_orders --floor 3000   # what a bare request costs over the same HTTP
    CRM_BENCH_GUNICORN="-k gthread --threads 4" .venv/bin/python -m bench.bench_orders   # other gunicorn options

1. Create: `POST /api/v1/orders {quote_id}` by the salesperson's API token, one after the other (in-process
   WSGI client, as bench_tasks): convert the approved quote, write the order and its lines, start
   `order_pipeline`, run it to the signature task (inbox row, candidates, notification), commit. p50/p95.
2. Lifecycles: gunicorn (`--workers` sync workers) on the same database; `--clients` threads drive full
   pay-before-delivery lifecycles over real HTTP, each step by its role's token: create, sign
   (`/api/v1/tasks/{id}/complete`), payment (finance, sends `order_paid`), outbound (warehouse, picked
   quantities), delivery (logistics), receipt (salesperson, rating) — 6 requests per order: each answer
   names the next task (`tasks` of the order, `next_tasks` of a completion), so no GET is needed. Reported: orders/s end to end, and every order checked completed.
3. The same lifecycle by SpiffWorkflow alone in memory (operators answered without a database), with and
   without storing and reloading the state per step as the runtime does, and the ratio to 2.

The load average is printed before and after (the machine is shared)."""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask_migrate import upgrade

from bench.common import fmt
from bench.common import fresh_schema
from bench.common import make_app
from bench.common import measure
from crm.finance.demo import VOUCHER

ROOT = Path(__file__).resolve().parents[1]
REQUESTS = 9  # per lifecycle: create, sign, collection, its task, verification, order tasks, outbound, delivery, receipt


def _loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()
    except OSError:
        return "?"


def _setup(quotes: int) -> dict[str, Any]:
    from crm.auth.defaults import ensure_default_roles
    from crm.auth.services import create_token
    from crm.auth.services import hash_password
    from crm.customers import services as customer_services
    from crm.extensions import db
    from crm.org import services
    from crm.org.models import User
    from crm.sales.catalog import services as product_services
    from crm.sales.quotes import services as quote_services
    from crm.workflow.deploy import deploy_directory

    deploy_directory()
    roles = ensure_default_roles()
    for key in ("salesperson", "finance", "warehouse", "logistics"):  # the rep records, finance verifies
        roles[key].permissions = sorted({*roles[key].permission_list, "api.use"})
    system = User(id=0, name="system")
    hq = services.create_unit({"kind": "hq", "name": "Bench HQ"}, actor=system)
    store = services.create_unit({"kind": "store", "parent_id": hq.id, "name": "Bench store", "platform": "tmall",
                                  "shop_name": "Bench shop"}, actor=system)
    people = {}
    for i, (key, role) in enumerate((("rep", "salesperson"), ("finance", "finance"), ("warehouse", "warehouse"),
                                     ("logistics", "logistics"))):
        people[key] = services.create_user({"mobile": f"1391111000{i}", "name": f"Bench {key}",
                                            "org_unit_id": store.id}, password_hash=hash_password("Bench#2026"),
                                           roles=[roles[role]], actor=system)
    admin = services.create_user({"mobile": "13911110009", "name": "Bench admin", "org_unit_id": hq.id},
                                 password_hash=hash_password("Bench#2026"), roles=[roles["super_admin"]], actor=system)
    product = product_services.create_product({"sku": "BENCH-1", "name": "Bench pallet", "list_price": "100.00"},
                                              actor=admin)
    customer = customer_services.create_customer({"name": "Bench customer", "mobile": "13700000001",
                                                  "address": "宁波市北仑区"}, actor=people["rep"])
    db.session.flush()
    quote_ids = []
    for _ in range(quotes):
        quote = quote_services.create_quote({"customer_id": customer.id, "lines": [
            {"product_id": product.id, "quantity": 10, "unit_price": "95.00"},
            {"product_id": product.id, "quantity": 5, "unit_price": "98.00"}]}, actor=people["rep"])
        quote_services.set_quote_status(quote.id, "approved")
        quote_ids.append(quote.id)
    tokens = {key: create_token(user, "bench")[1] for key, user in people.items()}
    db.session.commit()
    return {"quotes": quote_ids, "tokens": tokens}


def _serve(url: str, workers: int) -> tuple[int, subprocess.Popen[bytes]]:
    """gunicorn on `url` as in production (the repository's gunicorn.conf.py), once it accepts."""
    port = _free_port()
    env = dict(os.environ, CRM_DATABASE_URL=url, CRM_SECRET_KEY="bench", CRM_SCHEDULER_ENABLED="false")
    extra = os.environ.get("CRM_BENCH_GUNICORN", "").split()
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", *extra, "-w", str(workers), "-b", f"127.0.0.1:{port}",
                               "--log-level", "warning", "run:app"], cwd=ROOT, env=env)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.2)
    return port, server


def floor(url: str, token: str, *, workers: int, clients: int, count: int) -> None:
    """What a request costs before any order work, over the same HTTP as the lifecycles: an unknown API path
    (gunicorn, a new TCP connection, Flask's routing and a JSON 404) and `GET /api/v1/me` with an API token (plus
    the token lookup, the request's transaction and a small JSON answer). Printed as requests/s and as
    milliseconds of the machine's two cores per request, the unit of the orders' budget."""
    port, server = _serve(url, workers)
    try:
        for label, path, auth in (("unknown API path, no token (404)", "/api/v1/no-such-thing", False),
                                  ("GET /api/v1/me with a token", "/api/v1/me", True)):
            headers = {"Accept": "application/json"}
            if auth:
                headers["Authorization"] = f"Bearer {token}"
            cpu = time.process_time()
            elapsed = _hammer(port, path, headers, 200 if auth else 404, clients=clients, count=count)
            cpu = time.process_time() - cpu
            print(f"request floor, {label:32s} {count / elapsed:6.0f} requests/s = "
                  f"{(os.cpu_count() or 1) * 1000 * elapsed / count:.2f} ms of the {os.cpu_count()} cores each "
                  f"(the client's share {1000 * cpu / count:.2f} ms)")
    finally:
        server.terminate()
        server.wait(timeout=30)


def _hammer(port: int, path: str, headers: dict[str, str], status: int, *, clients: int, count: int) -> float:
    """`count` GETs of `path` from `clients` threads, a new connection each (like `Api`); the seconds taken."""
    left = [count]
    lock = threading.Lock()

    def loop() -> None:
        while True:
            with lock:
                if left[0] <= 0:
                    return
                left[0] -= 1
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            resp.read()
            conn.close()
            assert resp.status == status, (path, resp.status)

    start = time.perf_counter()
    threads = [threading.Thread(target=loop) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start


def cpu_seconds(server_pid: int) -> dict[str, float] | None:
    """CPU seconds (user + system) used so far by gunicorn's workers (and its master), by PostgreSQL's
    processes, by this process (the client) and by the whole machine except idle, from /proc (Linux):
    where an order's time goes when the cores are saturated. None where /proc is missing."""
    proc = Path("/proc")
    if not (proc / "stat").exists():
        return None
    tick = os.sysconf("SC_CLK_TCK")
    out = {"gunicorn": 0.0, "postgres": 0.0, "client": 0.0}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        name = raw[raw.index("(") + 1:raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2:].split()
        ppid, used = int(fields[1]), (int(fields[11]) + int(fields[12])) / tick
        pid = int(entry.name)
        if pid == server_pid or ppid == server_pid:
            out["gunicorn"] += used
        elif name == "postgres":
            out["postgres"] += used
        elif pid == os.getpid():
            out["client"] += used
    busy = (proc / "stat").read_text().split("\n", 1)[0].split()[1:]
    out["machine"] = (sum(int(v) for v in busy) - int(busy[3]) - int(busy[4])) / tick  # minus idle, iowait
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Api:
    """One keep-alive-less HTTP client per thread (gunicorn's sync workers close after each answer)."""

    def __init__(self, port: int, tokens: dict[str, str]) -> None:
        self.port = port
        self.tokens = tokens

    def __call__(self, method: str, path: str, who: str, body: Any = None, *, files: Any = None) -> Any:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Authorization": f"Bearer {self.tokens[who]}", "Accept": "application/json"}
        payload: Any = None
        if files is not None:  # multipart: the plain fields of `body` and (field, name, bytes) files
            boundary = "benchboundary7d1"
            parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                     for k, v in (body or {}).items()]
            parts += [f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
                      f"Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n"
                      for field, name, content in files]
            payload = b"".join(parts) + f"--{boundary}--\r\n".encode()
            headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
        elif body is not None:
            payload = json.dumps(body)
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=payload, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        if resp.status >= 300:
            raise RuntimeError(f"{method} {path} as {who}: {resp.status} {data[:300]!r}")
        return json.loads(data) if data else None


def lifecycle(api: Api, quote_id: int) -> int:
    order = api("POST", "/api/v1/orders", "rep", {"quote_id": quote_id, "payment_mode": "prepay", "terminal": "pc"})
    oid = order["id"]

    def task(bpmn_id: str, tasks: list[dict[str, Any]]) -> int:
        return next(t["id"] for t in tasks if t["bpmn_id"] == bpmn_id)

    api("POST", f"/api/v1/tasks/{task('op_sign', order['tasks'])}/complete", "rep", {"data": {"contract_no": "B"}})
    # The money: the salesperson records it with a voucher, finance finds the verification and verifies it;
    # the warehouse then finds the order's outbound.
    collection = api("POST", f"/api/v1/orders/{oid}/collections", "rep", {"amount": order["total"],
                                                                          "method": "bank_transfer"},
                     files=[("vouchers", "slip.png", VOUCHER)])
    verify = api("GET", f"/api/v1/tasks?view=group&object_type=collection&object_id={collection['id']}",
                 "finance")["items"]
    api("POST", f"/api/v1/tasks/{verify[0]['id']}/complete", "finance", {"data": {"verification": {"decision": "verify"}}})
    paid = api("GET", f"/api/v1/orders/{oid}/tasks", "warehouse")["items"]
    out = api("POST", f"/api/v1/tasks/{task('op_outbound', paid)}/complete", "warehouse",
              {"data": {"picked": [{"quantity": 10}, {"quantity": 5}]}})
    out = api("POST", f"/api/v1/tasks/{task('op_delivery', out['next_tasks'])}/complete", "logistics",
              {"data": {"carrier": "SF", "tracking_no": f"SF{oid}"}})
    api("POST", f"/api/v1/tasks/{task('op_receipt', out['next_tasks'])}/complete", "rep", {"data": {"rating": 5}})
    return int(oid)


class InProcessApi(Api):
    """The same calls through Flask's test client (no sockets): for --profile."""

    def __init__(self, client: Any, tokens: dict[str, str]) -> None:
        self.client = client
        self.tokens = tokens

    def __call__(self, method: str, path: str, who: str, body: Any = None, *, files: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        if files is not None:
            data = {**(body or {}), **{field: (io.BytesIO(content), name) for field, name, content in files}}
            resp = self.client.open(path, method=method, data=data, headers=headers, content_type="multipart/form-data")
        else:
            resp = self.client.open(path, method=method, json=body, headers=headers)
        if resp.status_code >= 300:
            raise RuntimeError(f"{method} {path} as {who}: {resp.status_code} {resp.get_data()[:300]!r}")
        return resp.get_json()


def profile(app: Any, ids: dict[str, Any], quotes: Any, count: int) -> None:
    """cProfile over `count` lifecycles in-process, serially; prints SQL statements per request and the
    top functions by cumulative and by own time."""
    import cProfile
    import pstats

    from sqlalchemy import event

    from crm.extensions import db

    api = InProcessApi(app.test_client(), ids["tokens"])
    statements = [0]

    def count_statement(*_args: Any) -> None:
        statements[0] += 1

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count_statement)
    lifecycle(api, next(quotes))
    statements[0] = 0
    prof = cProfile.Profile()
    start = time.perf_counter()
    prof.enable()
    for _ in range(count):
        lifecycle(api, next(quotes))
    prof.disable()
    elapsed = time.perf_counter() - start
    event.remove(engine, "before_cursor_execute", count_statement)
    print(f"profile: {count} lifecycles in-process, {1000 * elapsed / count:.0f} ms each (with cProfile), "
          f"{statements[0] / count / REQUESTS:.1f} SQL statements per request")
    # The floors in Python calls, counted the same way: the lifecycle by SpiffWorkflow alone (state stored
    # and reloaded per step) and the bare authenticated request, once per request of the lifecycle.
    calls = pstats.Stats(prof).total_calls / count  # type: ignore[attr-defined]
    client, header = app.test_client(), {"Authorization": f"Bearer {ids['tokens']['rep']}"}
    client.get("/api/v1/me", headers=header)

    def counted_calls(fn: Any, times: int) -> float:
        floor_prof = cProfile.Profile()
        floor_prof.enable()
        for _ in range(times):
            fn()
        floor_prof.disable()
        return pstats.Stats(floor_prof).total_calls / times  # type: ignore[attr-defined,no-any-return]

    me = counted_calls(lambda: client.get("/api/v1/me", headers=header), 20)
    lifecycle_alone = engine_lifecycle(round_trip=True)
    lifecycle_alone()
    engine_calls = counted_calls(lifecycle_alone, 10)
    print(f"Python calls per lifecycle {calls:,.0f}; floors: engine {engine_calls:,.0f} + {REQUESTS} x "
          f"GET /api/v1/me {me:,.0f} = {engine_calls + REQUESTS * me:,.0f} "
          f"({calls / (engine_calls + REQUESTS * me):.1f}x)")
    if os.environ.get("CRM_BENCH_PROFILE_OUT"):
        prof.dump_stats(os.environ["CRM_BENCH_PROFILE_OUT"])
    stats = pstats.Stats(prof)
    stats.sort_stats("cumulative").print_stats(45)
    stats.sort_stats("tottime").print_stats(25)


def trace(app: Any, ids: dict[str, Any], quotes: Any) -> None:
    """The SQL statements of every request of one lifecycle (after a warm-up one), with the wall time:
    where to look first when the statement count per order moves."""
    from sqlalchemy import event

    from crm.extensions import db

    log: list[str] = []

    class Traced(InProcessApi):
        def __call__(self, method: str, path: str, who: str, body: Any = None, *, files: Any = None) -> Any:
            log.clear()
            start = time.perf_counter()
            out = super().__call__(method, path, who, body, files=files)
            print(f"=== {method} {path} as {who}: {len(log)} statements, {1000 * (time.perf_counter() - start):.1f} ms")
            for text in log:
                print("   ", " ".join(text.split())[:160])
            return out

    with app.app_context():
        engine = db.engine
    lifecycle(InProcessApi(app.test_client(), ids["tokens"]), next(quotes))
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, text, *_a: log.append(text))
    lifecycle(Traced(app.test_client(), ids["tokens"]), next(quotes))


def in_memory(runs: int, *, round_trip: bool) -> dict[str, float]:
    """The same lifecycle by SpiffWorkflow alone, timed (`engine_lifecycle`)."""
    return measure(engine_lifecycle(round_trip=round_trip), runs=runs)


def engine_lifecycle(*, round_trip: bool) -> Callable[[], None]:
    """The order lifecycle by SpiffWorkflow alone: operators answer `{}` without a database. With `round_trip`,
    each step stores and reloads the state as the runtime does (`engine.dump_state` / `engine.load_state`, the
    spec part shared by hash), so the figure is the engine's share of a request. The diagram is parsed once,
    here, not in the returned function."""
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
    from SpiffWorkflow.util.task import TaskState

    from crm.workflow import engine

    class NoDbEngine(engine.CrmScriptEngine):
        def call_service(self, task: Any, operation_name: str, operation_params: Any, **kwargs: Any) -> str:
            return "{}"

    script = NoDbEngine()
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(ROOT / "processes" / "order_pipeline.bpmn"))
    spec, subs = parser.get_spec("order_pipeline"), parser.get_subprocess_specs("order_pipeline")
    seed = {"order_id": 1, "order_number": "SO1", "owner_id": 1, "customer_name": "c", "total": "1,440.00",
            "payment_mode": "prepay", "receipt_days": 7, "payment": None,
            "picked": [{"product": "p", "ordered": 10, "quantity": 10}, {"product": "p", "ordered": 5, "quantity": 5}]}

    sha, specs_json = engine.specs_of(engine.new_workflow(spec, subs, dict(seed)))

    def step(wf: Any, fn: Any) -> Any:
        if round_trip:
            wf = engine.load_state(engine.dump_state(wf), sha, specs_json)
        wf.script_engine = script
        fn(wf)
        wf.do_engine_steps()
        return wf

    def complete(data: dict[str, Any]) -> Any:
        def run(wf: Any) -> None:
            t = wf.get_tasks(state=TaskState.READY, manual=True)[0]
            t.data.update(data)
            t.run()
        return run

    def one() -> None:
        wf = engine.new_workflow(spec, subs, dict(seed))
        wf.script_engine = script
        wf.do_engine_steps()
        wf = step(wf, complete({"contract_no": "B"}))
        wf = step(wf, lambda w: engine.deliver_message(w, "order_paid", {"amount": "1440.00"}))
        wf = step(wf, complete({"picked": [{"quantity": 10}, {"quantity": 5}]}))
        wf = step(wf, complete({"carrier": "SF", "tracking_no": "1"}))
        wf = step(wf, complete({"rating": 5}))
        assert wf.is_completed()
        if round_trip:
            engine.dump_state(wf)

    return one


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--create", type=int, default=300, help="orders created one by one for the p95")
    parser.add_argument("--lifecycles", type=int, default=400, help="full lifecycles driven concurrently")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers")
    parser.add_argument("--clients", type=int, default=12, help="client threads")
    parser.add_argument("--runs", type=int, default=300, help="in-memory lifecycles")
    parser.add_argument("--profile", type=int, default=0, help="only cProfile this many lifecycles in-process")
    parser.add_argument("--trace", action="store_true", help="only print each request's SQL statements")
    parser.add_argument("--floor", type=int, default=0,
                        help="only measure this many bare requests (404, and /api/v1/me with a token) over HTTP")
    args = parser.parse_args()
    if args.trace:
        with fresh_schema() as url:
            app = make_app(url)
            with app.app_context():
                upgrade()
                ids = _setup(2)
            trace(app, ids, iter(ids["quotes"]))
        return
    if args.floor:
        print(f"load average before: {_loadavg()}")
        with fresh_schema() as url:
            app = make_app(url)
            with app.app_context():
                upgrade()
                ids = _setup(1)
            floor(url, ids["tokens"]["rep"], workers=args.workers, clients=args.clients, count=args.floor)
        print(f"load average after: {_loadavg()}")
        return
    if args.profile:
        with fresh_schema() as url:
            app = make_app(url)
            with app.app_context():
                upgrade()
                ids = _setup(args.profile + 1)
            profile(app, ids, iter(ids["quotes"]), args.profile)
        return
    print(f"load average before: {_loadavg()}")
    with fresh_schema() as url:
        app = make_app(url)
        with app.app_context():
            upgrade()
            ids = _setup(args.create + 10 + args.lifecycles)
        quotes = iter(ids["quotes"])
        client = app.test_client()
        header = {"Authorization": f"Bearer {ids['tokens']['rep']}"}

        def create() -> None:
            resp = client.post("/api/v1/orders", json={"quote_id": next(quotes), "payment_mode": "prepay"},
                               headers=header)
            assert resp.status_code == 201, resp.get_data(as_text=True)[:500]
            assert resp.get_json()["tasks"][0]["bpmn_id"] == "op_sign"

        created = measure(create, runs=args.create, warmup=5)
        print(f"approved quote -> order waiting at its first task, HTTP (API)   {fmt(created)}")

        port, server = _serve(url, args.workers)
        try:
            api = Api(port, ids["tokens"])
            lifecycle(api, next(quotes))  # warm every worker a little
            work = [next(quotes) for _ in range(args.lifecycles)]
            lock = threading.Lock()
            done: list[int] = []
            errors: list[str] = []

            def client_loop() -> None:
                while True:
                    with lock:
                        if not work:
                            return
                        quote_id = work.pop()
                    try:
                        oid = lifecycle(api, quote_id)
                        with lock:
                            done.append(oid)
                    except Exception as exc:  # noqa: BLE001 — counted and shown
                        with lock:
                            errors.append(str(exc)[:300])

            cpu_before = cpu_seconds(server.pid)
            start = time.perf_counter()
            threads = [threading.Thread(target=client_loop) for _ in range(args.clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - start
            cpu_after = cpu_seconds(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
        with app.app_context():
            from sqlalchemy import func
            from sqlalchemy import select

            from crm.extensions import db
            from crm.sales.orders.models import Order
            from crm.sales.orders.models import OrderStatus

            completed = db.session.scalar(select(func.count()).select_from(Order).where(
                Order.id.in_(done), Order.status == OrderStatus.COMPLETED))
            total = db.session.scalar(select(func.sum(Order.total)).where(Order.id.in_(done))) or Decimal(0)
        rate = len(done) / elapsed
        options = " ".join([*os.environ.get("CRM_BENCH_GUNICORN", "").split(), "-w", str(args.workers)])
        print(f"full lifecycles over HTTP: {len(done)} orders in {elapsed:.1f} s = {rate:.1f} orders/s "
              f"({REQUESTS * len(done) / elapsed:.0f} requests/s; gunicorn {options}, {args.clients} clients); "
              f"completed and checked: {completed}; errors: {len(errors)}; total ¥{total:,.2f}")
        for e in errors[:5]:
            print("  error:", e)
        if cpu_before and cpu_after and done:
            used = {k: 1000 * (cpu_after[k] - cpu_before[k]) / len(done) for k in cpu_before}
            print("CPU per order (ms, from /proc): " + ", ".join(f"{k} {v:.1f}" for k, v in used.items())
                  + f"; the {os.cpu_count()} cores offered {1000 * (os.cpu_count() or 1) * elapsed / len(done):.1f}")
        with app.app_context():
            pure = in_memory(args.runs, round_trip=False)
            trip = in_memory(args.runs, round_trip=True)
        print(f"same lifecycle, SpiffWorkflow alone in memory              {fmt(pure)} = {1000 / pure['p50']:.0f}/s")
        print(f"same, storing and reloading the state per step (as the runtime) {fmt(trip)} = {1000 / trip['p50']:.0f}/s")
        print(f"ratio in memory / HTTP: {1000 / pure['p50'] / rate:.1f}x (pure), {1000 / trip['p50'] / rate:.1f}x "
              f"(round trip)")
    print(f"load average after: {_loadavg()}")


if __name__ == "__main__":
    main()
