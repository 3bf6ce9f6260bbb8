"""Hooklet benchmarks. Each scenario starts its own stack (redis-server,
Celery worker, gunicorn), prints a table and writes JSON to bench-results/.

    scripts/bench sync            # sync hook at 100 req/s for 20 s, then saturation
    scripts/bench sync --quick    # shorter runs, for a smoke check
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

import loadgen  # noqa: E402

from tests.support.stack import Api, RedisServer, Web, Worker, hooklet_env  # noqa: E402

RESULTS = ROOT / "bench-results"


class Stack:
    """redis-server + one worker node (2 children) + gunicorn, all real."""

    def __init__(self, workdir: Path, **settings: str | int) -> None:
        self.redis = RedisServer(workdir).start()
        env = hooklet_env(self.redis.url, **settings)
        self.worker = Worker(env, workdir, concurrency=2).start()
        self.web = Web({**env, "HOOKLET_WEB_WORKERS": "2"}, workdir).start()
        self.api = Api(self.web.url)

    def close(self) -> None:
        self.web.stop()
        self.worker.stop()
        self.redis.stop()


def table(title: str, rows: list[tuple[str, dict]]) -> None:
    columns = [
        "requests",
        "throughput_rps",
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "max_ms",
        "outside_v8_p50_ms",
        "script_p50_ms",
        "non_2xx",
        "errors",
    ]
    print(f"\n{title}")
    print(f"{'scenario':<28}" + "".join(f"{c:>18}" for c in columns))
    for name, summary in rows:
        print(f"{name:<28}" + "".join(f"{str(summary.get(c, '')):>18}" for c in columns))


def write(name: str, data: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    data = {
        "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()},
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **data,
    }
    path.write_text(json.dumps(data, indent=2))
    print(f"\nwrote {path.relative_to(ROOT)}")
    return path


def sync_scenario(quick: bool) -> dict:
    rate, duration = 100, (5 if quick else 20)
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(Path(tmp))
        try:
            stack.api.put_hook(
                "bench-sync",
                mode="sync",
                script="(async () => ({ body: 'ok' }))();",
                limits={"maxConcurrent": 100},
            )

            def make(_: int) -> tuple[str, str, bytes, dict[str, str]]:
                return "POST", "/h/bench-sync", b'{"n":1}', {"Content-Type": "application/json"}

            loadgen.fixed_rate(stack.web.url, make, rate=50, duration_s=2)  # warm-up
            fixed = loadgen.fixed_rate(stack.web.url, make, rate=rate, duration_s=duration)
            saturated = loadgen.saturate(
                stack.web.url, make, connections=16, duration_s=5 if quick else 10
            )
        finally:
            stack.close()
    rows = [
        (f"sync @ {rate} req/s", fixed.summary()),
        ("sync saturation (16 conn)", saturated.summary()),
    ]
    table("sync hook, trivial script, loopback", rows)
    target = {"p50_ms": 5, "p99_ms": 25}
    fixed_summary = rows[0][1]
    met = (
        fixed_summary["p50_ms"] <= target["p50_ms"] and fixed_summary["p99_ms"] <= target["p99_ms"]
    )
    print(f"target at {rate} req/s: p50 <= 5 ms and p99 <= 25 ms -> {'met' if met else 'NOT met'}")
    return {
        "scenario": "sync",
        "rate": rate,
        "duration_s": duration,
        "target": target,
        "target_met": met,
        "fixed_rate": fixed_summary,
        "saturation": rows[1][1],
    }


SCENARIOS: dict[str, Callable[[bool], dict]] = {"sync": sync_scenario}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("scenarios", nargs="*", default=["sync"], choices=[*SCENARIOS, []])
    parser.add_argument("--quick", action="store_true", help="shorter runs (smoke check)")
    args = parser.parse_args()
    for name in args.scenarios or ["sync"]:
        write(name, SCENARIOS[name](args.quick))


if __name__ == "__main__":
    main()
