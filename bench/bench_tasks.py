"""Task completion through HTTP vs. SpiffWorkflow alone, and the inbox page at scale (issue 3 targets).

    .venv/bin/python -m bench.bench_tasks                 # PostgreSQL (CRM_BENCH_DATABASE_URL)
    .venv/bin/python -m bench.bench_tasks --open-tasks 100000 --candidate-tasks 2000

1. Completion: N instances of bench/processes/bench_review.bpmn (13 nodes: user task, script, exclusive
   gateway, user task, script, parallel split, 2 scripts, join, user task, end) wait at their first user
   task; each is completed by `POST /tasks/<id>/form` (load + lock, validate the form, run, save, inbox
   sync, commit). Beside it, the same step by SpiffWorkflow alone in memory: deserialize, complete, run,
   serialize. Reported: p50/p95 of both and their ratio.
2. Inbox: `--open-tasks` open human tasks over 10 stores, `--candidate-tasks` of them offering to one
   user; p50/p95 of that user's group-tasks page (`GET /tasks/group`) and My tasks."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

from flask_migrate import upgrade
from sqlalchemy import insert
from sqlalchemy import select

from bench.common import fmt
from bench.common import fresh_schema
from bench.common import make_app
from bench.common import measure

HERE = Path(__file__).parent


def _org() -> tuple[object, list[int]]:
    from crm.auth.defaults import ensure_default_roles
    from crm.auth.services import hash_password
    from crm.org import services
    from crm.org.models import User

    roles = ensure_default_roles()
    system = User(id=0, name="system")
    hq = services.create_unit({"kind": "hq", "name": "Bench HQ"}, actor=system)
    stores = [services.create_unit({"kind": "store", "parent_id": hq.id, "name": f"Store {i}", "platform": "tmall",
                                    "shop_name": f"Shop {i}"}, actor=system) for i in range(10)]
    user = services.create_user({"mobile": "13911110000", "name": "Bench user", "org_unit_id": stores[0].id},
                                password_hash=hash_password("Bench#2026"), roles=[roles["supervisor"]], actor=system)
    return user, [s.id for s in stores]


def in_memory_step(runs: int) -> dict[str, float]:
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
    from SpiffWorkflow.util.task import TaskState

    from crm.workflow.engine import SERIALIZER
    from crm.workflow.engine import new_workflow
    from crm.workflow.engine import script_engine

    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(HERE / "processes" / "bench_review.bpmn"))
    wf = new_workflow(parser.get_spec("bench_review"), parser.get_subprocess_specs("bench_review"),
                      {"subject": "pallets", "initiator_id": 1})
    wf.do_engine_steps()
    saved = SERIALIZER.serialize_json(wf)

    def step() -> None:
        w = SERIALIZER.deserialize_json(saved)
        w.script_engine = script_engine()
        task = w.get_tasks(state=TaskState.READY, manual=True)[0]
        task.data.update({"approved": True})
        task.run()
        w.do_engine_steps()
        SERIALIZER.serialize_json(w)

    return measure(step, runs=runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=300)
    parser.add_argument("--open-tasks", type=int, default=100_000)
    parser.add_argument("--candidate-tasks", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--profile", choices=["complete", "group"],
                        help="profile the HTTP completions or the group page with cProfile and print the top "
                             "functions (and the SQL of one more request) instead of measuring")
    args = parser.parse_args()
    with fresh_schema() as url:
        app = make_app(url)
        with app.app_context():
            upgrade()
            from crm.extensions import db
            from crm.workflow import registry
            from crm.workflow import runtime
            from crm.workflow.deploy import deploy_directory
            from crm.workflow.models import HumanTask
            from crm.workflow.models import HumanTaskCandidate
            from crm.workflow.models import TaskStatus

            registry.register_forms_dir(HERE / "processes")
            deploy_directory(HERE / "processes")
            user, stores = _org()
            db.session.commit()
            task_ids = []
            for _ in range(args.instances + 5):
                inst = runtime.start("bench_review", object_type="bench", object_id=1, store_id=stores[0],
                                     data={"subject": "pallets"}, actor_id=user.id)
                task_ids.append(db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == inst.id)))
            from crm.auth.services import create_token

            token = create_token(user, "bench")[1]
            db.session.commit()
            stamp = user.get_id()
            user_id = user.id
            inst_id = inst.id

        client = app.test_client()
        with client.session_transaction() as sess:
            sess["_user_id"] = stamp
        pending = iter(task_ids)

        def complete() -> None:
            resp = client.post(f"/tasks/{next(pending)}/form", data={"approved": "true"})
            assert resp.status_code == 303, (resp.status_code, __import__("re").findall(r"alert-danger[^>]*>([^<]*)", resp.get_data(as_text=True)))

        # Requests outside any pushed app context: each gets its own, as on a server (a shared one leaks g).
        if args.profile == "complete":
            for _ in range(5):
                complete()
            _profile(complete, args.instances - 1, callees=r"inbox_sync.py:\d+\(sync\)")
            return
        counted = _counting(app)
        cpu = time.process_time()
        http = measure(complete, runs=args.instances, warmup=5)
        http_cpu = (time.process_time() - cpu) * 1000 / (args.instances + 5)
        sent = counted()
        with app.app_context():
            cpu = time.process_time()
            memory = in_memory_step(args.runs)
            memory_cpu = (time.process_time() - cpu) * 1000 / (args.runs + 5)
        print(f"complete a user task via HTTP (13-node process)  {fmt(http)}")
        print(f"SQL per completion: {sent / (args.instances + 5):.1f} statements, commit included")
        # CPU of this process (the app's side, PostgreSQL not included): steadier than wall time when the
        # machine is shared, since waiting for a core or for the database is left out.
        print(f"CPU per completion {http_cpu:.2f} ms, per in-memory step {memory_cpu:.2f} ms: "
              f"{http_cpu / memory_cpu:.1f}x")
        print(f"same step, SpiffWorkflow alone in memory          {fmt(memory)}")
        print(f"ratio HTTP / in memory: p50 {http['p50'] / memory['p50']:.1f}x, p95 {http['p95'] / memory['p95']:.1f}x")

        # The request floor in the same run: a bare authenticated request (the API's `GET /api/v1/me`: the
        # token's user, one statement, a small JSON answer). No completion through HTTP can cost less than
        # it plus the engine's step, so (floor + engine) / engine bounds the ratio from below.
        def me() -> None:
            resp = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
            assert resp.status_code == 200, resp.status_code

        cpu = time.process_time()
        bare = measure(me, runs=args.runs)
        bare_cpu = (time.process_time() - cpu) * 1000 / (args.runs + 5)
        print(f"request floor, GET /api/v1/me                     {fmt(bare)}, CPU {bare_cpu:.2f} ms")
        print(f"lowest ratio this stack allows, (floor + engine) / engine: p50 "
              f"{(bare['p50'] + memory['p50']) / memory['p50']:.1f}x, CPU {(bare_cpu + memory_cpu) / memory_cpu:.1f}x")

        with app.app_context():
            t0 = time.perf_counter()
            rows = []
            for i in range(args.open_tasks):
                rows.append({
                    "instance_id": inst_id, "task_guid": str(UUID(int=i + 1)), "process_key": "bench_review",
                    "bpmn_id": "review", "title": f"Review order {i}", "store_id": stores[i % 10],
                    "object_type": "bench", "object_id": i, "status": TaskStatus.OPEN, "priority": i % 3,
                    "created_at": runtime.utcnow(),
                })
                if len(rows) == 5000:
                    db.session.execute(insert(HumanTask), rows)
                    rows = []
            if rows:
                db.session.execute(insert(HumanTask), rows)
            ids = list(db.session.scalars(select(HumanTask.id).where(HumanTask.object_type == "bench",
                                                                       HumanTask.bpmn_id == "review",
                                                                       HumanTask.status == TaskStatus.OPEN)))
            step = max(1, len(ids) // args.candidate_tasks)
            mine = ids[::step][: args.candidate_tasks]
            db.session.execute(insert(HumanTaskCandidate), [{"task_id": t, "user_id": user_id} for t in mine])
            db.session.commit()
            db.session.execute(__import__("sqlalchemy").text("ANALYZE"))
            db.session.commit()
            print(f"{args.open_tasks} open tasks, {len(mine)} offered to the user (setup {time.perf_counter() - t0:.1f} s)")

        def group() -> None:
            resp = client.get("/tasks/group")
            assert resp.status_code == 200, resp.status_code

        def mine_page() -> None:
            resp = client.get("/tasks/")
            assert resp.status_code == 200, resp.status_code

        if args.profile == "group":
            _profile(group, args.runs, callees=r"lists.py:\d+\(_list\)")
            return
        print(f"inbox: group tasks page (2 k candidates)          {fmt(measure(group, runs=args.runs))}")
        print(f"inbox: my tasks page                              {fmt(measure(mine_page, runs=args.runs))}")


def _counting(app: Any) -> Callable[[], int]:
    """Count the statements and commits sent from now on; the returned function stops and gives the sum."""
    from sqlalchemy import event

    from crm.extensions import db

    with app.app_context():
        engine = db.engine
    sent = [0]

    def one(*_args: object) -> None:
        sent[0] += 1

    event.listen(engine, "before_cursor_execute", one)
    event.listen(engine, "commit", one)

    def stop() -> int:
        event.remove(engine, "before_cursor_execute", one)
        event.remove(engine, "commit", one)
        return sent[0]

    return stop


def _profile(fn: object, runs: int, callees: str | None = None) -> None:
    """Profile `runs` calls; print our and the libraries' busiest functions (and the callees of
    `callees`), then the SQL of one more call."""
    import cProfile
    import logging
    import pstats
    import time as _time
    from collections import defaultdict

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    spent: dict[str, list[float]] = defaultdict(list)

    def before(conn: object, cursor: object, statement: str, *args: object) -> None:
        conn.info["t0"] = _time.perf_counter()  # type: ignore[attr-defined]

    def after(conn: object, cursor: object, statement: str, *args: object) -> None:
        spent[" ".join(statement.split()[:3])[:60]].append(_time.perf_counter() - conn.info["t0"])  # type: ignore[attr-defined]

    event.listen(Engine, "before_cursor_execute", before)
    event.listen(Engine, "after_cursor_execute", after)
    prof = cProfile.Profile()
    prof.runcall(lambda: [fn() for _ in range(runs)])  # type: ignore[operator]
    event.remove(Engine, "before_cursor_execute", before)
    event.remove(Engine, "after_cursor_execute", after)
    print("SQL per request (ms, mean over the runs):")
    for stmt, times in sorted(spent.items(), key=lambda kv: -sum(kv[1])):
        print(f"  {sum(times) * 1000 / runs:6.2f}  x{len(times) / runs:.1f}  {stmt}")
    stats = pstats.Stats(prof).sort_stats("cumulative")
    stats.print_stats(r"crm/|SpiffWorkflow|jsonschema|jinja|babel|flask_login|werkzeug/(wrappers|formparser)", 70)
    if callees:
        stats.print_callees(callees)
    logging.basicConfig()
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
    fn()  # type: ignore[operator]


if __name__ == "__main__":
    main()
