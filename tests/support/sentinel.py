"""A Redis primary, a replica and three Sentinels: now ``stackkit.sentinel``
(the benchmarks use it too); the names tests import from here."""

from __future__ import annotations

from stackkit.sentinel import (
    DOWN_AFTER_MS,
    FAILOVER_TIMEOUT_MS,
    MASTER,
    SentinelCluster,
    SentinelNode,
)

__all__ = ["DOWN_AFTER_MS", "FAILOVER_TIMEOUT_MS", "MASTER", "SentinelCluster", "SentinelNode"]
