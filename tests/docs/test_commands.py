"""Documented commands that need no stack, run as written."""

from __future__ import annotations

from tests.docs.blocks import ROOT, block
from tests.docs.run import run_block


def test_bench_and_soak_help() -> None:
    result = run_block(block("bench-help"), ROOT, env={"HOOKLET_SKIP_BROWSER": "1"})
    for scenario in ("engine", "async", "intake", "sync", "memory", "isolation", "console"):
        assert scenario in result.stdout
    assert "--events" in result.stdout  # scripts/soak's options
