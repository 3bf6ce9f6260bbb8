"""``scripts/bench``'s old entry point: the benchmarks are the
``benchmarks`` package now (``python -m benchmarks``). This module stays
because scripts/soak.py and scripts/soak_adversity.py import ``Stack`` and
``RESULTS`` from ``bench`` (with scripts/ on their path)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.cli import main  # noqa: E402
from benchmarks.drain import drain_rate, timed_drain  # noqa: E402
from benchmarks.hooks import TRIVIAL  # noqa: E402
from benchmarks.report import RESULTS, table, write  # noqa: E402
from benchmarks.stack import Stack  # noqa: E402

__all__ = ["RESULTS", "TRIVIAL", "Stack", "drain_rate", "main", "table", "timed_drain", "write"]

if __name__ == "__main__":
    main()
