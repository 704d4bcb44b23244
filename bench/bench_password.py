"""Sign-in: the server time of one password verification (argon2id), with the parameters the app uses and
the alternatives considered, and a whole log-in through the test client (throttle rows, verification,
session). No database server needed: the demo data on a temporary SQLite file, the salesperson logs in.

    .venv/bin/python -m bench.bench_password            # 15 runs each
    .venv/bin/python -m bench.bench_password --runs 30
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from argon2 import PasswordHasher

CANDIDATES = [  # (time cost, memory KiB, lanes)
    (3, 65536, 4),  # argon2-cffi's default (RFC 9106's second recommendation), what the app used before
    (2, 65536, 1),
    (3, 65536, 1),
    (2, 47104, 1),
    (2, 19456, 1),  # OWASP's minimum
]


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(samples) * 1000:.0f} ms · p95 {p95 * 1000:.0f} ms"


def verify_times(time_cost: int, memory: int, lanes: int, runs: int) -> list[float]:
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory, parallelism=lanes)
    stored = hasher.hash("Bench#2026")
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        hasher.verify(stored, "Bench#2026")
        out.append(time.perf_counter() - start)
    return out


def login_times(runs: int) -> list[float]:
    """POST /login with the app's real hasher (PASSWORD_HASH_FAST off), the redirect not followed."""
    from crm import create_app
    from crm.extensions import db

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"DATABASE_URL": f"sqlite:///{Path(tmp) / 'bench.db'}", "SCHEDULER_ENABLED": False,
                          "WTF_CSRF_ENABLED": False, "PASSWORD_HASH_FAST": False})
        with app.app_context():
            db.create_all()
            result = app.test_cli_runner().invoke(args=["crm", "seed-demo"])
            assert result.exit_code == 0, result.output
            password = app.config["DEMO_PASSWORD"]
        out = []
        for _ in range(runs):
            client = app.test_client()
            start = time.perf_counter()
            resp = client.post("/login", data={"identifier": "13800000103", "password": password})
            out.append(time.perf_counter() - start)
            assert resp.status_code == 302, resp.status_code
        return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    from crm.auth.services import PASSWORD_MEMORY_KIB
    from crm.auth.services import PASSWORD_PARALLELISM
    from crm.auth.services import PASSWORD_TIME_COST

    used = (PASSWORD_TIME_COST, PASSWORD_MEMORY_KIB, PASSWORD_PARALLELISM)
    print("| argon2id t / m / p | verify |")
    print("|---|---|")
    for t, m, p in CANDIDATES:
        mark = " (the app's)" if (t, m, p) == used else ""
        print(f"| {t} / {m // 1024} MiB / {p}{mark} | {_ms(verify_times(t, m, p, args.runs))} |")
    print(f"\nPOST /login (whole request, test client): {_ms(login_times(args.runs))}")


if __name__ == "__main__":
    main()
