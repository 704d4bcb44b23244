"""The one inbox at scale (issue 23 target): 100 k open process tasks and 100 k open work tasks, the first
inbox page for a salesperson and for a store manager, on PostgreSQL.

    .venv/bin/python -m bench.bench_inbox_mixed                       # 100 k + 100 k
    .venv/bin/python -m bench.bench_inbox_mixed --tasks 20000 --runs 50 --explain

Data: the generator's org (10 stores, 40 teams, 1,000 salespeople), `--tasks` open human tasks (one
process instance of bench/processes/bench_review.bpmn; spread over the stores' salespeople, claimed by
them, 1 in 3 with a due time, created over 90 days) and `--tasks` open work tasks (owned by the same
people, arranged by their store's manager, 1 in 2 with a due date, 1 in 10 with a participant), seeded
with SQL. Measured through Flask's test client (the whole request: session, scope, both branches merged,
template), beside a bare page of the same layout (`/account`, the ratio's base on a loaded machine):
`/tasks/` (My tasks: the salesperson's, the manager's own), `/tasks/all` (every open task of the
manager's store, newest first — the read that must not sort every row) and `/tasks/?sort=due`. For each:
p50/p95 and the SQL statements the request runs. `--explain` prints the plan of the store manager's
"all" branch queries."""

from __future__ import annotations

import argparse
import gc
import time
from typing import Any

from flask_migrate import upgrade
from sqlalchemy import event
from sqlalchemy import text
from sqlalchemy.engine import Engine

from bench.common import fmt
from bench.common import fresh_schema
from bench.common import make_app
from bench.common import measure
from bench.common import signed_in_client
from bench.generate import Scale
from bench.generate import generate_org

PROCESS_SQL = """
INSERT INTO human_task (instance_id, task_guid, process_key, bpmn_id, title, store_id, object_type, object_id,
                        assignee_id, status, priority, due_at, created_at)
SELECT :instance, md5(g::text), 'bench_review', 'review', 'Review order ' || g, u.store_id, 'bench', g,
       u.id, 'claimed', g % 3,
       CASE WHEN g % 3 = 0 THEN now() + ((g % 30) - 10) * interval '1 day' END,
       now() - (g % 90) * interval '1 day' - (g % 1440) * interval '1 minute'
FROM generate_series(1, :n) g
JOIN "user" u ON u.id = :first_rep + (g % :reps)
"""

WORK_SQL = """
INSERT INTO work_task (store_id, unit_id, title, priority, status, owner_id, created_by_id, arranged, due_on,
                       due_at, lock_version, created_at, updated_at)
SELECT u.store_id, u.org_unit_id, 'Call customer ' || g, (g % 4) - 1, 'open', u.id, m.id, true,
       CASE WHEN g % 2 = 0 THEN (now() + ((g % 30) - 10) * interval '1 day')::date END,
       CASE WHEN g % 2 = 0 THEN now() + ((g % 30) - 10) * interval '1 day' END,
       1, now() - (g % 90) * interval '1 day' - (g % 1440) * interval '1 minute', now()
FROM generate_series(1, :n) g
JOIN "user" u ON u.id = :first_rep + (g % :reps)
JOIN "user" m ON m.store_id = u.store_id AND m.position = 'store_manager'
"""

PARTICIPANTS_SQL = """
INSERT INTO work_task_participant (task_id, user_id)
SELECT t.id, CASE WHEN t.owner_id + 1 <= :last_rep THEN t.owner_id + 1 ELSE t.owner_id - 1 END
FROM work_task t WHERE t.id % 10 = 0
"""


class StatementCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *_args: Any) -> None:
        self.count += 1


