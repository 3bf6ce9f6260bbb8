"""``python -m benchmarks`` is ``scripts/bench``."""

from __future__ import annotations

from benchmarks.cli import main

main()
