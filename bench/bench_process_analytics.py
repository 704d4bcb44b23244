"""Process analytics at scale (issue 24 item 7: 1 M process events, p95 ≤ 500 ms): the analytics page and
its API for the order pipeline's version, for a process owner at HQ (scope: all) and one of a store, on
PostgreSQL, with the number of SQL statements one request runs.

    .venv/bin/python -m bench.bench_process_analytics                       # 1 M events
    .venv/bin/python -m bench.bench_process_analytics --events 100000 --runs 20   # a quick look

Data: the generator's org (10 stores), `processes/order_pipeline.bpmn` deployed, and instances of it spread
over the last year and the stores, seeded with SQL until `--events` rows of `process_event`: each instance
has the history rows a step writes (created, task completed, message received) and the passage rows of every
element of the diagram (`element_reached` and `element_passed` with a random wait for the user tasks, catch
events and event-based gateway; a `flow_taken` per splitting gateway, the path chosen by the instance id);
5 % of the instances are still running, stopped at one of the waits (their last wait is open: "waiting
now"). Measured through Flask's test client (the whole request): the default page (the last 30 days), a
whole year (every event of the version in range, the worst case), and the API."""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

from flask_migrate import upgrade
from sqlalchemy import event
from sqlalchemy import text

from bench.common import fmt
from bench.common import fresh_schema
from bench.common import make_app
from bench.common import measure
from bench.common import signed_in_client
from bench.generate import Scale
from bench.generate import generate_org

INSTANCES_SQL = """
INSERT INTO process_instance (definition_id, process_key, object_type, object_id, store_id, status, business_status,
                              spec_sha256, state, lock_version, started_by_id, started_at, updated_at, completed_at)
SELECT :definition_id, 'order_pipeline', 'sales_order', g, (:stores)[1 + g % cardinality(:stores)],
       CASE WHEN g % 20 = 0 THEN 'running' ELSE 'completed' END, NULL, 'bench', '{}', 1, NULL,
       now() - make_interval(secs => (g::float / :n) * 365 * 86400),
       now(), CASE WHEN g % 20 = 0 THEN NULL ELSE now() END
FROM generate_series(1, :n) AS g
"""

# One row per (instance, step of the path); running instances keep the steps before their cut (the passing of
# the wait they stopped at is left out, so its `element_reached` stays open).
EVENTS_SQL = """
INSERT INTO process_event (instance_id, occurred_at, kind, actor_id, task_guid, bpmn_id, details)
SELECT i.id, i.started_at + make_interval(mins => p.seq), p.kind, NULL, md5(i.id::text || ':' || p.guid), p.el,
       CASE WHEN p.kind = 'element_passed' AND p.scale > 0
                 THEN jsonb_build_object('waited', round((random() * p.scale)::numeric, 3))
            WHEN p.kind = 'flow_taken'
                 THEN jsonb_build_object('to', (string_to_array(p.targets, ','))[1 + i.id % p.ntargets])
            ELSE '{}'::jsonb END
FROM process_instance i
CROSS JOIN (VALUES {values}) AS p(seq, kind, el, guid, scale, targets, ntargets)
WHERE i.status = 'completed' OR p.seq < (:cuts)[1 + i.id % cardinality(:cuts)]
"""

WAITING_KINDS = {"userTask", "intermediateCatchEvent", "eventBasedGateway", "receiveTask", "callActivity"}


def _path(definition: Any) -> tuple[str, list[int]]:
    """The VALUES of every step of one instance's path, and the positions (seq) a running instance stops at."""
    from crm.workflow.admin.analytics import GATEWAYS
    from crm.workflow.admin.analytics import diagram

    shape = diagram(definition)
    rows: list[str] = []
    cuts: list[int] = []

    def add(kind: str, element: str, guid: str, scale: int = 0, targets: str = "", n: int = 1) -> int:
        rows.append(f"({len(rows)}, '{kind}', '{element}', '{guid}', {scale}, '{targets}', {n})")
        return len(rows) - 1

    add("created", "", "created")
    for node in shape.nodes:
        waits = node.kind in WAITING_KINDS
        if waits:
            add("element_reached", node.id, node.id)
            if node.kind == "userTask":
                add("task_completed", node.id, node.id + ":done")
            if node.kind == "intermediateCatchEvent":
                add("message_received", "", node.id + ":msg")
        seq = add("element_passed", node.id, node.id, 3 * 86400 if waits else 0)
        if waits:
            cuts.append(seq)
        targets = [f.target for f in shape.flows if f.source == node.id]
        if node.kind in GATEWAYS and len(targets) > 1:
            add("flow_taken", node.id, node.id, 0, ",".join(targets), len(targets))
    return ", ".join(rows), cuts


