"""Worker nodes' reports: what each node's main process says about itself
every few seconds (its pool, load and counts), so the fleet view reads Redis
instead of broadcasting to every node and waiting out a timeout."""

from __future__ import annotations

import time
from typing import Any

import orjson

from workers.store import keys

__all__ = ["REPORT_EVERY_S", "NodeReport", "write_report", "read_reports", "reported_since"]

REPORT_EVERY_S = 2.0
# A node that missed this many reports in a row is taken for gone.
_MISSED_REPORTS = 3

NodeReport = dict[str, Any]  # name, concurrency, processes, active, processed, uptimeS, at


def write_report(client: Any, report: NodeReport) -> None:
    name = report["name"]
    lapse_s = REPORT_EVERY_S * _MISSED_REPORTS
    with client.pipeline(transaction=False) as pipe:
        pipe.set(keys.node(name), orjson.dumps(report), ex=max(1, round(lapse_s)))
        pipe.zadd(keys.nodes(), {name: report["at"]})
        pipe.zremrangebyscore(keys.nodes(), "-inf", time.time() - lapse_s)
        pipe.execute()


def reported_since() -> float:
    """When (epoch s) a node must have last reported to count as alive."""
    return time.time() - REPORT_EVERY_S * _MISSED_REPORTS


def read_reports(client: Any) -> list[NodeReport]:
    """The reports of the nodes that reported lately, by name."""
    since = reported_since()
    names = [n.decode() for n in client.zrangebyscore(keys.nodes(), since, "+inf")]
    if not names:
        return []
    raw = client.mget([keys.node(name) for name in names])
    return sorted((orjson.loads(r) for r in raw if r), key=lambda report: report["name"])
