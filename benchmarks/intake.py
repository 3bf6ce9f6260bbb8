"""``scripts/bench intake``: the async intake alone (no worker), 8
connections, a 5 KB JSON body, in short rounds alternated with a bare Flask
+ LPUSH floor on the same gunicorn settings."""

from __future__ import annotations

import tempfile
from pathlib import Path

from benchmarks import loadgen
from benchmarks.floors import floor_env, floor_web, stop_all
from benchmarks.hooks import realistic_body
from benchmarks.report import table
from stackkit import Api, RedisServer, Web, hooklet_env

__all__ = ["intake_scenario"]


def intake_scenario(quick: bool) -> dict:
    seconds, rounds, connections = (2 if quick else 5), 3, 8
    body = realistic_body()

    def make_for(hook: str) -> loadgen.RequestFactory:
        return lambda _: ("POST", f"/h/{hook}", body, {"Content-Type": "application/json"})

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        server = RedisServer(workdir).start()
        env = hooklet_env(server.url)
        try:
            floor, floor_url = floor_web("intake", floor_env(server.url))
            web = Web(env, workdir).start()  # no worker: the intake alone
            # No worker runs: past limits.maxQueued the intake would answer 429.
            Api(web.url).put_hook("intake", script="null", limits={"maxQueued": 1_000_000})
            loadgen.saturate(floor_url, make_for("x"), connections, 2)  # warm-up
            loadgen.saturate(web.url, make_for("intake"), connections, 2)
            # Alternate short rounds, so a slow spell of this shared machine
            # falls on both sides rather than on one.
            floor_runs, hooklet_runs = [], []
            for _ in range(rounds):
                floor_runs.append(loadgen.saturate(floor_url, make_for("x"), connections, seconds))
                hooklet_runs.append(
                    loadgen.saturate(web.url, make_for("intake"), connections, seconds)
                )
            floor_run = loadgen.merge(floor_runs).summary()
            hooklet_run = loadgen.merge(hooklet_runs).summary()
            web.stop()
            stop_all(floor)
        finally:
            server.stop()
    table(
        f"intake alone, {connections} connections, 5 KB JSON body",
        [("bare Flask + LPUSH floor", floor_run), ("hooklet async intake", hooklet_run)],
    )
    ratio = hooklet_run["throughput_rps"] / floor_run["throughput_rps"]
    print(
        f"hooklet / floor throughput: {ratio:.2f} (target >= 0.70); "
        f"hooklet p99 {hooklet_run['p99_ms']} ms (target < 20 ms)"
    )
    return {
        "scenario": "intake",
        "connections": connections,
        "rounds": rounds,
        "seconds_per_round": seconds,
        "floor": floor_run,
        "hooklet": hooklet_run,
        "ratio": round(ratio, 2),
    }