def _people(scale: Scale) -> dict[str, Any]:
    """A process owner at HQ (scope all) and one placed in the first store (bounded to it)."""
    from sqlalchemy import select

    from crm.auth.models import Role
    from crm.extensions import db
    from crm.org import services as org_services
    from crm.org.models import User

    owner = db.session.scalar(select(Role).where(Role.key == "process_owner"))
    owner.permissions = sorted({*owner.permission_list, "api.use"})
    system = User(id=0, name="system")
    people = {}
    for key, unit in (("hq", scale.units["hq"][0]), ("store", scale.units["store"][0])):
        people[key] = org_services.create_user({"mobile": f"1391235{len(people):04d}", "name": f"Bench {key}",
                                                "org_unit_id": unit}, password_hash="x", roles=[owner], actor=system)
    db.session.flush()
    return people


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the API's statements")
    parser.add_argument("--explain-query", default="", help='the query string of the request explained, e.g. '
                                                            '"?date_from=2025-12-01&date_to=2026-12-31"')
    args = parser.parse_args()
    with fresh_schema() as url:
        app = make_app(url)
        with app.app_context():
            from crm.auth.services import create_token
            from crm.auth.services import hash_password
            from crm.extensions import db
            from crm.org.models import User
            from crm.workflow.deploy import current_definitions
            from crm.workflow.deploy import deploy_directory

            upgrade()
            started = time.perf_counter()
            scale = generate_org(Scale(), hash_password("Bench#2026"))
            deploy_directory()
            definition = current_definitions()["order_pipeline"]
            values, cuts = _path(definition)
            per_instance = values.count("), (") + 1
            n = max(1, math.ceil(args.events / (per_instance * 0.97)))  # running instances stop early
            db.session.execute(text("INSERT INTO process_spec (sha256, specs, created_at) VALUES ('bench', '{}', now())"))
            db.session.execute(text(INSTANCES_SQL), {"definition_id": definition.id, "n": n,
                                                      "stores": scale.units["store"]})
            db.session.execute(text(EVENTS_SQL.replace("{values}", values)), {"cuts": cuts})
            people = {key: user.id for key, user in _people(scale).items()}
            db.session.commit()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                for table in ("process_instance", "process_event"):
                    conn.execute(text(f"VACUUM ANALYZE {table}"))
            events = db.session.scalar(text("SELECT count(*) FROM process_event"))
            print(f"data: {n:,} instances of order_pipeline v{definition.version} ({per_instance} rows each), "
                  f"{events:,} process events in {time.perf_counter() - started:.0f} s", flush=True)
            tokens = {key: create_token(db.session.get(User, people[key]), "bench")[1] for key in people}
            clients = {key: signed_in_client(app, db.session.get(User, people[key])) for key in people}
            db.session.commit()
            db.session.remove()
            engine = db.engine

        statements = [0]
        seen: list[tuple[str, Any]] = []

        @event.listens_for(engine, "before_cursor_execute")
        def count(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
            statements[0] += 1
            seen.append((statement, parameters))

        if args.explain:
            _explain(app, engine, seen, tokens["hq"], args.explain_query)
            _profile(clients["hq"])

        pages = {"last 30 days (default)": "", "a whole year": "?date_from=2025-12-01&date_to=2026-12-31"}
        for who in ("hq", "store"):
            for label, query in pages.items():
                def page(client: Any = clients[who], query: str = query) -> None:
                    resp = client.get(f"/processes/definitions/order_pipeline/analytics{query}")
                    assert resp.status_code == 200, resp.status_code

                statements[0] = 0
                page()
                one = statements[0]
                print(f"{who:5} page {label:24} {fmt(measure(page, runs=args.runs))} · {one} statements", flush=True)
            api = app.test_client()

            def api_call(who: str = who, api: Any = api) -> None:
                resp = api.get("/api/v1/process-definitions/order_pipeline/analytics",
                               headers={"Authorization": f"Bearer {tokens[who]}"})
                assert resp.status_code == 200, resp.status_code

            statements[0] = 0
            api_call()
            one = statements[0]
            print(f"{who:5} API  {'last 30 days (default)':24} {fmt(measure(api_call, runs=args.runs))} · "
                  f"{one} statements", flush=True)


def _profile(client: Any) -> None:
    import cProfile
    import pstats

    client.get("/processes/definitions/order_pipeline/analytics")
    profiler = cProfile.Profile()
    profiler.enable()
    client.get("/processes/definitions/order_pipeline/analytics")
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)


def _explain(app: Any, engine: Any, seen: list[tuple[str, Any]], token: str, query: str) -> None:
    seen.clear()
    resp = app.test_client().get("/api/v1/process-definitions/order_pipeline/analytics" + query,
                                 headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200, resp.status_code
    statements = [(s, p) for s, p in seen if "process_event" in s or "process_instance" in s]
    with engine.connect() as conn:
        for statement, parameters in statements:
            plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).scalars().all()
            print("\n".join(plan), "\n", flush=True)


if __name__ == "__main__":
    main()
