"""GitHub-push-like events: now ``stackkit.payloads`` (the benchmarks use
them too)."""

from __future__ import annotations

from stackkit.payloads import TRIVIAL_BODY, github_headers, github_push

__all__ = ["TRIVIAL_BODY", "github_headers", "github_push"]