def _explain(app: Any, client: Any, path: str) -> None:
    """Run `path` once: its statements with their times, and the plan of the inbox page's UNION ALL."""
    from crm.extensions import db

    seen: list[tuple[float, str, Any]] = []

    def before(conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        conn.info["t0"] = time.perf_counter()

    def after(conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        seen.append((time.perf_counter() - conn.info["t0"], statement, parameters))

    event.listen(Engine, "before_cursor_execute", before)
    event.listen(Engine, "after_cursor_execute", after)
    client.get(path)
    event.remove(Engine, "before_cursor_execute", before)
    event.remove(Engine, "after_cursor_execute", after)
    print(f"  {path}: {len(seen)} statements, {sum(s[0] for s in seen) * 1000:.1f} ms SQL")
    for spent, statement, _params in seen:
        print(f"    {spent * 1000:6.1f} ms  {' '.join(statement.split())[:110]}")
    spent, statement, parameters = next(s for s in seen if "UNION ALL" in s[1])
    print(f"  the inbox page's statement ({spent * 1000:.1f} ms):")
    with app.app_context(), db.engine.connect() as conn:
        for (line,) in conn.exec_driver_sql("EXPLAIN (ANALYZE, COSTS OFF) " + statement, parameters):
            print("   ", line)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=100_000, help="open process tasks, and as many work tasks")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--gc-freeze", action=argparse.BooleanOptionalAction, default=True,
                        help="freeze the collector after warm-up as gunicorn.conf.py does (default on)")
    parser.add_argument("--profile", action="store_true",
                        help="profile the salesperson's My tasks page (cProfile) instead of measuring")
    args = parser.parse_args()
    with fresh_schema() as url:
        app = make_app(url)
        with app.app_context():
            from sqlalchemy import select

            from bench.bench_tasks import HERE
            from crm.auth.services import hash_password
            from crm.extensions import db
            from crm.org.models import User
            from crm.workflow import registry
            from crm.workflow import runtime
            from crm.workflow.deploy import deploy_directory

            upgrade()
            t0 = time.perf_counter()
            scale = generate_org(Scale(), hash_password("Bench#2026"))
            registry.register_forms_dir(HERE / "processes")
            deploy_directory(HERE / "processes")
            store = scale.units["store"][0]
            instance = runtime.start("bench_review", object_type="bench", object_id=0, store_id=store,
                                     data={"subject": "pallets"}, actor_id=None)
            db.session.commit()
            reps = scale.users["salesperson"]
            bind = {"n": args.tasks, "first_rep": reps[0], "reps": len(reps), "last_rep": reps[-1]}
            db.session.execute(text(PROCESS_SQL), {**bind, "instance": instance.id})
            db.session.execute(text(WORK_SQL), bind)
            db.session.execute(text(PARTICIPANTS_SQL), bind)
            db.session.commit()
            db.session.execute(text("ANALYZE"))
            db.session.commit()
            rep = db.session.get(User, reps[0])
            manager = db.session.scalar(select(User).where(User.store_id == rep.store_id,
                                                           User.position == "store_manager"))
            counts = db.session.execute(text(
                "SELECT (SELECT count(*) FROM human_task WHERE status IN ('open','claimed')),"
                " (SELECT count(*) FROM work_task WHERE status = 'open'),"
                " (SELECT count(*) FROM human_task WHERE assignee_id = :u) + (SELECT count(*) FROM work_task"
                "  WHERE owner_id = :u)"), {"u": rep.id}).one()
            print(f"{counts[0]} open process tasks, {counts[1]} open work tasks; the salesperson has {counts[2]}, "
                  f"the manager's store {args.tasks * 2 // 10} (setup {time.perf_counter() - t0:.1f} s)")
            clients = {"salesperson": signed_in_client(app, rep), "store manager": signed_in_client(app, manager)}

        if args.profile:
            from bench.bench_tasks import _profile

            client = clients["salesperson"]
            _profile(lambda: client.get("/tasks/"), args.runs)
            return
        if args.gc_freeze:
            # As a production worker runs (gunicorn.conf.py): after warm-up requests, what exists is frozen
            # out of the collector's sight, so a full collection does not walk the app's long-lived objects.
            for client in clients.values():
                for path in ("/account", "/tasks/", "/tasks/?sort=due"):
                    client.get(path)
            gc.collect()
            gc.freeze()
        counter = StatementCounter()
        for who, client in clients.items():
            for label, path in (("bare page (account)", "/account"), ("my tasks", "/tasks/"), ("all in scope, newest", "/tasks/scope"),
                                ("my tasks by due", "/tasks/?sort=due")):
                if who == "salesperson" and path == "/tasks/scope":
                    continue

                def get(client: Any = client, path: str = path) -> None:
                    resp = client.get(path)
                    assert resp.status_code == 200, (path, resp.status_code)

                stats = measure(get, runs=args.runs)
                event.listen(Engine, "before_cursor_execute", counter)
                counter.count = 0
                get()
                event.remove(Engine, "before_cursor_execute", counter)
                print(f"{who:14s} {label:22s} {fmt(stats)} · {counter.count} SQL statements")
        if args.explain:
            _explain(app, clients["salesperson"], "/tasks/")
            _explain(app, clients["salesperson"], "/tasks/?sort=due")
            _explain(app, clients["store manager"], "/tasks/scope")


if __name__ == "__main__":
    main()
