"""The benchmarks still run against today's schema: each seeds with raw SQL, so a new NOT NULL column
breaks it without any other test noticing. Run at a tiny scale on PostgreSQL (the benchmarks' database)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
URL = os.environ.get("CRM_TEST_DATABASE_URL", "")


@pytest.mark.skipif(not URL.startswith("postgresql"), reason="the benchmarks run on PostgreSQL: set CRM_TEST_DATABASE_URL")
def test_the_finance_benchmark_seeds_and_measures_at_a_tiny_scale() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench.bench_finance", "--orders", "300", "--customers", "300", "--runs", "1",
         "--cycles", "1"],
        cwd=ROOT, env={**os.environ, "CRM_BENCH_DATABASE_URL": URL}, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "/finance/receivables (ageing)" in result.stdout and "verify it" in result.stdout
    assert "ageing aggregate grouped_from_dues" in result.stdout and "due rows:" in result.stdout
