"""``scripts/bench profile``'s two parts on a real stack, with few events:
every process and hop gets a figure from real jobs, and the worker node
paused for the intake phase is running again afterwards. No timing is
asserted: only that each figure was measured."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from benchmarks.cpu_budget import ROLES, measure_cpu
from benchmarks.hooks import TRIVIAL
from benchmarks.stack import Stack
from benchmarks.sync_hops import HOPS, measure_hops

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def bench_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(Path(tmp_path_factory.mktemp("profile")))
    try:
        stack.api.put_hook("p-async", script=TRIVIAL, limits={"maxQueued": 100_000})
        stack.api.put_hook("p-sync", mode="sync", script=TRIVIAL, debugHeaders=True)
        yield stack
    finally:
        stack.close()


def test_every_hop_of_a_sync_request_is_measured(bench_stack: Stack) -> None:
    result = measure_hops(bench_stack.web.url, bench_stack.redis.client(), "p-sync", 8)
    assert result["answered_200"] == 8
    assert [name for name, _ in HOPS] == list(result["hops_ms"])
    for name, hop in result["hops_ms"].items():
        assert hop.get("samples") == 8, (name, hop)


def test_cpu_per_event_of_each_process_and_the_worker_runs_again(bench_stack: Stack) -> None:
    result = measure_cpu(bench_stack, "p-async", events=40, rounds=1, idle_s=0.5)
    run = result["runs"][0]
    assert run["events"] == 40
    for phase in ("intake", "drain"):
        assert set(ROLES) <= set(run[phase]["cpu_us_per_event"]), phase
        assert "evalsha" in run[phase]["redis_commands"], phase
    assert result["redis_us_per_event"] > 0
    # The node was stopped for the intake phase and continued for the drain:
    # it takes new events as before.
    node = psutil.Process(bench_stack.worker.proc.pid)
    assert all(p.status() != psutil.STATUS_STOPPED for p in [node, *node.children()])
    assert bench_stack.api.run("p-async", data=b"{}")["status"] == "succeeded"


def test_a_stack_that_fails_to_start_stops_what_did_start(tmp_path: Path) -> None:
    """A worker that cannot start (a malformed setting) leaves no redis-server behind."""
    with pytest.raises(RuntimeError, match="died"):
        Stack(tmp_path, max_tasks_per_child="many")
    # redis-server renames its process; its working folder is the stack's.
    left = [p.pid for p in psutil.process_iter(["cwd"]) if str(tmp_path) in (p.info["cwd"] or "")]
    assert not left
