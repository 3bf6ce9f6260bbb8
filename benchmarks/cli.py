"""Hooklet benchmarks. Each scenario starts its own stack (redis-server,
Celery worker, gunicorn), prints a table and writes JSON to bench-results/.

    scripts/bench                 # engine, async, intake, sync (not memory)
    scripts/bench engine async intake sync memory   # 'async' also measures the Celery floor
    scripts/bench sync --quick    # shorter runs, for a smoke check
    scripts/bench profile         # CPU per event of each process; each hop of a sync request
    scripts/bench redis-memory    # Redis bytes per retained job, trimming rate
    scripts/bench async --ha      # also: Sentinel + replica + WAIT against one Redis
    scripts/bench isolation       # no hook stalls another
    scripts/bench hostcalls       # the cost of one fetch and one KV get+set
    scripts/bench console         # console pages with 100 hooks / 100,000 jobs; stats on vs off
    scripts/bench destinations    # a dead callback destination's cost; healthy callbacks beside it
    scripts/bench tracing         # async events/s and sync p50: tracing off vs on (OTLP)
    scripts/bench quotas          # async events/s of a project with quotas vs without
    scripts/bench ordering        # per-key ordering: cost, concurrency, order kept under SIGKILL
    scripts/bench ordering --events 2000 --keys 100 --children 4   # smaller or bigger runs
    scripts/bench tapes           # what recording tapes costs a script without host calls
    scripts/bench tapes --quick --events 200   # a smoke run

Every figure is printed beside a floor measured in the same run.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from benchmarks.console import console_scenario
from benchmarks.destinations import destinations_scenario
from benchmarks.engine import engine_scenario
from benchmarks.ha import async_ha
from benchmarks.hostcalls import scenario as hostcalls_scenario
from benchmarks.intake import intake_scenario
from benchmarks.isolation import isolation_scenario
from benchmarks.memory import memory_scenario
from benchmarks.ordering import ordering_scenario
from benchmarks.profile_run import profile_scenario
from benchmarks.quotas import quotas_scenario
from benchmarks.redis_memory import redis_memory_scenario
from benchmarks.report import table, write
from benchmarks.sync import sync_scenario
from benchmarks.tapes import tapes_scenario
from benchmarks.throughput import async_scenario
from benchmarks.tracing import tracing_scenario

__all__ = ["DEFAULT", "SCENARIOS", "main"]

SCENARIOS: dict[str, Callable[[bool], dict]] = {
    "engine": engine_scenario,
    "async": async_scenario,
    "intake": intake_scenario,
    "sync": sync_scenario,
    "memory": memory_scenario,
    "redis-memory": redis_memory_scenario,
    "isolation": lambda quick: isolation_scenario(quick, table),
    "hostcalls": hostcalls_scenario,
    "console": console_scenario,
    "destinations": destinations_scenario,
    "profile": profile_scenario,
    "tracing": tracing_scenario,
    "quotas": quotas_scenario,
    "ordering": ordering_scenario,
    "tapes": tapes_scenario,
}
DEFAULT = ["engine", "async", "intake", "sync"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="scripts/bench", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("scenarios", nargs="*", choices=[*SCENARIOS, []])
    parser.add_argument("--quick", action="store_true", help="shorter runs (smoke check)")
    parser.add_argument(
        "--ha", action="store_true", help="async: also Sentinel + replica + WAIT vs one Redis"
    )
    parser.add_argument("--events", type=int, help="ordering, tapes: events per run")
    parser.add_argument("--keys", type=int, help="ordering: keys of the throughput runs")
    parser.add_argument("--children", type=int, default=2, help="ordering: worker children")
    args = parser.parse_args(argv)
    for name in args.scenarios or DEFAULT:
        if name == "ordering":
            result = ordering_scenario(args.quick, args.events, args.keys, args.children)
        elif name == "tapes":
            result = tapes_scenario(args.quick, args.events)
        else:
            result = SCENARIOS[name](args.quick)
        if args.ha and name == "async":
            result["sentinel"] = async_ha(args.quick)
        write(name, result)
