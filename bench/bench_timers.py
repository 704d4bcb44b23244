"""10 k timers due at once, fired by two scheduler processes: all fired, how fast, and none twice.

    .venv/bin/python -m bench.bench_timers --instances 10000 --workers 2

One instance of bench/processes/bench_timer.bpmn (start -> 1 s timer -> script -> end) is started
through the runtime; its row is copied in bulk to N instances (same state, same due time). Once due,
`--workers` processes each run the scheduler's job function (crm.workflow.jobs.fire_due_timers, batches
with FOR UPDATE SKIP LOCKED) until nothing is due. Checked: every instance completed, and exactly one
`timer_fired` event per instance."""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select

from bench.common import fresh_schema
from bench.common import make_app

HERE = Path(__file__).parent


def _worker(url: str, ready: mp.Event, go: mp.Event, out: mp.Queue) -> None:  # type: ignore[type-arg]
    app = make_app(url)
    with app.app_context():
        from crm.workflow.jobs import fire_due_timers

        ready.set()
        go.wait()
        total, idle = 0, 0
        while idle < 2:
            n = fire_due_timers()
            total += n
            idle = idle + 1 if n == 0 else 0
        out.put(total)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with fresh_schema() as url:
        app = make_app(url)
        with app.app_context():
            upgrade()
            from crm.extensions import db
            from crm.workflow import registry
            from crm.workflow import runtime
            from crm.workflow.deploy import deploy_directory
            from crm.workflow.models import InstanceStatus
            from crm.workflow.models import ProcessEvent
            from crm.workflow.models import ProcessInstance

            registry.register_forms_dir(HERE / "processes")
            deploy_directory(HERE / "processes")
            first = runtime.start("bench_timer")
            db.session.commit()
            row = {c.key: getattr(first, c.key) for c in ProcessInstance.__table__.columns if c.key != "id"}
            t0 = time.perf_counter()
            for start in range(1, args.instances, 5000):
                db.session.execute(insert(ProcessInstance), [dict(row) for _ in range(min(5000, args.instances - start))])
            db.session.commit()
            print(f"{args.instances} instances waiting on a timer (bulk copy {time.perf_counter() - t0:.1f} s)")
            due = first.next_timer_at
        ctx = mp.get_context("spawn")
        ready = [ctx.Event() for _ in range(args.workers)]
        go = ctx.Event()
        out: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
        procs = [ctx.Process(target=_worker, args=(url, ready[i], go, out)) for i in range(args.workers)]
        for p in procs:
            p.start()
        for r in ready:
            r.wait()
        wait = (due.timestamp() - time.time()) + 0.05
        if wait > 0:
            time.sleep(wait)
        t0 = time.perf_counter()
        go.set()
        taken = [out.get() for _ in procs]
        elapsed = time.perf_counter() - t0
        for p in procs:
            p.join()
        with app.app_context():
            completed = db.session.scalar(
                select(func.count()).select_from(ProcessInstance).where(ProcessInstance.status == InstanceStatus.COMPLETED)
            )
            fired = db.session.execute(
                select(ProcessEvent.instance_id, func.count()).where(ProcessEvent.kind == "timer_fired")
                .group_by(ProcessEvent.instance_id)
            ).all()
            twice = sum(1 for _, n in fired if n > 1)
        print(f"workers took {taken} (sum {sum(taken)}) in {elapsed:.1f} s = {args.instances / elapsed:.0f} timers/s")
        print(f"completed {completed}/{args.instances}; timer_fired events for {len(fired)} instances; fired twice: {twice}")
        if completed != args.instances or twice or len(fired) != args.instances:
            raise SystemExit("FAILED: not every timer fired exactly once")


if __name__ == "__main__":
    main()
