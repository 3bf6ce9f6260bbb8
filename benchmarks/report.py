"""How every scenario reports: a fixed-column table on stdout and a JSON file
under bench-results/ that dashboards and CI read (fields are only added)."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

from stackkit.processes import ROOT

__all__ = ["RESULTS", "percentile", "table", "write"]

RESULTS = ROOT / "bench-results"
COLUMNS = [
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


def percentile(values: list[float], pct: float) -> float:
    """The nearest-rank percentile of ``values`` (unsorted is fine)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def table(title: str, rows: list[tuple[str, dict]]) -> None:
    """Load-generator summaries (``loadgen.Run.summary``), one row each."""
    print(f"\n{title}")
    print(f"{'scenario':<28}" + "".join(f"{c:>18}" for c in COLUMNS))
    for name, summary in rows:
        print(f"{name:<28}" + "".join(f"{str(summary.get(c, '')):>18}" for c in COLUMNS))


def write(name: str, data: dict) -> Path:
    """bench-results/<name>.json, with the machine and the time of the run."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    data = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **data,
    }
    path.write_text(json.dumps(data, indent=2))
    print(f"\nwrote {path.relative_to(ROOT)}")
    return path
