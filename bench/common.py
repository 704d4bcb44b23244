"""Shared benchmark plumbing: a throw-away PostgreSQL schema, an app on it, and percentile timing."""

from __future__ import annotations

import os
import statistics
import time
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy import text
from sqlalchemy.engine import make_url

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@contextmanager
def fresh_schema(base_url: str | None = None, *, kept: str | None = None) -> Iterator[str]:
    """A URL whose search_path is a brand-new schema, dropped afterwards; or, with `kept`, the schema of that
    name, created if missing and left in place (a benchmark whose data takes minutes to generate can then be
    run again, or profiled, on the same data)."""
    base = base_url or os.environ.get("CRM_BENCH_DATABASE_URL", DEFAULT_PG)
    schema = kept or f"crm_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    url = make_url(base)
    url = url.set(query=dict(url.query, options=f"-csearch_path={schema}"))
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        if not kept:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def make_app(database_url: str) -> Any:
    from crm import create_app

    # Generating a million rows takes statements longer than the app's 30 s statement_timeout.
    return create_app(
        {"DATABASE_URL": database_url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False, "PASSWORD_HASH_FAST": True,
         "DB_STATEMENT_TIMEOUT_MS": 0, "DB_IDLE_IN_TRANSACTION_TIMEOUT_MS": 0}
    )


def measure(fn: Callable[[], Any], *, runs: int, warmup: int = 5) -> dict[str, float]:
    """Milliseconds: p50, p95, max over `runs` calls after `warmup` calls."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return {
        "p50": statistics.median(samples),
        "p95": samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))],
        "max": samples[-1],
        "runs": float(runs),
    }


def fmt(stats: dict[str, float]) -> str:
    return f"p50 {stats['p50']:.1f} ms · p95 {stats['p95']:.1f} ms · max {stats['max']:.1f} ms ({int(stats['runs'])} runs)"


def signed_in_client(app: Any, user: Any) -> Any:
    """Flask's test client with `user` signed in (the session cookie set directly, no password round)."""
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = user.get_id()
    return client
