"""A local upstream for scripts' fetch tests: now ``stackkit.upstream`` (the
benchmarks use it too)."""

from __future__ import annotations

from stackkit.upstream import Upstream

__all__ = ["Upstream"]
